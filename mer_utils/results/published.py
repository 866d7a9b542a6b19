"""Figures published in the report and in the literature, written once for the whole book.

Used by: every results notebook, through :mod:`mer_utils.results.tables`
(the report's column beside each of this run's) and ``notebooks/conclusions.py``
(the outside anchors).
"""

from __future__ import annotations

import numpy as np

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


def report_figure(phase: int, model: str, target: str, metric: str = "r2") -> float:
    """The report's published figure, or NaN where it published none."""
    return REPORT_FIGURES.get((phase, model, target), {}).get(metric, np.nan)
