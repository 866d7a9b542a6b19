"""Figures of the book: labelled axes, units and readable sizes.

Used by: every notebook that draws (``notebooks/phase1_eda.py``,
``notebooks/phase1_features.py``, ``notebooks/phase1_models.py``,
``notebooks/phase2_train.py``, ``notebooks/phase2_summary.py``,
``notebooks/phase3_panns.py``, ``notebooks/conclusions.py``).

Each function draws one kind of figure and returns the matplotlib Figure; the
notebooks call them and add nothing but the reading.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .corpus.base import short_name

TARGET_LABELS = {"valence_mean": "mean valence (1–9)", "arousal_mean": "mean arousal (1–9)"}
TARGET_COLOURS = {"valence_mean": "C0", "arousal_mean": "C1"}  # the same colour for a target on every page


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
    ax.plot(
        grid, slope * grid + intercept, color="C3", lw=2, label=f"least squares: y = {slope:.2f}x + {intercept:.2f}"
    )
    ax.set(
        xlabel=TARGET_LABELS["valence_mean"],
        ylabel=TARGET_LABELS["arousal_mean"],
        title=f"Valence vs arousal, {len(x)} songs (Pearson r = {r:.2f})",
    )
    ax.legend(loc="upper left", fontsize=9)
    return fig


def target_histograms(labels: pd.DataFrame):
    """Histograms with a kernel density estimate for both targets."""
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, (target, colour) in zip(axes, TARGET_COLOURS.items()):
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
    ax.set(
        xlabel="Pearson r with " + TARGET_LABELS[target] + " (blue positive, red negative)",
        title=f"Top {top} features by |r| with {short_name(target)} (training songs)",
    )
    fig.tight_layout()
    return fig


def shap_summary(explanation, target: str, top: int = 15, seed: int = 42):
    """SHAP beeswarm of the top features (red = high feature value, blue = low)."""
    import shap

    shap.summary_plot(
        explanation, max_display=top, show=False, plot_size=(7.5, 0.35 * top + 1.5), rng=np.random.default_rng(seed)
    )
    fig = plt.gcf()
    fig.axes[0].set_title(f"SHAP values of XGBoost for {short_name(target)} (training songs)")
    fig.axes[0].set_xlabel("SHAP value: effect on the predicted " + TARGET_LABELS[target])
    return fig


def metric_bars(table: pd.DataFrame, group: str, value: str = "test_r2", report: str = "report_r2", title: str = ""):
    """Grouped bars of one metric per ``group`` and target with their 95% intervals, the report's figure as a marker."""
    targets = ["valence_mean", "arousal_mean"]
    groups = list(dict.fromkeys(table[group]))
    width = 0.38
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups) + 2), 4.4))
    for k, target in enumerate(targets):
        rows = table[table["target"] == target].set_index(group).reindex(groups)
        xs = np.arange(len(groups)) + (k - 0.5) * width
        ax.bar(xs, rows[value], width, label=f"{short_name(target)}: this run", color=TARGET_COLOURS[target])
        low, high = f"{value}_low", f"{value}_high"
        if low in rows and high in rows:  # the 95% bootstrap interval over the test songs
            ax.errorbar(xs, rows[value], yerr=[rows[value] - rows[low], rows[high] - rows[value]], fmt="none",
                        ecolor="k", elinewidth=1, capsize=3, label="95% CI (test songs)" if k == 0 else None)
        if report in rows:
            ax.scatter(
                xs, rows[report], marker="D", color="k", zorder=3, s=22, label="report (DEAM)" if k == 0 else None
            )
    ax.set_xticks(np.arange(len(groups)), groups, rotation=20, ha="right")
    ax.set(ylabel=value.replace("_", " ").replace("r2", "R²"))
    ax.set_title(title, pad=26)
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)  # above the bars
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Phase 2


def learning_curves(
    history: pd.DataFrame, title: str = "", report_r2: float | None = None, ceiling_r2: float | None = None
):
    """Per-epoch training and validation loss (left) and validation R² (right), the best epoch marked.

    ``history`` is the table of :func:`mer_utils.training.loop.fit`.  The right panel
    shows chunk-level R² and, when present, song-level R²; ``report_r2`` (the
    report's best validation R², DEAM) and ``ceiling_r2`` (the generating
    function's R² on the validation songs, SynthDEAM) are drawn as horizontal lines when given.
    """
    epochs = history["epoch"]
    best = int(history.loc[history["best"], "epoch"].iloc[0])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(epochs, history["train_loss"], marker="o", label="training")
    left.plot(epochs, history["val_loss"], marker="o", label="validation")
    left.set(xlabel="epoch", ylabel="MSE on standardised labels (log scale)", title="Loss", yscale="log")
    right.plot(epochs, history["val_r2"], marker="o", label="validation, per chunk")
    if "val_song_r2" in history:
        right.plot(epochs, history["val_song_r2"], marker="s", label="validation, per song")
    if report_r2 is not None and np.isfinite(report_r2):
        right.axhline(report_r2, color="k", ls="--", lw=1, label=f"report's best (DEAM): {report_r2:.3f}")
    if ceiling_r2 is not None and np.isfinite(ceiling_r2):
        right.axhline(ceiling_r2, color="C3", ls=":", lw=1.5, label=f"ceiling, validation songs: {ceiling_r2:.3f}")
    right.set(xlabel="epoch", ylabel="R² (sklearn r2_score)", title="Validation R²")
    return _mark_best_epoch(fig, left, right, best, title)


def predicted_vs_true(frame: pd.DataFrame, target: str, title: str = ""):
    """Test predictions against labels: chunks as faint dots, songs (chunk means) as larger dots."""
    songs = frame.groupby("song_id")[["target", "prediction"]].mean()
    fig, ax = plt.subplots(figsize=(5, 5))
    colour = TARGET_COLOURS.get(target, "C0")
    ax.scatter(frame["target"], frame["prediction"], s=8, alpha=0.2, color=colour, edgecolor="none", label="chunk")
    ax.scatter(
        songs["target"], songs["prediction"], s=26, color=colour, edgecolor="k", lw=0.4, label="song (mean of chunks)"
    )
    _against_diagonal(ax, frame["target"], frame["prediction"], target, title or "Held-out test songs")
    fig.tight_layout()
    return fig


def _against_diagonal(ax, truth, prediction, target: str, title: str) -> None:
    """Square axes around ``truth`` and ``prediction``, the dashed diagonal, labels on the 1..9 scale."""
    low = float(min(np.min(truth), np.min(prediction))) - 0.2
    high = float(max(np.max(truth), np.max(prediction))) + 0.2
    ax.plot([low, high], [low, high], color="k", lw=1, ls="--", label="perfect prediction")
    label = TARGET_LABELS.get(target, target)
    ax.set(xlim=(low, high), ylim=(low, high), xlabel=f"label: {label}", ylabel=f"prediction: {label}", title=title)
    ax.legend(fontsize=8, loc="upper left")


def logmel_chunks_figure(chunks, titles, settings: dict):
    """A few log-mel chunks side by side: time (s) across, mel band up, colour in dB (fixed reference).

    ``chunks``: arrays ``(n_mels, n_frames)`` as stored by :mod:`mer_utils.phase2.logmel`.
    """
    chunks = [np.asarray(c, dtype=np.float32) for c in chunks]
    seconds = chunks[0].shape[1] * settings["hop_length"] / settings["sr"]
    fig, axes = plt.subplots(1, len(chunks), figsize=(3.6 * len(chunks) + 0.8, 3.4), squeeze=False)
    low = min(float(c.min()) for c in chunks)
    high = max(float(c.max()) for c in chunks)
    for ax, chunk, title in zip(axes[0], chunks, titles):
        image = ax.imshow(
            chunk,
            origin="lower",
            aspect="auto",
            extent=(0, seconds, 0, chunk.shape[0]),
            vmin=low,
            vmax=high,
            cmap="magma",
        )
        ax.set(xlabel="time in chunk (s)", title=title)
        ax.grid(False)
    axes[0][0].set_ylabel("mel band (low to high)")
    fig.colorbar(image, ax=axes[0].tolist(), label="power (dB re 1.0)")
    return fig


# --------------------------------------------------------------------------- Phase 3 and the comparison


def tsne_scatter(coords, values, target: str, title: str = "", agreement: float | None = None):
    """Songs on a 2-D t-SNE map, coloured by one target (1..9 scale), with a colour bar.

    ``agreement`` (see :func:`mer_utils.phase3.space.neighbour_agreement`) is
    written in the corner when given.
    """
    coords = np.asarray(coords, dtype=float)
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(6.2, 5))
    points = ax.scatter(coords[:, 0], coords[:, 1], c=values, cmap="coolwarm", s=28, edgecolor="k", linewidth=0.3)
    fig.colorbar(points, ax=ax, label=TARGET_LABELS.get(target, target))
    ax.set(
        xlabel="t-SNE dimension 1",
        ylabel="t-SNE dimension 2",
        title=title or f"Song embeddings coloured by {short_name(target)}",
    )
    if agreement is not None and np.isfinite(agreement):
        ax.text(
            0.02,
            0.02,
            f"neighbour agreement r = {agreement:.2f}",
            transform=ax.transAxes,
            fontsize=9,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    fig.tight_layout()
    return fig


def mlp_learning_curves(
    history: pd.DataFrame, target_names, report_r2: dict | None = None, ceiling_r2: dict | None = None, title: str = ""
):
    """Loss (left) and validation R² per target (right) of a multi-target run of :func:`mer_utils.training.loop.fit`.

    ``report_r2`` and ``ceiling_r2`` map a target to the report's figure and
    the generating function's R² on the validation songs (SynthDEAM); both are drawn as horizontal lines in the
    target's colour when given.
    """
    epochs = history["epoch"]
    best = int(history.loc[history["best"], "epoch"].iloc[0])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(epochs, history["train_loss"], marker="o", label="training")
    left.plot(epochs, history["val_loss"], marker="o", label="validation")
    left.set(xlabel="epoch", ylabel="MSE (standardised labels), summed", title="Loss (both targets)")
    for k, target in enumerate(target_names):
        column = f"val_r2_{target}" if f"val_r2_{target}" in history else "val_r2"
        name, colour = short_name(target), TARGET_COLOURS.get(target, f"C{k}")
        right.plot(epochs, history[column], marker="o", color=colour, label=f"{name}, validation")
        if report_r2 and np.isfinite(report_r2.get(target, np.nan)):
            right.axhline(
                report_r2[target], color=colour, ls="--", lw=1, label=f"{name}, report (DEAM): {report_r2[target]:.3f}"
            )
        if ceiling_r2 and ceiling_r2.get(target) is not None:
            right.axhline(
                ceiling_r2[target],
                color=colour,
                ls=":",
                lw=1.5,
                label=f"{name}, ceiling on validation songs: {ceiling_r2[target]:.3f}",
            )
    right.set(xlabel="epoch", ylabel="R² (sklearn r2_score)", title="Validation R² per target")
    return _mark_best_epoch(fig, left, right, best, title)


def finetune_curves(histories: dict, target_names, frozen_r2: dict | None = None, title: str = ""):
    """Validation song R² per epoch of several fine-tuning runs (``{label: history}``), one panel per target.

    ``frozen_r2`` maps a target to the frozen backbone's validation R² on the same songs, drawn as a dashed line.
    """
    fig, axes = plt.subplots(1, len(target_names), figsize=(5.5 * len(target_names), 3.8), squeeze=False)
    for ax, target in zip(axes[0], target_names):
        for k, (label, history) in enumerate(histories.items()):
            best = history.loc[history["best"]].iloc[0]
            line = ax.plot(history["epoch"], history[f"val_song_r2_{target}"], marker="o", color=f"C{k}", label=label)
            ax.plot([best["epoch"]], [best[f"val_song_r2_{target}"]], marker="*", ms=14, color=line[0].get_color())
        if frozen_r2 and np.isfinite(frozen_r2.get(target, np.nan)):
            ax.axhline(frozen_r2[target], color="k", ls="--", lw=1, label=f"frozen: {frozen_r2[target]:.3f}")
        ax.set(xlabel="epoch", ylabel="R² (sklearn r2_score)",
               title=f"{short_name(target).capitalize()}, validation songs")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
    return fig


def song_predictions(y_true, y_pred, target_names, title: str = "Held-out test songs"):
    """Predicted against labelled value for each target, one dot per song, the diagonal dashed."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    fig, axes = plt.subplots(1, len(target_names), figsize=(5 * len(target_names), 4.6), squeeze=False)
    for k, (ax, target) in enumerate(zip(axes[0], target_names)):
        ax.scatter(y_true[:, k], y_pred[:, k], s=26, color=TARGET_COLOURS.get(target, f"C{k}"), edgecolor="k", lw=0.4)
        _against_diagonal(ax, y_true[:, k], y_pred[:, k], target, short_name(target))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def comparison_r2(table: pd.DataFrame, anchors=None, ceiling: dict | None = None, title: str = ""):
    """Test R² of every model for both targets, the report's figure and published anchors marked.

    ``table``: one row per model and target with ``label``, ``target``,
    ``test_r2`` and ``report_r2`` (NaN where the report published none).
    ``anchors``: records like :data:`mer_utils.results.anchors.PUBLISHED_ANCHORS`,
    drawn as vertical lines; ``ceiling``: the generating function's R² on the test songs per target (SynthDEAM).
    """
    if table.empty:
        return None
    targets = ["valence_mean", "arousal_mean"]
    labels = list(dict.fromkeys(table["label"]))
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.42 * len(labels) + 3.4), sharey=True)
    positions = np.arange(len(labels))
    styles = ["--", "-."]
    low = max(-1.0, min(0.0, float(np.nanmin(table["test_r2"])) - 0.05)) if len(table) else -0.1
    for k, (ax, target) in enumerate(zip(axes, targets)):
        rows = table[table["target"] == target].set_index("label").reindex(labels)
        values = rows["test_r2"].to_numpy(dtype=float)
        ax.barh(positions, np.maximum(values, low), color=TARGET_COLOURS[target], alpha=0.85,
                label="this run, test (95% CI)")
        if "test_r2_low" in rows:
            lows, highs = rows["test_r2_low"].to_numpy(dtype=float), rows["test_r2_high"].to_numpy(dtype=float)
            ax.errorbar(np.maximum(values, low), positions, fmt="none", ecolor="k", elinewidth=1, capsize=2,
                        xerr=[np.maximum(values, low) - np.maximum(lows, low), np.maximum(highs, low) - np.maximum(values, low)])
        for y, value in zip(positions, values):
            if np.isfinite(value) and value < low:  # off the scale: say how far
                ax.text(low, y, f" {value:.2f} ◀", va="center", ha="left", fontsize=8, color="white")
        if "report_r2" in rows:
            ax.scatter(
                rows["report_r2"], positions, marker="D", color="k", s=24, zorder=3, label="report (DEAM, validation)"
            )
        for j, anchor in enumerate(a for a in (anchors or []) if a["target"] == target):
            ax.axvline(
                anchor["r2"], color="grey", ls=styles[j % 2], lw=1.2,
                label=textwrap.fill(f"{anchor['source']}: {anchor['r2']:.3f}", 44)
            )
        if ceiling and ceiling.get(target) is not None:
            ax.axvline(ceiling[target], color="C3", ls=":", lw=1.8, label=f"ceiling, test songs: {ceiling[target]:.3f}")
        ax.axvline(0, color="k", lw=0.8)
        ax.set(xlabel="R² (sklearn r2_score)", title=short_name(target), xlim=(low, 1.0))
        ax.legend(
            fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.42 * len(labels) + 1)), frameon=False
        )
    axes[0].set_yticks(positions, labels)
    axes[0].invert_yaxis()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _mark_best_epoch(fig, left, right, best: int, title: str = ""):
    """Shared finish of the learning-curve figures: best-epoch line, integer epochs, legends."""
    for ax in (left, right):
        ax.axvline(best, color="grey", lw=1, alpha=0.6)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8, loc="best")
    right.annotate(
        "best epoch", (best, right.get_ylim()[0]), xytext=(3, 3), textcoords="offset points", fontsize=8, color="grey"
    )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def dynamic_curves(dynamic: dict, song_ids, n_songs: int = 4):
    """The 2 Hz valence and arousal curves (-1..1) of the first ``n_songs`` of ``song_ids`` that have them."""
    shown = [i for i in song_ids if i in dynamic["valence"].index][:n_songs]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, dim in zip(axes, ("valence", "arousal")):
        for song_id in shown:
            curve = dynamic[dim].loc[song_id].dropna()
            ax.plot(curve.index, curve.to_numpy(), label=f"song {song_id}")
        ax.set(xlabel="time in the clip (s)", ylabel=f"{dim} (-1..1)", title=f"Dynamic {dim}, 2 Hz", ylim=(-1, 1))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def extreme_chunks(cache, frame: pd.DataFrame, target: str):
    """The log-mel chunks with the lowest and the highest label among ``frame``'s chunks (a dataset's ``frame``)."""
    example = frame.sort_values(target).iloc[[0, -1]]
    return logmel_chunks_figure(
        [cache.array()[row] for row in example["row"]],
        [
            f"song {s}, chunk {c}: {short_name(target)} {y:.2f}"
            for s, c, y in zip(example["song_id"], example["chunk"], example[target])
        ],
        cache.settings,
    )


def va_plane(predictions: dict, labels: dict | None = None):
    """Test songs on the valence-arousal plane: true (dot) joined to predicted (cross) for each phase's pick.

    ``predictions``: ``{phase: frame}`` of :func:`mer_utils.results.lessons.va_predictions`;
    ``labels``: optional ``{phase: title}``.  A model that shrinks every song towards
    the middle shows as short lines pointing inwards.
    """
    if not predictions:
        return None
    fig, axes = plt.subplots(1, len(predictions), figsize=(4.6 * len(predictions), 4.6), squeeze=False,
                             sharex=True, sharey=True)
    for ax, (phase, frame) in zip(axes[0], predictions.items()):
        for _, row in frame.iterrows():
            ax.plot([row["valence_true"], row["valence_predicted"]], [row["arousal_true"], row["arousal_predicted"]],
                    color="0.7", lw=0.6, zorder=1)
        ax.scatter(frame["valence_true"], frame["arousal_true"], s=14, color="k", label="rated", zorder=2)
        ax.scatter(frame["valence_predicted"], frame["arousal_predicted"], s=18, marker="x", color="C3",
                   label="predicted", zorder=3)
        ax.set(xlabel=TARGET_LABELS["valence_mean"], title=(labels or {}).get(phase, f"Phase {phase}"))
        ax.axvline(5, color="0.85", lw=0.8, zorder=0)
        ax.axhline(5, color="0.85", lw=0.8, zorder=0)
    axes[0][0].set_ylabel(TARGET_LABELS["arousal_mean"])
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Held-out test songs on the valence-arousal plane, each phase's validation pick")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- the predictor


def quadrant_plane(predictions: pd.DataFrame, quadrants: pd.Series, fit: dict | None = None, title: str = ""):
    """Predicted valence against arousal of labelled clips, coloured by their true quadrant (Russell's Q1-Q4).

    ``predictions`` has ``valence_mean`` and ``arousal_mean`` (the model's scale), indexed like
    ``quadrants``; ``fit`` (a bundle's ``quadrants`` entry) adds the lines where each sign's
    fitted probability is one half, which divide the plane into the predicted quadrants.
    """
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    for k, quadrant in enumerate(("Q1", "Q2", "Q3", "Q4")):
        part = predictions.loc[quadrants[quadrants == quadrant].index]
        ax.scatter(part["valence_mean"], part["arousal_mean"], s=16, alpha=0.65, edgecolor="none",
                   color=f"C{k}", label=f"{quadrant} ({len(part)} clips)")
    if fit:
        ax.axvline(-fit["valence"]["intercept"] / fit["valence"]["slope"], color="0.3", lw=1, ls="--")
        ax.axhline(-fit["arousal"]["intercept"] / fit["arousal"]["slope"], color="0.3", lw=1, ls="--",
                   label="p = 0.5 of each sign")
    ax.set_xlabel("predicted valence (rating scale)")
    ax.set_ylabel("predicted arousal (rating scale)")
    ax.set_title(title or "Predicted valence and arousal, by true quadrant")
    ax.legend(loc="best", fontsize=9, frameon=True)
    fig.tight_layout()
    return fig
