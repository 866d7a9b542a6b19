"""The Phase 1 pages' sentences: the targets' shape and correlation, the extraction, the regressors' findings.

Used by: ``notebooks/phase1_eda.py``, ``notebooks/phase1_features.py`` and ``notebooks/phase1_models.py``.

Why here: each chapter's wording sits beside its code, so the Phase 1 page,
its helpers (:mod:`.features`, :mod:`.selection`, :mod:`.regressors`) and the
sentences that read their tables are one folder.  Pure functions from tables
and numbers to Markdown; every threshold that decides a verdict is a named
constant, tested on both sides (``tests/test_features.py``).
"""

from __future__ import annotations

import pandas as pd

from ..corpus.base import TARGETS, short_name
from ..results.anchors import DEAM_VA_CORRELATION
from ..results.intervals import format_interval
from ..results.published import report_figure

SYMMETRIC_SKEW = 0.2  # |skewness| below it: "close to symmetric"
SHAPE_CAVEAT = (
    "A skewed target matters for evaluation: a model can score a reasonable R² while "
    "systematically under-predicting the rarer end of the scale, which is why every table in "
    "this book reports RMSE and MAE (on the 1..9 scale) next to R²."
)


def va_correlation_sentence(labels: pd.DataFrame) -> str:
    """Pearson's r between mean valence and mean arousal, beside the value in DEAM's own annotation file."""
    from scipy import stats

    r, p = stats.pearsonr(labels["valence_mean"], labels["arousal_mean"])
    return (
        f"On this data Pearson's r between mean valence and mean arousal is **{r:.2f}** "
        f"(p = {p:.1g}, {len(labels)} songs). In DEAM's own static annotations (the 1,744 songs of its 1_2000 file) "
        f"it is about {DEAM_VA_CORRELATION:.2f}, computed from that file; the report calls it a moderate positive "
        "correlation without a figure."
    )


def skew_shape(skew: float) -> str:
    """Words for a skewness: symmetric, or which tail is longer."""
    if abs(skew) < SYMMETRIC_SKEW:
        return "close to symmetric"
    if skew > 0:
        return "skewed to the right: a longer tail of high ratings, most songs sit lower"
    return "skewed to the left: a longer tail of low ratings, most songs sit higher"


def target_shape_notes(labels: pd.DataFrame) -> str:
    """Mean, median, skewness and shape of both targets, and why the shape matters."""
    from scipy import stats

    lines = ["Notes on the shape of the targets on this run:"]
    for target in TARGETS:
        values = labels[target]
        skew = stats.skew(values)
        lines.append(
            f"- **{short_name(target)}**: mean {values.mean():.2f}, median {values.median():.2f}, "
            f"skewness {skew:+.2f}, {skew_shape(skew)}."
        )
    return "\n".join(lines + ["", SHAPE_CAVEAT])


def extraction_sentence(features: pd.DataFrame, skipped: pd.DataFrame, seconds: float) -> str:
    """How many songs and columns were extracted, how long it took, and which songs were skipped."""
    text = (
        f"Features of **{len(features)} songs** x **{features.shape[1]} columns** in {seconds:.1f} s "
        "(from the cache where possible). "
    )
    if not len(skipped):
        return text + "Every song decoded."
    return text + (
        f"**{len(skipped)} songs could not be decoded and are skipped:** "
        + "; ".join(f"{i}: {reason}" for i, reason in sorted(zip(skipped["song_id"], skipped["reason"])))
    )


def undecodable_songs_note(skipped: pd.DataFrame) -> str:
    """The models page's note on songs without features (empty when there are none)."""
    if not len(skipped):
        return ""
    return f"{len(skipped)} songs without decodable audio are left out: {sorted(int(i) for i in skipped['song_id'])}."


def picks_title(picks: dict) -> str:
    """``Held-out test songs: Lasso for valence, XGBoost for arousal (each chosen on validation)``."""
    chosen = ", ".join(f"{record['model']} for {short_name(target)}" for target, record in picks.items())
    return f"Held-out test songs: {chosen} (each chosen on validation)"


def phase1_model_findings(models_table: pd.DataFrame) -> str:
    """For each target: the regressor chosen on validation, its test score (95% interval), the report's XGBoost figure."""
    lines = []
    for target in TARGETS:
        rows = models_table[models_table["target"] == target]
        chosen = rows.sort_values("validation_r2", ascending=False).iloc[0]
        lines.append(
            f"- **{short_name(target)}**: the model chosen on validation is **{chosen['model']}** "
            f"(validation R² {chosen['validation_r2']:.3f}, test R² "
            f"{format_interval(chosen['test_r2'], (chosen.get('test_r2_low'), chosen.get('test_r2_high')), 3)}). "
            f"The report's XGBoost reached {report_figure(1, 'XGBoost', target):.3f} on DEAM."
        )
    return "What this run shows:\n\n" + "\n".join(lines)
