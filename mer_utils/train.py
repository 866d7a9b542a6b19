"""One trainer for every neural network of the book.

Used by ``notebooks/phase2_train.py`` (the four log-mel models, one target at a
time) and by the Phase 3 notebook ``notebooks/phase3_panns.py`` (``EmotionMLP``, valence and arousal
together).  The protocol is the same for both:

* labels are standardised with a scaler fit on the training songs only
  (:func:`fit_target_scaler`); the model learns the standardised values;
* loss: mean squared error per target, summed over targets (for one target,
  plain MSE); optimiser: Adam;
* after every epoch the validation set is scored: its loss, and R²
  (scikit-learn ``r2_score``), RMSE and MAE on the **original 1..9 scale**
  (predictions are inverse-transformed with the training scaler);
* early stopping watches the validation loss: training stops after
  ``patience`` epochs without a new lowest value, and the weights of the best
  epoch are restored.  For one target the lowest validation loss and the
  highest validation R² fall on the same epoch (both are the validation sum of
  squared errors, divided by a constant), so this is also "best validation R²",
  the report's criterion;
* deterministic on CPU: seeds, ``torch.use_deterministic_algorithms``, a
  seeded DataLoader generator and no worker processes; CUDA is used when
  available and never required.

:data:`TRAINING_DEFAULTS` holds the epochs, patience, batch size and learning
rate per data set and model; :func:`training_settings` looks them up.
"""
from __future__ import annotations

import copy
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MerError

log = logging.getLogger(__name__)

# Epochs, patience, batch size and learning rate per data set and model.
#
# deam: the report's schedule.  EmotionCNN ran 15 epochs; the other three up
# to 50 with early stopping.  The report names no patience, but every table it
# prints ends exactly 10 epochs after its best epoch (e.g. GRU+attention: best
# at 10 and 12, stopped at 20 and 22), so patience is 10.  Batch size 32 and
# Adam's default learning rate 1e-3 (the report gives batch 32 for Phase 3 and
# no other values).
#
# synth: the default book run on SynthDEAM (about 200 songs x 30 s, 1,400
# training chunks) must train all eight models (4 models x 2 targets) with
# the chunk cache in 15 minutes on 2 CPU cores; benchmarks/bench_phase2.py
# measures it.  Fewer epochs and a shorter patience do that.
_DEAM = {"batch_size": 32, "lr": 1e-3, "patience": 10}
_SYNTH = {"batch_size": 32, "lr": 1e-3, "patience": 3}
TRAINING_DEFAULTS = {
    "deam": {
        "EmotionCNN": {**_DEAM, "epochs": 15},
        "EmotionCNN_SE_Temporal": {**_DEAM, "epochs": 50},
        "EmotionCNN_GRU": {**_DEAM, "epochs": 50},
        "EmotionCNN_GRU_Attention": {**_DEAM, "epochs": 50},
        "EmotionMLP": {**_DEAM, "epochs": 30},
    },
    "synth": {
        "EmotionCNN": {**_SYNTH, "epochs": 10},
        "EmotionCNN_SE_Temporal": {**_SYNTH, "epochs": 10},
        "EmotionCNN_GRU": {**_SYNTH, "epochs": 10},
        "EmotionCNN_GRU_Attention": {**_SYNTH, "epochs": 10},
        "EmotionMLP": {**_SYNTH, "epochs": 30},
    },
}
from .evaluate import METRICS as METRIC_NAMES  # r2, rmse, mae: one list for the whole package


def training_settings(data: str, model_name: str, epochs=None, patience=None, batch_size=None, lr=None) -> dict:
    """Defaults of :data:`TRAINING_DEFAULTS` for ``data`` and ``model_name``, with any given value overriding.

    ``epochs="report"`` takes the report's epoch count for this model (15 for
    EmotionCNN, 50 for the others) whatever ``data`` is; ``None`` keeps the default.
    """
    if data not in TRAINING_DEFAULTS:
        raise MerError(f"unknown data '{data}' for training defaults: use one of {', '.join(TRAINING_DEFAULTS)}.")
    if model_name not in TRAINING_DEFAULTS[data]:
        raise MerError(f"no training defaults for model '{model_name}': use one of {', '.join(TRAINING_DEFAULTS[data])}.")
    settings = dict(TRAINING_DEFAULTS[data][model_name])
    if isinstance(epochs, str):
        if epochs.strip().lower() != "report":
            raise MerError(f"epochs='{epochs}' is not a number: pass a whole number, 'report' or leave it unset.")
        epochs = TRAINING_DEFAULTS["deam"][model_name]["epochs"]
    for key, value in (("epochs", epochs), ("patience", patience), ("batch_size", batch_size), ("lr", lr)):
        if value is not None:
            settings[key] = value
    if int(settings["epochs"]) < 1 or int(settings["batch_size"]) < 1 or float(settings["lr"]) <= 0:
        raise MerError(f"training settings {settings} need epochs >= 1, batch_size >= 1 and lr > 0.")
    if settings["patience"] is not None and int(settings["patience"]) < 1:
        raise MerError(f"patience={settings['patience']} must be 1 or more (or None for no early stopping).")
    return settings


# --------------------------------------------------------------------------- set-up


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False


def pick_device(device=None):
    """``device`` if given, else CUDA when available, else the CPU."""
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def fit_target_scaler(values):
    """A StandardScaler fit on training labels (array ``(n,)`` or ``(n, n_targets)``)."""
    from sklearn.preprocessing import StandardScaler

    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    return StandardScaler().fit(values)


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0):
    """A DataLoader without worker processes; when shuffling, its generator is seeded."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(int(seed)) if shuffle else None
    return DataLoader(dataset, batch_size=int(batch_size), shuffle=shuffle, generator=generator, num_workers=0)


def array_loader(features, targets, target_scaler, batch_size: int, shuffle: bool = False, seed: int = 0):
    """A loader over in-memory arrays (Phase 3): ``features (n, d)``, ``targets (n, k)`` on the 1..9 scale."""
    import torch
    from torch.utils.data import TensorDataset

    targets = np.asarray(targets, dtype=float)
    if targets.ndim == 1:
        targets = targets[:, None]
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    y = torch.as_tensor(target_scaler.transform(targets).astype(np.float32))
    return make_loader(TensorDataset(x, y), batch_size, shuffle=shuffle, seed=seed)


# --------------------------------------------------------------------------- training


def _prepare(model, device):
    """Move ``model`` to ``device`` in channels-last memory layout.

    Channels-last makes the convolutions, batch norm and pooling of the Phase 2
    models about 1.5x faster on CPU (benchmarks/bench_phase2.py); the layout
    changes only how tensors sit in memory, not what is computed.  Models
    without 4-D weights (the MLP) are unaffected.
    """
    import torch

    return model.to(device=device, memory_format=torch.channels_last)


def _batch(x, device):
    """Inputs to ``device``; image batches (B, C, H, W) in channels-last layout."""
    import torch

    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def _loss(prediction, target):
    """MSE per target, summed over targets."""
    return ((prediction - target) ** 2).mean(dim=0).sum()


def _run_eval(model, loader, device):
    """Standardised predictions and targets of a whole loader, plus the mean loss."""
    import torch

    model.eval()
    preds, targets = [], []
    with torch.inference_mode():
        for x, y in loader:
            preds.append(model(_batch(x, device)).float().cpu())
            targets.append(y.reshape(len(y), -1).float())
    pred = torch.cat(preds).reshape(-1, targets[0].shape[1]) if preds else torch.empty(0, 1)
    target = torch.cat(targets)
    return pred.numpy(), target.numpy(), float(_loss(pred, target))


def _scores(y_true, y_pred, target_names) -> dict:
    """Metrics on the 1..9 scale: per target when several, and their mean under the plain names."""
    from .evaluate import regression_metrics

    per_target = [regression_metrics(y_true[:, k], y_pred[:, k]) for k in range(y_true.shape[1])]
    out = {m: float(np.mean([s[m] for s in per_target])) for m in METRIC_NAMES}
    if len(per_target) > 1:
        for name, s in zip(target_names, per_target):
            for m in METRIC_NAMES:
                out[f"{m}_{name}"] = s[m]
    return out


def fit(model, train_loader, val_loader, *, epochs: int, patience: int | None, lr: float = 1e-3, device=None,
        seed: int, target_scaler, target_names=None, val_groups=None, threads: int | None = None, progress: bool = True):
    """Train ``model`` with Adam on MSE; return ``(model, history)`` with the best epoch's weights.

    ``train_loader`` and ``val_loader`` yield ``(x, y)`` with ``y`` standardised
    by ``target_scaler`` (``(B, n_targets)``).  ``patience``: stop after that
    many epochs without a lower validation loss (``None``: run all epochs).
    ``target_names`` labels the per-target columns when there are several
    targets.  ``val_groups``: optional song id of each validation item, in
    loader order; with it, each epoch is also scored at song level (the mean
    of a song's chunk predictions), in the ``val_song_*`` columns.
    ``threads``: torch CPU threads while training (``None``: leave torch's
    setting, one per core).  Pass 1 when other processes share the cores
    (e.g. ``make -j``): threads that wait for each other on a busy machine
    can make training several times slower.

    ``history`` has one row per epoch: ``epoch``, ``train_loss`` and
    ``val_loss`` (MSE on standardised labels, summed over targets),
    ``val_r2``, ``val_rmse``, ``val_mae`` (1..9 scale; with several targets
    their mean, plus ``val_r2_<target>`` etc.), ``seconds`` (the whole epoch),
    ``samples_per_s`` (training samples per second of training) and ``best``
    (True on the restored epoch).  ``history.attrs`` holds ``best_epoch``,
    ``epochs_run`` and ``stopped_early``.
    """
    import torch

    if threads is None:
        return _fit(model, train_loader, val_loader, epochs, patience, lr, device, seed, target_scaler, target_names,
                    val_groups, progress)
    if int(threads) < 1:
        raise MerError(f"threads={threads} must be 1 or more (or None for torch's default).")
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        return _fit(model, train_loader, val_loader, epochs, patience, lr, device, seed, target_scaler, target_names,
                    val_groups, progress)
    finally:
        torch.set_num_threads(before)


def _fit(model, train_loader, val_loader, epochs, patience, lr, device, seed, target_scaler, target_names,
         val_groups, progress):
    """The training loop of :func:`fit`."""
    import torch
    from tqdm import tqdm

    if len(train_loader.dataset) == 0 or len(val_loader.dataset) == 0:
        raise MerError("the training or validation set is empty: check the split and the chunk cache.")
    set_determinism(seed)
    generator = getattr(train_loader, "generator", None)
    if generator is not None:
        generator.manual_seed(int(seed))  # the same shuffles on every call with this seed
    device = pick_device(device)
    model = _prepare(model, device)
    n_targets = len(target_scaler.mean_)
    target_names = list(target_names) if target_names is not None else [f"target{k}" for k in range(n_targets)]
    if val_groups is not None:
        val_groups = np.asarray(val_groups)
        if len(val_groups) != len(val_loader.dataset):
            raise MerError(f"val_groups has {len(val_groups)} entries for {len(val_loader.dataset)} validation items.")
    optimiser = torch.optim.Adam(model.parameters(), lr=float(lr))
    rows, best_loss, best_state, best_epoch, waited = [], np.inf, None, 0, 0
    bar = tqdm(range(1, int(epochs) + 1), desc=f"training {type(model).__name__}", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        for x, y in train_loader:
            x, y = _batch(x, device), y.to(device).reshape(len(y), -1)
            optimiser.zero_grad(set_to_none=True)
            loss = _loss(model(x), y)
            if not torch.isfinite(loss):
                raise MerError(f"the training loss became {loss.item()} in epoch {epoch}: the model diverged; lower lr (now {lr}).")
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(y)
            seen += len(y)
        train_seconds = time.perf_counter() - start
        pred, target, val_loss = _run_eval(model, val_loader, device)
        y_pred = target_scaler.inverse_transform(pred)
        y_true = target_scaler.inverse_transform(target)
        row = {"epoch": epoch, "train_loss": total / seen, "val_loss": val_loss}
        row.update({f"val_{k}": v for k, v in _scores(y_true, y_pred, target_names).items()})
        if val_groups is not None:
            songs = _song_means(val_groups, y_true, y_pred)
            row.update({f"val_song_{k}": v for k, v in _scores(*songs, target_names).items()})
        row["seconds"] = time.perf_counter() - start
        row["samples_per_s"] = seen / train_seconds
        rows.append(row)
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        bar.set_postfix(val_loss=f"{val_loss:.3f}", val_r2=f"{row['val_r2']:.3f}", best=best_epoch)
        if patience is not None and waited >= int(patience):
            log.info("early stop after epoch %d: no lower validation loss for %d epochs (best epoch %d)", epoch, waited, best_epoch)
            break
    bar.close()
    model.load_state_dict(best_state)
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == best_epoch
    history.attrs.update(best_epoch=best_epoch, epochs_run=len(rows), stopped_early=len(rows) < int(epochs))
    return model, history


def _song_means(groups, y_true, y_pred):
    """Average targets and predictions per group (song)."""
    frame = pd.DataFrame(np.hstack([y_true, y_pred]))
    means = frame.groupby(np.asarray(groups), sort=True).mean().to_numpy()
    k = y_true.shape[1]
    return means[:, :k], means[:, k:]


def predict(model, loader, target_scaler, device=None) -> np.ndarray:
    """Predictions ``(n, n_targets)`` on the original 1..9 scale, in loader order."""
    device = pick_device(device)
    model = _prepare(model, device)
    pred, _, _ = _run_eval(model, loader, device)
    return target_scaler.inverse_transform(pred)


# --------------------------------------------------------------------------- Phase 2 scoring


def chunk_predictions(model, dataset, target_scaler, batch_size: int = 64, device=None) -> pd.DataFrame:
    """One row per chunk of a :class:`~mer_utils.spectrograms.ChunkDataset`: ids, target and prediction.

    For one target the columns are ``song_id``, ``chunk``, ``start_s``,
    ``target`` and ``prediction`` (1..9 scale), ready for
    :func:`mer_utils.evaluate.song_level`.
    """
    pred = predict(model, make_loader(dataset, batch_size), target_scaler, device)
    frame = dataset.frame[["song_id", "chunk", "start_s"]].copy()
    if len(dataset.targets) == 1:
        frame["target"] = dataset.frame[dataset.targets[0]].to_numpy()
        frame["prediction"] = pred[:, 0]
    else:
        for k, name in enumerate(dataset.targets):
            frame[f"target_{name}"] = dataset.frame[name].to_numpy()
            frame[f"prediction_{name}"] = pred[:, k]
    return frame


def chunk_and_song_scores(frame: pd.DataFrame) -> dict:
    """R², RMSE and MAE (1..9 scale) of a one-target :func:`chunk_predictions` frame, per chunk and per song."""
    from .evaluate import regression_metrics, song_level

    songs = song_level(frame)
    return {
        "chunk": regression_metrics(frame["target"], frame["prediction"]),
        "song": regression_metrics(songs["target"], songs["prediction"]),
    }


def best_epoch_row(history: pd.DataFrame) -> pd.Series:
    """The history row of the restored (best) epoch."""
    return history.loc[history["best"]].iloc[0]


def epoch_table(history: pd.DataFrame) -> pd.DataFrame:
    """The per-epoch table of the book (like the report's tables 3 to 10), with readable column names."""
    columns = {
        "epoch": "epoch",
        "train_loss": "train loss (MSE, std. units)",
        "val_loss": "val loss (MSE, std. units)",
        "val_r2": "val R²",
        "val_rmse": "val RMSE (1–9)",
        "val_mae": "val MAE (1–9)",
        "val_song_r2": "val song R²",
        "seconds": "seconds",
        "samples_per_s": "train samples/s",
        "best": "best",
    }
    table = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    table["best"] = table["best"].map({True: "◀ best", False: ""})
    return table


def result_records(model_name: str, target: str, corpus, history: pd.DataFrame, scores: dict, extra: dict | None = None) -> list[dict]:
    """The two result records of one Phase 2 run (``level`` "song" and "chunk") for :func:`mer_utils.evaluate.save_result`.

    ``scores`` is the output of :func:`chunk_and_song_scores` on the test set.
    Validation figures are the best epoch's (song level needs ``val_song_*``
    columns, i.e. ``fit(..., val_groups=...)``).
    """
    best = best_epoch_row(history)
    common = {
        "phase": 2,
        "model": model_name,
        "target": target,
        "data": corpus.name,
        "epochs_run": int(history.attrs.get("epochs_run", len(history))),
        "best_epoch": int(best["epoch"]),
        "seconds_per_epoch": float(history["seconds"].mean()),
        "samples_per_s": float(history["samples_per_s"].mean()),
        **(extra or {}),
    }
    records = []
    for level, prefix in (("song", "val_song_"), ("chunk", "val_")):
        validation = {m: float(best[f"{prefix}{m}"]) for m in METRIC_NAMES if f"{prefix}{m}" in best}
        records.append({**common, "level": level, "validation": validation, "test": dict(scores[level])})
    return records


# --------------------------------------------------------------------------- saving


def _scaler_dict(target_scaler, target_names) -> dict:
    return {"mean": [float(v) for v in target_scaler.mean_], "scale": [float(v) for v in target_scaler.scale_],
            "targets": list(target_names)}


def save_model(results_dir, run_name: str, model, settings: dict, target_scaler, target_names) -> Path:
    """Save the (best) weights, the model name, settings and the label scaler to ``<results_dir>/models/<run_name>.pt``.

    Written atomically; ``settings`` must hold ``model`` (a :data:`~mer_utils.models.MODELS` name),
    optionally ``model_kwargs`` for its constructor, and plain values only (numbers, strings, lists), e.g. the spectrogram settings and input statistics.
    """
    import torch

    from .cache import atomic_path

    if "model" not in settings:
        raise ValueError("settings must name the model class under 'model'")
    path = Path(results_dir) / "models" / f"{run_name}.pt"
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "settings": settings, "target_scaler": _scaler_dict(target_scaler, target_names)}, tmp)
    return path


def load_model(path, device=None):
    """Read a file of :func:`save_model`: returns ``(model, settings, target_scaler, target_names)``, model in eval mode."""
    import torch
    from sklearn.preprocessing import StandardScaler

    from .models import build_model

    path = Path(path)
    if not path.exists():
        raise MerError(f"model file {path} not found: run the notebook that trains it first (make book).")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(saved["settings"]["model"], **saved["settings"].get("model_kwargs", {}))
    model.load_state_dict(saved["state_dict"])
    scaler = StandardScaler()
    scaler.mean_ = np.array(saved["target_scaler"]["mean"])
    scaler.scale_ = np.array(saved["target_scaler"]["scale"])
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = len(scaler.mean_)
    return model.to(pick_device(device)).eval(), saved["settings"], scaler, saved["target_scaler"]["targets"]


# --------------------------------------------------------------------------- Phase 2 tables


def records_table(records: list[dict]) -> pd.DataFrame:
    """Result records as one flat table (``validation_r2``, ``test_rmse``, ...), like :func:`mer_utils.evaluate.load_results`."""
    rows = []
    for record in records:
        row = {k: v for k, v in record.items() if not isinstance(v, dict)}
        for part in ("validation", "test"):
            row.update({f"{part}_{m}": v for m, v in record.get(part, {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def best_runs(results: pd.DataFrame, phase: int = 2, level: str | None = "song") -> pd.DataFrame:
    """The run with the highest validation R² of each model and target (of one ``level``), from saved records.

    ``results`` is :func:`mer_utils.evaluate.load_results`; the test figures
    shown are those of the run picked on validation, never the best test figure.
    """
    if results.empty or "phase" not in results:
        return pd.DataFrame()
    table = results[results["phase"] == phase]
    if level is not None and "level" in table:
        table = table[table["level"] == level]
    if table.empty:
        return table
    table = table.sort_values("validation_r2", ascending=False).groupby(["model", "target"], as_index=False).head(1)
    from .models import PHASE2_MODELS

    order = {name: k for k, name in enumerate(PHASE2_MODELS)}
    table = table.assign(_model=table["model"].map(order), _target=table["target"].map({"valence_mean": 0, "arousal_mean": 1}))
    return table.sort_values(["_model", "_target", "model"]).drop(columns=["_model", "_target"]).reset_index(drop=True)


def part_counts(datasets: dict) -> pd.DataFrame:
    """Songs and chunks in each part of the split (from :func:`mer_utils.spectrograms.split_datasets`)."""
    return pd.DataFrame(
        [{"part": part, "songs": ds.frame["song_id"].nunique(), "chunks": len(ds)} for part, ds in datasets.items()]
    )
