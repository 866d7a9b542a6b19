"""Phase 4's figures: annotated and predicted curves of a few test songs, and the distribution of per-song scores.

Used by: ``notebooks/phase4_dynamic.py``.  Each function draws one figure and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .curves import DIMENSIONS

MODEL_STYLES = {"constant": dict(color="0.55", ls="--", lw=1.2), "Ridge, Phase": dict(color="C2", lw=1.1),
                "Ridge,": dict(color="C4", lw=1.1), "BiGRU": dict(color="C3", lw=1.8),
                "generating function": dict(color="k", ls=":", lw=1.2)}


def _style(label: str) -> dict:
    return next((style for prefix, style in MODEL_STYLES.items() if label.startswith(prefix)), {})


def example_curves(curves, predictions: dict, examples: dict, scores: pd.DataFrame, highlight: str):
    """One row per example song (best, median, worst), one column per dimension: the annotated curve (black) with
    the raters' spread as a band (mean ± 1 sd, where the corpus gives it), and each model's prediction.

    ``predictions``: label -> frame (``song_id``, ``time_s``, ``valence``, ``arousal``); ``examples``:
    ``{"best": id, ...}``; ``scores``: per-song scores (titles give ``highlight``'s RMSE and r).
    """
    fig, axes = plt.subplots(len(examples), 2, figsize=(11, 2.7 * len(examples)), sharey=True, squeeze=False)
    for row, (kind, song_id) in enumerate(examples.items()):
        truth = curves.of([song_id])
        for col, d in enumerate(DIMENSIONS):
            ax = axes[row][col]
            if curves.has_spread:
                ax.fill_between(truth["time_s"], truth[d] - truth[f"{d}_std"], truth[d] + truth[f"{d}_std"],
                                color="0.85", label="raters ± 1 sd")
            ax.plot(truth["time_s"], truth[d], color="k", lw=2, label="annotated (raters' mean)")
            for label, frame in predictions.items():
                song = frame[frame["song_id"] == song_id]
                ax.plot(song["time_s"], song[d], label=label, **_style(label))
            mine = scores[(scores["model"] == highlight) & (scores["song_id"] == song_id) & (scores["dimension"] == d)]
            r = mine["r"].iloc[0] if len(mine) else np.nan
            ax.set(ylim=(-1, 1), xlabel="time (s)" if row == len(examples) - 1 else None,
                   ylabel=f"{kind}: song {song_id}" if col == 0 else None,
                   title=f"{d}: RMSE {mine['rmse'].iloc[0]:.3f}, r {r:.2f}" if len(mine) else d)
            ax.axhline(0, color="0.9", lw=0.8, zorder=0)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Test songs with the lowest, median and highest RMSE of the {highlight} (-1..1 scale)")
    fig.tight_layout(rect=(0, 0.07 + 0.02 * (len(predictions) > 4), 1, 1))
    return fig


def score_distributions(scores: pd.DataFrame, order) -> plt.Figure:
    """Per dimension, the per-song Pearson r (left) and RMSE (right) of each model over the test songs: a box and
    the songs as points."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 1.0 + 0.55 * len(order) * 2), sharey="row")
    for row, d in enumerate(DIMENSIONS):
        for col, metric in enumerate(("r", "rmse")):
            ax = axes[row][col]
            data = [scores[(scores["model"] == m) & (scores["dimension"] == d)][metric].dropna().to_numpy()
                    for m in order]
            ax.boxplot(data, vert=False, widths=0.5, showfliers=False)
            for k, values in enumerate(data, start=1):
                jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(values))
                ax.scatter(values, k + jitter, s=6, alpha=0.45, color=_style(order[k - 1]).get("color", "C0"))
            ax.set(xlabel=("Pearson r per song" if metric == "r" else "RMSE per song (-1..1 scale)"),
                   title=f"{d}: {'r' if metric == 'r' else 'RMSE'}")
            if metric == "r":
                ax.axvline(0, color="0.6", lw=0.8)
        axes[row][0].set_yticks(range(1, len(order) + 1), order, fontsize=8)  # shared by the row, so set last
    fig.suptitle("Per-song scores of every model on the test songs")
    fig.tight_layout()
    return fig


def learning_curves(history: pd.DataFrame, title: str) -> plt.Figure:
    """The GRU's training and validation loss per epoch, and its validation RMSE on -1..1, best epoch marked."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.plot(history["epoch"], history["train_loss"], label="training loss")
    left.plot(history["epoch"], history["val_loss"], label="validation loss")
    left.set(xlabel="epoch", ylabel="MSE, standardised labels (summed)")
    for d in DIMENSIONS:
        right.plot(history["epoch"], history[f"val_rmse_{d}"], label=f"validation RMSE, {d}")
    right.set(xlabel="epoch", ylabel="RMSE per frame (-1..1)")
    best = int(history.loc[history["best"], "epoch"].iloc[0])
    for ax in (left, right):
        ax.axvline(best, color="grey", lw=1, alpha=0.6)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
