"""mer_utils.predict: the saved bundle, the song model and the `mer predict` command on real and generated audio."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import FETCH_MUSICNN, MUSICNN_WEIGHTS, REPO

from mer_utils.errors import MerError
from mer_utils.phase3.cnn14 import random_backbone
from mer_utils.phase3.embeddings import EMBEDDING_DIM, Embedder
from mer_utils.predict import bundles, cli
from mer_utils.predict import songs as song_models
from mer_utils.training.loop import fit_target_scaler
from mer_utils.training.mlp import MlpResult
from mer_utils.training.modelfile import build_model


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    """A bundle with a random CNN14 (seed 0) and an untrained EmotionMLP: enough to exercise every path."""
    from sklearn.preprocessing import StandardScaler

    backbone = random_backbone(seed=0)
    embedder = Embedder(backbone, n_threads=1, precision="float32")
    rng = np.random.default_rng(0)
    mlp = MlpResult(
        model=build_model("EmotionMLP", seed=0).eval(),
        feature_scaler=StandardScaler().fit(rng.random((20, EMBEDDING_DIM))),
        target_scaler=fit_target_scaler(rng.uniform(2, 8, size=(20, 2))),
        target_names=["valence_mean", "arousal_mean"],
        history=pd.DataFrame(),
        settings={"in_features": EMBEDDING_DIM, "outputs": 2},
    )
    path = tmp_path_factory.mktemp("bundle") / "models" / "emotion_mlp.pt"
    bundles.save_bundle(path, mlp, backbone.info(), embedder.settings, data="synthdeam")
    return path


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Generated clips: stereo WAV, mono OGG, mono FLAC, plus a corrupt MP3 and a clip that is too short."""
    folder = tmp_path_factory.mktemp("songs")
    rng = np.random.default_rng(1)

    def tone(seconds, sr, freq, channels=1):
        t = np.arange(int(seconds * sr)) / sr
        mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
        return np.stack([mono, np.roll(mono, 50)], axis=1) if channels == 2 else mono

    paths = {
        "wav": folder / "stereo.wav",
        "ogg": folder / "mono.ogg",
        "flac": folder / "mono.flac",
        "corrupt": folder / "broken.mp3",
        "short": folder / "short.wav",
    }
    sf.write(paths["wav"], tone(7.0, 44100, 220, channels=2).astype(np.float32), 44100)
    sf.write(paths["ogg"], tone(4.0, 22050, 330).astype(np.float32), 22050, format="OGG", subtype="VORBIS")
    sf.write(paths["flac"], tone(6.5, 48000, 440).astype(np.float32), 48000)
    paths["corrupt"].write_bytes(b"\xff\xfb not really an mp3 " * 50)
    sf.write(paths["short"], tone(2.0, 32000, 550).astype(np.float32), 32000)
    return paths


def run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bundle_round_trip(bundle_path):
    bundle = bundles.load_bundle(bundle_path)
    assert bundle.targets == ["valence_mean", "arousal_mean"]
    assert bundle.backbone["kind"] == "random" and bundle.backbone["seed"] == 0
    assert bundle.embedding["segment_seconds"] == 3.0 and bundle.embedding["precision"] == "float32"
    values = bundle.predict(np.zeros((3, EMBEDDING_DIM), dtype=np.float32))
    assert values.shape == (3, 2) and np.isfinite(values).all()


def test_good_files_are_predicted_and_bad_ones_reported(bundle_path, songs, capsys):
    files = [songs["wav"], songs["corrupt"], songs["ogg"], songs["short"], songs["flac"]]
    code, out, err = run([*files, "--model", bundle_path, "--threads", "1"], capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert "valence (1-9)" in lines[0] and "arousal (1-9)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == [str(songs[k]) for k in ("wav", "ogg", "flac")]
    for line in lines[1:]:
        valence, arousal = map(float, line.split()[-2:])
        assert np.isfinite([valence, arousal]).all()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert str(songs["corrupt"]) in errors[0] and "corrupt" in errors[0]
    assert str(songs["short"]) in errors[1] and "shorter than one 3-second segment" in errors[1]
    assert "random weights" in err  # the note that this is no PANNs model


def test_csv_with_segments_parses(bundle_path, songs, capsys):
    code, out, err = run(
        [songs["wav"], songs["flac"], "--segments", "--format", "csv", "--model", bundle_path, "--threads", "1"], capsys
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [*cli.COLUMNS, "valence", "arousal"]
    wav = [r for r in rows if r["file"] == str(songs["wav"])]
    assert [r["level"] for r in wav] == ["song", "segment", "segment"]  # 7 s -> two 3-second segments
    assert [float(r["start_s"]) for r in wav[1:]] == [0.0, 3.0]
    assert float(wav[0]["end_s"]) == 6.0
    assert all(np.isfinite([float(r["valence"]), float(r["arousal"])]).all() for r in rows)


def test_json_parses_and_matches_the_table(bundle_path, songs, capsys):
    code, out, _ = run(
        [songs["ogg"], "--format", "json", "--segments", "--model", bundle_path, "--threads", "1"], capsys
    )
    assert code == 0
    results = json.loads(out)
    assert len(results) == 1 and results[0]["file"] == str(songs["ogg"])
    assert results[0]["segments"] == 1 and len(results[0]["curve"]) == 1
    assert set(results[0]["curve"][0]) == {"start_s", "end_s", "valence", "arousal"}
    code, table, _ = run([songs["ogg"], "--model", bundle_path, "--threads", "1"], capsys)
    valence, arousal = map(float, table.strip().splitlines()[1].split()[-2:])
    assert valence == pytest.approx(results[0]["valence"], abs=0.006)
    assert arousal == pytest.approx(results[0]["arousal"], abs=0.006)


def test_real_deam_clips(bundle_path, deam_sample, capsys):
    clips = sorted((deam_sample / "MEMD_audio").glob("*.mp3"))[:2]
    code, out, err = run([*clips, "--format", "csv", "--model", bundle_path, "--threads", "1"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"] for r in rows] == [str(c) for c in clips]
    assert all(float(r["end_s"]) >= 30 for r in rows)  # DEAM excerpts are 45 s: many segments each


def test_missing_model_says_to_build_the_book(tmp_path, songs, capsys):
    code, _, err = run([songs["wav"], "--model", tmp_path / "none.pt"], capsys)
    assert code == 1 and "make book" in err and "none.pt" in err


def test_usage_errors_exit_2(capsys):
    assert run([], capsys)[0] == 2
    assert run(["x.wav", "--format", "xml"], capsys)[0] == 2
    assert run(["--help"], capsys)[0] == 0


def test_command_line_exit_code(bundle_path, songs):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mer_utils",
            "predict",
            str(songs["flac"]),
            str(songs["corrupt"]),
            "--model",
            str(bundle_path),
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=300,
    )
    assert done.returncode == 1
    assert str(songs["flac"]) in done.stdout and str(songs["corrupt"]) in done.stderr


# --------------------------------------------------------------------------- provenance, inputs, model choice


@pytest.fixture(scope="module")
def backbone_once(bundle_path):
    """The bundle's random CNN14, built once: rebuilding it costs seconds per run and is tested above."""
    return song_models.rebuild_cnn14(bundles.load_bundle(bundle_path).backbone)


@pytest.fixture
def quick(monkeypatch, backbone_once):
    monkeypatch.setattr(song_models, "rebuild_cnn14", lambda info, checkpoint=None: backbone_once)


def test_csv_and_json_say_which_data_backbone_weights_scale_and_model_file_made_each_row(
        bundle_path, songs, quick, capsys):
    code, out, err = run([songs["ogg"], songs["flac"], "--format", "csv", "--model", bundle_path], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2
    for row in rows:
        provenance = (row["data"], row["backbone"], row["weights"], row["scale"])
        assert provenance == ("synthdeam", "cnn14", "random:seed0", "synthdeam:1-9")
        assert Path(row["model"]).resolve() == bundle_path.resolve()
    code, out, err = run([songs["ogg"], "--format", "json", "--model", bundle_path], capsys)
    assert code == 0, err
    (song,) = json.loads(out)
    assert (song["data"], song["backbone"], song["weights"]) == ("synthdeam", "cnn14", "random:seed0")
    assert Path(song["model"]).resolve() == bundle_path.resolve()


def test_the_caveat_names_synthetic_data_and_the_random_backbone_in_one_line(bundle_path, songs, quick, capsys):
    code, _, err = run([songs["ogg"], "--model", bundle_path, "--quiet"], capsys)
    assert code == 0, err
    caveats = [line for line in err.splitlines() if line.startswith("caveat:")]
    assert len(caveats) == 1
    assert "SynthDEAM" in caveats[0] and "random weights" in caveats[0]
    assert "mean nothing for real music" in caveats[0]


def test_the_caveat_names_each_reason_alone_and_is_silent_for_a_real_pretrained_model(bundle_path):
    bundle = bundles.load_bundle(bundle_path)
    deam = {**bundle.raw, "data": "deam", "learned_from": {"deam": "ratings"}}
    real_data = bundles.Bundle(**{**vars(bundle), "raw": deam})
    assert "random weights" in bundles.caveat(real_data) and "SynthDEAM" not in bundles.caveat(real_data)
    pretrained = {**bundle.backbone, "kind": "pretrained", "sha256": "ab" * 32}
    synthetic_only = bundles.Bundle(**{**vars(bundle), "backbone": pretrained})
    assert "SynthDEAM" in bundles.caveat(synthetic_only) and "random" not in bundles.caveat(synthetic_only)
    real = bundles.Bundle(**{**vars(real_data), "backbone": pretrained})
    assert bundles.caveat(real) is None
    assert bundles.provenance(real)["data"] == "deam"
    assert bundles.provenance(real)["weights"] == "pretrained:" + "ab" * 6


@pytest.fixture
def music_tree(tmp_path):
    """music/a.wav, music/notes.txt, music/.hidden.wav, music/album/b.flac, music/album/deeper/c.ogg."""
    root = tmp_path / "music"
    sr = 8000
    tone = (0.1 * np.sin(np.arange(sr) / 5)).astype(np.float32)
    for name, fmt in [("a.wav", None), (".hidden.wav", None), ("album/b.flac", None), ("album/deeper/c.ogg", "OGG")]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / name, tone, sr, format=fmt)
    (root / "notes.txt").write_text("not audio")
    return root


def test_folders_give_their_audio_files_and_r_descends_into_subfolders(music_tree):
    files, problems = cli.expand_inputs([music_tree])
    assert files == [music_tree / "a.wav"] and problems == []
    files, problems = cli.expand_inputs([music_tree], recursive=True)
    assert files == [music_tree / "a.wav", music_tree / "album/b.flac", music_tree / "album/deeper/c.ogg"]
    files, problems = cli.expand_inputs([music_tree / "album" / "deeper" / "..", music_tree / "notes.txt"])
    assert files == [music_tree / "album/deeper/../b.flac", music_tree / "notes.txt"]  # a named file is always tried
    outer = music_tree.parent / "outer"
    (outer / "inner").mkdir(parents=True)
    (outer / "inner" / "d.mp3").write_bytes(b"")
    files, problems = cli.expand_inputs([outer])
    assert files == [] and len(problems) == 1 and str(outer) in problems[0] and "-r" in problems[0]
    assert cli.expand_inputs([outer], recursive=True) == ([outer / "inner" / "d.mp3"], [])


def test_glob_patterns_are_expanded_and_one_that_matches_nothing_is_reported(music_tree):
    files, problems = cli.expand_inputs([f"{music_tree}/*", f"{music_tree}/a.*"])
    assert files == [music_tree / "a.wav", music_tree / "album/b.flac"] and problems == []  # no repeats, no .txt
    files, _ = cli.expand_inputs([f"{music_tree}/**/*.ogg"], recursive=True)
    assert files == [music_tree / "album/deeper/c.ogg"]
    files, problems = cli.expand_inputs([f"{music_tree}/*.mp3"])
    assert files == [] and len(problems) == 1 and "*.mp3" in problems[0] and "matches" in problems[0]


def test_a_folder_with_r_and_a_pattern_are_predicted_from_the_command_line(
    bundle_path, songs, music_tree, quick, capsys
):
    (music_tree / "album" / "long.flac").write_bytes(songs["flac"].read_bytes())
    pattern = f"{songs['wav'].parent}/st*.wav"
    argv = ["-r", music_tree / "album", pattern, "--model", bundle_path, "-j", "3", "-q", "--format", "csv"]
    code, out, err = run(argv, capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [Path(r["file"]).name for r in rows] == ["long.flac", "stereo.wav"]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 2  # the 1-second b.flac and c.ogg are too short
    assert all("shorter than one 3-second segment" in e for e in errors)


def touch_bundle(root, folder, mtime, file="emotion_mlp.pt", **contents):
    """A stand-in bundle file at ``root/folder/models/file``; ``contents`` (data, backbone) make it readable."""
    import torch

    path = root / folder / "models" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    if contents:
        torch.save(contents, path)
    else:
        path.write_bytes(b"bundle")
    os.utime(path, (mtime, mtime))
    return path


def test_without_a_book_on_real_ratings_the_shipped_predictor_runs_and_synthdeam_only_when_asked(tmp_path):
    shipped = tmp_path / "shipped.pt"
    shipped.write_bytes(b"bundle")
    results = tmp_path / "results"
    synth = touch_bundle(results, "synthdeam", 1_000_000)
    path, reason = bundles.choose_model(results_root=results, shipped=shipped)
    assert path == shipped and "shipped predictor" in reason and "--data synth" in reason, reason
    assert bundles.choose_model(data="synth", results_root=results, shipped=shipped)[0] == synth
    deam = touch_bundle(results, "deam", 2_000_000)  # unreadable: not known to be on real ratings
    assert bundles.choose_model(results_root=results, shipped=shipped)[0] == shipped
    assert bundles.choose_model(model="x.pt", data="deam", results_root=results) == (Path("x.pt"), "--model")
    path, reason = bundles.choose_model(results_root=results, shipped=tmp_path / "absent.pt")
    assert path == deam and "none was trained on real ratings" in reason  # no shipped file: the book's newest
    os.utime(synth, (3_000_000, 3_000_000))
    assert bundles.choose_model(results_root=results, shipped=tmp_path / "absent.pt")[0] == synth


def test_a_model_on_real_ratings_with_a_pretrained_backbone_is_preferred_then_the_best_kind_of_file(tmp_path):
    real = {"data": "soundtracks", "backbone": {"name": "musicnn", "kind": "pretrained"}}
    predictor = touch_bundle(tmp_path, "soundtracks", 1_000_000, "predictor.pt", **real)
    musicnn = touch_bundle(tmp_path, "soundtracks", 1_500_000, "emotion_mlp_musicnn.pt", **real)
    random_real = touch_bundle(tmp_path, "deam", 2_500_000, data="deam", backbone={"kind": "random"})
    newest = touch_bundle(tmp_path, "synthdeam", 3_000_000, data="synthdeam", backbone={"kind": "pretrained"})
    path, reason = bundles.choose_model(results_root=tmp_path)  # the best kind of file first, then the newest
    assert path == predictor and "real ratings with a pretrained backbone" in reason, reason
    assert bundles.choose_model(data="soundtracks", results_root=tmp_path)[0] == predictor  # a book's best: predictor
    later = touch_bundle(tmp_path, "deam", 1_200_000, "predictor.pt", **{**real, "data": "deam"})
    assert bundles.choose_model(results_root=tmp_path)[0] == later, "two predictors: the newer"
    later.unlink()
    predictor.unlink()
    tuned = touch_bundle(tmp_path, "soundtracks", 2_000_000, "musicnn_finetuned.pt", data="soundtracks",
                         backbone={"name": "musicnn", "kind": "finetuned"})
    assert bundles.choose_model(results_root=tmp_path)[0] == musicnn, "the frozen musicnn's MLP, then fine-tuned"
    musicnn.unlink()
    assert bundles.choose_model(results_root=tmp_path)[0] == tuned, "fine-tuned from pretrained weights counts"
    tuned.unlink()
    path, reason = bundles.choose_model(results_root=tmp_path, shipped=tmp_path / "absent.pt")
    assert path == newest and "none was trained on real ratings" in reason
    assert random_real.exists()


def test_no_bundle_is_one_error_naming_the_path_looked_for_and_make_book(tmp_path, songs, monkeypatch, capsys):
    with pytest.raises(MerError, match="make book DATA=deam") as caught:
        bundles.choose_model(data="deam", results_root=tmp_path)
    for file in ("predictor.pt", "emotion_mlp_musicnn.pt", "emotion_mlp.pt"):
        assert str(tmp_path / "deam" / "models" / file) in str(caught.value)
    monkeypatch.setattr(bundles, "RESULTS_ROOT", tmp_path)
    monkeypatch.setattr(bundles, "SHIPPED_FILE", tmp_path / "absent.pt")
    code, out, err = run([songs["ogg"]], capsys)
    assert code == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("error:") and "make book" in line
    assert str(tmp_path / "*" / "models") in line and "predictor.pt" in line


def test_without_model_or_data_the_command_uses_and_names_the_latest_bundle(
    bundle_path, songs, tmp_path, quick, monkeypatch, capsys
):
    older = touch_bundle(tmp_path, "deam", 1_000_000)
    latest = tmp_path / "synthdeam" / "models" / "emotion_mlp.pt"
    latest.parent.mkdir(parents=True)
    latest.write_bytes(bundle_path.read_bytes())
    monkeypatch.setattr(bundles, "RESULTS_ROOT", tmp_path)
    monkeypatch.setattr(bundles, "SHIPPED_FILE", tmp_path / "absent.pt")  # a checkout without the shipped file
    code, out, err = run([songs["ogg"], "--format", "json"], capsys)
    assert code == 0, err
    assert Path(json.loads(out)[0]["model"]).resolve() == latest.resolve()
    model_line = next(line for line in err.splitlines() if line.startswith("model:"))
    assert "most recently written" in model_line and "--data" in model_line
    assert older.exists()


def test_table_csv_and_json_have_the_same_columns_in_the_same_order(bundle_path, songs, quick, capsys):
    outputs = {}
    for fmt in ("table", "csv", "json"):
        code, outputs[fmt], err = run([songs["wav"], songs["ogg"], "--format", fmt, "--model", bundle_path], capsys)
        assert code == 0, err
    expected = [*cli.COLUMNS, "valence", "arousal"]
    table = outputs["table"].splitlines()
    assert table[0].replace(" (1-9)", "").split() == expected
    assert len(table) == 3 and all(len(line.split()) == len(expected) for line in table[1:])
    assert next(csv.reader(io.StringIO(outputs["csv"]))) == expected
    assert [list(song) for song in json.loads(outputs["json"])] == [expected, expected]
    csv_rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    for line, row, song in zip(table[1:], csv_rows, json.loads(outputs["json"])):
        assert line.split()[:-2] == [str(row[c]).removesuffix(".0000") for c in cli.COLUMNS]
        assert float(row["valence"]) == pytest.approx(song["valence"], abs=1e-4)


def test_parallel_decoding_gives_the_sequential_results_in_order(bundle_path, songs, quick):
    model = song_models.song_model(bundles.load_bundle(bundle_path), threads=1)
    files = [songs[k] for k in ("wav", "corrupt", "ogg", "short", "flac")]
    one_at_a_time = list(cli.predict_files(model, files, jobs=0))
    pooled = list(cli.predict_files(model, files, jobs=3))
    assert [p for p, _, _ in pooled] == files
    assert [e is None for _, _, e in pooled] == [True, False, True, False, True]
    for (_, a, _), (_, b, _) in zip(one_at_a_time, pooled):
        assert a == b


@pytest.fixture(scope="module")
def musicnn_bundle_path(tmp_path_factory):
    """A musicnn bundle (the real network, an untrained head) heard at 4 patches a song, as the predictor."""
    from sklearn.preprocessing import StandardScaler

    from mer_utils.phase3.backbones import phase3_backbone
    from mer_utils.phase3.musicnn import EMBEDDING_DIM as MUSICNN_DIM
    from mer_utils.phase3.musicnn_embeddings import musicnn_settings

    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(FETCH_MUSICNN)
    backbone = phase3_backbone("musicnn", "soundtracks", musicnn_weights=MUSICNN_WEIGHTS)
    rng = np.random.default_rng(0)
    mlp = MlpResult(
        model=build_model("EmotionMLP", seed=0, in_features=MUSICNN_DIM).eval(),
        feature_scaler=StandardScaler().fit(rng.normal(0, 2, size=(20, MUSICNN_DIM))),
        target_scaler=fit_target_scaler(rng.uniform(2, 8, size=(20, 2))),
        target_names=["valence_mean", "arousal_mean"],
        history=pd.DataFrame(),
        settings={"in_features": MUSICNN_DIM, "outputs": 2},
    )
    path = tmp_path_factory.mktemp("musicnn") / "models" / "predictor.pt"
    bundles.save_bundle(path, mlp, {**backbone.info(), "name": backbone.name},
                        {**musicnn_settings("float32"), "patches_per_song": 4}, data="soundtracks",
                        extra=bundles.backbone_state(backbone))
    return path


def test_a_musicnn_model_runs_whole_songs_side_by_side_with_the_sequential_numbers_in_order(musicnn_bundle_path,
                                                                                           songs):
    from mer_utils.corpus.audio import ReadAhead

    model = song_models.song_model(bundles.load_bundle(musicnn_bundle_path), threads=2)
    assert model.embed_alone is not None and model.song_units == 4
    files = [songs[k] for k in ("wav", "corrupt", "flac", "short", "ogg")]
    one_at_a_time = list(cli.predict_files(model, files, jobs=0))
    side_by_side = list(cli.predict_files(model, files, jobs=2))
    assert [p for p, _, _ in side_by_side] == files
    assert [e is None for _, _, e in side_by_side] == [True, False, True, False, True]
    for (_, a, _), (_, b, _) in zip(one_at_a_time, side_by_side):
        if a is not None:  # the same patches, embedded in other batch shapes: float32 rounding
            assert {k: v for k, v in a.items() if k not in ("valence", "arousal")} == \
                   {k: v for k, v in b.items() if k not in ("valence", "arousal")}
            assert a["valence"] == pytest.approx(b["valence"], rel=1e-5)
            assert a["arousal"] == pytest.approx(b["arousal"], rel=1e-5)
    early = ReadAhead(files)
    early._thread.join()
    read = early.stop()
    assert list(read) == files  # every file begun, the broken ones holding their errors
    again = list(cli.predict_files(model, files, jobs=2, read=read))
    assert [(p, r, str(e)) for p, r, e in again] == [(p, r, str(e)) for p, r, e in side_by_side]


def test_the_progress_bar_shows_on_a_terminal_only_and_not_with_quiet():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert cli.show_progress(False, Terminal())
    assert not cli.show_progress(True, Terminal())
    assert not cli.show_progress(False, io.StringIO())


def test_help_has_examples_and_the_model_rule_and_bad_options_are_usage_errors(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "examples:" in out and "mer predict music/ -r" in out and "most recently written" in out
    assert "mean nothing for real music" in out
    assert run(["x.wav", "--jobs", "-1"], capsys)[0] == 2
    assert run(["x.wav", "--data", "4q"], capsys)[0] == 2
    assert run(["x.wav", "--data", "deam", "--model", "m.pt"], capsys)[0] == 2


def test_the_reproduce_page_shows_the_caveat_the_default_book_prints(bundle_path):
    bundle = bundles.load_bundle(bundle_path)
    default_book = bundles.Bundle(**{**vars(bundle), "backbone": {**bundle.backbone, "seed": 42}})
    page = (REPO / "book" / "reproduce.md").read_text()
    section = page[page.index("## Predicting new songs") :]
    block = section[section.index("```text\ncaveat:") + len("```text\n") :]
    assert " ".join(block[: block.index("```")].split()) == bundles.caveat(default_book)


def test_a_saved_scaler_transforms_exactly_as_the_scikit_learn_scaler_it_was_saved_from():
    from sklearn.preprocessing import StandardScaler

    from mer_utils.training.modelfile import scaler_from_dict, scaler_to_dict

    rng = np.random.default_rng(3)
    fitted = StandardScaler().fit(rng.normal(5, 2, size=(30, 4)))
    saved = scaler_from_dict(scaler_to_dict(fitted))
    for x in (rng.normal(5, 2, size=(6, 4)).astype(np.float32), rng.normal(5, 2, size=(6, 4)), np.arange(4)[None]):
        for method in ("transform", "inverse_transform"):
            ours, theirs = getattr(saved, method)(x), getattr(fitted, method)(x)
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    with pytest.raises(MerError, match="expected 4 features per row, got 3"):
        saved.transform(np.zeros((2, 3)))


def test_a_curve_model_trained_on_real_listeners_is_preferred_to_a_newer_synthdeam_one(tmp_path):
    from mer_utils.phase4.bundle import CURVE_FILE

    real = touch_bundle(tmp_path, "vgmidi", 1_000_000, CURVE_FILE.name, data="vgmidi",
                        backbone={"name": "musicnn", "kind": "pretrained"})
    touch_bundle(tmp_path, "synthdeam", 2_000_000, CURVE_FILE.name, data="synthdeam",
                 backbone={"name": "musicnn", "kind": "pretrained"})
    path, reason = bundles.choose_model(results_root=tmp_path, files=(CURVE_FILE,))
    assert path == real and "real ratings" in reason
    assert bundles.choose_model(data="vgmidi", results_root=tmp_path, files=(CURVE_FILE,))[0] == real
