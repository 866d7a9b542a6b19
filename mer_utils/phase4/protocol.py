"""MediaEval 2015's protocol for emotion over time: per-song RMSE and Pearson r, averaged over songs.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`) and the model choices of
:mod:`mer_utils.phase4.ridge`.

The Emotion in Music task scored each test song on its own, comparing the predicted 2 Hz curve with the
annotated one (both on the -1..1 scale), and averaged over songs: the root mean squared error, which sees the
level and the shape, and Pearson's r, which sees only the shape.  This module does the same on the labelled
times that every compared model predicts (:func:`scored_frames`), so all models of a table are scored on
exactly the same frames of the same songs.

Where r is undefined, a curve does not move (its range is below :data:`FLAT`):

* an annotated curve that does not move has no shape to follow: the song is left out of every model's r
  (counted in ``flat songs``; its RMSE still counts);
* a predicted curve that does not move follows no shape: its r counts as 0, the value of a prediction that
  carries no information about the movement.  The constant static baseline therefore has r 0 on every song
  by construction, and a model's r against it asks whether the model follows the movement at all.

Each mean over songs carries a 95% bootstrap interval over the songs (over whole groups, series or films, on a
corpus evaluated by grouped folds), and two models are compared by the paired bootstrap of the difference of
their means on the same songs
(:func:`mer_utils.results.intervals.paired_mean_difference`): one is called better only when that interval
excludes zero (lower RMSE, higher r).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results.intervals import format_interval, mean_interval, paired_mean_difference
from .curves import DIMENSIONS

FLAT = 1e-6  # a curve whose range (max - min) is below this does not move: r is undefined for it
METRICS = ("rmse", "r")
BETTER = {"rmse": "lower", "r": "higher"}


def scored_frames(curves_table: pd.DataFrame, predictions: dict) -> pd.DataFrame:
    """The annotated and predicted values of every model on the labelled times all of them predict.

    ``predictions``: model label -> frame with ``song_id``, ``time_s``, ``valence``, ``arousal``.
    Returns a long frame: ``model``, ``dimension``, ``song_id``, ``time_s``, ``true``, ``predicted``.
    """
    keys = None
    for frame in predictions.values():
        these = set(zip(frame["song_id"].astype(int), frame["time_s"].astype(float)))
        keys = these if keys is None else keys & these
    truth = curves_table.set_index(["song_id", "time_s"])
    rows = []
    for model, frame in predictions.items():
        frame = frame.set_index(["song_id", "time_s"]).loc[sorted(keys or [])]
        for d in DIMENSIONS:
            rows.append(pd.DataFrame({"model": model, "dimension": d, "song_id": frame.index.get_level_values(0),
                                      "time_s": frame.index.get_level_values(1),
                                      "true": truth.loc[frame.index, d].to_numpy(), "predicted": frame[d].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def curve_scores(true: np.ndarray, predicted: np.ndarray) -> dict:
    """One song's scores: RMSE, Pearson r (see the module docstring for flat curves), and which curve is flat."""
    true, predicted = np.asarray(true, dtype=float), np.asarray(predicted, dtype=float)
    flat_true, flat_predicted = np.ptp(true) < FLAT, np.ptp(predicted) < FLAT
    if flat_true:
        r = np.nan
    elif flat_predicted:
        r = 0.0
    else:
        r = float(np.corrcoef(true, predicted)[0, 1])
    return {"frames": int(len(true)), "rmse": float(np.sqrt(np.mean((predicted - true) ** 2))), "r": r,
            "flat_truth": bool(flat_true), "flat_prediction": bool(flat_predicted)}


def song_scores(frames: pd.DataFrame) -> pd.DataFrame:
    """Per model, dimension and song: :func:`curve_scores` of :func:`scored_frames`' rows."""
    rows = [{"model": model, "dimension": d, "song_id": int(song), **curve_scores(g["true"], g["predicted"])}
            for (model, d, song), g in frames.groupby(["model", "dimension", "song_id"], sort=False)]
    return pd.DataFrame(rows)


def summary(scores: pd.DataFrame, groups: pd.Series | None = None) -> pd.DataFrame:
    """Per model and dimension (in the order of ``scores``): the mean per-song RMSE and r with their 95% intervals
    over songs (over whole groups when ``groups`` maps ``song_id`` to a group: a corpus under grouped folds).

    Columns ``model``, ``dimension``, ``songs``, ``rmse``, ``rmse_low``, ``rmse_high``, ``r``, ``r_low``,
    ``r_high``, ``r_songs`` (songs whose annotation moves), ``flat_predictions`` (songs predicted flat).
    """
    rows = []
    for (model, d), g in scores.groupby(["model", "dimension"], sort=False):
        moving = g["r"].dropna()
        rmse_low, rmse_high = mean_interval(g["rmse"], _groups(g["song_id"], groups))
        r_low, r_high = mean_interval(moving, _groups(g.loc[moving.index, "song_id"], groups))
        rows.append({"model": model, "dimension": d, "songs": len(g), "rmse": float(g["rmse"].mean()),
                     "rmse_low": rmse_low, "rmse_high": rmse_high, "r": float(moving.mean()) if len(moving) else np.nan,
                     "r_low": r_low, "r_high": r_high, "r_songs": len(moving),
                     "flat_predictions": int(g["flat_prediction"].sum())})
    return pd.DataFrame(rows)


def _groups(song_ids: pd.Series, groups: pd.Series | None):
    """Each song's group for a bootstrap over groups, or ``None`` (songs resampled one by one)."""
    return None if groups is None else song_ids.map(groups).astype(str).to_numpy()


def reading(difference: dict, metric: str) -> str:
    """``"better"``, ``"worse"`` or ``"no detectable difference"`` for A against B (lower RMSE, higher r)."""
    sign = -1 if metric == "rmse" else 1
    low, high = sorted((sign * difference["low"], sign * difference["high"]))
    return "better" if low > 0 else "worse" if high < 0 else "no detectable difference"


def compare(scores: pd.DataFrame, a: str, b: str, dimension: str, metric: str,
            groups: pd.Series | None = None) -> dict:
    """Model ``a`` minus model ``b`` on ``metric``, paired over the songs where both have a value (resampled in whole
    groups with ``groups``)."""
    pick = scores[scores["dimension"] == dimension]
    both = (pick[pick["model"] == a].set_index("song_id")[metric].to_frame("a")
            .join(pick[pick["model"] == b].set_index("song_id")[metric].to_frame("b"), how="inner").dropna())
    difference = paired_mean_difference(both["a"], both["b"], _groups(both.index.to_series(), groups))
    return {"a": a, "b": b, "dimension": dimension, "metric": metric, **difference,
            "reading": reading(difference, metric)}


def comparisons(scores: pd.DataFrame, pairs, groups: pd.Series | None = None) -> pd.DataFrame:
    """:func:`compare` for every ``(a, b)`` of ``pairs``, dimension and metric, numbered from 1."""
    rows = [compare(scores, a, b, d, m, groups) for a, b in pairs for d in DIMENSIONS for m in METRICS
            if {a, b} <= set(scores["model"])]
    table = pd.DataFrame(rows)
    if len(table):
        table.insert(0, "number", range(1, len(table) + 1))
    return table


def comparisons_for_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparisons` as the page shows them: #, model A, model B, dimension, metric, A − B [95% CI], songs, A is."""
    return pd.DataFrame({
        "#": table["number"], "model A": table["a"], "model B": table["b"], "dimension": table["dimension"],
        "metric": table["metric"].map({"rmse": "RMSE (lower is better)", "r": "r (higher is better)"}),
        "A − B [95% CI]": [format_interval(d, (lo, hi), 3) for d, lo, hi
                           in zip(table["difference"], table["low"], table["high"])],
        "songs": table["songs"], "A is": table["reading"]})


def summary_for_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`summary` as the page shows it: one row per model, RMSE and r with intervals for each dimension."""
    rows = {}
    for _, row in table.iterrows():
        out = rows.setdefault(row["model"], {"model": row["model"], "songs": int(row["songs"])})
        out[f"{row['dimension']} RMSE [95% CI]"] = format_interval(row["rmse"], (row["rmse_low"], row["rmse_high"]), 3)
        r = "0 (flat)" if row["flat_predictions"] == row["songs"] else format_interval(row["r"], (row["r_low"],
                                                                                                  row["r_high"]), 2)
        out[f"{row['dimension']} r [95% CI]"] = r
    return pd.DataFrame(list(rows.values()))
