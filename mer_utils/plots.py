"""Figures of the book: labelled axes, units and readable sizes.

Each function draws one kind of figure and returns the matplotlib Figure; the
notebooks call them and add nothing but the reading.  Phase 1 (EDA, feature
selection), Phase 2 (learning curves) and Phase 3 (t-SNE) figures live here.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

TARGET_LABELS = {"valence_mean": "mean valence (1–9)", "arousal_mean": "mean arousal (1–9)"}


# --------------------------------------------------------------------------- Phase 1


def valence_arousal_scatter(labels: pd.DataFrame):
    """Song-level valence against arousal, with a least-squares line and Pearson r."""
    from scipy.stats import pearsonr

    x, y = labels["valence_mean"].to_numpy(), labels["arousal_mean"].to_numpy()
    r, p = pearsonr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(x, y, s=14, alpha=0.55, edgecolor="none")
    grid = np.linspace(x.min(), x.max(), 50)
    ax.plot(grid, slope * grid + intercept, color="C3", lw=2, label=f"least squares: y = {slope:.2f}x + {intercept:.2f}")
    ax.set(xlabel=TARGET_LABELS["valence_mean"], ylabel=TARGET_LABELS["arousal_mean"],
           title=f"Valence vs arousal, {len(x)} songs (Pearson r = {r:.2f})")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def target_histograms(labels: pd.DataFrame):
    """Histograms with a kernel density estimate for both targets."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, target, colour in zip(axes, ("valence_mean", "arousal_mean"), ("C0", "C1")):
        sns.histplot(labels[target], bins=30, kde=True, ax=ax, color=colour, stat="count")
        ax.axvline(labels[target].mean(), color="k", ls="--", lw=1, label=f"mean {labels[target].mean():.2f}")
        ax.set(xlabel=TARGET_LABELS[target], ylabel="songs", xlim=(1, 9))
        ax.legend(fontsize=9)
    fig.suptitle("Distribution of the song-level targets")
    fig.tight_layout()
    return fig


def pearson_bars(ranking: pd.DataFrame, target: str, top: int = 15):
    """Horizontal bars of the top features by |Pearson r| with one target."""
    shown = ranking.head(top).iloc[::-1]
    colours = ["C3" if r < 0 else "C0" for r in shown["r"]]
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * top + 1.2))
    ax.barh(shown["feature"], shown["r"], color=colours)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="Pearson r with " + TARGET_LABELS[target] + " (blue positive, red negative)",
           title=f"Top {top} features by |r| with {target.split('_')[0]} (training songs)")
    fig.tight_layout()
    return fig


def shap_summary(explanation, target: str, top: int = 15, seed: int = 42):
    """SHAP beeswarm of the top features (red = high feature value, blue = low)."""
    import shap

    shap.summary_plot(explanation, max_display=top, show=False, plot_size=(7.5, 0.35 * top + 1.5),
                      rng=np.random.default_rng(seed))
    fig = plt.gcf()
    fig.axes[0].set_title(f"SHAP values of XGBoost for {target.split('_')[0]} (training songs)")
    fig.axes[0].set_xlabel("SHAP value: effect on the predicted " + TARGET_LABELS[target])
    return fig


def metric_bars(table: pd.DataFrame, group: str, value: str = "test_r2", report: str = "report_r2", title: str = ""):
    """Grouped bars of one metric per ``group`` and target, the report's figure as a marker."""
    targets = ["valence_mean", "arousal_mean"]
    groups = list(dict.fromkeys(table[group]))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups) + 2), 4))
    for k, target in enumerate(targets):
        rows = table[table["target"] == target].set_index(group).reindex(groups)
        xs = np.arange(len(groups)) + (k - 0.5) * width
        ax.bar(xs, rows[value], width, label=f"{target.split('_')[0]}: this run", color=f"C{k}")
        if report in rows:
            ax.scatter(xs, rows[report], marker="D", color="k", zorder=3, s=22,
                       label="report (DEAM)" if k == 0 else None)
    ax.set_xticks(np.arange(len(groups)), groups, rotation=20, ha="right")
    ax.set(ylabel=value.replace("_", " ").replace("r2", "R²"), title=title)
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(fontsize=9, loc="best")
    fig.tight_layout()
    return fig
