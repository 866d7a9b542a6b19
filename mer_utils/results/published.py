"""The report's figures (Gupta 2025), written once for the whole book, and where its protocol differs from ours.

Used by: every results notebook, through :mod:`mer_utils.results.tables`
(the report's column beside each of this run's), ``notebooks/phase2_train.py``
and ``notebooks/phase3_panns.py`` (the report's figure on the learning curves;
its per-epoch Tables 3 to 10 are :func:`report_epoch_table`), and the Phase 1 to 3
pages (:func:`protocol_note`).  Figures from outside the report (other papers,
other tools) are :mod:`mer_utils.results.anchors`.

Every number of the report (``../shared/reference/report.txt``) is
written here exactly as printed there; ``tests/test_published.py`` reads the
report and checks each one.  Where the report's protocol differs from the
book's, :data:`PROTOCOL_CAVEATS` says how, one line each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Figures published in the report, keyed by (phase, model or setting, target).
# R² is sklearn's r2_score; RMSE and MAE are on the 1..9 scale.  Phases 2 and 3
# publish best validation epochs; Phase 1 does not say on which songs its
# figures were scored (see PROTOCOL_CAVEATS).  Table 12 prints its RMSE/MAE on
# labels normalised to [0, 1]: they are kept as ``rmse_01`` / ``mae_01`` and
# ``rmse`` / ``mae`` stay NaN, so that no [0, 1] figure lands in a 1..9 column.
REPORT_FIGURES = {
    # Table 2: XGBoost on four feature sets (the report prints R², then MAE, then RMSE).
    (1, "Full feature set", "valence_mean"): {"r2": 0.554, "rmse": 0.767, "mae": 0.623},
    (1, "Full feature set", "arousal_mean"): {"r2": 0.5267, "rmse": 0.874, "mae": 0.694},
    (1, "Top-15 Pearson", "valence_mean"): {"r2": 0.504, "rmse": 0.808, "mae": 0.650},
    (1, "Top-15 Pearson", "arousal_mean"): {"r2": 0.499, "rmse": 0.899, "mae": 0.722},
    (1, "Union (SHAP + Pearson)", "valence_mean"): {"r2": 0.505, "rmse": 0.808, "mae": 0.657},
    (1, "Union (SHAP + Pearson)", "arousal_mean"): {"r2": 0.462, "rmse": 0.931, "mae": 0.748},
    (1, "Intersection (SHAP and Pearson)", "valence_mean"): {"r2": 0.466, "rmse": 0.839, "mae": 0.682},
    (1, "Intersection (SHAP and Pearson)", "arousal_mean"): {"r2": 0.411, "rmse": 0.975, "mae": 0.781},
    # Section 5.5 ("Best scores (from full dataframe feature set)"): XGBoost, the best of six regressors;
    # the others are not published.  Arousal R² is printed 0.526 here and 0.5267 in Table 2.
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
    # Table 12: EmotionMLP on PANNs embeddings, best validation epoch (epoch 3).
    (3, "EmotionMLP", "valence_mean"): {
        "r2": 0.4509,
        "rmse": np.nan,
        "mae": np.nan,
        "rmse_01": 0.1693,
        "mae_01": 0.1361,
    },
    (3, "EmotionMLP", "arousal_mean"): {
        "r2": 0.6670,
        "rmse": np.nan,
        "mae": np.nan,
        "rmse_01": 0.1640,
        "mae_01": 0.1274,
    },
}

# The row labels the report prints for the keys above (Table 2 and Table 11).
REPORT_LABELS = {
    "Full feature set": "Full Dataframe",
    "Top-15 Pearson": "Top 15 Pearson",
    "Union (SHAP + Pearson)": "Union $(SHAP + Pearson)$",
    "Intersection (SHAP and Pearson)": "Intersection Only",
    "EmotionCNN": "CNN Baseline",
    "EmotionCNN_SE_Temporal": "CNN + SE + Temporal",
    "EmotionCNN_GRU": "CNN + SE + GRU",
    "EmotionCNN_GRU_Attention": "CNN + SE + GRU + Attn",
}

# Where the report's protocol differs from the book's (song-grouped train/validation/test split, every RMSE and
# MAE on the 1..9 scale), one line each, for the caption beside the report's figures.
PROTOCOL_CAVEATS = {
    "phase1_scoring": (
        "Phase 1: the report tuned with 5-fold GridSearchCV and does not say which songs its published scores "
        "come from."
    ),
    "phase2_split": (
        "Phase 2: the report does not state its split; its dataset holds one item per 3-second chunk, so the split "
        "was likely chunk-level, with chunks of one song on both sides."
    ),
    "phase3_split": (
        "Phase 3: the report used an 80/20 split (1395 / 349 songs) with no test set; its figures are the best "
        "validation epoch."
    ),
    "table12_scale": (
        "Table 12: the report's RMSE and MAE are on labels normalised to [0, 1], not the 1–9 scale, so they cannot "
        "sit beside this book's."
    ),
}
_CAVEATS_BY_PHASE = {1: ["phase1_scoring"], 2: ["phase2_split"], 3: ["phase3_split", "table12_scale"]}

# The report's per-epoch validation logs of the four Phase 2 models, every number as printed:
#   Table 3  EmotionCNN               valence_mean  (all 15 epochs)
#   Table 4  EmotionCNN               arousal_mean  (all 15 epochs)
#   Table 5  EmotionCNN_SE_Temporal   valence_mean  (selected epochs)
#   Table 6  EmotionCNN_SE_Temporal   arousal_mean  (selected epochs)
#   Table 7  EmotionCNN_GRU           valence_mean  (selected epochs)
#   Table 8  EmotionCNN_GRU           arousal_mean  (selected epochs)
#   Table 9  EmotionCNN_GRU_Attention valence_mean  (selected epochs)
#   Table 10 EmotionCNN_GRU_Attention arousal_mean  (selected epochs)
# R², RMSE and MAE are on the validation set, RMSE and MAE on the 1..9 scale.  Tables 3, 4, 9 and 10 also print
# a loss column ("Loss (MSE)" / "MSE"); it is not the square of the RMSE beside it (28.0040 against 1.0648 in
# Table 3's first row), so it is read as the training loss on raw labels.  Tables 5 to 8 print no loss.  Table 5's
# epoch 1 repeats Table 3's epoch 1 to the last digit; it is kept as printed.
_EPOCH_COLUMNS = ("epoch", "r2", "rmse", "mae")
_LOSS_COLUMNS = ("epoch", "train_loss", "r2", "rmse", "mae")


def _rows(columns, rows):
    return [dict(zip(columns, row)) for row in rows]


REPORT_EPOCHS = {
    ("EmotionCNN", "valence_mean"): _rows(
        _LOSS_COLUMNS,
        [  # Table 3
            (1, 28.0040, 0.1267, 1.0648, 0.8382),
            (2, 2.0038, 0.2624, 0.9786, 0.7845),
            (3, 1.8051, 0.3816, 0.8960, 0.7123),
            (4, 1.7211, -0.0779, 1.1830, 0.9610),
            (5, 1.5826, 0.4350, 0.8565, 0.6781),
            (6, 1.7031, 0.3648, 0.9081, 0.7297),
            (7, 1.6268, 0.3768, 0.8995, 0.7215),
            (8, 1.5580, 0.4279, 0.8619, 0.6896),
            (9, 1.5125, 0.2281, 1.0011, 0.8001),
            (10, 1.4352, -0.1816, 1.2386, 1.0219),
            (11, 1.4960, 0.4138, 0.8724, 0.6996),
            (12, 1.3375, 0.4315, 0.8592, 0.6852),
            (13, 1.2732, 0.3752, 0.9007, 0.7215),
            (14, 1.2063, 0.3759, 0.9002, 0.7163),
            (15, 1.2322, 0.3102, 0.9464, 0.7638),
        ],
    ),
    ("EmotionCNN", "arousal_mean"): _rows(
        _LOSS_COLUMNS,
        [  # Table 4
            (1, 40.7200, -0.2169, 1.3902, 1.1476),
            (2, 2.1395, 0.3786, 0.9935, 0.7884),
            (3, 1.9700, 0.1577, 1.1566, 0.9114),
            (4, 1.7370, 0.3773, 0.9945, 0.8055),
            (5, 1.7221, 0.4467, 0.9375, 0.7546),
            (6, 1.7936, 0.3681, 1.0018, 0.8116),
            (7, 1.8717, 0.4160, 0.9630, 0.7642),
            (8, 1.6552, 0.3621, 1.0066, 0.7868),
            (9, 1.7185, 0.4373, 0.9454, 0.7504),
            (10, 1.6822, 0.1637, 1.1525, 0.9293),
            (11, 1.4591, 0.4170, 0.9622, 0.7672),
            (12, 1.3878, 0.4391, 0.9439, 0.7466),
            (13, 1.3379, 0.4352, 0.9472, 0.7556),
            (14, 1.3945, 0.4830, 0.9061, 0.7220),
            (15, 1.2387, 0.3127, 1.0448, 0.8379),
        ],
    ),
    ("EmotionCNN_SE_Temporal", "valence_mean"): _rows(
        _EPOCH_COLUMNS,
        [  # Table 5
            (1, 0.1267, 1.0648, 0.8382),
            (4, 0.4419, 0.8512, 0.6852),
            (6, 0.4516, 0.8438, 0.6710),
            (10, 0.4361, 0.8556, 0.6840),
            (14, 0.4642, 0.8340, 0.6688),
            (18, 0.4067, 0.8777, 0.7066),
            (21, 0.4377, 0.8545, 0.6962),
            (24, 0.4054, 0.8786, 0.7091),
        ],
    ),
    ("EmotionCNN_SE_Temporal", "arousal_mean"): _rows(
        _EPOCH_COLUMNS,
        [  # Table 6
            (2, 0.4507, 0.9340, 0.7475),
            (5, 0.4703, 0.9172, 0.7433),
            (8, 0.4987, 0.8923, 0.7143),
            (12, 0.4807, 0.9082, 0.7223),
            (15, 0.4843, 0.9050, 0.7167),
            (18, 0.5239, 0.8696, 0.7002),
            (19, 0.5273, 0.8665, 0.6834),
            (24, 0.5066, 0.8852, 0.7184),
            (29, 0.5004, 0.8908, 0.7180),
        ],
    ),
    ("EmotionCNN_GRU", "valence_mean"): _rows(
        _EPOCH_COLUMNS,
        [  # Table 7
            (1, 0.2591, 0.9808, 0.8074),
            (3, 0.3824, 0.8954, 0.7060),
            (5, 0.3649, 0.9081, 0.7332),
            (7, 0.4599, 0.8374, 0.6627),
            (10, 0.4428, 0.8506, 0.6739),
            (14, 0.4591, 0.8380, 0.6769),
            (17, 0.4315, 0.8592, 0.6799),
        ],
    ),
    ("EmotionCNN_GRU", "arousal_mean"): _rows(
        _EPOCH_COLUMNS,
        [  # Table 8
            (1, 0.0024, 1.2588, 1.0697),
            (6, 0.4215, 0.9585, 0.7494),
            (7, 0.4888, 0.9011, 0.7058),
            (10, 0.4533, 0.9319, 0.7348),
            (14, 0.4113, 0.9669, 0.7667),
            (16, 0.5119, 0.8805, 0.6853),
            (23, 0.4802, 0.9086, 0.7191),
            (26, 0.4983, 0.8926, 0.7181),
        ],
    ),
    ("EmotionCNN_GRU_Attention", "valence_mean"): _rows(
        _LOSS_COLUMNS,
        [  # Table 9
            (1, 6.2083, 0.0290, 1.1228, 0.9095),
            (3, 1.0758, 0.4317, 0.8590, 0.6792),
            (4, 1.0634, 0.4353, 0.8562, 0.6756),
            (6, 0.9926, 0.4352, 0.8563, 0.6852),
            (8, 0.9640, 0.4449, 0.8490, 0.6811),
            (10, 0.9437, 0.4561, 0.8404, 0.6685),
            (13, 0.7583, 0.4285, 0.8614, 0.6750),
            (17, 0.6369, 0.3776, 0.8989, 0.7157),
            (20, 0.5374, 0.2812, 0.9660, 0.7591),
        ],
    ),
    ("EmotionCNN_GRU_Attention", "arousal_mean"): _rows(
        _LOSS_COLUMNS,
        [  # Table 10
            (1, 6.1608, 0.1145, 1.1859, 0.9729),
            (5, 1.2968, 0.4217, 0.9583, 0.7645),
            (8, 1.1429, 0.4463, 0.9377, 0.7460),
            (10, 0.9859, 0.3580, 1.0097, 0.8012),
            (12, 0.9156, 0.4990, 0.8920, 0.7087),
            (15, 0.8071, 0.4665, 0.9205, 0.7448),
            (20, 0.5929, 0.4947, 0.8958, 0.7094),
            (22, 0.4731, 0.4617, 0.9246, 0.7189),
        ],
    ),
}

# The table number of each per-epoch log above, and the epoch the report's text names as best for it
# (Sections 6.4.5, 6.5.6, 6.6.5 and 6.7.5).
REPORT_EPOCH_TABLES = {
    ("EmotionCNN", "valence_mean"): 3,
    ("EmotionCNN", "arousal_mean"): 4,
    ("EmotionCNN_SE_Temporal", "valence_mean"): 5,
    ("EmotionCNN_SE_Temporal", "arousal_mean"): 6,
    ("EmotionCNN_GRU", "valence_mean"): 7,
    ("EmotionCNN_GRU", "arousal_mean"): 8,
    ("EmotionCNN_GRU_Attention", "valence_mean"): 9,
    ("EmotionCNN_GRU_Attention", "arousal_mean"): 10,
}
REPORT_MLP_BEST_EPOCH = 3  # Table 12: the EmotionMLP's best validation epoch
REPORT_BEST_EPOCHS = {
    ("EmotionCNN", "valence_mean"): 5,
    ("EmotionCNN", "arousal_mean"): 14,
    ("EmotionCNN_SE_Temporal", "valence_mean"): 14,
    ("EmotionCNN_SE_Temporal", "arousal_mean"): 19,
    ("EmotionCNN_GRU", "valence_mean"): 7,
    ("EmotionCNN_GRU", "arousal_mean"): 16,
    ("EmotionCNN_GRU_Attention", "valence_mean"): 10,
    ("EmotionCNN_GRU_Attention", "arousal_mean"): 12,
}

# Column names of report_epoch_table, in the style of mer_utils.training.phase2.epoch_table.
EPOCH_TABLE_COLUMNS = {
    "epoch": "epoch",
    "train_loss": "train loss (MSE, raw 1–9 labels)",
    "r2": "val R²",
    "rmse": "val RMSE (1–9)",
    "mae": "val MAE (1–9)",
}


def report_figure(phase: int, model: str, target: str, metric: str = "r2") -> float:
    """The report's published figure, or NaN where it published none.

    ``metric`` is ``r2``, ``rmse`` or ``mae`` (1..9 scale), or for Phase 3
    ``rmse_01`` / ``mae_01`` (Table 12's [0, 1] label scale).
    """
    return REPORT_FIGURES.get((phase, model, target), {}).get(metric, np.nan)


def protocol_caveats(phase: int) -> list[str]:
    """The lines of :data:`PROTOCOL_CAVEATS` that apply to one phase's published figures."""
    return [PROTOCOL_CAVEATS[key] for key in _CAVEATS_BY_PHASE.get(phase, [])]


def protocol_note(phase: int) -> str:
    """The caveat lines where the report's protocol differs from the book's, for a phase's pages."""
    return "**Comparing with the report.** " + " ".join(protocol_caveats(phase))


def report_epoch_table(model: str, target: str) -> pd.DataFrame:
    """The report's per-epoch validation table (Tables 3 to 10) for one Phase 2 model and target.

    Columns are named with their units as in :data:`EPOCH_TABLE_COLUMNS`; the
    training-loss column appears only where the report printed one (Tables 3,
    4, 9 and 10).  Tables 5 to 10 list selected epochs only.  An empty frame
    (with the epoch and metric columns) where the report has no such table.
    """
    rows = REPORT_EPOCHS.get((model, target))
    if not rows:
        return pd.DataFrame(columns=[EPOCH_TABLE_COLUMNS[c] for c in _EPOCH_COLUMNS])
    columns = [c for c in EPOCH_TABLE_COLUMNS if c in rows[0]]
    return pd.DataFrame(rows, columns=columns).rename(columns=EPOCH_TABLE_COLUMNS)


def report_best_epoch(model: str, target: str) -> dict:
    """The row of :data:`REPORT_EPOCHS` that the report's text names as the best epoch.

    The epoch comes from :data:`REPORT_BEST_EPOCHS` (the report's own words,
    e.g. "the best performance occurred at Epoch 7"); in every table it is also
    the row of highest validation R², and its figures are Table 11's.  Keys as
    in :data:`REPORT_EPOCHS` (``epoch``, ``r2``, ``rmse``, ``mae`` and, where
    printed, ``train_loss``); an empty dict where the report has no per-epoch table.
    """
    rows = REPORT_EPOCHS.get((model, target))
    if not rows:
        return {}
    best = REPORT_BEST_EPOCHS[(model, target)]
    return dict(next(row for row in rows if row["epoch"] == best))
