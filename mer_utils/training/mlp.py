"""The Phase 3 network, EmotionMLP, and its training on song embeddings.

Used by: ``notebooks/phase3_panns.py`` (trains it) and ``mer predict`` (runs it).

EmotionMLP is a small multilayer perceptron from one embedding (2048 numbers
for CNN14) to valence and arousal together.  It is trained by the book's one
loop (:func:`mer_utils.training.loop.fit`) on the summed per-target MSE, with
the feature and label scalers fit on the training songs only.  The feature
scaler's per-dimension scale has a floor (:func:`fit_feature_scaler`), so a
nearly dead embedding dimension cannot blow up a new song's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..corpus.base import short_name
from ..errors import MerError
from .runtime import torch_threads

DROPOUT = 0.3


class EmotionMLP(nn.Module):
    """Phase 3: 2048 -> 512, ReLU, Dropout(0.3), 512 -> 128, ReLU, 128 -> 2 (valence, arousal)."""

    def __init__(self, in_features: int = 2048, outputs: int = 2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(DROPOUT),
            nn.Linear(512, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass
class MlpResult:
    """A trained EmotionMLP with the scalers it needs and its per-epoch history."""

    model: object
    feature_scaler: object
    target_scaler: object
    target_names: list[str]
    history: pd.DataFrame
    settings: dict

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 2048)`` song (or segment) embeddings -> ``(n, n_targets)`` on the 1..9 scale."""
        return predict_mlp(self.model, self.feature_scaler, self.target_scaler, embeddings)


SCALE_FLOOR = 0.1  # a feature's scale is at least this fraction of the median scale of the varying dimensions


def fit_feature_scaler(x_train):
    """A StandardScaler fit on training embeddings, each dimension's scale at least :data:`SCALE_FLOOR` x the median.

    A nearly dead dimension (a ReLU unit that fires on a few training songs, common in
    a CNN14 with random weights) has a tiny standard deviation.  A new song that fires
    it would land thousands of standard deviations out (up to 55,000 on the 4Q clips for
    a model trained on Soundtracks) and swamp the prediction; the floor bounds that.
    Constant dimensions keep scikit-learn's scale of 1; the musicnn embeddings' scales
    all lie above the floor, so it changes nothing there.
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(np.asarray(x_train, dtype=np.float32))
    varying = (scaler.var_ > 0) & (scaler.scale_ != 1.0)  # scikit-learn gives (near-)constant dimensions a scale of 1
    if varying.any():
        floor = SCALE_FLOOR * float(np.median(scaler.scale_[varying]))
        scaler.scale_ = np.where(varying, np.maximum(scaler.scale_, floor), scaler.scale_)
    return scaler


def fit_emotion_mlp(
    x_train,
    y_train,
    x_val,
    y_val,
    *,
    target_names,
    epochs: int,
    patience: int | None,
    batch_size: int,
    lr: float,
    seed: int,
    progress: bool = True,
    n_threads: int = 1,
) -> MlpResult:
    """Train an EmotionMLP on embeddings, jointly on all targets (columns of ``y_*``, 1..9 scale).

    ``epochs``, ``patience``, ``batch_size`` and ``lr`` come from
    :func:`mer_utils.training.defaults.training_settings` (``"EmotionMLP"``).

    The feature scaler and the label scaler are fit on the training rows only;
    :func:`mer_utils.training.loop.fit` runs Adam on the summed per-target MSE, scores
    every epoch on the validation rows and keeps the best epoch (early stopping
    on the validation loss).  ``n_threads``: torch threads while training; the
    default 1 is as fast as 2 for a model this small, and does not slow down
    by an order of magnitude when another process keeps a core busy.
    """
    from .loop import array_loader, fit, fit_target_scaler

    x_train, x_val = np.asarray(x_train, dtype=np.float32), np.asarray(x_val, dtype=np.float32)
    y_train, y_val = np.asarray(y_train, dtype=float), np.asarray(y_val, dtype=float)
    if len(x_train) < 2 or len(x_val) < 1:
        raise MerError(
            f"the EmotionMLP needs at least 2 training and 1 validation songs, got {len(x_train)} and {len(x_val)}."
        )
    feature_scaler = fit_feature_scaler(x_train)
    target_scaler = fit_target_scaler(y_train)
    train_loader = array_loader(
        feature_scaler.transform(x_train), y_train, target_scaler, batch_size, shuffle=True, seed=seed
    )
    val_loader = array_loader(feature_scaler.transform(x_val), y_val, target_scaler, batch_size)
    outputs = 1 if y_train.ndim == 1 else y_train.shape[1]
    torch.manual_seed(seed)  # the initial weights, as modelfile.build_model draws them
    model = EmotionMLP(in_features=x_train.shape[1], outputs=outputs)
    with torch_threads(n_threads):
        model, history = fit(
            model,
            train_loader,
            val_loader,
            epochs=int(epochs),
            patience=patience,
            lr=float(lr),
            device="cpu",
            seed=seed,
            precision="float32",  # a small dense network: bfloat16 would change results and save little time
            target_scaler=target_scaler,
            target_names=list(target_names),
            progress=progress,
        )
    settings = {
        "epochs": int(epochs),
        "patience": patience,
        "batch_size": int(batch_size),
        "lr": float(lr),
        "seed": int(seed),
        "in_features": int(x_train.shape[1]),
        "outputs": int(outputs),
    }
    return MlpResult(
        model=model.eval(),
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        target_names=list(target_names),
        history=history,
        settings=settings,
    )


def predict_mlp(model, feature_scaler, target_scaler, embeddings) -> np.ndarray:
    """Predictions on the 1..9 scale of a trained EmotionMLP for rows of ``embeddings``."""
    import torch

    x = torch.as_tensor(feature_scaler.transform(np.asarray(embeddings, dtype=np.float32)).astype(np.float32))
    model.eval()
    with torch.inference_mode():
        scaled = model(x).float().numpy()
    return target_scaler.inverse_transform(scaled)


def mlp_epoch_table(history: pd.DataFrame, target_names) -> pd.DataFrame:
    """The per-epoch table of the Phase 3 page: losses, validation R², RMSE and MAE per target (1..9 scale)."""
    columns = {"epoch": "epoch", "train_loss": "train loss (MSE, std. units)", "val_loss": "val loss (MSE, std. units)"}
    for target in target_names:
        name = short_name(target)
        columns.update(
            {
                f"val_r2_{target}": f"{name} val R²",
                f"val_rmse_{target}": f"{name} val RMSE (1–9)",
                f"val_mae_{target}": f"{name} val MAE (1–9)",
            }
        )
    columns["seconds"] = "seconds"
    table = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    table["best"] = history["best"].map({True: "◀ best", False: ""}).to_numpy()
    return table


def song_arrays(song_ids, embeddings: np.ndarray, labels: pd.DataFrame, split: pd.DataFrame, targets):
    """Embeddings and labels of each part of the split: ``(ids, x, y)``, dicts keyed by part.

    ``song_ids`` and ``embeddings`` are the rows of an embedding set (songs
    skipped by the cache have none, so they fall out of every part).
    """
    from ..corpus.split import PARTS, part_ids

    row_of = {int(song_id): row for row, song_id in enumerate(song_ids)}
    ids = {part: [i for i in part_ids(split, part) if i in row_of] for part in PARTS}
    x = {part: embeddings[[row_of[i] for i in ids[part]]] for part in PARTS}
    y = {part: labels.loc[ids[part], list(targets)].to_numpy(dtype=float) for part in PARTS}
    return ids, x, y


def mlp_records(mlp: MlpResult, ids: dict, x: dict, y: dict, data: str, run: dict | None = None,
                cv: dict | None = None, **details) -> tuple[list[dict], dict]:
    """Score a trained MLP on the validation and test songs: one result record per target, and the predictions.

    ``ids``, ``x`` and ``y`` are the dicts of :func:`song_arrays`; ``run`` is the
    page's :attr:`mer_utils.page.Page.run`; ``details`` are plain values added
    to every record.  Returns ``(records, predictions)`` with
    ``predictions[part]`` on the 1..9 scale.  ``cv``: :func:`mlp_cross_validation`'s result, added per target.
    """
    from ..results.intervals import predictions_frame
    from ..results.metrics import regression_metrics
    from ..results.records import make_record

    predictions = {part: mlp.predict(x[part]) for part in ("validation", "test")}
    records = []
    for k, target in enumerate(mlp.target_names):
        scores = {part: regression_metrics(y[part][:, k], predictions[part][:, k]) for part in predictions}
        frame = predictions_frame(ids["test"], y["test"][:, k], predictions["test"][:, k])
        records.append(make_record(3, "EmotionMLP", target, data, scores["validation"], scores["test"], run=run,
                                   test_predictions=frame, **(cv or {}).get(target, {}), **details))
    return records, predictions


CV_FOLDS, CV_REPEATS = 5, 2  # repeated k-fold over the training and validation songs


def mlp_cross_validation(x: dict, y: dict, target_names, *, epochs: int, batch_size: int, lr: float, seed: int,
                         n_splits: int = CV_FOLDS, n_repeats: int = CV_REPEATS) -> dict:
    """R² of the EmotionMLP in repeated k-fold CV over the training and validation songs (never the test songs).

    Each fold trains for the ``epochs`` the main run chose on validation (no
    early stopping inside the folds, which would tune on the held-out fold)
    and scores the held-out songs.  Returns ``{target: {"cv_r2_mean", "cv_r2_sd", "cv_folds"}}``.
    """
    from sklearn.model_selection import RepeatedKFold

    from ..results.metrics import regression_metrics

    pool_x = np.concatenate([x["train"], x["validation"]])
    pool_y = np.concatenate([y["train"], y["validation"]])
    folds = RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    scores = {t: [] for t in target_names}
    for k, (fit_rows, held_rows) in enumerate(folds.split(pool_x)):
        result = fit_emotion_mlp(pool_x[fit_rows], pool_y[fit_rows], pool_x[held_rows], pool_y[held_rows],
                                 target_names=target_names, epochs=epochs, patience=None, batch_size=batch_size,
                                 lr=lr, seed=seed + k, progress=False)
        predicted = result.predict(pool_x[held_rows])
        for j, target in enumerate(target_names):
            scores[target].append(regression_metrics(pool_y[held_rows][:, j], predicted[:, j])["r2"])
    return {t: {"cv_r2_mean": float(np.mean(v)), "cv_r2_sd": float(np.std(v, ddof=1)), "cv_folds": len(v)}
            for t, v in scores.items()}


@dataclass
class MlpRun:
    """One split's EmotionMLP: the arrays it saw (:func:`song_arrays`), the trained model, its records and predictions."""

    ids: dict
    x: dict
    y: dict
    mlp: MlpResult
    records: list[dict]
    predictions: dict

    @property
    def best_epoch(self) -> int:
        return int(self.mlp.history.attrs["best_epoch"])


def train_mlp_on_split(split: pd.DataFrame, run: dict | None, *, song_ids, embeddings, labels: pd.DataFrame, data: str,
                       targets, settings: dict, seed: int, repeated_cv: bool = True, **details) -> MlpRun:
    """Phase 3 on one split: train with early stopping on its validation songs, score its test songs.

    ``settings`` is :func:`mer_utils.training.defaults.training_settings` for
    ``"EmotionMLP"``.  With ``repeated_cv``, each record also carries the chosen
    epoch's R² in repeated k-fold CV over the training and validation songs
    (:func:`mlp_cross_validation`); a cross-validated corpus leaves it out (its
    folds are the evaluation).  ``details`` are added to every record.
    """
    ids, x, y = song_arrays(song_ids, embeddings, labels, split, targets)
    mlp = fit_emotion_mlp(x["train"], y["train"], x["validation"], y["validation"], target_names=targets,
                          epochs=settings["epochs"], patience=settings["patience"], batch_size=settings["batch_size"],
                          lr=settings["lr"], seed=seed)
    best_epoch = int(mlp.history.attrs["best_epoch"])
    cv = None
    if repeated_cv:
        cv = mlp_cross_validation(x, y, targets, epochs=best_epoch, batch_size=settings["batch_size"], lr=settings["lr"],
                                  seed=seed)
    records, predictions = mlp_records(
        mlp, ids, x, y, data, run=run, cv=cv, best_epoch=best_epoch, epochs_run=int(len(mlp.history)),
        max_epochs=settings["epochs"], patience=settings["patience"], batch_size=settings["batch_size"],
        lr=settings["lr"], seed=seed, **details, **{f"{part}_songs": len(part_ids) for part, part_ids in ids.items()})
    return MlpRun(ids, x, y, mlp, records, predictions)


def train_mlp_per_fold(folds: dict, groups, run: dict | None, **kwargs) -> tuple[dict, list[dict]]:
    """:func:`train_mlp_on_split` on every fold (:attr:`mer_utils.page.Page.folds`): ``({fold: MlpRun}, records)``.

    With one split the records are its own; under folds they are pooled out of fold
    (:func:`mer_utils.results.crossfit.pool_records`) and the repeated inner CV is left out.
    """
    from ..corpus.split import ONE_SPLIT
    from ..results.crossfit import pool_records

    one = list(folds) == [ONE_SPLIT]
    runs = {fold: train_mlp_on_split(split, run, repeated_cv=one, **kwargs) for fold, split in folds.items()}
    if one:
        return runs, runs[ONE_SPLIT].records
    return runs, pool_records({fold: r.records for fold, r in runs.items()}, groups, run)
