"""The book's metrics: R², RMSE and MAE on the original 1..9 scale, per song.

Used by: every results notebook (``notebooks/phase1_models.py``,
``notebooks/phase2_train.py``, ``notebooks/phase3_panns.py``) through the
regressors, the training loop and the result records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from ..errors import MerError

METRICS = ("r2", "rmse", "mae")


def regression_metrics(y_true, y_pred) -> dict:
    """R² (sklearn ``r2_score``), RMSE and MAE, in the units of the inputs."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise MerError(f"cannot score predictions of shape {y_pred.shape} against targets of shape {y_true.shape}.")
    if not np.isfinite(y_pred).all():
        raise MerError("predictions contain NaN or infinite values; the model diverged (try a lower learning rate).")
    return {
        "r2": float(r2_score(y_true, y_pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def song_level(chunk_frame: pd.DataFrame, prediction: str = "prediction", target: str = "target") -> pd.DataFrame:
    """Average chunk predictions per song (``song_id`` column) for song-level scoring."""
    return chunk_frame.groupby("song_id")[[prediction, target]].mean()
