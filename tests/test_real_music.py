"""The Real music chapter: classification intervals, cross-validation, transfer, the toc, the page at tiny scale."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import MUSICNN_WEIGHTS, REPO, write_tone

from mer_utils.corpus.fourq import QUADRANTS
from mer_utils.realmusic import crossval, narrative, tables, transfer
from mer_utils.realmusic.corpus import numeric_ids
from mer_utils.realmusic.representations import Representation, common_songs, lesson_labels
from mer_utils.results import classification as cl
from mer_utils.toc import filter_toc, write_toc

FOURQ_SAMPLE = REPO.parent / "shared" / "4q-sample" / "MER_audio_taffc_dataset"


# --------------------------------------------------------------------------- ids


def test_numeric_ids_are_the_digits_of_4q_names():
    ids = numeric_ids(["MT0000040632", "MT0000004637"])
    assert ids.to_dict() == {"MT0000004637": 4637, "MT0000040632": 40632}


def test_numeric_ids_fall_back_to_positions_when_names_are_not_mt_digits_or_collide():
    assert numeric_ids(["b", "a"]).to_dict() == {"a": 1, "b": 2}
    assert numeric_ids(["MT01", "MT001"]).tolist() == [1, 2]


# --------------------------------------------------------------------------- intervals for classification


def test_weighted_macro_f1_with_unit_weights_equals_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    truth = rng.choice(["Q1", "Q2", "Q3", "Q4"], 200)
    predicted = np.where(rng.random(200) < 0.6, truth, rng.choice(["Q1", "Q2", "Q3"], 200))  # Q4 under-predicted
    assert cl.macro_f1(truth, predicted) == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_resample_weights_draw_whole_artists():
    groups = np.array(["a", "a", "a", "b", "c", "c"])
    weights = cl.resample_weights(6, groups, n_resamples=50, seed=1)
    assert weights.shape == (50, 6)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 1] == weights[:, 2]).all()
    assert (weights[:, 4] == weights[:, 5]).all()
    drawn = weights[:, [0, 3, 4]].sum(axis=1)  # three artists drawn per resample
    assert (drawn == 3).all()
    assert not (weights[:, 0] == weights[:, 3]).all(), "different artists are drawn independently"


def test_auc_with_unit_weights_equals_scikit_learn_even_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    positive = rng.random(120) < 0.4
    scores = np.round(positive + rng.normal(0, 1, 120), 1)  # rounded: many ties
    assert cl.auc_interval(positive, scores, n_resamples=10)["auc"] == pytest.approx(roc_auc_score(positive, scores))


def test_an_inverted_ranking_has_an_auc_below_chance_with_an_interval_below_it():
    positive = np.repeat([True, False], 50)
    result = cl.auc_interval(positive, -np.arange(100.0)[::-1], groups=np.arange(100) // 2)
    assert result["auc"] == 0 and result["high"] < 0.5


def test_repeated_f1_averages_repeats_and_its_interval_contains_the_figure():
    rng = np.random.default_rng(1)
    truth = rng.choice(["low", "high"], 150)
    runs = np.stack([np.where(rng.random(150) < 0.8, truth, rng.choice(["low", "high"], 150)) for _ in range(3)])
    result = cl.repeated_f1(truth, runs, groups=np.arange(150) // 3, classes=("low", "high"))
    per_repeat = [cl.macro_f1(truth, run) for run in runs]
    assert result["f1"] == pytest.approx(np.mean(per_repeat))
    assert result["sd_repeats"] == pytest.approx(np.std(per_repeat, ddof=1))
    assert result["low"] < result["f1"] < result["high"]
    assert result["repeats"] == 3 and result["songs"] == 150


def test_paired_difference_is_zero_for_identical_predictions_and_favours_the_better_ones():
    rng = np.random.default_rng(2)
    truth = rng.choice(QUADRANTS, 200)
    good = np.where(rng.random((2, 200)) < 0.7, truth, rng.choice(QUADRANTS, (2, 200)))
    poor = np.where(rng.random((2, 200)) < 0.3, truth, rng.choice(QUADRANTS, (2, 200)))
    same = cl.paired_f1_difference(truth, good, good)
    assert same["difference"] == 0 and same["low"] == 0 and same["high"] == 0
    ahead = cl.paired_f1_difference(truth, good, poor, groups=np.arange(200) // 2)
    assert ahead["low"] > 0 and ahead["songs"] == 200


# --------------------------------------------------------------------------- cross-validation


def fake_songs(n_per_quadrant: int = 20) -> pd.DataFrame:
    """4Q-like songs: two clips per artist, quadrants balanced."""
    quadrant = np.repeat(QUADRANTS, n_per_quadrant)
    names = [f"MT{i:06d}" for i in range(len(quadrant))]
    return pd.DataFrame({"quadrant": quadrant, "artist_group": [f"artist {i // 2}" for i in range(len(quadrant))]},
                        index=pd.Index(names, name="song_id"))


def fake_representation(songs, key, signal, seed=0, dims=12) -> Representation:
    rng = np.random.default_rng(seed)
    codes = songs["quadrant"].map({q: i for i, q in enumerate(QUADRANTS)}).to_numpy()
    x = rng.normal(size=(len(songs), dims))
    x[np.arange(len(songs)), codes] += signal
    return Representation(key, key.title(), "handcrafted" if key == "features" else "pretrained",
                          pd.DataFrame(x, index=songs.index), note="")


def test_cross_validation_gives_each_song_one_out_of_fold_prediction_per_repeat_and_setting():
    songs = fake_songs()
    reps = [fake_representation(songs, "features", 3.0), fake_representation(songs, "musicnn", 0.0, seed=1)]
    cv = crossval.cross_validate(reps, songs, tasks=("quadrant", "arousal"), n_splits=4, n_repeats=2, n_jobs=1,
                                 progress=False)
    counts = cv.predictions.groupby(["representation", "model", "task", "repeat"]).size()
    assert len(counts) == 2 * 2 * 2 * 2 and (counts == len(songs)).all()
    scores = crossval.score_table(cv)
    informative = scores[(scores["key"] == "features") & (scores["task"] == "quadrant")]
    noise = scores[(scores["key"] == "musicnn") & (scores["task"] == "quadrant")]
    assert (informative["low"] > 0.25).all(), "a strong signal is found by both models"
    assert (noise["f1"] < informative["f1"].min()).all()
    best = crossval.best_settings(scores)
    assert list(best["task"]) == ["quadrant", "arousal"] and (best["key"] == "features").all()
    diffs = crossval.differences(cv)
    rep_rows = diffs[(diffs["compared"] == "representations") & (diffs["task"] == "quadrant")]
    assert (rep_rows["better"] == "Features").all()
    assert set(diffs["compared"]) == {"representations", "models"}
    matrix = crossval.confusion(cv, "features", "linear")
    assert list(matrix.index) == list(QUADRANTS) and np.allclose(matrix.sum(axis=1), 1)
    grid = tables.score_grid(scores)
    assert len(grid) == 4 and list(grid.columns) == ["representation", "model", "4 quadrants", "arousal sign"]


def test_cross_validation_refuses_a_representation_missing_songs():
    songs = fake_songs(5)
    partial = fake_representation(songs, "features", 1.0)
    partial.frame = partial.frame.iloc[1:]
    with pytest.raises(Exception, match="lacks 1 of the songs"):
        crossval.cross_validate([partial], songs, n_splits=2, n_repeats=1, n_jobs=1, progress=False)


def test_common_songs_and_lesson_labels_follow_the_representations():
    songs = fake_songs(3)
    a, b = fake_representation(songs, "features", 1.0), fake_representation(songs, "cnn14", 1.0)
    b.kind, b.frame = "random", b.frame.iloc[2:]
    assert common_songs([a, b]) == sorted(songs.index[2:])
    assert lesson_labels([a, b]) == {"handcrafted": "Features", "pretrained": [], "random_labels": ["Cnn14"]}


def test_unknown_model_is_an_error_naming_the_choices():
    with pytest.raises(Exception, match="linear, mlp"):
        crossval.classifier("svm")


# --------------------------------------------------------------------------- transfer


def test_transfer_auc_is_one_for_a_perfect_ranking_and_quadrant_means_follow_the_predictions():
    songs = fake_songs(5)
    songs["arousal_high"] = songs["quadrant"].isin(["Q1", "Q2"])
    songs["valence_positive"] = songs["quadrant"].isin(["Q1", "Q4"])
    predictions = pd.DataFrame({"valence_mean": np.where(songs["valence_positive"], 7.0, 3.0),
                                "arousal_mean": np.where(songs["arousal_high"], 3.0, 7.0)}, index=songs.index)
    model = transfer.TransferModel("toy", "synthdeam", predictions, "")
    table = transfer.transfer_table([model], songs)
    assert table.set_index("target").loc["valence_mean", "auc"] == 1
    assert table.set_index("target").loc["arousal_mean", "auc"] == 0, "arousal predicted upside down"
    assert set(table["trained_on"]) == {"SynthDEAM"}
    means = transfer.quadrant_means([model], songs)
    valence = means.set_index(["model", "trained on", "target"]).loc[("toy", "SynthDEAM", "valence")]
    assert valence["Q1"] == 7 and valence["Q2"] == 3 and list(means.columns[-4:]) == ["Q1", "Q2", "Q3", "Q4"]


def test_transfer_differences_pair_one_kind_of_model_across_corpora_on_the_same_clips():
    songs = fake_songs(8)
    songs["arousal_high"] = songs["quadrant"].isin(["Q1", "Q2"])
    songs["valence_positive"] = songs["quadrant"].isin(["Q1", "Q4"])
    noise = np.random.default_rng(0).normal(size=len(songs))
    perfect = pd.DataFrame({"valence_mean": np.where(songs["valence_positive"], 7.0, 3.0) + 0.1 * noise,
                            "arousal_mean": noise}, index=songs.index)
    blind = pd.DataFrame({"valence_mean": noise, "arousal_mean": noise}, index=songs.index)
    models = [transfer.TransferModel("MLP", "synthdeam", blind, "", key="emotion_mlp"),
              transfer.TransferModel("MLP", "soundtracks", perfect, "", key="emotion_mlp"),
              transfer.TransferModel("Phase 1", "soundtracks", perfect, "", key="phase1")]
    diffs = transfer.transfer_differences(models, songs).set_index("question")
    assert len(diffs) == 2, "only the models of one kind trained on two corpora are paired"
    valence = diffs.loc[transfer.QUESTIONS["valence_mean"][1]]
    assert (valence["a"], valence["b"]) == ("SynthDEAM", "Soundtracks")
    assert valence["difference"] < 0 and valence["high"] < 0 and valence["better"] == "Soundtracks"
    arousal = diffs.loc[transfer.QUESTIONS["arousal_mean"][1]]
    assert arousal["difference"] == 0, "the same arousal scores: no difference in any resample"
    assert arousal["better"] == "" and arousal["low"] == arousal["high"] == 0
    assert transfer.transfer_differences(models[1:], songs).empty


def test_the_chapter_scores_the_synthdeam_book_beside_a_real_one_and_soundtracks_when_given():
    def corpora(**kwargs):
        return [b["data"] for b in transfer.books_to_score(**kwargs)]

    assert corpora() == ["synth"]
    assert corpora(soundtracks_dir="st") == ["synth", "soundtracks"]
    assert corpora(data="soundtracks", data_dir="st", soundtracks_dir="st") == ["soundtracks", "synth"]
    assert corpora(data="deam", data_dir="d", soundtracks_dir="st") == ["deam", "synth", "soundtracks"]
    soundtracks = transfer.books_to_score(soundtracks_dir="st")[1]
    assert soundtracks["data_dir"] == "st" and soundtracks["results_dir"] == Path("results/soundtracks")


def test_phase1_choice_takes_the_best_validation_r2_of_the_book_run_only(tmp_path):
    from mer_utils.phase1.regressors import GRID_SETTING
    from mer_utils.results.records import save_result

    def record(model, target, r2, split):
        run = {"corpus": "synthdeam-aaaaaaaaaaaa", "split": split, "seed": 42}
        return {"phase": 1, "model": model, "target": target, "data": "synthdeam", "setting": GRID_SETTING,
                "validation": {"r2": r2}, "test": {"r2": 0.0}, "run": run, "best_params": {}}

    for rec in (record("Ridge", "valence_mean", 0.3, "now"), record("SVR", "valence_mean", 0.4, "now"),
                record("XGBoost", "valence_mean", 0.9, "old split"), record("Ridge", "arousal_mean", 0.5, "now")):
        save_result(tmp_path, rec)
    chosen = transfer.phase1_choice(tmp_path, record("", "", 0, "now")["run"])
    assert {t: r["model"] for t, r in chosen.items()} == {"valence_mean": "SVR", "arousal_mean": "Ridge"}


def test_transfer_leaves_out_models_make_book_did_not_save(tmp_path, monkeypatch):
    book = transfer.book_paths("synth", results_dir=tmp_path / "results", cache_dir=tmp_path / "cache")
    left = transfer.emotion_mlp_transfer(book, corpus=None, fourq_cache_dir=tmp_path)
    assert "run 'make book' first" in left.reason
    left = transfer.musicnn_mlp_transfer(book, corpus=None, fourq_cache_dir=tmp_path)
    assert "Phase 3 ran without musicnn weights" in left.reason
    left = transfer.phase1_transfer(book, pd.DataFrame())
    assert "no split" in left.reason
    monkeypatch.chdir(tmp_path)  # the Soundtracks book's default folders (results/soundtracks) lie here: empty
    books = transfer.books_to_score(results_dir=tmp_path / "results", cache_dir=tmp_path / "cache",
                                    soundtracks_dir=tmp_path / "nowhere")
    models, left = transfer.available_models(books, None, tmp_path, pd.DataFrame())
    assert not models and len(left) == 6
    assert {r.label for r in left} >= {"Phase 1 regressors of the SynthDEAM book",
                                       "Phase 1 regressors of the Soundtracks book"}


# --------------------------------------------------------------------------- the table of contents


def test_the_generated_toc_drops_the_real_music_part_unless_its_page_ran(tmp_path):
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    notebooks = [e["file"] for p in toc["parts"] for c in p["chapters"] for e in [c, *c.get("sections", [])]
                 if not (REPO / f"{e['file']}.md").is_file()]
    assert "book/realmusic/fourq" in notebooks, "_toc.yml keeps the full list"
    without = filter_toc(toc, [f"{n}.ipynb" for n in notebooks if "realmusic" not in n], REPO)
    assert "Real music" not in [p["caption"] for p in without["parts"]]
    expected = dict(toc, parts=[p for p in toc["parts"] if p["caption"] != "Real music"])
    assert without == expected, "without FOURQ_DIR the book lists exactly today's chapters"
    assert filter_toc(toc, [f"{n}.ipynb" for n in notebooks], REPO) == toc


def test_write_toc_rewrites_only_on_change(tmp_path):
    target = tmp_path / "toc.yml"
    assert write_toc(REPO / "_toc.yml", target, [], root=REPO)
    assert not write_toc(REPO / "_toc.yml", target, [], root=REPO)
    assert target.read_text().startswith("# Generated")


def make_dry_run(*knobs) -> str:
    run = subprocess.run(["make", "-n", "-B", "_build/html/index.html", *knobs], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_make_builds_the_chapter_and_lists_it_only_with_fourq_dir(tmp_path):
    plain = make_dry_run()
    assert "real_music" not in plain and "--toc build/toc.yml" in plain
    with_4q = make_dry_run(f"FOURQ_DIR={tmp_path}", "MUSICNN_WEIGHTS=/x/MSD_musicnn.h5", "FOURQ_REPEATS=2")
    assert "notebooks/real_music.py book/realmusic/fourq.ipynb" in with_4q
    assert "book/realmusic/fourq.ipynb" in with_4q.split("mer_utils toc", 1)[1].splitlines()[0]
    assert 'musicnn_weights="/x/MSD_musicnn.h5"' in with_4q and "n_repeats=2" in with_4q
    assert "soundtracks_dir" not in with_4q
    beside = make_dry_run(f"FOURQ_DIR={tmp_path}", "SOUNDTRACKS_DIR=/st")
    params = next(line for line in beside.splitlines() if "params build/params/real_music.json" in line)
    assert "data=synth" in params and "soundtracks_dir=/st" in params, "the synthetic book scores Soundtracks' too"


# --------------------------------------------------------------------------- musicnn over a corpus


@pytest.fixture
def musicnn_weights():
    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(f"the musicnn weights are not at {MUSICNN_WEIGHTS}: run make venv (it fetches them)")
    return MUSICNN_WEIGHTS


def test_musicnn_corpus_embeddings_are_cached_and_a_too_short_clip_is_skipped(tmp_path, musicnn_weights,
                                                                             torch_one_thread):
    from types import SimpleNamespace

    from mer_utils.phase3.musicnn_embeddings import embed_corpus_musicnn

    write_tone(tmp_path / "a.wav", 7.0, 220.0, sr=16000)
    write_tone(tmp_path / "b.wav", 2.0, 330.0, sr=16000)
    songs = pd.DataFrame({"audio_path": [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]},
                         index=pd.Index([1, 2], name="song_id"))
    corpus = SimpleNamespace(name="toy", root=tmp_path, songs=songs)
    first = embed_corpus_musicnn(corpus, tmp_path / "cache", musicnn_weights, n_threads=1, progress=False)
    assert first.song_ids == [1] and first.songs.shape == (1, 200) and first.n_segments[1] == 2
    assert first.skipped["kind"].tolist() == ["too short"]
    again = embed_corpus_musicnn(corpus, tmp_path / "cache", musicnn_weights, n_threads=1, progress=False)
    assert again.reused_songs == 2 and np.array_equal(again.songs, first.songs)


def tone_corpus(root: Path):
    """A 4Q-shaped corpus of two generated clips (one long enough for two musicnn patches, one too short)."""
    from types import SimpleNamespace

    from mer_utils.realmusic.corpus import FourQCorpus

    write_tone(root / "a.wav", 7.0, 220.0, sr=16000)
    write_tone(root / "b.wav", 2.0, 330.0, sr=16000)
    songs = pd.DataFrame({"song": ["MT0000000001", "MT0000000002"],
                          "audio_path": [str(root / "a.wav"), str(root / "b.wav")]},
                         index=pd.Index([1, 2], name="song_id"))
    return FourQCorpus(fourq=SimpleNamespace(root=root), songs=songs)


def stand_ins(monkeypatch, songs=("MT0000000001",)):
    """Replace the features and CNN14 of the 4Q page by instant stand-ins (the musicnn networks stay real)."""
    from mer_utils.realmusic import representations as reps

    frame = pd.DataFrame(np.ones((len(songs), 3)), index=pd.Index(list(songs), name="song"))
    monkeypatch.setattr(reps, "handcrafted", lambda *a, **k: Representation("features", "386 features",
                                                                          "handcrafted", frame, ""))
    monkeypatch.setattr(reps, "cnn14", lambda *a, **k: (Representation("cnn14", "CNN14 (random weights)", "random",
                                                                        frame, ""), None))
    return reps


def test_the_4q_representations_include_musicnn_mtt_with_its_own_sha256_and_cache_entries(tmp_path, monkeypatch,
                                                                                          torch_one_thread):
    from mer_utils.phase3.musicnn_wheel import DATA_SHA256, checkpoint_dir

    if not (checkpoint_dir("MSD_musicnn").exists() and checkpoint_dir("MTT_musicnn").exists()):
        pytest.skip("musicnn's MSD and MTT networks are not in the cache folder: run make venv (it fetches them)")
    monkeypatch.delenv("MUSICNN_WEIGHTS", raising=False)
    reps = stand_ins(monkeypatch)
    corpus, cache = tone_corpus(tmp_path), tmp_path / "cache"
    found, left_out, _ = reps.compute_representations(corpus, cache, n_threads=1, precision="float32",
                                                      progress=False)
    assert [r.key for r in found] == list(reps.KEYS) and not left_out
    msd, mtt = found[2], found[3]
    assert (msd.label, mtt.label) == ("musicnn (MSD)", "musicnn (MTT)") and mtt.kind == "pretrained"
    assert DATA_SHA256["MSD_musicnn"][:12] in msd.note and DATA_SHA256["MTT_musicnn"][:12] in mtt.note
    assert mtt.dims == msd.dims == 200 and list(mtt.frame.index) == ["MT0000000001"]
    assert not np.allclose(mtt.frame.to_numpy(), msd.frame.to_numpy())
    folders = sorted(f for f in (cache / "musicnn").iterdir() if f.is_dir())
    assert len(folders) == 2, "each network's vectors have a cache folder of their own (keyed by its sha256)"
    owners = {json.loads((f / "settings.json").read_text())["backbone"]["sha256"] for f in folders}
    assert owners == {DATA_SHA256["MSD_musicnn"], DATA_SHA256["MTT_musicnn"]}
    assert mtt.skipped["reason"].str.contains("shorter").all() and len(mtt.skipped) == 1
    assert lesson_labels(found)["pretrained"] == ["musicnn (MSD)", "musicnn (MTT)"]


def test_an_explicit_musicnn_file_keeps_the_other_network_from_the_cache_or_leaves_it_out_with_a_reason(
        tmp_path, monkeypatch):
    reps = stand_ins(monkeypatch)
    asked = []

    def fake_musicnn(corpus, cache_dir, weights=None, **options):
        from mer_utils.phase3.musicnn import weights_path

        asked.append(Path(weights_path(weights)))
        key = reps.network_key(weights_path(weights))
        return Representation(key, reps.NETWORKS[key][0], "pretrained", pd.DataFrame(), "")

    monkeypatch.setattr(reps, "musicnn", fake_musicnn)
    monkeypatch.setenv("MER_CACHE_DIR", str(tmp_path / "empty"))
    found, left_out, _ = reps.compute_representations(None, tmp_path, musicnn_weights=tmp_path / "MSD_musicnn.h5")
    assert [r.key for r in found] == ["features", "cnn14", "musicnn"] and asked == [tmp_path / "MSD_musicnn.h5"]
    assert [(r.key, r.label) for r in left_out] == [("musicnn_mtt", "musicnn (MTT)")]
    assert "no MTT_musicnn network at" in left_out[0].reason and "make venv" in left_out[0].reason
    cached = tmp_path / "cache"
    for network in ("MSD_musicnn", "MTT_musicnn"):
        (cached / "musicnn-0.1.0" / network).mkdir(parents=True)
    monkeypatch.setenv("MER_CACHE_DIR", str(cached))
    asked.clear()
    found, left_out, _ = reps.compute_representations(None, tmp_path, musicnn_weights=tmp_path / "MSD_musicnn.h5")
    assert [r.key for r in found] == list(reps.KEYS) and not left_out
    assert asked == [tmp_path / "MSD_musicnn.h5", cached / "musicnn-0.1.0" / "MTT_musicnn"]
    asked.clear()  # a file of MTT's network: MSD's comes from the cache, and the order stays that of KEYS
    found, _, _ = reps.compute_representations(None, tmp_path, musicnn_weights=tmp_path / "MTT_musicnn.h5")
    assert [r.key for r in found] == list(reps.KEYS) and asked[1] == cached / "musicnn-0.1.0" / "MSD_musicnn"


def test_the_4q_lessons_set_two_pretrained_embeddings_against_each_other():
    songs = fake_songs()
    reps = [fake_representation(songs, "features", 1.0), fake_representation(songs, "musicnn", 3.0, seed=1),
            fake_representation(songs, "musicnn_mtt", 0.0, seed=2)]
    reps[1].label, reps[2].label = "musicnn (MSD)", "musicnn (MTT)"
    cv = crossval.cross_validate(reps, songs, tasks=("quadrant",), models=("linear",), n_splits=4, n_repeats=1,
                                 n_jobs=1, progress=False)
    diffs = crossval.differences(cv)
    pair = diffs[(diffs["a"] == "musicnn (MSD)") & (diffs["b"] == "musicnn (MTT)")]
    assert len(pair) == 1 and pair["better"].iloc[0] == "musicnn (MSD)"  # MSD against MTT is a paired row
    text = narrative.fourq_lessons(diffs, crossval.score_table(cv), **lesson_labels(reps))
    assert ("*Embedding selection is crucial*: **musicnn (MSD)** against **musicnn (MTT)**, two pretrained "
            "embeddings, over 1 task and model pairs: musicnn (MSD) better in 1") in text


# --------------------------------------------------------------------------- the page, at tiny scale


def tiny_fourq(root: Path, per_quadrant: int = 3, seconds: float = 7.0) -> Path:
    """The sample's CSVs and the first seconds of a few clips per quadrant (as MP3), under ``root``."""
    import shutil

    import soundfile as sf

    from mer_utils.corpus.audio import load_audio

    root.mkdir(parents=True)
    for name in ("panda_dataset_taffc_annotations.csv", "panda_dataset_taffc_metadata.csv"):
        shutil.copy(FOURQ_SAMPLE / name, root / name)
    for quadrant in QUADRANTS:
        (root / quadrant).mkdir()
        for clip in sorted((FOURQ_SAMPLE / quadrant).glob("*.mp3"))[:per_quadrant]:
            audio = load_audio(clip, 22050, duration=seconds)
            sf.write(root / quadrant / clip.name, audio, 22050, format="MP3")
    return root


def test_the_real_music_page_runs_on_a_few_real_clips(tmp_path):
    if not (FOURQ_SAMPLE / "panda_dataset_taffc_annotations.csv").is_file():
        pytest.skip(f"the 4Q sample is not at {FOURQ_SAMPLE} (it lives in ../shared beside the repo)")
    from mer_utils.pipeline import run_notebook

    params = {"fourq_dir": str(tiny_fourq(tmp_path / "4q")), "fourq_results_dir": str(tmp_path / "results"),
              "fourq_cache_dir": str(tmp_path / "cache"), "results_dir": str(tmp_path / "book"),
              "cache_dir": str(tmp_path / "book_cache"), "n_splits": 3, "n_repeats": 2, "n_jobs": 1, "n_threads": 2}
    if MUSICNN_WEIGHTS.exists():
        params["musicnn_weights"] = str(MUSICNN_WEIGHTS)
    (tmp_path / "params.json").write_text(json.dumps(params))
    output = tmp_path / "fourq.ipynb"
    run_notebook(REPO / "notebooks" / "real_music.py", output, tmp_path / "params.json", failed_dir=tmp_path / "failed")
    text = output.read_text()
    for expected in ("real music", "4 quadrants", "valence sign", "arousal sign", "Panda et al.", "macro F1",
                     "Paired differences", "What this says about the report", "CNN14 (random weights)",
                     "EmotionMLP (Phase 3) is not scored"):
        assert expected in text, expected
    if MUSICNN_WEIGHTS.exists():
        assert "musicnn (MSD)" in text
    if MUSICNN_WEIGHTS.with_name("MTT_musicnn").exists():  # the MTT network, from the cache, beside MSD's
        assert "musicnn (MTT)" in text and "Embedding selection is crucial" in text
    assert json.loads(text)["cells"] and text.count("image/png") >= 2
    predictions = pd.read_csv(tmp_path / "results" / "crossval_predictions.csv")
    assert predictions.groupby(["representation", "model", "task", "repeat"]).size().eq(12).all()


# --------------------------------------------------------------------------- the page's sentences


def fourq_scores(rows):
    """rows: (task, representation, model, f1, low, high)."""
    return pd.DataFrame([{"task": t, "representation": r, "key": r, "model": m, "f1": f, "low": lo, "high": hi,
                          "sd_repeats": 0.01, "repeats": 5, "songs": 400} for t, r, m, f, lo, hi in rows])


def fourq_diffs(rows):
    """rows: (compared, a, b, difference, low, high)."""
    frame = pd.DataFrame([{"task": "quadrant", "compared": c, "a": a, "b": b, "held fixed": "", "difference": d,
                           "low": lo, "high": hi, "songs": 400} for c, a, b, d, lo, hi in rows])
    frame["better"] = np.where(frame["low"] > 0, frame["a"], np.where(frame["high"] < 0, frame["b"], ""))
    return frame


def published_4q():
    return pd.DataFrame([{"source": "P", "task": "quadrant", "f1": 0.764, "approximate": False}])


@pytest.mark.parametrize("low, words", [(0.26, "lies above it"), (0.25, "does not lie clearly above it")])
def test_a_fourq_best_setting_is_above_chance_only_when_its_whole_interval_is(low, words):
    scores = fourq_scores([("quadrant", "musicnn", "linear", 0.4, low, 0.5)])
    text = narrative.fourq_score_findings(scores, scores, published_4q(), "CAVEAT.")
    assert words in text and "chance is 0.25" in text and "CAVEAT." in text


@pytest.mark.parametrize("low, high, words", [(0.6, 0.7, "below their best"), (0.7, 0.8, "level with their best"),
                                              (0.77, 0.9, "above their best")])
def test_the_best_quadrant_figure_is_placed_against_panda_by_its_interval(low, high, words):
    scores = fourq_scores([("quadrant", "musicnn", "mlp", (low + high) / 2, low, high)])
    assert words in narrative.fourq_score_findings(scores, scores, published_4q(), "")


def test_the_representation_lesson_weighs_the_share_of_decided_differences_and_the_largest_gap():
    supports = fourq_diffs([("representations", "A", "B", 0.2, 0.1, 0.3), ("representations", "A", "C", 0.0, -0.1, 0.1),
                            ("models", "MLP", "LR", 0.01, -0.05, 0.06)])
    scores = fourq_scores([("quadrant", "A", "linear", 0.5, 0.4, 0.6)])
    assert "**supports it**" in narrative.fourq_lessons(supports, scores, "A", [], [])
    against = fourq_diffs([("representations", "A", "B", 0.01, -0.1, 0.1), ("models", "MLP", "LR", 0.2, 0.1, 0.3)])
    assert "**does not support it**" in narrative.fourq_lessons(against, scores, "A", [], [])
    neither = fourq_diffs([("representations", "A", "B", 0.01, -0.1, 0.1), ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    assert "**cannot tell the two apart**" in narrative.fourq_lessons(neither, scores, "A", [], [])


def test_the_pretrained_lesson_counts_paired_wins_and_says_when_nothing_pretrained_ran():
    scores = fourq_scores([("quadrant", "musicnn", "linear", 0.7, 0.6, 0.8)])
    wins = fourq_diffs([("representations", "features", "musicnn", -0.1, -0.2, -0.05),
                        ("representations", "musicnn", "features", 0.1, 0.05, 0.2),
                        ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    text = narrative.fourq_lessons(wins, scores, "features", ["musicnn"], [])
    assert "better in 2, worse in 0, undecided in 0" in text and "supports the lesson" in text
    losses = fourq_diffs([("representations", "musicnn", "features", -0.1, -0.2, -0.05),
                          ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    assert "does not support the lesson" in narrative.fourq_lessons(losses, scores, "features", ["musicnn"], [])
    text = narrative.fourq_lessons(losses, scores, "features", [], ["CNN14 (random weights)"])
    assert "cannot be tested on this run" in text and "CNN14 (random weights) is a random-feature baseline" in text


def test_the_arousal_lesson_names_the_easier_sign_and_whether_the_intervals_overlap():
    diffs = fourq_diffs([("representations", "A", "B", 0.0, -0.1, 0.1), ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    apart = fourq_scores([("arousal", "A", "linear", 0.85, 0.8, 0.9), ("valence", "A", "linear", 0.6, 0.5, 0.7)])
    assert "arousal is the easier here, with intervals apart" in narrative.fourq_lessons(diffs, apart, "A", [], [])
    close = fourq_scores([("arousal", "A", "linear", 0.6, 0.5, 0.7), ("valence", "A", "linear", 0.65, 0.55, 0.75)])
    assert "valence is the easier here, though the intervals overlap" in narrative.fourq_lessons(diffs, close, "A",
                                                                                                 [], [])


@pytest.mark.parametrize("auc, low, high, words", [
    (0.7, 0.51, 0.8, "above chance"),
    (0.55, 0.5, 0.6, "not distinguishable from chance"),
    (0.3, 0.2, 0.49, "below chance: the ranking is inverted"),
    (float("nan"), float("nan"), float("nan"), "cannot be measured"),
])
def test_auc_verdicts_change_exactly_at_chance(auc, low, high, words):
    assert narrative.auc_verdict(auc, low, high) == words


def test_transfer_findings_say_what_the_training_corpus_means_and_list_what_was_not_scored():
    from types import SimpleNamespace

    table = pd.DataFrame([{"model": "EmotionMLP", "trained_on": "SynthDEAM", "corpus": "synthdeam", "question": "q",
                           "auc": 0.6, "low": 0.55, "high": 0.65}])
    left = [SimpleNamespace(label="Phase 1 regressors", reason="no split")]
    text = narrative.transfer_findings(table, left)
    assert "0.600 [0.550, 0.650], above chance" in text and "**SynthDEAM**" in text
    assert "Phase 1 regressors is not scored: no split." in text
    assert "cross-dataset" in narrative.transfer_findings(table.assign(corpus="deam"), [])
    both = narrative.transfer_findings(pd.concat([table.assign(corpus="soundtracks"), table]), [])
    assert both.index("**Soundtracks**") < both.index("**SynthDEAM**"), "one line per training corpus, in table order"
    assert "fold 1's" in both and "energy" in both
    model = SimpleNamespace(label="EmotionMLP", corpus_label="Soundtracks", note="fold 1 of 5: 142 training songs.")
    assert "- EmotionMLP trained on Soundtracks: fold 1 of 5: 142 training songs." in narrative.transfer_findings(
        table, [], [model])
    assert narrative.transfer_findings(table.iloc[:0], left).startswith("No model of the book")


def test_transfer_difference_findings_name_a_winner_only_when_the_interval_excludes_zero():
    rows = pd.DataFrame([
        {"model": "EmotionMLP", "question": "q1", "a": "SynthDEAM", "b": "Soundtracks", "difference": -0.1,
         "low": -0.2, "high": -0.01, "songs": 400, "better": "Soundtracks"},
        {"model": "Phase 1 regressors", "question": "q2", "a": "SynthDEAM", "b": "Soundtracks", "difference": 0.02,
         "low": -0.03, "high": 0.07, "songs": 400, "better": ""}])
    text = narrative.transfer_difference_findings(rows)
    first, second = text.split("\n")[-2:]
    assert "-0.100 [-0.200, -0.010]" in first and "the Soundtracks-trained one ranks better" in first
    assert "no detectable difference" in second
    assert narrative.transfer_difference_findings(rows.iloc[:0]) == ""
