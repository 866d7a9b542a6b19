"""Figures of the Real music chapter: macro F1 by representation and model, the confusion matrix, transfer AUCs.

Used by: ``notebooks/real_music.py``.  The style is the book's (set by
:func:`mer_utils.realmusic.corpus.start_real_music`); every figure carries its
intervals and, where one exists, the published mark.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..corpus.fourq import TASKS
from .crossval import MODEL_LABELS, TASK_LABELS


def f1_bars(scores: pd.DataFrame, published: pd.DataFrame | None = None, title: str = ""):
    """One panel per task: macro F1 of each representation (bars per model) with 95% intervals.

    The dotted line is chance (1 / number of classes, the macro F1 of a
    classifier that guesses in proportion on balanced classes); on the quadrant
    panel, the dashed lines are Panda et al.'s published figures (another protocol).
    """
    tasks = [t for t in TASKS if t in set(scores["task"])]
    reps = list(dict.fromkeys(scores["representation"]))
    models = list(dict.fromkeys(scores["model"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks) + 1, 3.6), sharey=True, squeeze=False)
    width = 0.8 / len(models)
    for ax, task in zip(axes[0], tasks):
        part = scores[scores["task"] == task].set_index(["representation", "model"])
        for m, model in enumerate(models):
            rows = part.xs(model, level="model").reindex(reps)
            x = np.arange(len(reps)) + (m - (len(models) - 1) / 2) * width
            ax.bar(x, rows["f1"], width, label=MODEL_LABELS.get(model, model),
                   yerr=[rows["f1"] - rows["low"], rows["high"] - rows["f1"]], capsize=3)
        ax.axhline(1 / len(TASKS[task]), color="grey", linestyle=":", linewidth=1, label="chance")
        if task == "quadrant" and published is not None:
            for _, row in published.iterrows():
                ax.axhline(row["f1"], color="black", linestyle="--", linewidth=0.8)
                ax.annotate(("≈ " if row["approximate"] else "") + f"Panda et al. {row['f1']:.3f}",
                            (-0.45, row["f1"]), ha="left", va="bottom", fontsize=7)
        ax.set_xticks(np.arange(len(reps)), [r.replace(" (", "\n(") for r in reps], fontsize=8)
        ax.set_title(TASK_LABELS.get(task, task))
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("macro F1 (95% interval)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), fontsize=8,
               frameon=False)
    return fig


def confusion_heatmap(matrix: pd.DataFrame, title: str = ""):
    """A confusion matrix as shares of each true class (rows sum to 1), annotated."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, cbar=False, ax=ax, square=True)
    ax.set_xlabel("predicted quadrant")
    ax.set_ylabel("true quadrant")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def transfer_auc_bars(table: pd.DataFrame, title: str = ""):
    """ROC AUC of each transferred model and target, with 95% intervals, coloured by training corpus; 0.5 is chance.

    ``None`` for an empty table.
    """
    if table.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.6))
    labels = [f"{m} ({c}): {t.split('_')[0]}" for m, c, t in zip(table["model"], table["trained_on"], table["target"])]
    y = np.arange(len(table))
    for corpus in dict.fromkeys(table["trained_on"]):
        rows = (table["trained_on"] == corpus).to_numpy()
        part = table[rows]
        ax.errorbar(part["auc"], y[rows], xerr=[part["auc"] - part["low"], part["high"] - part["auc"]], fmt="o",
                    capsize=3, label=f"trained on {corpus}")
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("ROC AUC on the 4Q clips (95% interval; 0.5 = chance): predicted arousal for Q1+Q2,\n"
                  "predicted valence for Q1+Q4")
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
