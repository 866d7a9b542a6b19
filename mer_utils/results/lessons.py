"""The conclusions page: every model on the same test songs, each phase's pick, and the report's lessons checked.

Used by: ``notebooks/conclusions.py``.

:func:`comparison_rows` turns all saved records of this run into one table
with readable labels and the report's figures; :func:`best_of_each_phase`
picks each phase's model by validation R²; :func:`lessons` words the
report's conclusions against this build's numbers.  Every verdict's threshold
is a named constant, tested in ``tests/test_narrative.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.deam import TARGETS, short_name
from .published import PUBLISHED_ANCHORS, report_figure
from .tables import add_ceiling

PHASES = {
    1: "Phase 1 (handcrafted features, classical regressors)",
    2: "Phase 2 (log-mel CNNs)",
    3: "Phase 3 (CNN14 embeddings, EmotionMLP)",
}
GRID_SEARCH_MARK = "grid search"
COLUMNS = ["phase", "label", "target", "validation_r2", "test_r2", "test_rmse", "test_mae", "report_r2"]


def noise_level(n_test: int) -> float:
    """The rough standard error of an R² or a correlation on ``n_test`` songs: 1/sqrt(n)."""
    return 1 / np.sqrt(n_test)


def model_label(row) -> str:
    """``"P1 Ridge (grid search)"``, ``"P2 CNN + SE + GRU"``, ``"P3 EmotionMLP on PANNs CNN14"``."""
    from ..phase2.models import LABELS

    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    if row["phase"] == 1:
        if GRID_SEARCH_MARK in setting:
            return f"P1 {row['model']} (grid search)"
        return f"P1 {row['model']}" + (f", {setting}" if setting else "")
    if row["phase"] == 2:
        return f"P2 {LABELS.get(row['model'], row['model'])}"
    if row["phase"] == 3:
        kind = row.get("backbone") if isinstance(row.get("backbone"), str) else "?"
        return f"P3 {row['model']} on {'PANNs' if kind == 'pretrained' else kind} CNN14"
    return f"P{row['phase']} {row['model']}"


def row_report_r2(row) -> float:
    """The report's R² for a record's setting (a Phase 1 feature set) or else its model; NaN where none."""
    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    value = report_figure(int(row["phase"]), setting, row["target"]) if setting else np.nan
    return value if np.isfinite(value) else report_figure(int(row["phase"]), row["model"], row["target"])


def this_run(results: pd.DataFrame, corpus) -> tuple[pd.DataFrame, list[str]]:
    """The song-level records of this corpus, and the names of other data whose records were left out."""
    if results.empty:
        return results, []
    other = sorted(set(results["data"]) - {corpus.name})
    results = results[results["data"] == corpus.name]
    if "level" in results:
        results = results[results["level"].fillna("song") == "song"]
    return results, other


def comparison_rows(results: pd.DataFrame, corpus) -> pd.DataFrame:
    """Every model and target of this run: a readable label, the report's R², the ceiling; sorted for reading."""
    if results.empty:
        return pd.DataFrame(columns=COLUMNS)
    table = results.copy()
    table["label"] = [model_label(row) for _, row in table.iterrows()]
    table["report_r2"] = [row_report_r2(row) for _, row in table.iterrows()]
    table = table.sort_values(["target", "phase", "validation_r2"], ascending=[False, True, False]).reset_index(
        drop=True
    )
    return add_ceiling(table, corpus)


def present_phases(table: pd.DataFrame) -> list[int]:
    return sorted(int(p) for p in table["phase"].unique()) if len(table) else []


def phase3_backbone(table: pd.DataFrame) -> str | None:
    """``"pretrained"`` or ``"random"``: the backbone of this run's Phase 3 records, if any."""
    if "backbone" not in table or not (table["phase"] == 3).any():
        return None
    kinds = table.loc[table["phase"] == 3, "backbone"].dropna()
    return kinds.iloc[0] if len(kinds) else None


def found_sentence(table: pd.DataFrame, results_dir, n_test: int, other_data: list[str]) -> str:
    """Which phases have results, which do not, and how large the test set's noise is."""
    present = present_phases(table)
    missing = [p for p in PHASES if p not in present]
    text = (
        f"Records of other data ({', '.join(other_data)}) in `{results_dir}/metrics` are left out. "
        if other_data
        else ""
    )
    return text + (
        f"Results found for {', '.join(PHASES[p] for p in present) or 'no phase'}. "
        + (
            f"**No results for {', '.join(PHASES[p] for p in missing)}** in `{results_dir}/metrics`: "
            "run `make book` (a failed notebook of that phase leaves no records)."
            if missing
            else ""
        )
        + f" The test set has **{n_test} songs**; on so few songs the standard error of an R² or a correlation is "
        f"up to about 1/√{n_test} ≈ {noise_level(n_test):.2f}, so differences smaller than that should not be read as real."
    )


def best_of_each_phase(table: pd.DataFrame) -> dict:
    """``{(phase, target): row}``: each phase's model with the highest validation R² (never the test score)."""
    best = {}
    for target in TARGETS:
        for phase in present_phases(table):
            rows = table[(table["target"] == target) & (table["phase"] == phase)]
            if len(rows):
                best[(phase, target)] = rows.sort_values("validation_r2", ascending=False).iloc[0]
    return best


def best_table(best: dict, corpus) -> pd.DataFrame:
    """The rows of :func:`best_of_each_phase` as a table."""
    rows = pd.DataFrame(
        [
            {
                "phase": p,
                "target": t,
                "model": r["label"],
                "validation_r2": r["validation_r2"],
                "test_r2": r["test_r2"],
                "test_rmse": r["test_rmse"],
                "test_mae": r["test_mae"],
                "report_r2": r["report_r2"],
            }
            for (p, t), r in best.items()
        ]
    )
    return add_ceiling(rows.sort_values(["target", "phase"], ascending=[False, True]), corpus)


def fmt(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def compare(a: float, b: float, noise: float, n_test: int) -> str:
    """``"beats it by N"`` or ``"does not beat it (short by N)"``, flagged when the gap is within the noise."""
    gap = a - b
    verdict = f"beats it by {gap:.3f}" if gap > 0 else f"does not beat it (short by {-gap:.3f})"
    if abs(gap) < noise:
        verdict += f", a gap within the noise of {n_test} test songs"
    return verdict


def lessons(table: pd.DataFrame, best: dict, corpus, n_test: int) -> str:
    """The report's lessons restated and checked against this build, as a numbered Markdown list."""
    noise = noise_level(n_test)
    present = present_phases(table)
    backbone = phase3_backbone(table)
    out = [_lesson_pretrained(best, backbone, noise, n_test), _lesson_temporal(table, present)]
    for text in (_lesson_arousal_easier(table, corpus), _lesson_validation_optimism(table)):
        if text:
            out.append(text)
    out += _lesson_distance(table, corpus, n_test)
    return "\n\n".join(f"{k}. {text}" for k, text in enumerate(out, start=1))


def _lesson_pretrained(best, backbone, noise, n_test) -> str:
    parts = []
    for target in TARGETS:
        name = short_name(target)
        if (3, target) not in best:
            parts.append(f"{name}: cannot be checked, Phase 3 has no results.")
            continue
        mlp = best[(3, target)]
        for phase in (1, 2):
            if (phase, target) in best:
                other = best[(phase, target)]
                parts.append(
                    f"{name}: the MLP (test R² {fmt(mlp['test_r2'])}) against Phase {phase}'s best "
                    f"({other['label']}, {fmt(other['test_r2'])}) "
                    f"{compare(mlp['test_r2'], other['test_r2'], noise, n_test)}."
                )
            else:
                parts.append(f"{name}: no Phase {phase} results to compare with.")
    caveat = (
        " Phase 3 ran on a random-weight CNN14 here, so this tests random features, not PANNs."
        if backbone == "random"
        else ""
    )
    return (
        "**“Pretrained embeddings and a shallow MLP beat handcrafted features and deep CNNs.”** On this build: "
        + " ".join(parts)
        + caveat
    )


def _lesson_temporal(table, present) -> str:
    head = "**“Temporal layers help, especially for arousal.”** "
    if 2 not in present:
        return head + "Cannot be checked: Phase 2 has no results."
    parts = []
    for target in TARGETS:
        rows = table[(table["phase"] == 2) & (table["target"] == target)].set_index("model")
        if "EmotionCNN" in rows.index and len(rows) > 1:
            base = float(rows.loc["EmotionCNN", "test_r2"])
            temporal = rows.drop(index="EmotionCNN")
            wins = int((temporal["test_r2"] > base).sum())
            parts.append(
                f"for {short_name(target)}, {wins} of the {len(temporal)} models with SE blocks and "
                f"temporal layers beat the plain CNN (test R² {fmt(base)}; theirs "
                f"{', '.join(fmt(v) for v in temporal['test_r2'])})"
            )
    return head + (
        "On this build, " + "; ".join(parts) + "."
        if parts
        else "Cannot be checked: the plain CNN or the temporal models have no results."
    )


def _lesson_arousal_easier(table, corpus) -> str:
    wide = table.pivot_table(index="label", columns="target", values="test_r2") if len(table) else pd.DataFrame()
    if not {"valence_mean", "arousal_mean"} <= set(wide.columns):
        return ""
    wide = wide.dropna()
    easier = int((wide["arousal_mean"] > wide["valence_mean"]).sum())
    text = (
        f"**“Arousal is easier to predict than valence.”** On this build arousal has the higher test R² for "
        f"{easier} of {len(wide)} models (mean test R² {fmt(wide['arousal_mean'].mean())} for arousal, "
        f"{fmt(wide['valence_mean'].mean())} for valence)."
    )
    if corpus.is_synthetic:
        text += (
            " On SynthDEAM the labels follow a known formula, and the noise ceilings "
            f"({fmt(corpus.noise_ceiling('valence_mean'))} for valence, "
            f"{fmt(corpus.noise_ceiling('arousal_mean'))} for arousal) say which target this corpus makes "
            "easier; on real music the report's reading rests on the DEAM ratings."
        )
    return text


def _lesson_validation_optimism(table) -> str:
    if not len(table) or not table["validation_r2"].notna().any():
        return ""
    gap = (table["validation_r2"] - table["test_r2"]).dropna()
    per_phase = table.assign(gap=table["validation_r2"] - table["test_r2"]).groupby("phase")["gap"].mean()
    return (
        "**Validation scores as headline figures.** The report published the best validation epoch or setting of each "
        f"model. On this build, validation R² exceeds test R² by {gap.mean():+.3f} on average over {len(gap)} "
        "model/target pairs ("
        + ", ".join(f"Phase {int(p)}: {g:+.3f}" for p, g in per_phase.items())
        + "). "
        + (
            "A positive gap is the optimism of selecting on the validation set; the test column is the honest figure."
            if gap.mean() > 0
            else "Here the test songs happened to be no harder than the validation songs."
        )
    )


def _lesson_distance(table, corpus, n_test) -> list[str]:
    out = []
    for target in TARGETS if len(table) else []:
        rows = table[table["target"] == target]
        if not len(rows):
            continue
        top = rows.sort_values("test_r2", ascending=False).iloc[0]
        text = f"**Best test score, {short_name(target)}:** {top['label']} with R² {fmt(top['test_r2'])}."
        anchors = [a for a in PUBLISHED_ANCHORS if a["target"] == target]
        if corpus.is_synthetic:
            ceiling = corpus.noise_ceiling(target)
            if top["test_r2"] <= ceiling:
                text += f" The noise ceiling of this corpus is {fmt(ceiling)}, {fmt(ceiling - top['test_r2'])} higher."
            else:
                text += (
                    f" That is {fmt(top['test_r2'] - ceiling)} above the noise ceiling of this corpus ({fmt(ceiling)}), "
                    f"which holds on average over songs: on {n_test} test songs a score can exceed it by chance."
                )
            text += (
                " The published anchors ("
                + ", ".join(f"{a['source']}: {a['r2']:.3f}" for a in anchors)
                + ") are DEAM results and cannot be compared with synthetic data."
            )
        else:
            text += " " + " ".join(
                f"Against {a['source']} ({a['r2']:.3f}) it is {abs(top['test_r2'] - a['r2']):.3f} "
                f"{'higher' if top['test_r2'] >= a['r2'] else 'lower'}."
                for a in anchors
            )
        out.append(text)
    return out
