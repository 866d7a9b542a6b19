"""Fine-tuning a backbone (mer_utils.phase3.finetune_models, mer_utils.phase3.finetune): the networks, what trains,
one split and the folds, the model file and predict_clip, CNN14 from a random PANNs-format checkpoint, the FINETUNE
rule and the page's sentences."""

from __future__ import annotations

import csv
import io
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from conftest import MUSICNN_WEIGHTS, REPO

from mer_utils.corpus.audio import load_audio
from mer_utils.errors import AudioReadError, MerError
from mer_utils.phase3 import finetune, finetune_inputs
from mer_utils.phase3.finetune_models import (
    Cnn14Regressor,
    MusicnnRegressor,
    UpperLayers,
    cnn14_regressor,
    load_finetuned,
    musicnn_regressor,
    parameter_groups,
    predict_clip,
    random_musicnn,
    save_finetuned,
)
from mer_utils.phase3.musicnn import FRONT_FEATURES, N_MELS, PATCH_FRAMES, SR, load_musicnn
from mer_utils.training.loop import fit, fit_target_scaler, make_loader

TARGETS = ["valence_mean", "arousal_mean"]

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def patches(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(0, 3, (n, PATCH_FRAMES, N_MELS)).astype(np.float32))


@pytest.fixture(scope="module")
def scratch():
    return musicnn_regressor("scratch", seed=5)


# --------------------------------------------------------------------------- the networks


def test_training_takes_the_library_convolution_and_it_gives_the_inference_path_s_numbers(scratch):
    network, _ = scratch
    x = patches(2)
    block = network.backbone.timbral[0]
    padded = torch.nn.functional.pad(network.backbone.input_norm(x), (0, 0, 3, 3)).contiguous()
    with torch.no_grad():
        torch.testing.assert_close(block.conv_max_direct(padded), block.conv_max(padded), atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        frozen = network.front_end(x)
    network.train_front_end = True
    network.set_trainable()
    try:
        trained = network.front_end(x)  # weights that train take the direct convolution, with gradients
        assert trained.requires_grad
        torch.testing.assert_close(trained.detach(), frozen, atol=1e-4, rtol=1e-4)
    finally:
        network.train_front_end = False
        network.set_trainable()


def test_only_the_layers_after_the_front_end_and_the_head_train_at_two_rates(scratch):
    network, start = scratch
    assert start == {"name": "musicnn", "kind": "scratch", "seed": 5, "sha256": None, "weights": None}
    trainable = {name for name, p in network.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in network.named_parameters()
                         if n.startswith(("backbone.mid.", "backbone.dense.", "head."))}
    groups = parameter_groups(network, lr=1e-3, backbone_lr=1e-4)
    assert [g["lr"] for g in groups] == [1e-4, 1e-3] and groups[1]["params"] == list(network.head.parameters())
    module = network.for_training()
    assert isinstance(module, UpperLayers) and module.name == "MusicnnRegressor"
    x = patches(3)
    network.eval()
    with torch.no_grad():
        front = network.front_end(x)
        assert front.shape == (3, FRONT_FEATURES, PATCH_FRAMES)
        torch.testing.assert_close(module(front), network(x))  # the cached path computes the same network


def test_random_weights_are_seeded_and_start_from_identity_batch_norms():
    a, b, c = random_musicnn(1), random_musicnn(1), random_musicnn(2)
    assert torch.equal(a.timbral[0].weight, b.timbral[0].weight) and torch.equal(a.mid[0].weight, b.mid[0].weight)
    assert not torch.equal(a.timbral[0].weight, c.timbral[0].weight)
    assert torch.equal(a.pool_norm.scale, torch.ones_like(a.pool_norm.scale))
    assert a.timbral[0].weight.abs().sum() > 0  # not the zeros Musicnn() starts with


@pytest.mark.skipif(not MUSICNN_WEIGHTS.exists(), reason=f"musicnn's weights are not at {MUSICNN_WEIGHTS}")
def test_the_fine_tuned_network_starts_as_the_pretrained_musicnn():
    network, start = musicnn_regressor("finetuned", MUSICNN_WEIGHTS, seed=0)
    pretrained = load_musicnn(MUSICNN_WEIGHTS)
    assert start["sha256"] == pretrained.sha256 and start["weights"] == MUSICNN_WEIGHTS.name
    assert start["kind"] == "finetuned"
    x = patches(2)
    with torch.no_grad():
        torch.testing.assert_close(network.backbone(x).embedding, pretrained(x).embedding)


# --------------------------------------------------------------------------- the training loop's additions


def test_fit_keeps_the_epoch_of_the_lowest_song_loss_and_trains_without_validation_for_a_fixed_count():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [0.5], [0.0]])).astype(np.float32)
    scaler = fit_target_scaler(y)
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(scaler.transform(y).astype(np.float32)))
    model = torch.nn.Linear(3, 1)
    _, history = fit(model, make_loader(data, 8, shuffle=True), make_loader(data, 8), epochs=3, patience=None, seed=0,
                     target_scaler=scaler, val_groups=np.arange(40) // 4, select_on="songs", progress=False,
                     param_groups=[{"params": [model.weight]}, {"params": [model.bias], "lr": 0.0}])
    assert history.loc[history["best"], "val_song_loss"].iloc[0] == history["val_song_loss"].min()
    _, history = fit(torch.nn.Linear(3, 1), make_loader(data, 8), None, epochs=2, patience=None, seed=0,
                     target_scaler=scaler, progress=False)
    assert list(history["epoch"]) == [1, 2] and history["best"].tolist() == [False, True]
    with pytest.raises(MerError, match="select_on='songs' needs val_groups"):
        fit(torch.nn.Linear(3, 1), make_loader(data, 8), make_loader(data, 8), epochs=1, patience=None, seed=0,
            target_scaler=scaler, select_on="songs")


# --------------------------------------------------------------------------- one split, the folds, the final model


def tiny_corpus(n_songs: int = 9, patches_per_song: int = 2):
    """Songs whose labels follow their (random) patches' brightness, the patches and songs as the page has them."""
    rng = np.random.default_rng(1)
    inputs = rng.uniform(0, 3, (n_songs * patches_per_song, PATCH_FRAMES, N_MELS)).astype(np.float32)
    song_of = np.repeat(np.arange(1, n_songs + 1), patches_per_song)
    level = inputs.reshape(n_songs, -1).mean(axis=1)
    labels = pd.DataFrame({"valence_mean": 5 + 10 * (level - level.mean()), "arousal_mean": rng.uniform(2, 8, n_songs),
                           "film": [f"f{i % 3}" for i in range(n_songs)]}, index=pd.Index(song_of[::patches_per_song],
                                                                                          name="song_id"))
    skipped = pd.DataFrame(columns=["song_id", "kind", "reason"])
    return finetune_inputs.PatchSet("musicnn", inputs, song_of, skipped, 0.0), labels


def test_one_run_per_fold_is_pooled_out_of_fold_and_the_final_model_trains_for_the_median_best_epoch(scratch):
    from mer_utils.corpus.split import fold_splits, grouped_folds

    template, start = scratch
    patch_set, labels = tiny_corpus()
    features = finetune_inputs.front_end_features(template, patch_set, n_threads=1)
    folds = fold_splits(grouped_folds(labels.index, labels["film"], n_folds=3, seed=1))
    settings = {"epochs": 2, "patience": 1, "batch_size": 4, "lr": 1e-3, "backbone_lr": 1e-4}
    common = dict(template=template, features=features, song_of=patch_set.song_of, labels=labels, targets=TARGETS,
                  settings=settings, seed=0, progress=False)
    runs, records = finetune.finetune_per_fold(folds, labels["film"], None, start=start, data="tiny",
                                               backbone_label="musicnn", **common)
    assert len(runs) == 3 and {r["target"] for r in records} == set(TARGETS)
    record = records[0]
    assert record["setting"] == "musicnn-scratch" and record["start"] == "scratch" and record["cross_validated"] == 3
    assert record["network_label"] == "musicnn from random weights" and record["phase"] == 3
    assert sorted(record["test_predictions"]["song_id"]) == list(labels.index)  # every song tested once
    assert set(record["test_predictions"]["group"]) == {"f0", "f1", "f2"}
    assert {"val_song_loss", "val_song_r2_valence_mean"} <= set(runs[1].history.columns)
    network, scaler, epochs, songs = finetune.final_model(runs, **common)
    assert epochs == finetune.final_epochs(runs) and songs == len(labels)
    assert np.allclose(scaler.mean_, labels[TARGETS].mean().to_numpy())
    assert not torch.equal(network.head.weight, template.head.weight)  # trained, and the template left as it was


# --------------------------------------------------------------------------- the model file and predict_clip


def test_the_model_file_holds_every_weight_and_predict_clip_gives_patches_and_their_mean(scratch, tmp_path):
    network, start = scratch
    scaler = fit_target_scaler(np.array([[2.0, 3.0], [6.0, 7.0]]))
    path = save_finetuned(tmp_path / "models" / "musicnn_finetuned.pt", network, start=start, target_scaler=scaler,
                          targets=TARGETS, settings={"epochs": 1}, precision="float32", data="soundtracks",
                          scale="1..9; Soundtracks, first panel")
    loaded, contents = load_finetuned(path)
    assert isinstance(loaded, MusicnnRegressor) and contents["model"] == "MusicnnRegressor"
    assert contents["backbone"] == start and contents["data"] == "soundtracks"
    assert contents["scale"] == "1..9; Soundtracks, first panel" and contents["embedding"]["sr"] == SR
    for name, tensor in network.state_dict().items():  # front end included: nothing is read from the .h5 again
        assert torch.equal(contents["state_dict"][name], tensor), name
    audio = np.random.default_rng(2).normal(scale=0.1, size=int(7.5 * SR)).astype(np.float32)
    per_patch, song = predict_clip((loaded, contents), audio)
    assert per_patch.shape == (2, 2) and np.allclose(song, per_patch.mean(axis=0))
    again, _ = predict_clip(path, audio)
    assert np.allclose(again, per_patch, atol=1e-5)
    with pytest.raises(AudioReadError, match="short.wav"):
        predict_clip((loaded, contents), audio[: SR], clip="short.wav")


def test_a_file_of_another_model_is_refused_by_name(tmp_path):
    from mer_utils.training.modelfile import build_model, write_model_file

    scaler = fit_target_scaler(np.array([[2.0, 3.0], [6.0, 7.0]]))
    path = write_model_file(tmp_path / "mlp.pt", build_model("EmotionMLP", in_features=4), "EmotionMLP",
                            target_scaler=scaler, targets=TARGETS, settings={}, model_kwargs={"in_features": 4})
    with pytest.raises(MerError, match="holds a EmotionMLP, not a fine-tuned backbone"):
        load_finetuned(path)


def test_cnn14_fine_tunes_from_a_checkpoint_in_the_panns_format_and_predicts_a_clip(tmp_path):
    from mer_utils.phase3.cnn14 import CHECKPOINT_NAME, build_cnn14
    from mer_utils.phase3.embeddings import SEGMENT_SETTINGS

    checkpoint = tmp_path / CHECKPOINT_NAME
    torch.save({"model": build_cnn14(seed=3).state_dict(), "iteration": 1}, checkpoint)
    network, start = cnn14_regressor("finetuned", checkpoint, seed=0)
    assert isinstance(network, Cnn14Regressor) and start["weights"] == CHECKPOINT_NAME and start["sha256"]
    sr = SEGMENT_SETTINGS["sr"]
    clips = np.random.default_rng(4).normal(scale=0.1, size=(2, 3 * sr)).astype(np.float32)
    with torch.no_grad():
        front = network.front_end(torch.from_numpy(clips))
    module = network.for_training()
    before = network.head.weight.detach().clone()
    scaler = fit_target_scaler(np.array([[3.0, 4.0], [6.0, 5.0]]))
    data = torch.utils.data.TensorDataset(front, torch.tensor([[-1.0, 1.0], [1.0, -1.0]]))
    fit(module, make_loader(data, 2), None, epochs=1, patience=None, seed=0, target_scaler=scaler, progress=False,
        param_groups=parameter_groups(network, 1e-3, 1e-4), precision="float32")
    assert not torch.equal(network.head.weight, before)
    path = save_finetuned(tmp_path / "cnn14_finetuned.pt", network, start=start, target_scaler=scaler, targets=TARGETS,
                          settings={}, precision="float32", data="synthdeam", scale="1..9; SynthDEAM")
    per_patch, song = predict_clip(path, np.concatenate(clips))
    assert per_patch.shape == (2, 2) and np.isfinite(song).all()


# --------------------------------------------------------------------------- where and when it runs


def test_cnn14_is_fine_tuned_only_from_its_checkpoint_and_by_default_only_on_a_gpu(tmp_path):
    absent = tmp_path / "absent.pth"
    assert finetune.cnn14_plan(None, absent, "cpu")[0] is False
    assert "not at" in finetune.cnn14_plan(None, absent, "cpu")[1]
    with pytest.raises(MerError, match="FINETUNE_CNN14=1 .* is not there"):
        finetune.cnn14_plan(True, absent, "cpu")
    present = tmp_path / "present.pth"
    present.write_bytes(b"x")
    assert finetune.cnn14_plan(None, present, "cpu")[:2] == (
        False, "there is no GPU, and on the CPU it would take far longer than this page's budget")
    assert finetune.cnn14_plan(True, present, "cpu")[0] and not finetune.cnn14_plan(False, present, "cpu")[0]
    hours = finetune.cnn14_estimate_seconds(1282, 5, {"epochs": 8}) / 3600
    assert hours > 2  # the Soundtracks sample: why the page does not run it on 2 CPU cores


def test_the_finetune_knob_turns_on_where_musicnn_runs_except_on_deam(tmp_path):
    from mer_utils.phase3.backbones import finetune_runs

    weights = tmp_path / "MSD_musicnn.h5"
    weights.write_bytes(b"not read")
    assert finetune_runs(None, "soundtracks", None, weights) is True
    assert finetune_runs("", "synth", None, weights) is True  # the default SynthDEAM book: within its 5 minutes
    assert finetune_runs("", "deam", None, weights) is False  # hours on 2 CPU cores
    assert finetune_runs("1", "deam", None, weights) is True
    assert finetune_runs("0", "soundtracks", None, weights) is False
    assert finetune_runs(None, "soundtracks", None, tmp_path / "absent.h5") is False
    with pytest.raises(MerError, match=r"FINETUNE=1 fine-tunes musicnn .* \(BACKBONE=cnn14;"):
        finetune_runs("1", "soundtracks", "cnn14", weights)
    with pytest.raises(MerError, match="FINETUNE=maybe"):
        finetune_runs("maybe", "soundtracks", None, weights)


def make_dry_run(*knobs) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", "-B", "_build/html/index.html", *knobs], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_make_builds_the_fine_tuning_page_after_the_musicnn_page_by_the_same_rule(tmp_path):
    weights = tmp_path / "MSD_musicnn.h5"
    weights.write_bytes(b"not read")
    page = "notebooks/phase3_finetune.py book/phase3/finetune.ipynb"
    soundtracks = ["DATA=soundtracks", f"SOUNDTRACKS_DIR={tmp_path}", f"MUSICNN_WEIGHTS={weights}"]
    on = make_dry_run(*soundtracks)
    assert on.returncode == 0, on.stderr[-2000:]
    assert page in on.stdout and on.stdout.index("book/phase3/musicnn.ipynb --params") < on.stdout.index(page)
    assert "book/phase3/finetune.ipynb" in on.stdout.split("mer_utils toc", 1)[1].splitlines()[0]
    assert page not in make_dry_run(*soundtracks, "FINETUNE=0").stdout
    assert page in make_dry_run(f"MUSICNN_WEIGHTS={weights}").stdout  # SynthDEAM with musicnn: on
    assert page not in make_dry_run(f"MUSICNN_WEIGHTS={tmp_path / 'absent.h5'}").stdout  # a fresh machine: no musicnn
    deam = ["DATA=deam", f"DEAM_DIR={tmp_path}", f"MUSICNN_WEIGHTS={weights}"]
    assert page not in make_dry_run(*deam).stdout and page in make_dry_run(*deam, "FINETUNE=1").stdout
    wrong = make_dry_run("FINETUNE=maybe")
    assert wrong.returncode != 0 and "Unknown FINETUNE='maybe'" in wrong.stderr


def test_preflight_reports_fine_tuning_asked_for_without_musicnn(tmp_path):
    from mer_utils.preflight import check_run

    found = check_run("synth", tmp_path / "synthdeam", cache_dir=tmp_path / "cache", finetune="1",
                      musicnn_weights=tmp_path / "absent.h5", free=10**15)
    assert not found.ok
    assert any(p.startswith("Phase 3 fine-tuning: FINETUNE=1 fine-tunes musicnn") for p in found.problems)


# --------------------------------------------------------------------------- the page's sentences


def differences(readings: list[str]) -> pd.DataFrame:
    rows = []
    for (a, b, target), reading in zip([("finetuned", "frozen", "valence"), ("finetuned", "scratch", "valence")],
                                       readings):
        low = {"better": 0.05, "worse": -0.3, "no detectable difference": -0.1}[reading]
        rows.append({"a": a, "b": b, "target": target, "target_label": target, "difference": low + 0.1, "low": low,
                     "high": low + 0.2, "songs": 240, "reading": reading})
    return pd.DataFrame(rows)


def test_the_findings_name_the_better_model_only_when_the_interval_says_so():
    from mer_utils.phase3.finetune_narrative import findings

    text = findings(differences(["better", "no detectable difference"]), "musicnn", groups=True)
    assert "For valence, fine-tuning beats the frozen musicnn with its EmotionMLP." in text
    assert "fine-tuning and the same network trained from random weights do not differ detectably" in text
    assert "the paired interval over the films is up to 0.20 R² wide" in text
    worse = findings(differences(["worse", "better"]), "musicnn", groups=False)
    assert "the frozen musicnn with its EmotionMLP beats fine-tuning" in worse and "over the" not in worse


def test_the_recipe_states_what_trains_the_rates_and_the_schedule():
    from mer_utils.phase3.finetune_narrative import recipe

    settings = {"epochs": 8, "patience": 3, "batch_size": 32, "lr": 1e-3, "backbone_lr": 1e-4}
    text = recipe("musicnn", settings, False, "float32", 5)
    assert "the three mid-end convolutions, the 200-unit dense layer and the new head" in text
    assert "0.0001 for the pretrained layers" in text and "0.001 for the new head" in text
    assert "at most 8 epochs" in text and "after 3 epochs without a lower song-level validation loss" in text
    assert "**Every layer trains**" in recipe("musicnn", settings, True, "float32", 5)


def test_mer_predict_runs_a_fine_tuned_network_on_its_own_patches_with_its_provenance(scratch, tmp_path, capsys):
    from mer_utils.predict import bundles
    from mer_utils.predict.cli import main as predict_main

    network, _ = scratch
    start = {"name": "musicnn", "kind": "finetuned", "sha256": "ab" * 32, "weights": "MSD_musicnn.h5"}
    scaler = fit_target_scaler(np.array([[2.0, 3.0], [6.0, 7.0]]))
    path = save_finetuned(tmp_path / "results" / "soundtracks" / "models" / "musicnn_finetuned.pt", network,
                          start=start, target_scaler=scaler, targets=TARGETS, settings={"epochs": 1},
                          precision="float32", data="soundtracks", scale="1..9; Soundtracks, first panel")
    audio = np.random.default_rng(3).normal(scale=0.1, size=int(7.5 * SR)).astype(np.float32)
    clip = tmp_path / "clip.wav"
    sf.write(clip, audio, SR)
    assert bundles.choose_model(data="soundtracks", results_root=tmp_path / "results")[0] == path
    bundle = bundles.load_bundle(path)
    assert bundle.finetuned and bundle.pretrained and bundles.caveat(bundle) is None
    with pytest.raises(MerError, match="predicts from audio patches"):
        bundle.predict(np.zeros((1, 200)))

    code = predict_main([str(clip), "--model", str(path), "--format", "csv", "--segments", "--threads", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    song = next(r for r in rows if r["level"] == "song")
    assert song["backbone"] == "musicnn" and song["weights"] == "finetuned:" + "ab" * 6
    assert song["data"] == "soundtracks" and song["scale"] == "soundtracks:1-9" and song["segments"] == "2"
    _, expected = predict_clip(path, load_audio(clip, sr=SR))  # the song value: the mean of its patches' values
    assert np.allclose([float(song["valence"]), float(song["arousal"])], expected, atol=1e-4)
