"""A per-frame regressor: Ridge on windowed features, one prediction per labelled half second.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`).

The simplest model that can follow a curve: each labelled frame is a row, described by the frames around it
(about 3 s, :data:`mer_utils.phase4.frames.WINDOW_BEFORE` and ``WINDOW_AFTER``), and one linear map predicts
valence and arousal together (ridge regression on standardised inputs, the scaler fit on the training
frames; :func:`ridge_path` solves it for every penalty at once).  It sees no further context and keeps no memory, which is what the sequence model adds.  The penalty
is chosen among :data:`ALPHAS` by the protocol's own score on the validation songs (the mean per-song RMSE
over both dimensions, :mod:`mer_utils.phase4.protocol`); the test songs are predicted once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .curves import DIMENSIONS
from .frames import Sequences, windowed_mean

ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)  # 1e5: the default book chose 1e4, the largest of 1..1e4


@dataclass
class RidgeResult:
    """A fitted per-frame Ridge: its scaler and model, the chosen ``alpha``, each alpha's validation score, and
    whether its inputs are averaged over the window here (backbone frames) or came windowed (Phase 1 features)."""

    scaler: object
    model: object
    alpha: float
    validation: pd.DataFrame
    window: bool

    def predict(self, sequences: Sequences, song_ids) -> pd.DataFrame:
        """Predictions at the labelled times of ``song_ids``: ``song_id``, ``time_s``, ``valence``, ``arousal``."""
        x, keys = frame_rows(sequences, song_ids, self.window)
        return predictions_frame(keys, self.model.predict(self.scaler.transform(x)))


def frame_rows(sequences: Sequences, song_ids, window: bool):
    """The labelled frames of ``song_ids`` as rows ``(n, dim)`` and their ``(song_id, time_s)`` keys."""
    rows, keys = [], []
    for song_id in song_ids:
        if song_id not in sequences.index:
            continue
        values = sequences.source.frames(song_id)
        values = windowed_mean(values) if window else values
        rows.append(values[sequences.index[song_id]])
        keys += [(song_id, t) for t in sequences.times[song_id]]
    return np.vstack(rows), keys


def frame_labels(sequences: Sequences, song_ids) -> np.ndarray:
    return np.vstack([sequences.labels[s] for s in song_ids if s in sequences.labels])


def predictions_frame(keys, values: np.ndarray) -> pd.DataFrame:
    """``song_id``, ``time_s`` and the two predicted dimensions, one row per key."""
    frame = pd.DataFrame(keys, columns=["song_id", "time_s"])
    for k, d in enumerate(DIMENSIONS):
        frame[d] = values[:, k]
    return frame


@dataclass
class LinearMap:
    """``predict(x) = x @ coef + intercept``: a Ridge solution of :func:`ridge_path`."""

    coef: np.ndarray
    intercept: np.ndarray

    def predict(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float32) @ self.coef.astype(np.float32)).astype(np.float64) + self.intercept


def ridge_path(x: np.ndarray, y: np.ndarray, alphas) -> dict:
    """Ridge regression (an intercept, L2 penalty ``alpha`` on the weights) for every alpha at once.

    ``x`` must be centred (standardised on the same rows).  The same solutions as scikit-learn's ``Ridge``, but
    ``x.T @ x`` is computed once for all penalties instead of once per fit, and in float32 (the solve is float64):
    at DEAM's size (90,000 frames of 2,048 numbers) that product is most of the work and a float64 copy of ``x``
    would take 1.5 GB.
    """
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float64)
    gram = (x.T @ x).astype(np.float64)
    mean = y.mean(axis=0)
    cross = (x.T @ (y - mean).astype(np.float32)).astype(np.float64)
    eye = np.eye(len(gram))
    return {a: LinearMap(np.linalg.solve(gram + float(a) * eye, cross), mean) for a in alphas}


def fit_frame_ridge(sequences: Sequences, train_ids, validation_ids, window: bool, alphas=ALPHAS) -> RidgeResult:
    """Fit on the labelled frames of ``train_ids``, choose ``alpha`` on ``validation_ids`` (see the module docstring)."""
    from sklearn.preprocessing import StandardScaler

    from .protocol import scored_frames, song_scores

    x_train, _ = frame_rows(sequences, train_ids, window)
    y_train = frame_labels(sequences, train_ids)
    x_val, keys = frame_rows(sequences, validation_ids, window)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    truth = predictions_frame(keys, frame_labels(sequences, validation_ids))
    scores, models = [], ridge_path(x_train, y_train, alphas)
    for alpha in alphas:
        predicted = predictions_frame(keys, models[alpha].predict(x_val))
        per_song = song_scores(scored_frames(truth, {"ridge": predicted}))
        scores.append({"alpha": float(alpha), "validation RMSE": float(per_song["rmse"].mean()),
                       "validation r": float(per_song["r"].mean())})
    validation = pd.DataFrame(scores)
    best = float(validation.loc[validation["validation RMSE"].idxmin(), "alpha"])
    return RidgeResult(scaler=scaler, model=models[best], alpha=best, validation=validation, window=window)
