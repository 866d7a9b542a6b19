"""Phase 4, emotion over time: the 2 Hz labels, frames and their alignment, the protocol, the models, the bundle
behind ``mer predict --curve`` and the page's sentences.  Seconds, not minutes: tiny corpora and models."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MUSICNN_WEIGHTS, DEAM_SAMPLE, REPO, make_tree, write_tone

from mer_utils.corpus import synth, synth_labels
from mer_utils.corpus.deam import load_corpus
from mer_utils.errors import MerError
from mer_utils.phase4 import narrative, protocol
from mer_utils.phase4.curves import Curves, has_dynamic_annotations, load_curves
from mer_utils.phase4.frames import FrameSource, align, label_frames, windowed_mean

LEVEL = Path("annotations") / "annotations averaged per song"
DYNAMIC = LEVEL / "dynamic (per second annotations)"


@pytest.fixture(scope="module")
def cnn14():
    from mer_utils.phase3.cnn14 import random_backbone

    return random_backbone(42)


@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthdeam")
    synth.generate(root, 6, 6.0, seed=5, sr=16000, n_jobs=1, progress=False)
    return load_corpus(root)


# --------------------------------------------------------------------------- the labels


def test_synthdeam_labels_its_clips_from_2_s_with_the_raters_spread_and_the_ceiling_curve(synth_corpus):
    curves = load_curves(synth_corpus)
    assert curves.source == "SynthDEAM" and curves.song_ids == synth_corpus.song_ids
    assert curves.has_spread and curves.has_ceiling
    times = curves.of([2])["time_s"].tolist()
    assert times == [2.0 + 0.5 * k for k in range(8)], "2 Hz from 2 s to just before the 6 s clip's end"
    table = curves.table
    assert table[["valence", "arousal", "valence_expected", "arousal_expected"]].stack().between(-1, 1).all()
    assert table[["valence_std", "arousal_std"]].stack().between(0.05, 0.6).all()
    share = curves.static_share()
    assert all(0 < v < 1 for v in share.values())


def test_the_dynamic_labels_never_change_the_static_ones():
    static = synth_labels._label_noise(7, 3)
    with_dynamic = synth_labels._label_noise(7, 3, n_dynamic=40)
    assert np.array_equal(static[0], with_dynamic[0]) and np.array_equal(static[1], with_dynamic[1])


def test_the_curves_follow_the_cues_and_the_ceiling_is_the_cue_part():
    rs = {"valence": [], "arousal": []}
    for song in range(2, 42):
        labels = synth_labels.dynamic_labels(11, song, 30.0)
        for d in rs:
            rs[d].append(np.corrcoef(labels[d], labels[f"{d}_expected"])[0, 1])
    assert np.nanmean(rs["arousal"]) > 0.5 and np.nanmean(rs["valence"]) > 0.2
    drift = synth_labels.draw_cues(11, 2)["tempo_drift"]
    assert drift != 0  # the drifting cues move the noise-free curve with them
    labels = synth_labels.dynamic_labels(11, 2, 30.0)
    assert np.ptp(labels["arousal_expected"]) > 0.01


def test_deam_format_curves_are_read_with_their_quirks(tmp_path):
    root = make_tree(tmp_path / "deam", song_ids=(2, 3))
    folder = root / DYNAMIC
    folder.mkdir(parents=True)
    (folder / "valence.csv").write_text("song_id, sample_15000ms, sample_15500ms, sample_16000ms\n"
                                        "2, 0.1, 0.2,\n3, -0.5, -0.4, -0.3\n9, 0.0, 0.0, 0.0\n")
    (folder / "arousal.csv").write_text("song_id, sample_15000ms, sample_15500ms, sample_16000ms\n"
                                        "2, 0.3, 0.3,\n3, 0.1, 0.2, 0.25\n9, 0.0, 0.0, 0.0\n")
    curves = load_curves(load_corpus(root))
    assert curves.source == "DEAM" and not curves.has_spread and not curves.has_ceiling
    assert curves.song_ids == [2, 3], "song 9 has no audio; a ragged row ends at the song's end"
    assert curves.of([2])["time_s"].tolist() == [15.0, 15.5]
    assert "no per-frame spread" in narrative.annotations_sentence(curves, synthetic=False)


def test_a_tree_without_2_hz_annotations_says_where_they_come_from(tmp_path):
    root = make_tree(tmp_path / "deam")
    assert not has_dynamic_annotations(root)
    with pytest.raises(MerError, match="DEAM_Annotations.zip"):
        load_curves(load_corpus(root))
    note = narrative.dynamic_annotations_note(False, load_corpus(root))
    assert "no Phase 4" in note and "valence.csv" in note


def test_the_real_format_deam_sample_carries_2_hz_curves_for_its_ten_clips():
    if not (DEAM_SAMPLE / "MEMD_audio").is_dir():
        pytest.skip(f"the real-format DEAM sample is not at {DEAM_SAMPLE}")
    assert has_dynamic_annotations(DEAM_SAMPLE)
    curves = load_curves(load_corpus(DEAM_SAMPLE))
    assert curves.source == "DEAM" and curves.song_ids == [2, 3, 4, 5, 7, 8, 10, 12, 13, 17]
    frames = curves.of(curves.song_ids)
    assert frames.groupby("song_id")["time_s"].agg(["min", "max"]).eq([15.0, 45.0]).all().all(), "61 half seconds"
    assert frames[["valence", "arousal"]].abs().max().max() <= 1.0, "values in [-1, 1]"


# --------------------------------------------------------------------------- frames


def test_a_label_belongs_to_the_frame_that_ends_nearest_to_it():
    assert label_frames([0.5, 15.0, 15.5, 30.0, 30.5, 0.0], 0.5, 60).tolist() == [0, 29, 30, 59, -1, -1]
    musicnn_hop = 2.992 / 6
    index = label_frames([15.0, 44.5], musicnn_hop, 90)
    assert index.tolist() == [29, 88] and abs((index[1] + 1) * musicnn_hop - 44.5) < 0.25


def test_the_window_averages_each_frame_with_its_neighbours():
    values = np.arange(20, dtype=float).reshape(10, 2)
    windowed = windowed_mean(values, before=2, after=3)
    assert np.allclose(windowed[5], values[3:9].mean(axis=0)) and np.allclose(windowed[0], values[0:4].mean(axis=0))


def test_block_statistics_give_phase1_features_over_any_window():
    from mer_utils.phase1.features import song_features
    from mer_utils.phase4.descriptors import block_statistics, window_features

    audio = np.random.default_rng(0).standard_normal(22050 * 3).astype(np.float32)
    stats = block_statistics(audio, 22050, 2048, 512)
    assert stats.shape == (6, 1 + 2 * 193)
    whole = window_features(stats, before=10, after=10)[0]
    assert np.allclose(whole, song_features(audio), rtol=1e-3, atol=1e-3)  # the song's own 386 features


def test_cnn14_frames_come_from_the_same_forward_pass_as_unchanged_embeddings(tmp_path, cnn14, torch_one_thread):
    from mer_utils.phase3.embeddings import Embedder, embed_corpus, frames_path

    backbone = cnn14
    embedder = Embedder(backbone, batch_size=2, n_threads=1, precision="float32")
    x = np.random.default_rng(1).standard_normal((1, 96000)).astype(np.float32) * 0.1
    plain = embedder.embed_segments(x)
    same, frames = embedder.embed_segments_with_frames(x)
    assert np.array_equal(plain, same) and frames.shape == (6, 2048)

    corpus = load_corpus(make_tree(tmp_path / "deam", song_ids=(2,), seconds=3.5))
    first = embed_corpus(corpus, tmp_path / "cache", backbone, progress=False, embedder=embedder)
    array = first.files[2]
    assert first.frame_seconds is None and not frames_path(array).exists()
    stamp = array.stat().st_mtime_ns
    kept = embed_corpus(corpus, tmp_path / "cache", backbone, progress=False, embedder=embedder, keep_frames=True)
    assert kept.frame_seconds == 0.5 and kept.frames(2).shape == (6, 2048)
    assert array.stat().st_mtime_ns == stamp, "a cached song keeps its segment embeddings; only its frames are added"


def test_musicnn_frames_leave_its_embeddings_unchanged():
    from mer_utils.phase3 import musicnn

    weights = MUSICNN_WEIGHTS
    if not weights.exists():
        pytest.skip(f"musicnn's weights are not at {weights}")
    embedder = musicnn.MusicnnEmbedder(musicnn.load_musicnn(weights), batch_size=2, n_threads=1)
    patches = musicnn.audio_patches(np.random.default_rng(2).standard_normal(16000 * 7).astype(np.float32) * 0.1)
    embeddings, tags = embedder.run_patches(patches)
    same, same_tags, frames = embedder.run_patches_with_frames(patches, 6)
    assert np.array_equal(embeddings, same) and np.array_equal(tags, same_tags) and frames.shape == (12, 200)


# --------------------------------------------------------------------------- the protocol


def test_flat_curves_follow_the_stated_rules():
    moving = np.array([0.1, 0.2, 0.3, 0.2])
    assert protocol.curve_scores(moving, moving + 0.1)["r"] == pytest.approx(1.0)
    flat_prediction = protocol.curve_scores(moving, np.full(4, 0.2))
    assert flat_prediction["r"] == 0.0 and flat_prediction["flat_prediction"]
    flat_truth = protocol.curve_scores(np.full(4, 0.2), moving)
    assert np.isnan(flat_truth["r"]) and flat_truth["rmse"] == pytest.approx(np.sqrt(np.mean((moving - 0.2) ** 2)))


def _curves(n_songs=30, frames=12, seed=0) -> Curves:
    rng = np.random.default_rng(seed)
    rows = []
    for song in range(2, n_songs + 2):
        level = rng.uniform(-0.5, 0.5, 2)
        for k in range(frames):
            rows.append({"song_id": song, "time_s": 2.0 + 0.5 * k,
                         "valence": level[0] + 0.2 * np.sin(k / 2 + song),
                         "arousal": level[1] + 0.2 * np.cos(k / 3 + song)})
    return Curves(pd.DataFrame(rows), source="test")


def test_every_model_is_scored_on_the_frames_all_of_them_predict_and_paired_on_the_same_songs():
    curves = _curves()
    truth = curves.table[["song_id", "time_s", "valence", "arousal"]]
    good = truth.assign(valence=truth["valence"] + 0.01, arousal=truth["arousal"] - 0.01)
    level = curves.song_means()
    constant = truth[["song_id", "time_s"]].assign(valence=truth["song_id"].map(level["valence"]),
                                                   arousal=truth["song_id"].map(level["arousal"]))
    partial = good[good["time_s"] < 6.0]
    frames = protocol.scored_frames(curves.table, {"good": good, "constant": constant, "partial": partial})
    assert frames.groupby("model").size().nunique() == 1 and frames["time_s"].max() < 6.0
    scores = protocol.song_scores(frames)
    table = protocol.summary(scores)
    row = table[(table["model"] == "constant") & (table["dimension"] == "valence")].iloc[0]
    assert row["r"] == 0 and row["flat_predictions"] == row["songs"] == 30
    assert row["rmse_low"] <= row["rmse"] <= row["rmse_high"]
    better = protocol.compare(scores, "good", "constant", "valence", "rmse")
    assert better["reading"] == "better" and better["difference"] < 0 and better["high"] < 0
    assert protocol.compare(scores, "constant", "good", "arousal", "r")["reading"] == "worse"
    same = protocol.compare(scores, "good", "partial", "valence", "rmse")
    assert same["reading"] == "no detectable difference" and same["songs"] == 30


# --------------------------------------------------------------------------- models


def _sequences(curves: Curves, dim: int = 8, seed: int = 0):
    """Frames from which the labels can be read (plus noise): a model that learns should beat a constant."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for song, rows in curves.table.groupby("song_id"):
        frames = rng.standard_normal((len(rows) + 4, dim)).astype(np.float32) * 0.3
        frames[3 : 3 + len(rows), 0] += rows["valence"].to_numpy() * 3
        frames[3 : 3 + len(rows), 1] += rows["arousal"].to_numpy() * 3
        arrays[int(song)] = frames
    return align(curves, FrameSource("test frames", 0.5, arrays), curves.song_ids)


def test_the_masked_sequence_loss_counts_labelled_frames_only_and_song_batches_are_unchanged():
    import torch

    from mer_utils.training.loop import _loss

    prediction = torch.tensor([[[0.0, 1.0], [2.0, 2.0], [5.0, 5.0]]])
    target = torch.tensor([[[1.0, 1.0], [2.0, float("nan")], [float("nan"), float("nan")]]])
    assert float(_loss(prediction, target)) == pytest.approx(0.5 + 0.0)  # valence: (1 + 0) / 2; arousal: 0 / 1
    flat = torch.tensor([[0.0, 1.0], [2.0, 4.0]])
    assert float(_loss(flat, torch.zeros(2, 2))) == pytest.approx(float(((flat**2).mean(dim=0)).sum()))


def test_the_gru_learns_the_curves_and_padding_changes_no_song_s_prediction(torch_one_thread):
    import torch

    from mer_utils.phase4.sequence import DynamicGRU, fit_dynamic_gru, pad_songs

    model = DynamicGRU(in_features=4, outputs=2).eval()
    short, long = torch.randn(5, 4), torch.randn(9, 4)
    x, _ = pad_songs([(short, torch.zeros(5, 2)), (long, torch.zeros(9, 2))])
    with torch.inference_mode():
        assert torch.allclose(model(x)[0, :5], model(short[None])[0], atol=1e-6)

    curves = _curves()
    sequences = _sequences(curves)
    ids = curves.song_ids
    result = fit_dynamic_gru(sequences, ids[:20], ids[20:25], epochs=15, patience=None, batch_size=8, lr=5e-3,
                             seed=1, progress=False)
    history = result.history
    assert history["val_loss"].min() < 0.5 * history["val_loss"].iloc[0]
    predicted = result.predict(sequences, ids[25:])
    assert len(predicted) == 5 * 12 and set(predicted.columns) == {"song_id", "time_s", "valence", "arousal"}
    scores = protocol.song_scores(protocol.scored_frames(curves.table, {"gru": predicted}))
    assert scores["r"].mean() > 0.5 and (history["frames_per_s"] > 0).all()


def test_the_ridge_path_gives_scikit_learns_ridge_for_every_penalty():
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from mer_utils.phase4.ridge import ridge_path

    rng = np.random.default_rng(0)
    x = StandardScaler().fit_transform(rng.standard_normal((400, 30)))
    y = x[:, :2] @ np.array([[1.0, 0.5], [-0.3, 2.0]]) + rng.standard_normal((400, 2))
    for alpha, fitted in ridge_path(x, y, (0.1, 10.0, 1000.0)).items():
        assert np.allclose(fitted.predict(x), Ridge(alpha=alpha).fit(x, y).predict(x), atol=1e-5)


def test_the_ridge_chooses_its_penalty_on_validation_songs():
    from mer_utils.phase4.ridge import ALPHAS, fit_frame_ridge

    curves = _curves()
    sequences = _sequences(curves)
    ids = curves.song_ids
    result = fit_frame_ridge(sequences, ids[:20], ids[20:25], window=False)
    assert list(result.validation["alpha"]) == list(ALPHAS)
    assert result.alpha == result.validation.loc[result.validation["validation RMSE"].idxmin(), "alpha"]
    scores = protocol.song_scores(protocol.scored_frames(curves.table, {"ridge": result.predict(sequences, ids[25:])}))
    assert scores["rmse"].mean() < 0.15


def test_the_constant_baseline_maps_a_static_prediction_onto_the_curves_scale(synth_corpus):
    from mer_utils.phase4.static import StaticPick, constant_curves, fit_scale_map, pick_values

    curves = load_curves(synth_corpus)
    scale = fit_scale_map(synth_corpus, curves, synth_corpus.song_ids)
    for d in ("valence", "arousal"):  # SynthDEAM ties the scales: (value - 5) / 4, up to noise and clipping
        assert 0.1 < scale[d][0] < 0.4
    picks = {d: StaticPick(d, "test", pd.Series([5.0, 7.0], index=[2, 3])) for d in ("valence", "arousal")}
    values = pick_values(picks, scale)
    held = constant_curves(curves, values, [2, 3])
    assert held.groupby("song_id")["valence"].nunique().eq(1).all() and len(held) == 16


def test_mediaeval_2015_trains_on_the_excerpts_and_tests_on_the_2015_songs():
    from mer_utils.phase4.settings import book_setting, mediaeval_setting

    split = pd.DataFrame({"song_id": [2, 3, 4, 5, 2001, 2002], "part": ["train", "validation", "test", "train",
                                                                      "test", "train"]})
    setting = mediaeval_setting(split, split["song_id"])
    assert setting.parts == {"train": [2, 4, 5], "validation": [3], "test": [2001, 2002]}
    assert mediaeval_setting(split, [2, 3, 4, 5]) is None
    assert book_setting(split, [2, 3, 4, 2001]).parts == {"train": [2], "validation": [3], "test": [4, 2001]}


# --------------------------------------------------------------------------- the bundle behind mer predict --curve


def test_a_saved_curve_model_gives_the_2_hz_curve_of_an_audio_file(tmp_path, cnn14, torch_one_thread, capsys):
    from mer_utils.phase3.backbones import Phase3Backbone
    from mer_utils.phase4.bundle import CURVE_COLUMNS, load_curve_model, predict_file_curve, save_curve_model
    from mer_utils.phase4.sequence import fit_dynamic_gru

    curves = _curves(n_songs=8, frames=6)
    sequences = _sequences(curves, dim=2048)
    gru = fit_dynamic_gru(sequences, curves.song_ids[:6], curves.song_ids[6:], epochs=2, patience=None,
                          batch_size=4, lr=1e-3, seed=0, progress=False)
    backbone = Phase3Backbone("cnn14", cnn14)
    embedded = type("Embedded", (), {"frame_seconds": 0.5, "settings": {"sr": 32000, "segment_seconds": 3.0,
                                                                        "precision": "float32", "output": "x"}})()
    path = save_curve_model(tmp_path, gru, backbone, embedded, extra={"data": "synthdeam"})
    bundle = load_curve_model(path)
    assert bundle.raw["scale"] == "[-1, 1] (DEAM dynamic annotations)"
    row = bundle.provenance()
    assert (row["backbone"], row["data"], row["scale"]) == ("cnn14", "synthdeam", "synthdeam:-1..1")
    assert row["weights"].startswith("random:seed")
    assert bundle.backbone["name"] == "cnn14" and bundle.backbone["fingerprint"] == backbone.network.fingerprint
    song = tmp_path / "song.wav"
    write_tone(song, 3.2, 330.0)
    curve = predict_file_curve(bundle, song)  # the backbone rebuilt from the bundle: the same seeded weights
    assert tuple(curve.columns) == CURVE_COLUMNS and len(curve) == 6
    assert curve["time_s"].tolist() == [0.5 * k for k in range(1, 7)]
    assert np.isfinite(curve[["valence", "arousal"]].to_numpy()).all()
    (tmp_path / "other.pt").write_bytes(b"not a model")
    with pytest.raises(MerError):
        load_curve_model(tmp_path / "other.pt")
    with pytest.raises(MerError, match="not found"):
        load_curve_model(tmp_path / "missing.pt")

    # mer predict --curve: the same curve, one row per half second with the provenance columns; a corrupt file fails
    # alone (exit 1); JSON holds one object per song with its curve.
    import csv
    import io

    from mer_utils.predict import cli

    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb not an mp3 " * 40)
    code = cli.main([str(song), str(broken), "--curve", "--model", str(path), "--format", "csv", "-q"])
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1 and "broken.mp3" in err and "SynthDEAM" in err  # and the caveat
    assert list(rows[0]) == list(cli.CURVE_COLUMNS) and len(rows) == 6
    assert [float(r["valence"]) for r in rows] == pytest.approx(curve["valence"].tolist(), abs=1e-4)
    assert {r["scale"] for r in rows} == {"synthdeam:-1..1"}
    assert cli.main([str(song), "--curve", "--model", str(path), "--format", "json", "-q"]) == 0
    (song_json,) = json.loads(capsys.readouterr().out)
    assert [p["time_s"] for p in song_json["curve"]] == [0.5 * k for k in range(1, 7)]
    assert cli.main([str(song), "--curve", "--segments", "--model", str(path)]) == 2


# --------------------------------------------------------------------------- the page's words and the book's layout


def _run_like(reading: str, difference: float, low: float, high: float):
    labels = {"static": "constant", "ridge_features": "ridge f", "ridge_frames": "ridge e", "gru": "gru"}
    summary = pd.DataFrame([{"model": m, "dimension": d, "songs": 10, "rmse": 0.2, "rmse_low": 0.1, "rmse_high": 0.3,
                             "r": 0.0, "r_low": 0.0, "r_high": 0.0, "r_songs": 10, "flat_predictions": 0}
                            for m in labels.values() for d in ("valence", "arousal")])
    rows = [{"number": k + 1, "a": labels[a], "b": labels[b], "dimension": d, "metric": m, "difference": difference,
             "low": low, "high": high, "songs": 10, "reading": reading}
            for k, (a, b, d, m) in enumerate((a, b, d, m) for a, b in (("gru", "static"), ("gru", "ridge_frames"),
                                                                        ("ridge_frames", "ridge_features"))
                                             for d in ("valence", "arousal") for m in ("rmse", "r"))]
    return type("Run", (), {"labels": labels, "summary": summary, "comparisons": pd.DataFrame(rows)})()


def test_findings_say_better_only_when_the_interval_excludes_zero():
    better = narrative.findings(_run_like("better", -0.05, -0.08, -0.02))
    assert "The BiGRU has a lower RMSE than the constant (#1: A − B -0.050 [-0.080, -0.020])." in better
    none = narrative.findings(_run_like("no detectable difference", -0.01, -0.04, 0.02))
    assert "No detectable difference in RMSE between The BiGRU" not in none
    assert "No detectable difference in RMSE between the BiGRU and the constant (#1: A − B -0.010" in none
    assert "lower" not in none and "higher" not in none
    worse = narrative.findings(_run_like("worse", 0.05, 0.02, 0.08))
    assert "The BiGRU has a higher RMSE than the constant (#1: A − B 0.050 [0.020, 0.080])." in worse
    assert "The BiGRU has a lower r than the constant (#2" in worse


def test_the_mediaeval_setting_says_what_would_run_it():
    assert "SUBSET=all" in narrative.mediaeval_absent_sentence("synth", "1_2000")
    assert "lacks one side" in narrative.mediaeval_absent_sentence("deam", "all")


def test_published_anchors_carry_their_sources_into_the_bibliography():
    from mer_utils.results.anchors import DYNAMIC_ANCHORS, dynamic_anchors

    table = dynamic_anchors()
    bib = (REPO / "book" / "references.bib").read_text()
    assert all(f"{{{a['reference']}," in bib for a in DYNAMIC_ANCHORS)
    coutinho = table[table["source"].str.startswith("Coutinho")].set_index("dimension")
    assert coutinho.loc["arousal", "r"] == 0.613 and np.isnan(coutinho.loc["arousal", "rmse"])
    malik = table[table["source"].str.startswith("Malik")].set_index("dimension")
    assert (malik.loc["arousal", "rmse"], malik.loc["valence", "rmse"]) == (0.202, 0.268)


def _make_pages(*knobs) -> str:
    run = subprocess.run(["make", "-n", "pages", *knobs], cwd=REPO, capture_output=True, text=True)
    return run.stdout + run.stderr


def test_phase4_is_built_on_synthdeam_and_deam_with_curves_and_never_on_soundtracks(tmp_path):
    page = "notebooks/phase4_dynamic.py"
    assert page in _make_pages()
    sample = REPO.parent / "shared" / "soundtracks-sample"
    assert page not in _make_pages("DATA=soundtracks", f"SOUNDTRACKS_DIR={sample}")
    deam = make_tree(tmp_path / "deam")
    assert page not in _make_pages("DATA=deam", f"DEAM_DIR={deam}", "PANNS_RANDOM=1")
    (deam / DYNAMIC).mkdir(parents=True)
    for name in ("valence.csv", "arousal.csv"):
        (deam / DYNAMIC / name).write_text("song_id,sample_15000ms\n2,0.1\n")
    assert page in _make_pages("DATA=deam", f"DEAM_DIR={deam}", "PANNS_RANDOM=1")


def test_the_toc_drops_phase4_where_its_page_was_not_built():
    import yaml

    from mer_utils.toc import filter_toc

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    built = filter_toc(toc, ["book/phase4/dynamic.ipynb"], REPO)
    assert any(p["caption"].startswith("Phase 4") for p in built["parts"])
    assert not any(p["caption"].startswith("Phase 4") for p in filter_toc(toc, [], REPO)["parts"])
    assert re.search(r"book/phase4/dynamic", json.dumps(built))


def test_a_curve_model_on_musicnn_frames_rebuilds_musicnn_from_its_checked_weights(tmp_path, torch_one_thread):
    from mer_utils.phase3.backbones import MusicnnBackbone, Phase3Backbone
    from mer_utils.phase3.musicnn import verify_sha256
    from mer_utils.phase4.bundle import load_curve_model, predict_file_curve, save_curve_model
    from mer_utils.phase4.sequence import fit_dynamic_gru

    weights = MUSICNN_WEIGHTS
    if not weights.exists():
        pytest.skip(f"musicnn's weights are not at {weights}")
    curves = _curves(n_songs=6, frames=6)
    gru = fit_dynamic_gru(_sequences(curves, dim=200), curves.song_ids[:4], curves.song_ids[4:], epochs=1,
                          patience=None, batch_size=4, lr=1e-3, seed=0, progress=False)
    backbone = Phase3Backbone("musicnn", MusicnnBackbone(weights, verify_sha256(weights)))
    hop = 2.992 / 6
    embedded = type("Embedded", (), {"frame_seconds": hop, "settings": {"sr": 16000, "precision": "float32"}})()
    bundle = load_curve_model(save_curve_model(tmp_path, gru, backbone, embedded, extra={"data": "deam"}))
    assert bundle.backbone["name"] == "musicnn" and bundle.provenance()["weights"].startswith("pretrained:")
    song = tmp_path / "song.wav"
    write_tone(song, 3.2, 440.0)
    curve = predict_file_curve(bundle, song)
    assert len(curve) == 6 and curve["time_s"].iloc[-1] == pytest.approx(6 * hop, abs=1e-3)
