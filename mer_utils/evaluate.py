"""Metrics, saved results, the report's published figures and the data banner.

Every phase scores its models with :func:`regression_metrics` on the original
1..9 scale, saves one record per model and target with :func:`save_result`,
and shows its tables with the report's figure beside this run's
(:func:`with_report_figures`).  The comparison chapter reads all records back
with :func:`load_results`.  Used by every results notebook.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from .cache import write_json_atomic
from .errors import MerError

METRICS = ("r2", "rmse", "mae")
TARGET_NAMES = {"valence_mean": "valence", "arousal_mean": "arousal"}

# Figures published in the report (Gupta 2025, ../shared/reference/report.txt),
# keyed by (phase, model or setting, target).  All are validation-best figures
# on DEAM; R² is sklearn's r2_score, RMSE and MAE on the 1..9 scale, except the
# Phase 3 RMSE/MAE, which the report gives on labels normalised to [0, 1].
REPORT_FIGURES = {
    # Table 2: XGBoost on four feature sets.
    (1, "Full feature set", "valence_mean"): {"r2": 0.554, "rmse": 0.767, "mae": 0.623},
    (1, "Full feature set", "arousal_mean"): {"r2": 0.5267, "rmse": 0.874, "mae": 0.694},
    (1, "Top-15 Pearson", "valence_mean"): {"r2": 0.504, "rmse": 0.808, "mae": 0.650},
    (1, "Top-15 Pearson", "arousal_mean"): {"r2": 0.499, "rmse": 0.899, "mae": 0.722},
    (1, "Union (SHAP + Pearson)", "valence_mean"): {"r2": 0.505, "rmse": 0.808, "mae": 0.657},
    (1, "Union (SHAP + Pearson)", "arousal_mean"): {"r2": 0.462, "rmse": 0.931, "mae": 0.748},
    (1, "Intersection (SHAP and Pearson)", "valence_mean"): {"r2": 0.466, "rmse": 0.839, "mae": 0.682},
    (1, "Intersection (SHAP and Pearson)", "arousal_mean"): {"r2": 0.411, "rmse": 0.975, "mae": 0.781},
    # Section 5.5: the best regressor (XGBoost on the full set); the others are not published.
    (1, "XGBoost", "valence_mean"): {"r2": 0.554, "rmse": 0.767, "mae": 0.623},
    (1, "XGBoost", "arousal_mean"): {"r2": 0.526, "rmse": 0.874, "mae": 0.694},
    # Table 11: best validation epoch of each Phase 2 model.
    (2, "EmotionCNN", "valence_mean"): {"r2": 0.4350, "rmse": 0.8565, "mae": 0.6781},
    (2, "EmotionCNN", "arousal_mean"): {"r2": 0.4830, "rmse": 0.9061, "mae": 0.7220},
    (2, "EmotionCNN_SE_Temporal", "valence_mean"): {"r2": 0.4642, "rmse": 0.8340, "mae": 0.6688},
    (2, "EmotionCNN_SE_Temporal", "arousal_mean"): {"r2": 0.5273, "rmse": 0.8665, "mae": 0.6834},
    (2, "EmotionCNN_GRU", "valence_mean"): {"r2": 0.4599, "rmse": 0.8374, "mae": 0.6627},
    (2, "EmotionCNN_GRU", "arousal_mean"): {"r2": 0.5119, "rmse": 0.8805, "mae": 0.6853},
    (2, "EmotionCNN_GRU_Attention", "valence_mean"): {"r2": 0.4561, "rmse": 0.8404, "mae": 0.6685},
    (2, "EmotionCNN_GRU_Attention", "arousal_mean"): {"r2": 0.4990, "rmse": 0.8920, "mae": 0.7087},
    # Table 12: EmotionMLP on PANNs embeddings (RMSE/MAE on a [0, 1] label scale).
    (3, "EmotionMLP", "valence_mean"): {"r2": 0.4509, "rmse": np.nan, "mae": np.nan},
    (3, "EmotionMLP", "arousal_mean"): {"r2": 0.6670, "rmse": np.nan, "mae": np.nan},
}

# Published DEAM anchors from outside the report, for the comparison chapter.
PUBLISHED_ANCHORS = [
    {"source": "Music2Emo (2025), MERT features", "target": "valence_mean", "r2": 0.513},
    {"source": "Music2Emo (2025), MERT features", "target": "arousal_mean", "r2": 0.603},
    {"source": "Eerola et al. meta-analysis, r = 0.67 (r² shown)", "target": "valence_mean", "r2": 0.67**2},
    {"source": "Eerola et al. meta-analysis, r = 0.81 (r² shown)", "target": "arousal_mean", "r2": 0.81**2},
]


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


# --------------------------------------------------------------------------- saved results


def save_result(results_dir, record: dict) -> Path:
    """Save one model's scores as JSON under ``<results_dir>/metrics/``.

    ``record`` needs ``phase``, ``model``, ``target``, ``data`` and the metric
    dicts ``validation`` and ``test``; ``setting`` and ``level`` are optional.
    """
    for key in ("phase", "model", "target", "data", "validation", "test"):
        if key not in record:
            raise ValueError(f"result record lacks '{key}'")
    record = {"setting": "", "level": "song", **record}
    slug = "-".join(str(record[k]) for k in ("phase", "model", "setting", "target", "level") if record[k] != "")
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in slug)
    path = Path(results_dir) / "metrics" / f"{slug}.json"
    write_json_atomic(path, record)
    return path


def load_results(results_dir) -> pd.DataFrame:
    """All saved records as one flat table (``validation_r2``, ``test_rmse``, ...)."""
    rows = []
    for path in sorted((Path(results_dir) / "metrics").glob("*.json")):
        record = json.loads(path.read_text())
        row = {k: v for k, v in record.items() if not isinstance(v, dict)}
        for part in ("validation", "test"):
            for metric, value in record.get(part, {}).items():
                row[f"{part}_{metric}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tables


def report_figure(phase: int, model: str, target: str, metric: str = "r2") -> float:
    """The report's published figure, or NaN where it published none."""
    return REPORT_FIGURES.get((phase, model, target), {}).get(metric, np.nan)


def with_report_figures(table: pd.DataFrame, phase: int, key: str = "model") -> pd.DataFrame:
    """Add ``report_r2`` / ``report_rmse`` / ``report_mae`` beside this run's columns.

    ``table`` needs ``target`` and the column named by ``key`` (the model or
    feature-set name used in :data:`REPORT_FIGURES`).
    """
    table = table.copy()
    for metric in METRICS:
        table[f"report_{metric}"] = [report_figure(phase, k, t, metric) for k, t in zip(table[key], table["target"])]
    return table


def add_ceiling(table: pd.DataFrame, corpus, r2_column: str = "test_r2") -> pd.DataFrame:
    """On SynthDEAM, add the noise ceiling and each row's distance from it."""
    if not corpus.is_synthetic:
        return table
    table = table.copy()
    table["ceiling_r2"] = [corpus.noise_ceiling(t) for t in table["target"]]
    table["below_ceiling"] = table["ceiling_r2"] - table[r2_column]
    return table


def style_table(table: pd.DataFrame, caption: str = ""):
    """Round numbers and label columns for display (RMSE and MAE on the 1..9 scale)."""
    labels = {
        "target": "target",
        "validation_r2": "val R²", "validation_rmse": "val RMSE (1–9)", "validation_mae": "val MAE (1–9)",
        "test_r2": "test R²", "test_rmse": "test RMSE (1–9)", "test_mae": "test MAE (1–9)",
        "report_r2": "report R²", "report_rmse": "report RMSE (1–9)", "report_mae": "report MAE (1–9)",
        "ceiling_r2": "noise ceiling R²", "below_ceiling": "ceiling − test R²",
    }
    shown = table.rename(columns=labels)
    if "target" in shown:
        shown["target"] = shown["target"].map(lambda t: TARGET_NAMES.get(t, t))
    styled = shown.style.format(precision=3, na_rep="–").hide(axis="index")
    if caption:
        styled = styled.set_caption(caption)
    return styled


# --------------------------------------------------------------------------- banner


def data_banner(corpus, extra: str = ""):
    """An HTML note saying which data produced the page; a warning on SynthDEAM."""
    from IPython.display import HTML

    if corpus.is_synthetic:
        ceiling = corpus.synthetic["noise_ceiling_r2"]
        body = (
            f"These results come from <b>SynthDEAM</b>, a synthetic corpus of {len(corpus.songs)} generated songs "
            f"(seed {corpus.synthetic.get('seed')}). They test the pipeline and say nothing about real music. "
            f"The best R² any model can reach here (noise ceiling) is {ceiling['valence_mean']:.3f} for valence and "
            f"{ceiling['arousal_mean']:.3f} for arousal. Run <code>make book DATA=deam DEAM_DIR=&lt;dir&gt;</code> for real results."
        )
        kind, title = "warning", "Synthetic data"
    else:
        body = (
            f"These results come from <b>DEAM</b> at <code>{html.escape(str(corpus.root))}</code> "
            f"(subset {corpus.subset}, {len(corpus.songs)} songs with audio"
            + (f"; {len(corpus.missing_audio)} annotated songs without audio skipped" if corpus.missing_audio else "")
            + ")."
        )
        kind, title = "note", "Data"
    if extra:
        body += " " + extra
    return HTML(f'<div class="admonition {kind}"><p class="admonition-title">{title}</p><p>{body}</p></div>')
