"""Uncertainty of held-out figures: bootstrap intervals over songs and paired differences between models.

Used by: every results notebook, through the result records (``notebooks/phase1_models.py``,
``notebooks/phase2_train.py``, ``notebooks/phase3_panns.py``), ``notebooks/conclusions.py``
(the paired comparisons behind every verdict) and ``notebooks/phase4_dynamic.py`` (means over songs of
per-song scores: :func:`mean_interval`, :func:`paired_mean_difference`).

A test set is a sample of songs.  :func:`bootstrap_interval` resamples the
test songs with replacement (``N_RESAMPLES`` times, seeded) and recomputes R²,
RMSE and MAE each time; the 2.5th and 97.5th percentiles are the 95% interval.
:func:`paired_difference` compares two models on the *same* songs: each
resample draws one set of songs and scores both models on it, so what the two
share (the songs that are hard for everyone) cancels, and the interval of the
difference is far narrower than the two intervals side by side suggest.  The
book calls one model better than another only when that interval excludes zero.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import METRICS, regression_metrics

N_RESAMPLES = 2000
LEVEL = 0.95
BOOTSTRAP_SEED = 20250101  # fixed: two builds of the same data give the same intervals


def _resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def _metric_draws(y_true: np.ndarray, y_pred: np.ndarray, index: np.ndarray) -> dict:
    """R², RMSE and MAE of every resample (rows of ``index``), vectorised."""
    t, p = y_true[index], y_pred[index]
    err = p - t
    sse = (err**2).sum(axis=1)
    sst = ((t - t.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1 - sse / sst, np.nan)
    return {"r2": r2, "rmse": np.sqrt(sse / t.shape[1]), "mae": np.abs(err).mean(axis=1)}


def _bounds(draws: np.ndarray, level: float) -> list[float]:
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return [float("nan"), float("nan")]
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(draws, tail)), float(np.percentile(draws, 100 - tail))]


def resample_weights(n: int, groups=None, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``(n_resamples, n)`` bootstrap weights: how often each item is drawn, whole groups at a time when given."""
    rng = np.random.default_rng(seed)
    if groups is None:
        drawn = rng.integers(0, n, size=(n_resamples, n))
        return np.stack([np.bincount(row, minlength=n) for row in drawn]).astype(float)
    codes, _ = pd.factorize(np.asarray(groups))
    if len(codes) != n:
        raise ValueError(f"groups has {len(codes)} entries for {n} items")
    n_groups = int(codes.max()) + 1
    drawn = rng.integers(0, n_groups, size=(n_resamples, n_groups))
    per_group = np.stack([np.bincount(row, minlength=n_groups) for row in drawn]).astype(float)
    return per_group[:, codes]


def _weighted_metric_draws(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray) -> dict:
    """R², RMSE and MAE under each row of ``weights`` (a row counts each item as often as it was drawn)."""
    err = y_pred - y_true
    total = weights.sum(axis=1)
    sse = weights @ err**2
    mean = (weights @ y_true) / total
    sst = weights @ y_true**2 - total * mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 1e-12 * total, 1 - sse / sst, np.nan)
    return {"r2": r2, "rmse": np.sqrt(sse / total), "mae": (weights @ np.abs(err)) / total}


def bootstrap_interval(y_true, y_pred, groups=None, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = LEVEL) -> dict:
    """95% bootstrap intervals over songs: ``{"r2": [low, high], "rmse": [...], "mae": [...]}``.

    With ``groups`` (the song of each row, for chunk-level scores) whole songs
    are resampled with all their chunks (:func:`resample_weights`), so chunks of
    one song never count as independent evidence.
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if groups is None:
        draws = _metric_draws(y_true, y_pred, _resample_indices(len(y_true), n_resamples, seed))
    else:
        draws = _weighted_metric_draws(y_true, y_pred, resample_weights(len(y_true), groups, n_resamples, seed))
    return {m: _bounds(draws[m], level) for m in METRICS}


def paired_difference(y_true, pred_a, pred_b, metric: str = "r2", n_resamples: int = N_RESAMPLES,
                      seed: int = BOOTSTRAP_SEED, level: float = LEVEL, y_true_b=None, groups=None) -> dict:
    """Model A minus model B on the same songs: the observed difference and its paired bootstrap interval.

    Returns ``{"difference", "low", "high", "songs"}``; for R² a positive
    difference favours A, for RMSE and MAE a negative one does.  ``y_true_b``:
    B's own labels when the two models predict different targets of the same
    songs (arousal against valence); by default both are scored against ``y_true``.  ``groups``: the group
    of each song (its film) where songs are not independent; whole groups are then drawn together.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_true_b = y_true if y_true_b is None else np.asarray(y_true_b, dtype=float)
    pred_a, pred_b = np.asarray(pred_a, dtype=float), np.asarray(pred_b, dtype=float)
    if groups is None:
        index = _resample_indices(len(y_true), n_resamples, seed)
        draws = _metric_draws(y_true, pred_a, index)[metric] - _metric_draws(y_true_b, pred_b, index)[metric]
    else:
        weights = resample_weights(len(y_true), groups, n_resamples, seed)
        draws = (_weighted_metric_draws(y_true, pred_a, weights)[metric]
                 - _weighted_metric_draws(y_true_b, pred_b, weights)[metric])
    observed = regression_metrics(y_true, pred_a)[metric] - regression_metrics(y_true_b, pred_b)[metric]
    low, high = _bounds(draws, level)
    return {"difference": float(observed), "low": low, "high": high, "songs": int(len(y_true))}


def is_better(difference: dict, metric: str = "r2") -> bool:
    """True when the interval of A minus B excludes zero in A's favour."""
    return difference["low"] > 0 if metric == "r2" else difference["high"] < 0


def mean_interval(values, groups=None, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                  level: float = LEVEL) -> list[float]:
    """The 95% bootstrap interval of the mean of per-song values (e.g. Phase 4's per-song RMSE), songs resampled
    (whole groups at a time when ``groups`` is given)."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return [float("nan"), float("nan")]
    weights = resample_weights(len(values), groups, n_resamples, seed)
    return _bounds((weights @ values) / weights.sum(axis=1), level)


def paired_mean_difference(values_a, values_b, groups=None, n_resamples: int = N_RESAMPLES,
                           seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> dict:
    """Mean of A minus mean of B over the same songs (per-song values in the same order), with the paired bootstrap
    interval: ``{"difference", "low", "high", "songs"}``, as :func:`paired_difference` for a metric averaged over
    songs.  Which sign favours A depends on the metric (lower RMSE, higher r)."""
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    difference = a - b
    low, high = mean_interval(difference, groups, n_resamples, seed, level)
    return {"difference": float(difference.mean()) if len(difference) else float("nan"), "low": low, "high": high,
            "songs": int(len(difference))}


def predictions_frame(song_ids, y_true, y_pred) -> pd.DataFrame:
    """Per-song predictions as stored in a record: ``song_id``, ``true``, ``predicted``."""
    return pd.DataFrame({"song_id": [int(i) for i in song_ids], "true": np.asarray(y_true, dtype=float),
                         "predicted": np.asarray(y_pred, dtype=float)})


def compare_on_shared_songs(a: pd.DataFrame, b: pd.DataFrame, metric: str = "r2") -> dict:
    """:func:`paired_difference` of two per-song prediction frames, on the songs both predicted.

    Each frame is scored against its own ``true`` column, so the two may predict different targets.  Frames
    with a ``group`` column (cross-validated records) are resampled by group.
    """
    both = a.merge(b, on="song_id", suffixes=("_a", "_b"))
    groups = both["group_a"] if "group_a" in both.columns else None
    return paired_difference(both["true_a"], both["predicted_a"], both["predicted_b"], metric=metric,
                             y_true_b=both["true_b"], groups=groups)


def format_interval(value: float, bounds, digits: int = 2) -> str:
    """``0.41 [0.28, 0.52]``: a figure with its interval, compactly."""
    if value is None or not np.isfinite(value):
        return "–"
    bounds = None if bounds is None else np.array([np.nan if b is None else b for b in bounds], dtype=float)
    if bounds is None or not np.isfinite(bounds).all():
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"
