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
    assert backbones_to_run(None, some_weights, "vgmidi") == ["musicnn"]  # VGMIDI's budget: musicnn alone
    assert backbones_to_run("all", some_weights, "vgmidi") == ["cnn14", "musicnn"]
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


# --------------------------------------------------------------------------- musicnn's MTT network, a page of its own


def test_make_adds_the_mtt_page_on_soundtracks_and_deam_but_not_on_the_default_book(tmp_path):
    page = "notebooks/phase3_panns.py book/phase3/musicnn_mtt.ipynb --params build/params/phase3_musicnn_mtt.json"
    soundtracks = make_dry_run("DATA=soundtracks", f"SOUNDTRACKS_DIR={tmp_path}")
    assert soundtracks.returncode == 0, soundtracks.stderr[-2000:]
    out = soundtracks.stdout
    assert page in out and "backbone=musicnn musicnn_weights=MTT_musicnn" in out
    assert out.index(page) < out.index("notebooks/conclusions.py book/conclusions/comparison.ipynb")
    assert "book/phase3/musicnn_mtt.ipynb" in out.split("mer_utils toc", 1)[1].splitlines()[0]
    assert page in make_dry_run("DATA=deam", f"DEAM_DIR={tmp_path}").stdout
    default = make_dry_run()
    assert default.returncode == 0 and "musicnn_mtt" not in default.stdout  # SynthDEAM's time budget is tight
    assert "musicnn_mtt" not in make_dry_run("DATA=soundtracks", f"SOUNDTRACKS_DIR={tmp_path}", "BACKBONE=cnn14").stdout


def test_the_toc_lists_the_mtt_page_only_when_it_is_built(tmp_path):
    import yaml

    from mer_utils.toc import filter_toc

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())

    def phase3_sections(pages):
        part = next(p for p in filter_toc(toc, pages, REPO)["parts"] if p["caption"].startswith("Phase 3"))
        return [s["file"] for s in part["chapters"][0]["sections"]]

    assert phase3_sections(["book/phase3/musicnn.ipynb", "book/phase3/musicnn_mtt.ipynb"]) == [
        "book/phase3/musicnn", "book/phase3/musicnn_mtt"]
    assert phase3_sections(["book/phase3/musicnn.ipynb"]) == ["book/phase3/musicnn"]


@pytest.fixture
def mtt_network():
    from mer_utils.phase3.musicnn_wheel import checkpoint_dir

    if not (MUSICNN_WEIGHTS.exists() and checkpoint_dir("MTT_musicnn").exists()):
        pytest.skip("musicnn's MSD and MTT networks are not in the cache folder: run make venv (it fetches them)")
    return checkpoint_dir("MTT_musicnn")


def test_the_mtt_network_has_its_own_setting_label_method_and_model_file(mtt_network):
    from mer_utils.phase3 import narrative
    from mer_utils.phase3.backbones import MTT_KEY, SETTINGS
    from mer_utils.phase3.musicnn_wheel import DATA_SHA256
    from mer_utils.predict import bundles

    mtt = phase3_backbone("musicnn", "soundtracks", musicnn_weights="MTT_musicnn")
    msd = phase3_backbone("musicnn", "soundtracks")
    assert (mtt.key, mtt.setting, mtt.label) == (MTT_KEY, "musicnn-mtt", "musicnn (MTT)")
    assert (msd.key, msd.setting, msd.label) == ("musicnn", "musicnn", "musicnn (MSD)")
    assert mtt.network.weights == mtt_network and mtt.info()["sha256"] == DATA_SHA256["MTT_musicnn"]
    assert mtt.identity != msd.identity and len(set(SETTINGS.values())) == len(SETTINGS)
    files = (bundles.BUNDLE_FILE, bundles.MUSICNN_BUNDLE_FILE, bundles.MUSICNN_MTT_BUNDLE_FILE)
    assert len(set(files)) == 3 and bundles.MUSICNN_MTT_BUNDLE_FILE not in bundles.BUNDLE_FILES
    method = narrative.backbone_method(mtt.key)
    assert "MagnaTagATune" in method and "200-dimensional" in method


def test_the_mtt_page_saves_its_model_beside_msds_never_over_it(tmp_path, mtt_network):
    import numpy as np
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    from mer_utils.phase3.musicnn_wheel import DATA_SHA256
    from mer_utils.predict.bundles import MUSICNN_BUNDLE_FILE, MUSICNN_MTT_BUNDLE_FILE, load_bundle, save_page_model
    from mer_utils.training.loop import fit_target_scaler
    from mer_utils.training.mlp import MlpResult
    from mer_utils.training.modelfile import build_model

    rng = np.random.default_rng(0)
    mlp = MlpResult(model=build_model("EmotionMLP", seed=0, in_features=200).eval(),
                    feature_scaler=StandardScaler().fit(rng.random((20, 200))),
                    target_scaler=fit_target_scaler(rng.uniform(2, 8, size=(20, 2))),
                    target_names=["valence_mean", "arousal_mean"], history=pd.DataFrame(),
                    settings={"in_features": 200, "outputs": 2})
    for weights, file in ((None, MUSICNN_BUNDLE_FILE), ("MTT_musicnn", MUSICNN_MTT_BUNDLE_FILE)):
        backbone = phase3_backbone("musicnn", "soundtracks", musicnn_weights=weights)
        assert str(tmp_path / file) in save_page_model(backbone, tmp_path, mlp, {}, data="soundtracks")
    msd, mtt = (load_bundle(tmp_path / file) for file in (MUSICNN_BUNDLE_FILE, MUSICNN_MTT_BUNDLE_FILE))
    assert msd.backbone["sha256"] == DATA_SHA256["MSD_musicnn"] and mtt.backbone["sha256"] == DATA_SHA256["MTT_musicnn"]
    assert mtt.backbone["name"] == "musicnn" and "backbone_state" in mtt.raw  # mer predict --model rebuilds it


def test_msd_and_mtt_records_do_not_collide_and_the_conclusions_set_them_side_by_side(tmp_path):
    import numpy as np

    from mer_utils.results import lesson_sentences, lessons
    from mer_utils.results.intervals import predictions_frame
    from mer_utils.results.records import load_records, make_record, save_result
    from mer_utils.results.verdicts import lesson_verdicts

    rng = np.random.default_rng(0)
    truth = rng.normal(5, 1.2, 120)
    rows = [("", "PANNs CNN14", 0.6, 0.4), ("musicnn", "musicnn (MSD)", 0.3, 0.5),
            ("musicnn-mtt", "musicnn (MTT)", 1.0, 0.3)]  # (setting, embedding, test noise, validation R²)
    for target in ("valence_mean", "arousal_mean"):
        for setting, label, noise, val_r2 in rows:
            predicted = truth + rng.normal(0, noise, len(truth))
            test = {"r2": 1 - np.mean((predicted - truth) ** 2) / np.var(truth), "rmse": 1.0, "mae": 1.0}
            extra = {"setting": setting} if setting else {}
            save_result(tmp_path, make_record(3, "EmotionMLP", target, "deam", {"r2": val_r2}, test,
                                              test_predictions=predictions_frame(range(120), truth, predicted),
                                              backbone="pretrained", embedding=label, **extra))
    names = sorted(p.name for p in (tmp_path / "metrics").glob("3-*.json"))
    assert "3-EmotionMLP-musicnn-mtt-valence_mean-song.json" in names and len(names) == 6

    class Corpus:
        is_synthetic, name, reference = False, "deam", None

    records = load_records(tmp_path)
    table = lessons.comparison_rows(records, Corpus())
    assert {"P3 EmotionMLP on musicnn (MSD)", "P3 EmotionMLP on musicnn (MTT)"} <= set(table["label"])
    assert table.loc[table["setting"] == "musicnn-mtt", "report_r2"].isna().all()  # Table 12 is CNN14's alone
    best = lessons.best_of_each_phase(table)
    comparisons = lessons.lesson_comparisons(records, table, best)
    chosen = comparisons[comparisons["lesson"] == "embeddings"]
    assert list(chosen["a"]) == ["P3 EmotionMLP on musicnn (MTT)"] * 2
    assert list(chosen["b"]) == ["P3 EmotionMLP on musicnn (MSD)"] * 2 and set(chosen["reading"]) == {"worse"}
    found = lesson_verdicts(records, table, best).set_index(["lesson", "target"])
    assert found.loc[("embeddings", "valence"), "verdict"] == "holds"  # a difference either way shows it
    text = lesson_sentences.lessons(comparisons, lesson_verdicts(records, table, best), table, best, Corpus())
    assert "**“Embedding selection is crucial.”**" in text
    assert "For valence, P3 EmotionMLP on musicnn (MSD) beats P3 EmotionMLP on musicnn (MTT)." in text
    lesson = next(t for t in text.split("\n\n") if "Embedding selection" in t)
    assert "Between musicnn's two networks, it holds for valence and arousal on this build." in lesson
    for sentence in lesson_sentences.sentences(lesson):  # the lessons' rule: short, one claim, no interval
        assert len(sentence.split()) <= lesson_sentences.MAX_WORDS and ";" not in sentence and "[" not in sentence


def test_the_vgmidi_book_runs_musicnn_alone_by_default_and_phase4_on_its_curves(tmp_path):
    default = make_dry_run("DATA=vgmidi", f"VGMIDI_DIR={tmp_path}")
    assert default.returncode == 0, default.stderr[-2000:]
    assert "book/phase3/musicnn.ipynb" in default.stdout and "book/phase3/panns.ipynb" not in default.stdout
    assert "book/phase4/dynamic.ipynb" in default.stdout and "book/predictor/predictor.ipynb" not in default.stdout
    both = make_dry_run("DATA=vgmidi", f"VGMIDI_DIR={tmp_path}", "BACKBONE=all")
    assert "book/phase3/panns.ipynb" in both.stdout
