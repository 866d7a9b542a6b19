"""Tests of the training loop (mer_utils.training.loop): history, best-epoch restore, determinism, saving, precision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from mer_utils.errors import MerError
from mer_utils.phase2.models import PHASE2_MODELS
from mer_utils.training import runtime
from mer_utils.training.defaults import training_settings
from mer_utils.training.loop import _run_eval, array_loader, fit, fit_target_scaler, make_loader, predict
from mer_utils.training.mlp import EmotionMLP, fit_emotion_mlp
from mer_utils.training.modelfile import build_model, load_model, save_model
from mer_utils.training.runtime import DEFAULT_PRECISION, resolve_precision

TIMING = ["seconds", "samples_per_s"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def mlp_data(seed=0, n_train=48, n_val=16, dims=12):
    """Random features with two targets on the 1..9 scale; few songs, so the MLP overfits."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_val, dims)).astype(np.float32)
    y = np.clip(5 + 1.5 * np.tanh(x[:, :2]) + 0.8 * rng.standard_normal((n_train + n_val, 2)), 1, 9)
    scaler = fit_target_scaler(y[:n_train])
    train_loader = array_loader(x[:n_train], y[:n_train], scaler, batch_size=8, shuffle=True, seed=seed)
    val_loader = array_loader(x[n_train:], y[n_train:], scaler, batch_size=8)
    return train_loader, val_loader, scaler, y[n_train:]


def fit_mlp(seed=0, epochs=25, patience=None, lr=1e-2, precision="float32"):
    """The MLP as the book trains it (float32); ``precision`` overrides."""
    train_loader, val_loader, scaler, _ = mlp_data()
    torch.manual_seed(seed)
    model = EmotionMLP(in_features=12)
    return fit(
        model,
        train_loader,
        val_loader,
        epochs=epochs,
        patience=patience,
        lr=lr,
        seed=seed,
        target_scaler=scaler,
        target_names=["valence_mean", "arousal_mean"],
        precision=precision,
        progress=False,
    )


def test_history_columns():
    _, history = fit_mlp(epochs=3)
    for column in [
        "epoch",
        "train_loss",
        "val_loss",
        "val_r2",
        "val_rmse",
        "val_mae",
        "val_r2_valence_mean",
        "val_rmse_arousal_mean",
        "seconds",
        "samples_per_s",
        "best",
    ]:
        assert column in history.columns, column
    assert history["epoch"].tolist() == [1, 2, 3]
    assert history["best"].sum() == 1


def test_best_epoch_weights_are_restored():
    model, history = fit_mlp(epochs=25, lr=3e-2)
    best = history.loc[history["val_loss"].idxmin()]
    assert bool(best["best"]) and history.attrs["best_epoch"] == best["epoch"]
    assert best["epoch"] < history["epoch"].max(), "the test needs the validation loss to rise after its minimum"
    _, val_loader, _, _ = mlp_data()
    _, _, loss_now = _run_eval(model, val_loader, torch.device("cpu"))
    assert loss_now == pytest.approx(best["val_loss"], rel=1e-5)


def test_early_stopping_stops_after_patience():
    _, history = fit_mlp(epochs=40, patience=2, lr=3e-2)
    assert history.attrs["stopped_early"]
    assert history["epoch"].max() == history.attrs["best_epoch"] + 2


def test_same_seed_same_history():
    _, first = fit_mlp(seed=5, epochs=4)
    _, second = fit_mlp(seed=5, epochs=4)
    pd.testing.assert_frame_equal(first.drop(columns=TIMING), second.drop(columns=TIMING))


def test_same_seed_same_history_cnn():
    """A conv model on CPU is deterministic too (2 tiny epochs)."""
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.standard_normal((12, 1, 128, 128)).astype(np.float32))
    y = rng.uniform(2, 8, size=(12, 1))
    scaler = fit_target_scaler(y[:8])
    ys = torch.as_tensor(scaler.transform(y).astype(np.float32))
    histories = []
    for _ in range(2):
        train_loader = make_loader(TensorDataset(x[:8], ys[:8]), 4, shuffle=True, seed=1)
        val_loader = make_loader(TensorDataset(x[8:], ys[8:]), 4)
        model = build_model("EmotionCNN_GRU_Attention", seed=1)
        _, history = fit(
            model,
            train_loader,
            val_loader,
            epochs=2,
            patience=None,
            seed=1,
            target_scaler=scaler,
            val_groups=[1, 1, 2, 2],
            progress=False,
        )
        histories.append(history.drop(columns=TIMING))
    pd.testing.assert_frame_equal(*histories)
    assert "val_song_r2" in histories[0].columns


def test_predict_is_on_the_original_scale():
    model, _ = fit_mlp(epochs=5)
    _, val_loader, scaler, y_val = mlp_data()
    pred = predict(model, val_loader, scaler)
    assert pred.shape == y_val.shape
    assert 2 < pred.mean() < 8  # standardised predictions would sit near 0


def test_save_and_load_model(tmp_path):
    model, _ = fit_mlp(epochs=2)
    _, val_loader, scaler, _ = mlp_data()
    path = save_model(
        tmp_path,
        "phase3-test",
        model,
        {"model": "EmotionMLP", "model_kwargs": {"in_features": 12}},
        scaler,
        ["valence_mean", "arousal_mean"],
    )
    assert path == tmp_path / "models" / "phase3-test.pt"
    saved = torch.load(path, weights_only=True)
    assert saved["target_scaler"]["targets"] == ["valence_mean", "arousal_mean"]
    assert np.allclose(saved["target_scaler"]["mean"], scaler.mean_)
    restored, settings, scaler2, names = load_model(path)
    assert settings["model"] == "EmotionMLP" and names == ["valence_mean", "arousal_mean"]
    assert np.allclose(predict(restored, val_loader, scaler2), predict(model, val_loader, scaler))


def test_training_settings():
    assert training_settings("deam", "EmotionCNN")["epochs"] == 15
    assert training_settings("deam", "EmotionCNN_GRU")["epochs"] == 50
    assert training_settings("deam", "EmotionCNN_GRU")["patience"] == 10
    assert training_settings("synth", "EmotionCNN", epochs=2)["epochs"] == 2
    assert training_settings("synth", "EmotionCNN_GRU", epochs="report")["epochs"] == 50
    assert training_settings("deam", "EmotionCNN", epochs="report")["epochs"] == 15
    with pytest.raises(MerError):
        training_settings("synth", "NoSuchModel")
    with pytest.raises(MerError):
        training_settings("synth", "EmotionCNN", lr=0)
    with pytest.raises(MerError, match="epochs='many'"):
        training_settings("synth", "EmotionCNN", epochs="many")


def test_threads_are_restored():
    torch.set_num_threads(2)
    train_loader, val_loader, scaler, _ = mlp_data()
    fit(
        EmotionMLP(in_features=12),
        train_loader,
        val_loader,
        epochs=1,
        patience=None,
        seed=0,
        target_scaler=scaler,
        threads=1,
        progress=False,
    )
    assert torch.get_num_threads() == 2


# ------------------------------------------------------------------ precision


def chunk_data(n_train=8, n_val=4, seed=0):
    """Random log-mel-shaped chunks and labels: loaders, scaler and the validation song of each chunk."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    x = torch.as_tensor(rng.standard_normal((n, 1, 128, 128)).astype(np.float32))
    y = rng.uniform(2, 8, size=(n, 1))
    scaler = fit_target_scaler(y[:n_train])
    ys = torch.as_tensor(scaler.transform(y).astype(np.float32))
    train_loader = make_loader(TensorDataset(x[:n_train], ys[:n_train]), 4, shuffle=True, seed=seed)
    val_loader = make_loader(TensorDataset(x[n_train:], ys[n_train:]), 4)
    return train_loader, val_loader, scaler, np.repeat(np.arange(n_val // 2), 2)


def conv_output_dtypes(model):
    """Record the dtype of every Conv2d output during forward passes."""
    seen = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


def test_auto_precision_is_bfloat16_exactly_where_the_cpu_computes_it_natively(monkeypatch):
    native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert resolve_precision("auto") == ("bfloat16" if native else "float32")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert resolve_precision("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) == "float32"


def test_auto_precision_on_cuda_follows_the_gpu_and_elsewhere_is_float32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("auto", "cuda") == "bfloat16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_precision("auto", "cuda") == "float32"
    assert resolve_precision("auto", "meta") == "float32"


def test_explicit_precisions_are_kept_none_means_the_default_and_unknown_ones_are_refused():
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"
    assert resolve_precision(None) == resolve_precision(DEFAULT_PRECISION)
    assert DEFAULT_PRECISION in runtime.PRECISIONS
    with pytest.raises(MerError, match="unknown precision 'float16'"):
        resolve_precision("float16")
    with pytest.raises(MerError, match="not resolved"):
        runtime.autocast("cpu", "auto")


def test_float32_override_trains_every_convolution_in_float32():
    train_loader, val_loader, scaler, _ = chunk_data()
    model = build_model("EmotionCNN", seed=0)
    seen = conv_output_dtypes(model)
    model, history = fit(model, train_loader, val_loader, epochs=1, patience=None, seed=0, target_scaler=scaler,
                         precision="float32", progress=False)
    assert history.attrs["precision"] == "float32"
    assert seen and set(seen) == {torch.float32}


def test_default_precision_is_what_auto_resolves_to_on_this_machine():
    train_loader, val_loader, scaler, _ = chunk_data()
    model = build_model("EmotionCNN", seed=0)
    seen = conv_output_dtypes(model)
    _, history = fit(model, train_loader, val_loader, epochs=1, patience=None, seed=0, target_scaler=scaler,
                     progress=False)
    expected = resolve_precision("auto")
    assert history.attrs["precision"] == expected
    assert set(seen) == {getattr(torch, expected)}


@pytest.mark.parametrize("name", PHASE2_MODELS)
def test_each_phase2_model_trains_one_bfloat16_epoch_with_finite_metrics_and_float32_weights(name):
    train_loader, val_loader, scaler, groups = chunk_data()
    model = build_model(name, seed=0)
    seen = conv_output_dtypes(model)
    model, history = fit(model, train_loader, val_loader, epochs=1, patience=None, seed=0, target_scaler=scaler,
                         val_groups=groups, precision="bfloat16", progress=False)
    assert history.attrs["precision"] == "bfloat16"
    assert torch.bfloat16 in seen  # the convolutions really ran in bfloat16
    row = history.iloc[0]
    for column in ["train_loss", "val_loss", "val_r2", "val_rmse", "val_mae", "val_song_rmse"]:
        assert np.isfinite(row[column]), column
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # autocast keeps master weights float32
    pred = predict(model, val_loader, scaler, precision="bfloat16")
    assert np.isfinite(pred).all() and pred.shape == (4, 1)


def test_bfloat16_predictions_stay_close_to_float32_ones():
    """Same weights, two precisions: bfloat16 keeps about 3 significant digits, so predictions differ slightly."""
    _, val_loader, scaler, _ = chunk_data()
    model = build_model("EmotionCNN_GRU_Attention", seed=0)
    low = predict(model, val_loader, scaler, precision="bfloat16")
    full = predict(model, val_loader, scaler, precision="float32")
    assert not np.array_equal(low, full)  # the two precisions really differ
    assert np.abs(low - full).max() < 0.01  # on the 1..9 scale


def test_the_emotion_mlp_stays_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 6)).astype(np.float32)
    y = rng.uniform(2, 8, size=(30, 2))
    result = fit_emotion_mlp(x[:20], y[:20], x[20:], y[20:], target_names=["valence_mean", "arousal_mean"], epochs=1,
                             patience=None, batch_size=8, lr=1e-3, seed=0, progress=False)
    assert result.history.attrs["precision"] == "float32"


def _kept_in_a_fresh_process(env_value):
    import os
    import subprocess
    import sys

    env = {**os.environ, runtime.KEEP_FREED_MEMORY_ENV: env_value}
    code = "from mer_utils.training.runtime import keep_freed_memory as k; print(k(), k())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_freed_memory_is_kept_under_glibc_unless_the_environment_says_0():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("keep_freed_memory tunes glibc's malloc; this C library is not glibc")
    assert _kept_in_a_fresh_process("1").split() == ["True", "True"]
    assert _kept_in_a_fresh_process("0").split() == ["False", "False"]


def test_a_nearly_dead_embedding_dimension_cannot_swamp_a_new_songs_prediction():
    from mer_utils.training.mlp import SCALE_FLOOR, fit_feature_scaler

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.01, size=(100, 6)).astype(np.float32)
    x[:, 0] = 0.0  # a dead unit: constant
    x[:, 1] = 0.0
    x[3, 1] = 1e-5  # a nearly dead unit: it fired once, barely
    scaler = fit_feature_scaler(x)
    healthy = scaler.scale_[2:]
    assert scaler.scale_[0] == 1.0, "a constant dimension keeps scikit-learn's scale of 1"
    assert scaler.scale_[1] == pytest.approx(SCALE_FLOOR * np.median(np.r_[healthy, scaler.scale_[1]]), rel=1e-6)
    assert np.allclose(healthy, x[:, 2:].std(axis=0), rtol=1e-5), "ordinary dimensions are left as they are"
    fires = np.zeros((1, 6), dtype=np.float32)
    fires[0, 1] = 0.01  # a new song that fires the nearly dead unit as strongly as a healthy one
    assert abs(scaler.transform(fires)[0, 1]) < 20, "bounded, not 0.01 / 1e-6 standard deviations out"
