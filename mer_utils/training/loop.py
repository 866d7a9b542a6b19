"""The one training loop of the book, for every network.

Used by: ``notebooks/phase2_train.py`` (the four log-mel models, one target at a
time) and ``notebooks/phase3_panns.py`` (``EmotionMLP``, valence and arousal
together, through :mod:`mer_utils.training.mlp`).  The protocol is the same for both:

* labels are standardised with a scaler fit on the training songs only
  (:func:`fit_target_scaler`); the model learns the standardised values;
* loss: mean squared error per target, summed over targets (for one target,
  plain MSE); optimiser: Adam.  Phase 4's sequence model (``notebooks/phase4_dynamic.py``)
  trains on batches of songs ``(songs, frames, targets)`` whose unlabelled and padded
  frames carry NaN targets: the loss and the validation scores count labelled frames only;
* after every epoch the validation set is scored: its loss, and R²
  (scikit-learn ``r2_score``), RMSE and MAE on the **original 1..9 scale**
  (predictions are inverse-transformed with the training scaler);
* early stopping watches the validation loss: training stops after
  ``patience`` epochs without a new lowest value, and the weights of the best
  epoch are restored.  For one target the lowest validation loss and the
  highest validation R² fall on the same epoch (both are the validation sum of
  squared errors, divided by a constant), so this is also "best validation R²",
  the report's criterion;
* deterministic on CPU (:func:`mer_utils.training.runtime.set_seeds`, a seeded
  DataLoader generator and no worker processes); CUDA is used when available
  and never required;
* precision: ``precision="auto"`` (the default,
  :data:`mer_utils.training.runtime.DEFAULT_PRECISION`) trains and evaluates
  with bfloat16 autocast where the device computes bfloat16 natively (CPUs with
  AVX512-BF16 or AMX, recent CUDA GPUs) and in float32 elsewhere; ``"float32"``
  or ``"bfloat16"`` force one.  Autocast, not a bfloat16 model: the weights and
  Adam's state stay float32, predictions are cast to float32 before the loss,
  and the metrics are computed in float32.  benchmarks/bench_phase2.py measures
  the speed-up and checks that the chosen epoch's validation and test R² stay
  within float32's intervals.  The resolved precision is in
  ``history.attrs["precision"]``.
"""

from __future__ import annotations

import copy
import logging
import time

import numpy as np
import pandas as pd

from ..errors import MerError
from ..results.metrics import METRICS, regression_metrics
from ..estimates import announce_training
from .runtime import autocast, keep_freed_memory, pick_device, resolve_precision, set_seeds, torch_threads

log = logging.getLogger(__name__)


def fit_target_scaler(values):
    """A StandardScaler fit on training labels (array ``(n,)`` or ``(n, n_targets)``)."""
    from sklearn.preprocessing import StandardScaler

    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    return StandardScaler().fit(values)


def make_loader(dataset, batch_size: int, shuffle: bool = False, seed: int = 0, collate_fn=None):
    """A DataLoader without worker processes; when shuffling, its generator is seeded.

    ``collate_fn``: how items become a batch (Phase 4 pads songs of different lengths); ``None``: torch's default.
    """
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(int(seed)) if shuffle else None
    return DataLoader(dataset, batch_size=int(batch_size), shuffle=shuffle, generator=generator, num_workers=0,
                      collate_fn=collate_fn)


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


def _prepare(model, device):
    """Move ``model`` to ``device`` in channels-last memory layout.

    Channels-last makes the convolutions, batch norm and pooling of the Phase 2
    models faster on CPU (on top of bfloat16 autocast, about 1.3x in the
    measurements of issue 11); the layout changes only how tensors sit in
    memory, not what is computed.  Models
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
    """MSE per target, summed over targets.

    A sequence batch ``(songs, frames, targets)`` (Phase 4) counts only its labelled frames: a target of NaN
    (an unlabelled or padded frame) adds nothing, and each target's MSE is over its labelled frames.
    """
    import torch

    if target.dim() == 3:
        labelled = torch.isfinite(target)
        error = torch.where(labelled, prediction - torch.nan_to_num(target), torch.zeros_like(prediction))
        return ((error**2).sum(dim=(0, 1)) / labelled.sum(dim=(0, 1)).clamp(min=1)).sum()
    return ((prediction - target) ** 2).mean(dim=0).sum()


def _targets(y):
    """``(B, n_targets)`` targets of a batch; a sequence batch ``(B, frames, n_targets)`` stays as it is."""
    return y if y.dim() == 3 else y.reshape(len(y), -1)


def _labelled_rows(prediction, target):
    """Frames ``(n, n_targets)`` of a batch with a label: every row of a song batch, the labelled frames of a sequence
    batch (a frame counts when any target has a label; a target without one stays NaN and is skipped by the loss)."""
    if target.dim() < 3:
        return prediction, target
    keep = target.isfinite().any(dim=-1)
    return prediction[keep], target[keep]


def _run_eval(model, loader, device, precision: str = "float32"):
    """Standardised predictions and targets of a whole loader, plus the mean loss (float32).

    ``precision``: a resolved precision (:func:`~mer_utils.training.runtime.resolve_precision`).
    """
    import torch

    model.eval()
    preds, targets = [], []
    with torch.inference_mode(), autocast(device, precision):
        for x, y in loader:
            pred, target = _labelled_rows(model(_batch(x, device)).float().cpu(), _targets(y).float())
            preds.append(pred)
            targets.append(target)
    pred = torch.cat(preds).reshape(-1, targets[0].shape[-1]) if preds else torch.empty(0, 1)
    target = torch.cat(targets)
    return pred.numpy(), target.numpy(), float(_loss(pred, target) if target.isfinite().all() else
                                               _loss(pred[None], target[None]))


def _scores(y_true, y_pred, target_names) -> dict:
    """Metrics on the 1..9 scale: per target when several, and their mean under the plain names."""
    per_target = [regression_metrics(y_true[:, k], y_pred[:, k]) for k in range(y_true.shape[1])]
    out = {m: float(np.mean([s[m] for s in per_target])) for m in METRICS}
    if len(per_target) > 1:
        for name, s in zip(target_names, per_target):
            for m in METRICS:
                out[f"{m}_{name}"] = s[m]
    return out


def fit(
    model,
    train_loader,
    val_loader,
    *,
    epochs: int,
    patience: int | None,
    lr: float = 1e-3,
    device=None,
    seed: int,
    target_scaler,
    target_names=None,
    val_groups=None,
    threads: int | None = None,
    precision: str | None = None,
    progress: bool = True,
    param_groups=None,
    select_on: str = "items",
):
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
    ``precision``: ``"auto"``, ``"float32"`` or ``"bfloat16"`` (autocast; see
    the module docstring); ``None`` means
    :data:`~mer_utils.training.runtime.DEFAULT_PRECISION`.
    ``param_groups``: Adam's parameter groups, e.g. ``[{"params": ..., "lr": 1e-4},
    {"params": ...}]`` for a lower learning rate on pretrained layers than on a new
    head (a group without ``lr`` takes ``lr``); ``None``: every parameter at ``lr``.
    ``select_on``: ``"items"`` (the default) keeps the epoch of the lowest
    validation loss over the loader's items (chunks, patches, songs);
    ``"songs"`` the lowest loss of the song means of those items (needs
    ``val_groups``), for a model that predicts songs by averaging its items.
    ``val_loader`` ``None``: no validation; every epoch runs and the last one is
    kept (a final model trained on all songs for an epoch count chosen elsewhere).

    ``history`` has one row per epoch: ``epoch``, ``train_loss`` and
    ``val_loss`` (MSE on standardised labels, summed over targets; with
    ``val_groups`` also ``val_song_loss``, the same for the song means),
    ``val_r2``, ``val_rmse``, ``val_mae`` (1..9 scale; with several targets
    their mean, plus ``val_r2_<target>`` etc.), ``seconds`` (the whole epoch),
    ``samples_per_s`` (training samples per second of training) and ``best``
    (True on the restored epoch).  ``history.attrs`` holds ``best_epoch``,
    ``epochs_run``, ``stopped_early`` and ``precision`` (the resolved one,
    ``"float32"`` or ``"bfloat16"``).
    """
    if select_on not in ("items", "songs"):
        raise MerError(f"select_on='{select_on}': use 'items' or 'songs'.")
    if select_on == "songs" and val_groups is None and val_loader is not None:
        raise MerError("select_on='songs' needs val_groups, the song of each validation item.")
    settings = dict(epochs=epochs, patience=patience, lr=lr, device=device, seed=seed, target_scaler=target_scaler,
                    target_names=target_names, val_groups=val_groups, precision=precision, progress=progress,
                    param_groups=param_groups, select_on=select_on)
    with torch_threads(threads):
        return _fit(model, train_loader, val_loader, **settings)


def _fit(model, train_loader, val_loader, *, epochs, patience, lr, device, seed, target_scaler, target_names,
         val_groups, precision, progress, param_groups, select_on):
    """The training loop of :func:`fit`."""
    import torch
    from tqdm import tqdm

    if len(train_loader.dataset) == 0 or (val_loader is not None and len(val_loader.dataset) == 0):
        raise MerError("the training or validation set is empty: check the split and the chunk cache.")
    set_seeds(seed)
    keep_freed_memory()
    generator = getattr(train_loader, "generator", None)
    if generator is not None:
        generator.manual_seed(int(seed))  # the same shuffles on every call with this seed
    device = pick_device(device)
    precision = resolve_precision(precision, device)
    model = _prepare(model, device)
    name = getattr(model, "name", type(model).__name__)  # a view of a network (UpperLayers) names the network
    log.info("training %s on %s in %s", name, device, precision)
    if device.type == "cpu":
        announce_training(name, len(train_loader.dataset), int(epochs), precision, patience,
                          threads=torch.get_num_threads())
    n_targets = len(target_scaler.mean_)
    target_names = list(target_names) if target_names is not None else [f"target{k}" for k in range(n_targets)]
    if val_groups is not None and val_loader is not None:
        val_groups = np.asarray(val_groups)
        if len(val_groups) != len(val_loader.dataset):
            raise MerError(f"val_groups has {len(val_groups)} entries for {len(val_loader.dataset)} validation items.")
    optimiser = torch.optim.Adam(model.parameters() if param_groups is None else param_groups, lr=float(lr))
    rows, best_loss, best_state, best_epoch, waited = [], np.inf, None, 0, 0
    bar = tqdm(range(1, int(epochs) + 1), desc=f"training {name}", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        for x, y in train_loader:
            x, y = _batch(x, device), _targets(y.to(device))
            optimiser.zero_grad(set_to_none=True)
            with autocast(device, precision):
                prediction = model(x)
            loss = _loss(prediction.float(), y)
            if not torch.isfinite(loss):
                raise MerError(
                    f"the training loss became {loss.item()} in epoch {epoch}: the model diverged; lower lr (now {lr})."
                )
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(y)
            seen += len(y)
        train_seconds = time.perf_counter() - start
        row = {"epoch": epoch, "train_loss": total / seen}
        if val_loader is None:  # no validation: the last epoch is the one kept
            row["seconds"] = time.perf_counter() - start
            row["samples_per_s"] = seen / train_seconds
            rows.append(row)
            best_epoch, best_state = epoch, None
            continue
        pred, target, val_loss = _run_eval(model, val_loader, device, precision)
        y_pred = target_scaler.inverse_transform(pred)
        y_true = target_scaler.inverse_transform(target)
        row["val_loss"] = val_loss
        row.update({f"val_{k}": v for k, v in _scores(y_true, y_pred, target_names).items()})
        if val_groups is not None:
            songs = _song_means(val_groups, y_true, y_pred)
            row["val_song_loss"] = float(_loss(*map(torch.tensor, _song_means(val_groups, target, pred))))
            row.update({f"val_song_{k}": v for k, v in _scores(*songs, target_names).items()})
        row["seconds"] = time.perf_counter() - start
        row["samples_per_s"] = seen / train_seconds
        rows.append(row)
        watched = row["val_song_loss"] if select_on == "songs" else val_loss
        if watched < best_loss:
            best_loss, best_epoch, waited = watched, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        bar.set_postfix(val_loss=f"{watched:.3f}", val_r2=f"{row['val_r2']:.3f}", best=best_epoch)
        if patience is not None and waited >= int(patience):
            log.info(
                "early stop after epoch %d: no lower validation loss for %d epochs (best epoch %d)",
                epoch,
                waited,
                best_epoch,
            )
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == best_epoch
    history.attrs.update(best_epoch=best_epoch, epochs_run=len(rows), stopped_early=len(rows) < int(epochs),
                         precision=precision)
    return model, history


def _song_means(groups, y_true, y_pred):
    """Average targets and predictions per group (song)."""
    frame = pd.DataFrame(np.hstack([y_true, y_pred]))
    means = frame.groupby(np.asarray(groups), sort=True).mean().to_numpy()
    k = y_true.shape[1]
    return means[:, :k], means[:, k:]


def predict(model, loader, target_scaler, device=None, precision: str | None = None) -> np.ndarray:
    """Predictions ``(n, n_targets)`` on the original 1..9 scale, in loader order.

    ``precision`` as in :func:`fit` (``None``: the package default); pass the
    precision the model was trained and selected in (``history.attrs["precision"]``).
    """
    device = pick_device(device)
    precision = resolve_precision(precision, device)
    keep_freed_memory()
    model = _prepare(model, device)
    pred, _, _ = _run_eval(model, loader, device, precision)
    return target_scaler.inverse_transform(pred)
