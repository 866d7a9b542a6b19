"""Uncertainty of classification figures: macro F1 and ROC AUC with bootstrap intervals, and paired differences.

Used by: ``notebooks/real_music.py`` (through :mod:`mer_utils.realmusic.crossval` and
:mod:`mer_utils.realmusic.transfer`); the classification counterpart of
:mod:`mer_utils.results.intervals`, with its conventions (:data:`~mer_utils.results.intervals.N_RESAMPLES`
resamples, 95% percentile intervals, the same fixed seed).

Two things differ from the regression case and are handled here:

* **Clusters.**  Clips by one artist are not independent evidence (same voice,
  same production), and the cross-validation keeps each artist on one side of
  every fold.  So with ``groups`` (the artist of each song) a resample draws
  *artists* with replacement and takes all their songs, the cluster bootstrap;
  without ``groups`` it draws songs.  A resample is a vector of weights (how
  often each song was drawn), and every metric is computed from weighted counts,
  vectorised over all resamples at once.
* **Repeats.**  Repeated cross-validation gives every song one out-of-fold
  prediction per repeat.  The figure is the mean over repeats of the macro F1
  of each repeat's predictions (pooled over its folds), and each resample
  recomputes that mean on the drawn songs, so the interval covers the sampling
  of songs (and artists), while the spread over repeats (fold assignment
  alone) is reported beside it.

:func:`paired_f1_difference` and :func:`paired_auc_difference` draw one set of
artists per resample and score both predictions on it, as :func:`mer_utils.results.intervals.paired_difference`
does for R²; one representation is called better than another only when that
interval excludes zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import BOOTSTRAP_SEED, LEVEL, N_RESAMPLES, _bounds, resample_weights


def _codes(y_true, predictions, classes=None):
    y_true = np.asarray(y_true)
    predictions = np.atleast_2d(np.asarray(predictions))
    classes = list(classes) if classes is not None else sorted(set(y_true.tolist()) | set(predictions.ravel().tolist()))
    lookup = {c: i for i, c in enumerate(classes)}
    return (np.array([lookup[v] for v in y_true]), np.vectorize(lookup.__getitem__)(predictions), len(classes))


def weighted_macro_f1(true_codes: np.ndarray, pred_codes: np.ndarray, weights: np.ndarray,
                      n_classes: int) -> np.ndarray:
    """Macro F1 of one prediction vector under each row of ``weights`` (``(B, n)`` -> ``(B,)``).

    Per class, F1 = 2 TP / (2 TP + FP + FN) from weighted counts; a class with
    no true and no predicted song in a resample is left out of that resample's
    mean (as scikit-learn leaves out labels absent from both).
    """
    scores, present = [], []
    for c in range(n_classes):
        is_true, is_pred = true_codes == c, pred_codes == c
        tp = weights @ (is_true & is_pred)
        fp = weights @ (~is_true & is_pred)
        fn = weights @ (is_true & ~is_pred)
        denominator = 2 * tp + fp + fn
        with np.errstate(divide="ignore", invalid="ignore"):
            scores.append(np.where(denominator > 0, 2 * tp / denominator, 0.0))
        present.append(denominator > 0)
    scores, present = np.stack(scores, axis=1), np.stack(present, axis=1)
    return (scores * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def macro_f1(y_true, y_pred, classes=None) -> float:
    """Macro F1 (scikit-learn's ``f1_score(average="macro")`` on the classes present)."""
    t, p, k = _codes(y_true, y_pred, classes)
    return float(weighted_macro_f1(t, p[0], np.ones((1, len(t))), k)[0])


def repeated_f1(y_true, predictions, groups=None, classes=None, n_resamples: int = N_RESAMPLES,
                seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> dict:
    """Macro F1 of repeated out-of-fold predictions with its cluster-bootstrap interval.

    ``predictions`` is ``(n_repeats, n_songs)`` (or one vector).  Returns
    ``{"f1", "low", "high", "sd_repeats", "repeats", "songs"}``: the mean over
    repeats, the 95% interval over resampled songs (artists, with ``groups``),
    the standard deviation of the per-repeat figures.
    """
    t, p, k = _codes(y_true, predictions, classes)
    ones = np.ones((1, len(t)))
    per_repeat = np.array([weighted_macro_f1(t, row, ones, k)[0] for row in p])
    weights = resample_weights(len(t), groups, n_resamples, seed)
    draws = np.mean([weighted_macro_f1(t, row, weights, k) for row in p], axis=0)
    low, high = _bounds(draws, level)
    return {"f1": float(per_repeat.mean()), "low": low, "high": high,
            "sd_repeats": float(per_repeat.std(ddof=1)) if len(per_repeat) > 1 else 0.0,
            "repeats": int(len(per_repeat)), "songs": int(len(t))}


def paired_f1_difference(y_true, predictions_a, predictions_b, groups=None, classes=None,
                         n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> dict:
    """Macro F1 of A minus B on the same songs and resampled artists: ``{"difference", "low", "high", "songs"}``.

    Both are ``(n_repeats, n_songs)`` out-of-fold predictions of the same songs
    in the same order; each figure is the mean over repeats, as in :func:`repeated_f1`.
    """
    if classes is None:  # one class list for both
        classes = sorted(set(np.asarray(y_true).tolist()) | set(np.ravel(predictions_a).tolist())
                         | set(np.ravel(predictions_b).tolist()))
    t, a, k = _codes(y_true, predictions_a, classes)
    _, b, _ = _codes(y_true, predictions_b, classes)
    ones = np.ones((1, len(t)))
    observed = (np.mean([weighted_macro_f1(t, row, ones, k)[0] for row in a])
                - np.mean([weighted_macro_f1(t, row, ones, k)[0] for row in b]))
    weights = resample_weights(len(t), groups, n_resamples, seed)
    draws = (np.mean([weighted_macro_f1(t, row, weights, k) for row in a], axis=0)
             - np.mean([weighted_macro_f1(t, row, weights, k) for row in b], axis=0))
    low, high = _bounds(draws, level)
    return {"difference": float(observed), "low": low, "high": high, "songs": int(len(t))}


def weighted_auc(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of ``scores`` for ``positive`` under each row of ``weights`` (``(B, n)`` -> ``(B,)``); ties count half.

    The probability that a drawn positive song scores above a drawn negative
    one: the Mann-Whitney statistic with weighted counts.  NaN where a resample
    holds no positive or no negative song.
    """
    positive = np.asarray(positive, dtype=bool)
    values, index = np.unique(np.asarray(scores, dtype=float), return_inverse=True)
    onehot = np.zeros((len(index), len(values)))
    onehot[np.arange(len(index)), index] = 1.0
    pos_at = (weights * positive) @ onehot  # (B, U): positive weight at each distinct score
    neg_at = (weights * ~positive) @ onehot
    neg_below = np.cumsum(neg_at, axis=1) - neg_at
    wins = (pos_at * (neg_below + 0.5 * neg_at)).sum(axis=1)
    total = pos_at.sum(axis=1) * neg_at.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, wins / total, np.nan)


def auc_interval(positive, scores, groups=None, n_resamples: int = N_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = LEVEL) -> dict:
    """ROC AUC, bootstrap interval (artists with ``groups``): ``auc``, ``low``, ``high``, ``songs``, ``positives``."""
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=float)
    auc = float(weighted_auc(positive, scores, np.ones((1, len(scores))))[0])
    low, high = _bounds(weighted_auc(positive, scores, resample_weights(len(scores), groups, n_resamples, seed)), level)
    return {"auc": auc, "low": low, "high": high, "songs": int(len(scores)), "positives": int(positive.sum())}


def paired_auc_difference(positive, scores_a, scores_b, groups=None, n_resamples: int = N_RESAMPLES,
                          seed: int = BOOTSTRAP_SEED, level: float = LEVEL) -> dict:
    """ROC AUC of ``scores_a`` minus that of ``scores_b`` on the same songs: ``{"difference", "low", "high", "songs"}``.

    Both score the same songs in the same order; every resample (of artists with
    ``groups``) weighs both alike, so the interval is that of a paired difference.
    """
    positive = np.asarray(positive, dtype=bool)
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    ones = np.ones((1, len(a)))
    observed = float(weighted_auc(positive, a, ones)[0] - weighted_auc(positive, b, ones)[0])
    weights = resample_weights(len(a), groups, n_resamples, seed)
    low, high = _bounds(weighted_auc(positive, a, weights) - weighted_auc(positive, b, weights), level)
    return {"difference": observed, "low": low, "high": high, "songs": int(len(a))}


def better_side(table: pd.DataFrame) -> np.ndarray:
    """Per row of a differences table (``a``, ``b``, ``low``, ``high`` of A − B): ``a`` where the interval lies above
    zero, ``b`` where it lies below, ``""`` where it holds zero (no verdict)."""
    return np.where(table["low"] > 0, table["a"], np.where(table["high"] < 0, table["b"], ""))
