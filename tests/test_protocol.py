"""The evaluation protocol holds: no leakage from validation or test labels, a ceiling on the right songs, runs kept apart."""
from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import make_tree
from sklearn.metrics import r2_score

from mer_utils.corpus import synth
from mer_utils.corpus.base import TARGETS
from mer_utils.corpus.deam import load_corpus
from mer_utils.corpus.split import PARTS, part_ids, song_split
from mer_utils.errors import MerError
from mer_utils.phase1.features import part_song_ids, split_arrays
from mer_utils.phase1.regressors import grid_search
from mer_utils.phase1.selection import pearson_ranking
from mer_utils.results.metrics import regression_metrics
from mer_utils.results.records import load_records, make_record, save_result
from mer_utils.results.runs import REBUILD, records_of_run, run_identity
from mer_utils.training.phase2 import saved_runs
from mer_utils.training.loop import fit_target_scaler
from mer_utils.training.mlp import fit_emotion_mlp, song_arrays


@pytest.fixture(scope="module")
def tiny_synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    synth.generate(root, 30, 1.0, seed=5, sr=16000, n_jobs=1, progress=False)
    return load_corpus(root)


def test_a_model_given_the_cue_expectation_scores_the_ceiling_on_every_part(tiny_synth):
    split = song_split(tiny_synth.song_ids, seed=1)
    expected = tiny_synth.expected
    for part in PARTS:
        ids = part_ids(split, part)
        for target in TARGETS:
            predicted = expected.loc[ids, target.replace("_mean", "_expected")]
            score = regression_metrics(tiny_synth.songs.loc[ids, target], predicted)["r2"]
            assert score == pytest.approx(tiny_synth.ceiling(target, ids), abs=1e-12)
    everything = tiny_synth.ceiling("valence_mean", tiny_synth.song_ids)
    assert everything == pytest.approx(tiny_synth.synthetic["noise_ceiling_r2"]["valence_mean"], abs=1e-3)


def perturbed(labels: pd.DataFrame, split: pd.DataFrame, parts, seed: int = 9) -> pd.DataFrame:
    """The labels with those of ``parts`` replaced by random values on the 1..9 scale."""
    out = labels.copy()
    ids = [i for p in parts for i in part_ids(split, p)]
    out.loc[ids, TARGETS] = np.random.default_rng(seed).uniform(1, 9, size=(len(ids), len(TARGETS)))
    return out


@pytest.fixture(scope="module")
def songs():
    rng = np.random.default_rng(0)
    ids = list(range(2, 122))
    features = pd.DataFrame(rng.standard_normal((120, 12)), index=pd.Index(ids, name="song_id"),
                            columns=[f"f{k}" for k in range(12)])
    labels = pd.DataFrame({"valence_mean": 5 + features["f0"] + 0.3 * rng.standard_normal(120),
                           "arousal_mean": 5 + features["f1"] + 0.3 * rng.standard_normal(120)}, index=features.index)
    return features, labels, song_split(ids, seed=3)


def choices(features, labels, split):
    """Everything model selection decides: features, grid-search settings, scalers, the MLP's chosen epoch."""
    train_ids = part_song_ids(features, split, "train")
    pearson = list(pearson_ranking(features.loc[train_ids], labels["valence_mean"])["feature"].head(5))
    best = grid_search("Ridge", *split_arrays(features, labels, split, "valence_mean"), grid="small", seed=0, n_jobs=1)
    scaler = fit_target_scaler(labels.loc[train_ids, TARGETS].to_numpy())
    ids, x, y = song_arrays(list(features.index), features.to_numpy(dtype=np.float32), labels, split, TARGETS)
    mlp = fit_emotion_mlp(x["train"], y["train"], x["validation"], y["validation"], target_names=TARGETS, epochs=6,
                          patience=2, batch_size=16, lr=1e-3, seed=0, progress=False)
    return pearson, best["best_params"], scaler.mean_.tolist(), scaler.scale_.tolist(), mlp.history.attrs["best_epoch"]


def test_scrambled_test_labels_change_no_choice_of_the_protocol(songs, torch_one_thread):
    features, labels, split = songs
    assert choices(features, perturbed(labels, split, ["test"]), split) == choices(features, labels, split)


def test_scrambled_validation_labels_change_no_feature_grid_setting_or_scaler(songs, torch_one_thread):
    features, labels, split = songs
    before = choices(features, labels, split)[:4]
    assert choices(features, perturbed(labels, split, ["validation", "test"]), split)[:4] == before


def test_summary_pages_read_only_records_of_their_own_run(tmp_path):
    frame = pd.DataFrame({"song_id": [1, 2, 3, 4], "true": [4.0, 5.0, 6.0, 7.0], "predicted": [4.5, 5.0, 5.5, 7.5]})
    mine, other = {"split": "aaa", "seed": 42}, {"split": "bbb", "seed": 7}
    for model, run in (("A", mine), ("B", other)):
        save_result(tmp_path, make_record(1, model, "valence_mean", "synthdeam", {"r2": 0.1}, {"r2": 0.2}, run=run,
                                          test_predictions=frame))
    assert [r["model"] for r in load_records(tmp_path, mine)] == ["A"]
    assert len(load_records(tmp_path)) == 2


def run_of(root) -> dict:
    """The run identity of the tiny tree at ``root``, with the book's split of its songs."""
    corpus = load_corpus(root)
    return run_identity(corpus, song_split(corpus.song_ids, seed=42), corpus.subset, 42)


def test_a_corpus_reached_through_a_symlink_is_the_same_run(tmp_path):
    tree = make_tree(tmp_path / "deam")
    os.symlink(tree, tmp_path / "link")
    assert run_of(tmp_path / "link") == run_of(tree)
    assert not any(str(tmp_path) in str(value) for value in run_of(tree).values()), "a run names no path"


def test_a_moved_corpus_folder_is_the_same_run(tmp_path):
    tree = make_tree(tmp_path / "deam")
    before = run_of(tree)
    assert run_of(shutil.move(tree, tmp_path / "elsewhere" / "deam")) == before


def test_changed_labels_give_another_run(tmp_path):
    tree = make_tree(tmp_path / "deam")
    before = run_of(tree)
    labels = next(tree.glob("annotations/**/*.csv"))
    lines = labels.read_text().splitlines()
    song, valence, *rest = lines[1].split(",")
    lines[1] = ",".join([song, f"{float(valence) + 0.5:.1f}", *rest])
    labels.write_text("\n".join(lines) + "\n")
    assert run_of(tree)["split"] == before["split"] and run_of(tree) != before


def record_of(tmp_path, run: dict, model: str = "A", phase: int = 1) -> None:
    save_result(tmp_path, make_record(phase, model, "valence_mean", "synthdeam", {"r2": 0.1}, {"r2": 0.2}, run=run))


def test_a_summary_page_without_records_of_its_run_names_the_run_it_looked_for_and_those_it_found(tmp_path):
    mine = {"corpus": "synthdeam-aaaaaaaaaaaa", "split": "111111111111", "seed": 42}
    other = {"corpus": "synthdeam-bbbbbbbbbbbb", "split": "111111111111", "seed": 42}
    with pytest.raises(MerError, match="no records"):
        records_of_run(tmp_path, mine)
    record_of(tmp_path, other)
    with pytest.raises(MerError) as error:
        records_of_run(tmp_path, mine)
    message = str(error.value)
    assert "Looked for corpus synthdeam-aaaaaaaaaaaa, split 111111111111, seed 42" in message
    assert "1 records of corpus synthdeam-bbbbbbbbbbbb" in message and REBUILD in message
    record_of(tmp_path, mine)  # a Phase 1 record of this run, but the Phase 2 summary needs Phase 2
    with pytest.raises(MerError, match="no Phase 2 record of this run.*notebooks/phase2_train.py"):
        saved_runs(tmp_path, mine)
    assert [r["model"] for r in records_of_run(tmp_path, mine, needed=(1,))] == ["A"]


def test_records_written_before_run_identities_are_reported_once_as_stale(tmp_path, caplog):
    mine = {"corpus": "synthdeam-aaaaaaaaaaaa", "split": "111111111111", "seed": 42}
    old = {"split": "111111111111", "data_root": "/old/checkout/data/synthdeam", "subset": "1_2000", "seed": 42}
    for model in ("Old1", "Old2"):
        record_of(tmp_path, old, model)
    with pytest.raises(MerError, match="2 records of an old-format run .data root /old/checkout/data/synthdeam"):
        records_of_run(tmp_path, mine)
    record_of(tmp_path, mine)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mer_utils.results.runs"):
        assert [r["model"] for r in records_of_run(tmp_path, mine)] == ["A"]
    assert len(caplog.records) == 1, "one report for all stale records"
    assert "2 records" in caplog.text and "data root" in caplog.text and REBUILD in caplog.text


def test_records_carry_intervals_and_per_song_predictions():
    rng = np.random.default_rng(0)
    truth = rng.normal(5, 1, 200)
    frame = pd.DataFrame({"song_id": range(200), "true": truth, "predicted": truth + rng.normal(0, 0.7, 200)})
    record = make_record(1, "A", "valence_mean", "synthdeam", {}, regression_metrics(frame["true"], frame["predicted"]),
                         test_predictions=frame)
    low, high = record["test_interval"]["r2"]
    assert low < r2_score(frame["true"], frame["predicted"]) < high and high - low < 0.4
    assert len(record["test_predictions"]["song_id"]) == 200
