"""Phase 3 with two pretrained backbones: which pages the BACKBONE knob builds, and the musicnn page itself."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import MUSICNN_WEIGHTS, REPO

from mer_utils.errors import MerError
from mer_utils.phase3.backbones import backbones_to_run, phase3_backbone
from mer_utils.preflight import check_run



@pytest.fixture
def some_weights(tmp_path):
    """A file where the musicnn weights should be (the knob only looks for the file)."""
    path = tmp_path / "MSD_musicnn.h5"
    path.write_bytes(b"not read here")
    return path


def test_unset_runs_musicnn_beside_cnn14_only_where_its_weights_are(tmp_path, some_weights):
    assert backbones_to_run(None, some_weights) == ["cnn14", "musicnn"]
    assert backbones_to_run("", tmp_path / "absent.h5") == ["cnn14"]


def test_explicit_choices_and_their_errors(tmp_path, some_weights):
    assert backbones_to_run("all", some_weights) == ["cnn14", "musicnn"]
    assert backbones_to_run("MUSICNN", some_weights) == ["musicnn"]
    assert backbones_to_run("cnn14", tmp_path / "absent.h5") == ["cnn14"]
    with pytest.raises(MerError, match=r"BACKBONE=all needs the musicnn weights.*absent\.h5.*BACKBONE=cnn14"):
        backbones_to_run("all", tmp_path / "absent.h5")
    with pytest.raises(MerError, match="BACKBONE=vggish is not a Phase 3 backbone: use cnn14, musicnn, all"):
        backbones_to_run("vggish", some_weights)


def test_preflight_reports_musicnn_asked_for_without_weights(tmp_path):
    found = check_run("synth", tmp_path / "synthdeam", cache_dir=tmp_path / "cache", backbone="musicnn",
                      musicnn_weights=tmp_path / "absent.h5", free=10**15)
    assert not found.ok and found.problems[0].startswith("Phase 3: BACKBONE=musicnn needs the musicnn weights")


def test_preflight_names_both_backbones(tmp_path, some_weights):
    found = check_run("synth", tmp_path / "synthdeam", cache_dir=tmp_path / "cache", backbone="all",
                      musicnn_weights=some_weights, free=10**15)
    assert found.ok, found.report()
    assert "CNN14 with random weights" in found.report() and f"musicnn from {some_weights}" in found.report()


def test_a_missing_musicnn_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(MerError, match=r"musicnn weights .*absent\.h5 not found"):
        phase3_backbone("musicnn", "synth", musicnn_weights=tmp_path / "absent.h5")


def make_dry_run(*knobs) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", "-B", "_build/html/index.html", *knobs], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_make_builds_one_phase3_page_per_backbone(tmp_path, some_weights):
    both = make_dry_run("BACKBONE=all", f"MUSICNN_WEIGHTS={some_weights}")
    assert both.returncode == 0, both.stderr[-2000:]
    assert "notebooks/phase3_panns.py book/phase3/musicnn.ipynb" in both.stdout
    assert "notebooks/phase3_panns.py book/phase3/panns.ipynb" in both.stdout
    toc_line = both.stdout.split("mer_utils toc", 1)[1].splitlines()[0]
    assert "book/phase3/musicnn.ipynb" in toc_line and "book/phase3/panns.ipynb" in toc_line
    only = make_dry_run("BACKBONE=musicnn", f"MUSICNN_WEIGHTS={some_weights}")
    assert "book/phase3/panns.ipynb" not in only.stdout and "book/phase3/musicnn.ipynb" in only.stdout
    absent = make_dry_run(f"MUSICNN_WEIGHTS={tmp_path / 'absent.h5'}")
    assert "book/phase3/musicnn.ipynb" not in absent.stdout and "book/phase3/panns.ipynb" in absent.stdout
    wrong = make_dry_run("BACKBONE=vggish")
    assert wrong.returncode != 0 and "Unknown BACKBONE='vggish'" in wrong.stderr


@pytest.mark.slow
def test_the_musicnn_page_runs_and_records_its_rows_beside_cnn14s(tmp_path):
    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(f"the musicnn weights are not at {MUSICNN_WEIGHTS}: run make venv (it fetches them)")
    from mer_utils.pipeline import run_notebook

    python = sys.executable
    data, results = tmp_path / "synthdeam", tmp_path / "results"
    subprocess.run([python, "-m", "mer_utils", "synth", "--root", str(data), "--songs", "30", "--seconds", "8",
                    "--sr", "22050", "--jobs", "1"], check=True, capture_output=True, cwd=REPO)
    subprocess.run([python, "-m", "mer_utils", "prepare", "--data", "synth", "--data-dir", str(data),
                    "--results-dir", str(results)], check=True, capture_output=True, cwd=REPO)
    params = {"data": "synth", "data_dir": str(data), "results_dir": str(results), "cache_dir": str(tmp_path / "cache"),
              "backbone": "musicnn", "musicnn_weights": str(MUSICNN_WEIGHTS), "epochs": 3, "n_threads": 1}
    (tmp_path / "params.json").write_text(json.dumps(params))
    output = tmp_path / "musicnn.ipynb"
    run_notebook(REPO / "notebooks" / "phase3_panns.py", output, tmp_path / "params.json",
                 failed_dir=tmp_path / "failed")
    text = output.read_text()
    for expected in ("musicnn (MSD)", "200-dimensional", "Predict new songs with `mer predict", "t-SNE"):
        assert expected in text, expected
    records = sorted((results / "metrics").glob("3-*.json"))
    assert [p.name for p in records] == ["3-EmotionMLP-musicnn-arousal_mean-song.json",
                                         "3-EmotionMLP-musicnn-valence_mean-song.json"]
    record = json.loads(records[0].read_text())
    assert record["embedding"] == "musicnn (MSD)" and record["backbone"] == "pretrained"
    assert not (results / "models" / "emotion_mlp.pt").exists(), "the CNN14 page's bundle is written by that page alone"
    from mer_utils.phase3.musicnn import load_musicnn
    from mer_utils.predict.bundles import load_bundle
    from mer_utils.predict.songs import rebuild_musicnn

    bundle = load_bundle(results / "models" / "emotion_mlp_musicnn.pt")
    assert bundle.backbone["name"] == "musicnn" and bundle.backbone["weights"] == str(MUSICNN_WEIGHTS)
    rebuilt, reference = rebuild_musicnn(bundle), load_musicnn(MUSICNN_WEIGHTS)  # from the weights the bundle carries
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(), reference.state_dict().values()))
    assert rebuilt.sha256 == bundle.backbone["sha256"]
