"""Tests of mer_utils.synth: the SynthDEAM generator (layout, determinism, labels, audio, resume)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils.corpus import narrative, synth, synth_audio, synth_labels
from mer_utils.corpus.deam import load_corpus, load_dynamic_annotations, load_dynamic_spread
from mer_utils.errors import MerError

SONGS, SECONDS, SR, SEED = 12, 16.0, 22050, 7
LEVEL = Path("annotations") / "annotations averaged per song"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthdeam")
    synth.generate(root, SONGS, SECONDS, seed=SEED, sr=SR, n_jobs=2, progress=False)
    return root


def corpus_files(root: Path) -> dict:
    return {
        p.relative_to(root): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".synthdeam" not in p.parts
    }


def test_same_settings_give_identical_files(corpus, tmp_path):
    synth.generate(tmp_path, SONGS, SECONDS, seed=SEED, sr=SR, n_jobs=1, progress=False)  # serial this time
    first, second = corpus_files(corpus), corpus_files(tmp_path)
    assert sorted(first) == sorted(second)
    assert len([p for p in first if p.suffix == ".mp3"]) == SONGS
    assert all(first[p] == second[p] for p in first)


def test_layout_reads_with_the_deam_loader(corpus):
    loaded = load_corpus(corpus)
    assert len(loaded.songs) == SONGS and loaded.song_ids == list(range(2, SONGS + 2))
    assert loaded.is_synthetic and not loaded.missing_audio and not loaded.unlabelled_audio
    labels = loaded.songs
    assert labels[["valence_mean", "arousal_mean"]].stack().between(1, 9).all()
    assert labels[["valence_std", "arousal_std"]].stack().between(0, 4).all()
    static = (corpus / LEVEL / "song_level" / "static_annotations_averaged_songs_1_2000.csv").read_text().splitlines()
    assert static[0] == "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
    assert all(len(value.split(".")[-1]) <= 2 for row in static[1:] for value in row.split(",")[1:])
    full = (corpus / LEVEL / "song_level" / "static_annotations_averaged_songs_2000_2058.csv").read_text().splitlines()
    assert full == [synth.HEADER_2000_2058] and "valence_ max_mean" in full[0]
    for dimension in ("valence", "arousal"):
        dynamic = load_dynamic_annotations(corpus, dimension)
        assert list(dynamic.index) == loaded.song_ids and list(dynamic.columns) == [2.0 + 0.5 * k for k in range(28)]
        assert dynamic.notna().all().all() and dynamic.stack().between(-1, 1).all()
        spread = load_dynamic_spread(corpus, dimension)
        assert spread.shape == dynamic.shape and spread.stack().between(0, 1).all()
    header = (corpus / LEVEL / "dynamic (per second annotations)" / "valence.csv").read_text().splitlines()[0]
    assert header.startswith("song_id,sample_2000ms,sample_2500ms,") and header.endswith(",sample_15500ms")
    expected = pd.read_csv(corpus / synth.DYNAMIC_EXPECTED_FILE)
    assert list(expected.columns) == ["song_id", "time_s", "valence_expected", "arousal_expected"]
    assert len(expected) == SONGS * 28
    record = json.loads((corpus / "synthdeam.json").read_text())
    assert (record["seed"], record["n_songs"], record["seconds"], record["sr"]) == (SEED, SONGS, SECONDS, SR)
    assert set(record["cue_weights"]) == set(synth_labels.CUES) and 0 < loaded.noise_ceiling("valence_mean") < 1
    assert 0 < loaded.noise_ceiling("arousal_mean") < 1
    cues = pd.read_csv(corpus / "synthdeam_cues.csv", index_col="song_id")
    assert list(cues.index) == loaded.song_ids and set(synth_labels.CUES) <= set(cues.columns)


def test_audio_decodes_with_the_right_length(corpus):
    for song_id in (2, SONGS + 1):
        audio, sr = sf.read(corpus / "MEMD_audio" / f"{song_id}.mp3")
        assert sr == SR and audio.ndim == 1 and abs(len(audio) / sr - SECONDS) < 0.1
        assert 0.05 < np.abs(audio).max() <= 1.0
    assert len(synth_audio.render_song(SEED, 2, 0.3, 16000)) == 4800  # shorter than a beat


def test_label_statistics_match_deam():
    labels = synth_labels.draw_song_cues_and_labels(1000, seed=99)
    stats = synth_labels.label_statistics(labels)
    for d in ("valence", "arousal"):
        assert abs(stats[f"{d}_mean"] - synth_labels.TARGETS[f"{d}_mean"]) < 0.25
        assert abs(stats[f"{d}_sd"] - synth_labels.TARGETS[f"{d}_sd"]) < 0.25
        assert abs(stats[f"{d}_rater_sd"] - 1.5) < 0.15
    assert abs(stats["r_valence_arousal"] - 0.59) < 0.12
    assert all(0.55 < c < 0.85 for c in synth_labels.noise_ceiling(labels, seed=99).values())
    pd.testing.assert_frame_equal(synth_labels.draw_song_cues_and_labels(12, seed=99),
                                  labels.iloc[:12])  # size-independent


def test_cues_drive_labels_and_audio():
    labels = synth_labels.draw_song_cues_and_labels(1000, seed=99)
    by_mode = labels.groupby("mode")["valence_mean"].mean()
    assert by_mode[1.0] - by_mode[-1.0] > 0.8
    assert labels["tempo"].corr(labels["arousal_mean"]) > 0.3
    assert labels["dynamics"].corr(labels["arousal_mean"]) > 0.3
    level = [20 * np.log10(np.sqrt(np.mean(synth_audio.render_song(99, i, 4.0, 16000) ** 2))) for i in range(2, 22)]
    assert np.corrcoef(level, labels["dynamics"].iloc[:20])[0, 1] > 0.8  # louder songs are rendered louder
    moves = [np.ptp(synth_labels.dynamic_labels(99, i, 45.0)["arousal"]) for i in range(2, 22)]
    assert np.median(moves) > 0.03  # the 2 Hz labels move over the clip


def test_resume_keeps_finished_clips(tmp_path):
    synth.generate(tmp_path, 5, 2.0, seed=3, sr=16000, n_jobs=1, progress=False)
    clips = {p.name: p for p in (tmp_path / "MEMD_audio").glob("*.mp3")}
    before = {name: (p.stat().st_mtime_ns, p.read_bytes()) for name, p in clips.items()}
    meta = tmp_path / "synthdeam.json"
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    synth.generate(tmp_path, 5, 2.0, seed=3, sr=16000, n_jobs=1, progress=False)  # complete: nothing to do
    assert stamps == {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    clips["3.mp3"].unlink()
    meta.unlink()
    synth.generate(tmp_path, 5, 2.0, seed=3, sr=16000, n_jobs=1, progress=False)
    after = {name: (p.stat().st_mtime_ns, p.read_bytes()) for name, p in clips.items()}
    assert meta.exists() and after["3.mp3"][1] == before["3.mp3"][1]
    assert all(after[name] == before[name] for name in before if name != "3.mp3")
    # clips of 2 s or less: dynamic files hold the song ids only (SynthDEAM's labels start at 2 s)
    dynamic = tmp_path / LEVEL / "dynamic (per second annotations)" / "arousal.csv"
    assert dynamic.read_text().splitlines()[:2] == ["song_id", "2"]
    synth.generate(tmp_path, 3, 2.0, seed=4, sr=16000, n_jobs=1, progress=False)  # other settings
    assert sorted(p.name for p in (tmp_path / "MEMD_audio").glob("*.mp3")) == ["2.mp3", "3.mp3", "4.mp3"]
    assert all(clips[n].stat().st_mtime_ns != before[n][0] for n in ("2.mp3", "4.mp3"))
    assert json.loads(meta.read_text())["seed"] == 4


@pytest.mark.parametrize(
    "settings", [dict(n_songs=2), dict(seconds=0), dict(seconds=-3.0), dict(sr=12345), dict(seed=-1)]
)
def test_bad_parameters_raise(tmp_path, settings):
    with pytest.raises(MerError):
        synth.generate(tmp_path, **({"n_songs": 3, "seconds": 1.0, "sr": 16000} | settings), progress=False)


def test_bad_roots_raise(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(MerError, match="writable"):
        synth.generate(tmp_path / "file" / "corpus", 3, 1.0, sr=16000, progress=False)
    (tmp_path / "deam" / "MEMD_audio").mkdir(parents=True)
    (tmp_path / "deam" / "MEMD_audio" / "2.mp3").write_bytes(b"real audio")
    with pytest.raises(MerError, match="did not write"):
        synth.generate(tmp_path / "deam", 3, 1.0, sr=16000, progress=False)


def test_command_line(tmp_path, capsys):
    assert synth.main(["--root", str(tmp_path), "--songs", "3", "--seconds", "1", "--sr", "16000", "--jobs", "1"]) == 0
    assert "3 songs x 1 s" in capsys.readouterr().out
    with pytest.raises(MerError, match="--songs"):
        synth.main(["--root", str(tmp_path), "--songs", "2"])


# --------------------------------------------------------------------------- the data page's sentences


def test_the_data_page_names_the_expected_ceiling_on_synthdeam_and_no_ceiling_on_real_ratings(corpus):
    loaded = load_corpus(corpus)
    ceiling = loaded.synthetic["noise_ceiling_r2"]
    text = narrative.noise_ceiling_sentence(loaded)
    assert f"R² **{ceiling['valence_mean']:.3f}** for valence" in text and f"on all {SONGS} songs" in text
    findings = narrative.corpus_findings(loaded)
    assert "**SynthDEAM**" in findings and f"Songs with labels and an audio file: **{SONGS}**" in findings
    loaded.synthetic, loaded.expected = None, None
    assert "no ceiling is known" in narrative.noise_ceiling_sentence(loaded)
