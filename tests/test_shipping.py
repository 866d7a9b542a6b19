"""The predictor shipped inside the package: its provenance, its own out-of-fold figures, and mer predict running it
with no book built, no samples beside the repository, and from outside the checkout."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import MUSICNN_WEIGHTS, REPO, write_tone

from mer_utils.errors import MerError
from mer_utils.phase3.musicnn_wheel import DATA_SHA256
from mer_utils.predict import bundles, cli, shipping


@pytest.fixture(scope="module")
def shipped() -> dict:
    assert shipping.SHIPPED_FILE.is_file(), f"the shipped predictor is missing: {shipping.SHIPPED_FILE}"
    return torch.load(shipping.SHIPPED_FILE, map_location="cpu", weights_only=True)


def test_the_shipped_predictor_is_a_small_head_that_names_the_backbone_it_needs(shipped):
    assert shipping.SHIPPED_FILE.stat().st_size < 1_000_000 and "backbone_state" not in shipped
    assert shipped["backbone"]["weights"] == "MSD_musicnn" and shipped["backbone"]["source"] == "musicnn==0.1.0"
    assert shipped["backbone"]["sha256"] == DATA_SHA256["MSD_musicnn"] and shipped["backbone"]["kind"] == "pretrained"
    assert shipped["learned_from"] == {"soundtracks": "ratings", "4q": "quadrant signs"}


def test_the_shipped_predictor_carries_its_provenance_and_its_figures_follow_from_its_own_predictions(shipped):
    provenance = shipped["provenance"]
    assert re.fullmatch(r"[0-9a-f]{40}(\+uncommitted)?", provenance["commit"]) and provenance["seed"] == 42
    corpora = provenance["corpora"]
    assert (corpora["soundtracks"]["items"], corpora["soundtracks"]["groups"]) == (240, 27)  # the sample's films
    assert (corpora["4q"]["items"], corpora["4q"]["groups"]) == (400, 300)  # the sample's artists
    assert "research" in provenance["licence"] and "Soundtracks" in provenance["licence"]
    recomputed = shipping.out_of_fold_figures(shipped)
    stored = provenance["out_of_fold"]
    assert len(stored) == 4 and recomputed.to_dict("records") == stored
    for row in stored:
        assert row["low"] <= row["value"] <= row["high"], row
    aucs = {r["target"]: r["value"] for r in stored if r["metric"] == "ROC AUC"}
    assert aucs["valence"] > 0.7 and aucs["arousal"] > 0.85, "well above chance on 4Q, scored out of fold by artist"


def test_a_rebuild_is_compared_with_the_shipped_interval_figure_by_figure(shipped):
    same = shipping.comparison(shipped, shipped)
    assert same["within"].all() and len(same) == 4
    moved = {**shipped, "out_of_fold": {k: dict(v) for k, v in shipped["out_of_fold"].items()}}
    moved["out_of_fold"]["4q"]["arousal_mean"] = list(-np.asarray(moved["out_of_fold"]["4q"]["arousal_mean"]))
    table = shipping.comparison(shipped, moved)
    assert list(table.loc[~table["within"], "target"]) == ["arousal"], "the flipped figure, and only it"


def test_only_a_predictor_on_the_wheels_msd_network_can_be_shipped(shipped):
    other = {**shipped, "backbone": {**shipped["backbone"], "sha256": "ab" * 32}}
    with pytest.raises(MerError, match="MSD_musicnn from the musicnn==0.1.0 wheel"):
        shipping.shippable(other, "0" * 40)


@pytest.fixture
def tone(tmp_path):
    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(f"musicnn's weights are not at {MUSICNN_WEIGHTS}: run 'make venv' (it fetches them)")
    path = tmp_path / "tone.wav"
    write_tone(path, seconds=20.0, freq=440.0)
    return path


def test_with_no_book_mer_predict_runs_the_shipped_predictor_and_says_so(tone, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bundles, "RESULTS_ROOT", tmp_path / "no-results")
    code = cli.main([str(tone), "--format", "json", "--quadrant", "--threads", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (row,) = json.loads(out)
    assert "shipped predictor" in err and shipping.SHIPPED_FILE.name in row["model"]
    assert (row["data"], row["backbone"], row["weights"]) == ("soundtracks+4q", "musicnn",
                                                              f"pretrained:{DATA_SHA256['MSD_musicnn'][:12]}")
    # a pure tone is far from any music it learned: its values are finite, not necessarily inside 1..9
    assert np.isfinite([row["valence"], row["arousal"]]).all() and row["quadrant"] in ("Q1", "Q2", "Q3", "Q4")
    assert "caveat" not in err


@pytest.mark.slow
def test_the_installed_package_runs_mer_predict_from_any_folder(tone, tmp_path):
    """A non-editable install of the repository (pip builds the wheel; --no-deps: the environment's packages serve),
    run from a folder outside the checkout: the shipped predictor is found as package data."""
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                            "--target", str(target), str(REPO)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    assert (target / "mer_utils" / "predict" / "data" / "predictor.pt").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    help_run = subprocess.run([str(target / "bin" / "mer"), "predict", "--help"], cwd=elsewhere, env=env,
                              capture_output=True, text=True)
    assert help_run.returncode == 0 and "1-9" in help_run.stdout and "Q1" in help_run.stdout
    run = subprocess.run([str(target / "bin" / "mer"), "predict", str(tone), "--format", "csv"], cwd=elsewhere,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "shipped predictor" in run.stderr and str(target) in run.stdout + run.stderr
