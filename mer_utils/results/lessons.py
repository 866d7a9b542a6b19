"""The conclusions page: every model on the same test songs, each phase's pick, and the report's lessons checked.

Used by: ``notebooks/conclusions.py``.

:func:`comparison_rows` turns the saved records of this run into one table
with readable labels and the report's figures; :func:`best_of_each_phase`
picks each phase's model by validation R² (never by the test score);
:func:`lessons` words the report's conclusions against this build.  Every
verdict rests on a paired bootstrap of the difference on the same test songs
(:func:`mer_utils.results.intervals.paired_difference`): a model is called
better only when that interval excludes zero, and otherwise the page says
"no detectable difference".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, short_name
from ..phase3.backbones import SETTINGS as BACKBONE_SETTINGS
from .intervals import N_RESAMPLES, compare_on_shared_songs, format_interval
from .published import anchors_for, report_figure
from .records import flatten_records, test_predictions
from .tables import REFERENCE_COLUMNS, add_ceiling, add_human_reference

PHASES = {1: "Phase 1 (handcrafted features, classical regressors)", 2: "Phase 2 (log-mel CNNs)",
          3: "Phase 3 (pretrained embeddings, EmotionMLP)"}
MUSICNN_SETTING = BACKBONE_SETTINGS["musicnn"]  # the setting of musicnn's Phase 3 records
GRID_SEARCH_MARK = "grid search"
COLUMNS = ["phase", "label", "target", "validation_r2", "test_r2", "test_r2_low", "test_r2_high", "test_rmse",
           "test_rmse_low", "test_rmse_high", "test_mae", "test_mae_low", "test_mae_high", "report_r2"]


def model_label(row) -> str:
    """``"P1 Ridge (grid search)"``, ``"P2 CNN + SE + GRU"``, ``"P3 EmotionMLP on PANNs CNN14"``, ``"… on musicnn (MSD)"``."""
    from ..phase2.models import LABELS

    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    if row["phase"] == 1:
        if GRID_SEARCH_MARK in setting:
            return f"P1 {row['model']} (grid search)"
        return f"P1 {row['model']}" + (f", {setting}" if setting else "")
    if row["phase"] == 2:
        return f"P2 {LABELS.get(row['model'], row['model'])}"
    if row["phase"] == 3:
        if isinstance(row.get("embedding"), str):
            return f"P3 {row['model']} on {row['embedding']}"
        kind = row.get("backbone") if isinstance(row.get("backbone"), str) else "?"
        return f"P3 {row['model']} on {'PANNs' if kind == 'pretrained' else kind} CNN14"
    return f"P{row['phase']} {row['model']}"


def row_report_r2(row) -> float:
    """The report's R² for a record's setting (a Phase 1 feature set) or else its model; NaN where none.

    The report's Phase 3 figure is that of its MLP on PANNs CNN14: a musicnn row gets none.
    """
    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    if int(row["phase"]) == 3 and setting == MUSICNN_SETTING:
        return np.nan
    value = report_figure(int(row["phase"]), setting, row["target"]) if setting else np.nan
    return value if np.isfinite(value) else report_figure(int(row["phase"]), row["model"], row["target"])


def this_run(records: list[dict], corpus) -> tuple[list[dict], list[str]]:
    """The song-level records of this corpus, and the names of other data whose records were left out."""
    other = sorted({r["data"] for r in records} - {corpus.name})
    kept = [r for r in records if r["data"] == corpus.name and r.get("level", "song") == "song"]
    return kept, other


def comparison_rows(records: list[dict], corpus, split=None) -> pd.DataFrame:
    """Every model and target of this run: a label, the report's R², the ceiling on the test songs; sorted for reading.

    The ``record`` column indexes ``records``, where each row's per-song test predictions are.
    """
    if not records:
        return pd.DataFrame(columns=COLUMNS + ["record"])
    table = flatten_records(records)
    table["record"] = range(len(records))
    table["label"] = [model_label(row) for _, row in table.iterrows()]
    table["report_r2"] = [row_report_r2(row) for _, row in table.iterrows()]
    table = add_human_reference(table, records, corpus)
    table = table.sort_values(["target", "phase", "validation_r2"], ascending=[False, True, False]).reset_index(drop=True)
    return add_ceiling(table, corpus, split)


def shown_columns(table: pd.DataFrame) -> list[str]:
    """The columns of the page's per-target tables: :data:`COLUMNS` less the phase, then the ceiling or the human
    reference and the protocol where this run has them."""
    extra = ["ceiling_r2", "below_ceiling", *REFERENCE_COLUMNS, "cross_validated"]
    return [c for c in COLUMNS if c != "phase"] + [c for c in extra if c in table]


def present_phases(table: pd.DataFrame) -> list[int]:
    return sorted(int(p) for p in table["phase"].unique()) if len(table) else []


def phase3_backbone(table: pd.DataFrame) -> str | None:
    """``"random"`` when a Phase 3 record of this run used a random-weight CNN14, else ``"pretrained"``; None without any."""
    if "backbone" not in table or not (table["phase"] == 3).any():
        return None
    kinds = set(table.loc[table["phase"] == 3, "backbone"].dropna())
    return "random" if "random" in kinds else ("pretrained" if kinds else None)


def phase3_backbone_rows(table: pd.DataFrame, target: str) -> tuple:
    """This target's Phase 3 rows ``(musicnn, CNN14)`` when both backbones ran, else ``None``."""
    rows = table[(table["phase"] == 3) & (table["target"] == target)]
    if "setting" not in rows or len(rows) < 2:
        return None
    musicnn = rows[rows["setting"] == MUSICNN_SETTING]
    cnn14 = rows[rows["setting"] != MUSICNN_SETTING]
    return (musicnn.iloc[0], cnn14.iloc[0]) if len(musicnn) and len(cnn14) else None


def found_sentence(table: pd.DataFrame, results_dir, n_test: int, other_data: list[str], groups=None) -> str:
    """Which phases have results, which do not, and how the comparisons below are made.

    ``groups``: each song's group (film) under cross-validation (:attr:`mer_utils.page.Page.groups`).
    """
    present = present_phases(table)
    missing = [p for p in PHASES if p not in present]
    text = (f"Records of other data ({', '.join(other_data)}) in `{results_dir}/metrics` are left out. "
            if other_data else "")
    return text + (
        f"Results found for {', '.join(PHASES[p] for p in present) or 'no phase'}. "
        + (f"**No results for {', '.join(PHASES[p] for p in missing)}** in `{results_dir}/metrics`: "
           "run `make book` (a failed notebook of that phase leaves no records)." if missing else "")
        + (f" The test set has **{n_test} songs**. Every test figure carries a 95% bootstrap interval over these songs "
           f"({N_RESAMPLES} resamples), and every comparison below is a paired bootstrap of the difference on the same "
           "songs: a model is called better only when that interval excludes zero." if groups is None else
           f" Every one of the **{n_test} excerpts** is predicted once, out of fold, by a model that never saw its "
           f"film. Every figure carries a 95% bootstrap interval over the **{groups.nunique()} films** "
           f"({N_RESAMPLES} resamples; excerpts of one film are drawn together), and every comparison below is a "
           "paired bootstrap of the difference over the same films: a model is called better only when that "
           "interval excludes zero.")
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


def headline(best: dict, target: str):
    """The book's headline model for ``target``: the phase pick with the highest validation R²."""
    picks = [row for (phase, t), row in best.items() if t == target]
    return max(picks, key=lambda row: row["validation_r2"]) if picks else None


def best_table(best: dict, corpus, split=None) -> pd.DataFrame:
    """The rows of :func:`best_of_each_phase` as a table (test figures with their intervals)."""
    keep = ["phase", "target", "label", "validation_r2", *[c for c in COLUMNS if c.startswith("test_")], "report_r2",
            *REFERENCE_COLUMNS, "cross_validated"]
    rows = pd.DataFrame([{k: r.get(k) for k in keep if k in r} for r in best.values()]).rename(columns={"label": "model"})
    return add_ceiling(rows.sort_values(["target", "phase"], ascending=[False, True]), corpus, split)


def fmt(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def paired(records: list[dict], a, b, metric: str = "r2") -> dict:
    """Paired bootstrap of row ``a`` minus row ``b`` (two comparison rows) on the test songs both predicted."""
    return compare_on_shared_songs(test_predictions(records[int(a["record"])]),
                                   test_predictions(records[int(b["record"])]), metric=metric)


def verdict(difference: dict, name_a: str, name_b: str) -> str:
    """``"X is better than Y: +0.12 [0.05, 0.19]"`` or ``"no detectable difference ..."`` (R² differences)."""
    shown = format_interval(difference["difference"], (difference["low"], difference["high"]), digits=3)
    if difference["low"] > 0:
        return f"{name_a} is better than {name_b} (R² difference {shown})"
    if difference["high"] < 0:
        return f"{name_b} is better than {name_a} (R² difference of {name_a} minus {name_b}: {shown})"
    return f"no detectable difference between {name_a} and {name_b} (R² difference {shown})"


def comparisons_table(records: list[dict], table: pd.DataFrame, best: dict) -> pd.DataFrame:
    """The paired comparisons behind the lessons: each pair, the R² difference with its interval, the verdict."""
    rows = []
    for target in TARGETS:
        for a, b in _lesson_pairs(table, best, target):
            diff = paired(records, a, b)
            verdict_word = "better" if diff["low"] > 0 else "worse" if diff["high"] < 0 else "no detectable difference"
            rows.append({"target": short_name(target), "model A": a["label"], "model B": b["label"],
                         "R² A − B [95% CI]": format_interval(diff["difference"], (diff["low"], diff["high"]), 3),
                         "songs": diff["songs"], "A is": verdict_word})
    return pd.DataFrame(rows)


def _lesson_pairs(table, best, target):
    pairs = []
    if (3, target) in best:
        pairs += [(best[(3, target)], best[(p, target)]) for p in (1, 2) if (p, target) in best]
    backbones = phase3_backbone_rows(table, target)
    if backbones is not None:
        pairs.append(backbones)
    rows = table[(table["phase"] == 2) & (table["target"] == target)].set_index("model", drop=False)
    if "EmotionCNN" in rows.index:
        pairs += [(rows.loc[m], rows.loc["EmotionCNN"]) for m in rows.index if m != "EmotionCNN"]
    return pairs


def lessons(records: list[dict], table: pd.DataFrame, best: dict, corpus, split=None) -> str:
    """The report's lessons restated and checked against this build, as a numbered Markdown list."""
    present = present_phases(table)
    out = [_lesson_pretrained(records, table, best), _lesson_temporal(records, table, present)]
    for text in (_lesson_arousal_easier(records, best, corpus, split), _lesson_validation_optimism(best)):
        if text:
            out.append(text)
    out += _lesson_headline(best, corpus, split)
    return "\n\n".join(f"{k}. {text}" for k, text in enumerate(out, start=1))


def _lesson_pretrained(records, table, best) -> str:
    parts, random_picks = [], []
    for target in TARGETS:
        name = short_name(target)
        if (3, target) not in best:
            parts.append(f"{name}: cannot be checked, Phase 3 has no results.")
            continue
        mlp = best[(3, target)]
        if mlp.get("backbone") == "random":
            random_picks.append(name)
        for phase in (1, 2):
            if (phase, target) in best:
                other = best[(phase, target)]
                parts.append(f"{name}, against Phase {phase}: "
                             + verdict(paired(records, mlp, other), mlp["label"], other["label"]) + ".")
            else:
                parts.append(f"{name}: no Phase {phase} results to compare with.")
    caveat = (f" For {' and '.join(random_picks)} the Phase 3 pick is the random-weight CNN14, so there this tests "
              "random features, not pretrained ones." if random_picks else "")
    backbones = []
    for target in TARGETS:
        pair = phase3_backbone_rows(table, target)
        if pair is not None:
            backbones.append(f"{short_name(target)}: " + verdict(paired(records, *pair), pair[0]["label"], pair[1]["label"]))
    between = (" Between the two backbones, each with its own MLP: " + "; ".join(backbones) + "."
               if backbones else "")
    return ("**“Pretrained embeddings and a shallow MLP beat handcrafted features and deep CNNs.”** On this build "
            "(each phase represented by its validation pick): " + " ".join(parts) + caveat + between)


def _lesson_temporal(records, table, present) -> str:
    head = "**“Temporal layers help, especially for arousal.”** "
    if 2 not in present:
        return head + "Cannot be checked: Phase 2 has no results."
    parts = []
    for target in TARGETS:
        rows = table[(table["phase"] == 2) & (table["target"] == target)].set_index("model", drop=False)
        if "EmotionCNN" in rows.index and len(rows) > 1:
            diffs = [paired(records, rows.loc[m], rows.loc["EmotionCNN"]) for m in rows.index if m != "EmotionCNN"]
            better = sum(d["low"] > 0 for d in diffs)
            worse = sum(d["high"] < 0 for d in diffs)
            parts.append(f"for {short_name(target)}, {better} of the {len(diffs)} models with SE blocks and temporal "
                         f"layers {'is' if better == 1 else 'are'} better than the plain CNN, {worse} worse, and "
                         f"{len(diffs) - better - worse} show "
                         "no detectable difference (paired R² differences: "
                         + ", ".join(format_interval(d["difference"], (d["low"], d["high"]), 3) for d in diffs) + ")")
    return head + ("On this build, " + "; ".join(parts) + "." if parts else
                   "Cannot be checked: the plain CNN or the temporal models have no results.")


def _lesson_arousal_easier(records, best, corpus, split) -> str:
    parts = []
    for phase in sorted({p for p, _ in best}):
        if (phase, "arousal_mean") in best and (phase, "valence_mean") in best:
            diff = paired(records, best[(phase, "arousal_mean")], best[(phase, "valence_mean")])
            word = ("arousal is easier" if diff["low"] > 0 else "valence is easier" if diff["high"] < 0
                    else "no detectable difference")
            parts.append(f"Phase {phase}: {word} (R² arousal − valence "
                         f"{format_interval(diff['difference'], (diff['low'], diff['high']), 3)})")
    if not parts:
        return ""
    text = ("**“Arousal is easier to predict than valence.”** Comparing each phase's validation picks on the same "
            "test songs: " + "; ".join(parts) + ".")
    if corpus.is_synthetic and split is not None and corpus.expected is not None:
        test_ids = split.loc[split["part"] == "test", "song_id"]
        text += (" On SynthDEAM the labels follow a known formula; on these test songs its R² is "
                 f"{fmt(corpus.ceiling('valence_mean', test_ids))} for valence and "
                 f"{fmt(corpus.ceiling('arousal_mean', test_ids))} for arousal, which says which target this "
                 "corpus makes easier; on real music the report's reading rests on the DEAM ratings.")
    return text


def _lesson_validation_optimism(best) -> str:
    if not best:
        return ""
    gaps = pd.Series({f"Phase {p}, {short_name(t)}": r["validation_r2"] - r["test_r2"] for (p, t), r in best.items()})
    return (
        "**Validation scores as headline figures.** The report published the best validation epoch or setting of each "
        f"model. For the models this build selected on validation (each phase's pick), validation R² exceeds test R² "
        f"by {gaps.mean():+.3f} on average (" + ", ".join(f"{k}: {v:+.3f}" for k, v in gaps.items()) + "). "
        + ("A positive gap is the optimism of selecting on the validation set; the test column is the honest figure."
           if gaps.mean() > 0 else "Here the test songs happened to be no harder than the validation songs.")
    )


def _lesson_headline(best, corpus, split) -> list[str]:
    out = []
    for target in TARGETS:
        top = headline(best, target)
        if top is None:
            continue
        shown = format_interval(top["test_r2"], (top.get("test_r2_low"), top.get("test_r2_high")), 3)
        text = (f"**The book's model for {short_name(target)}** (highest validation R² of the phase picks): "
                f"{top['label']}, test R² {shown}.")
        anchors = [a for a in anchors_for(corpus) if a["target"] == target]
        if getattr(corpus, "reference", None) is not None:
            text += (f" Its Pearson r with the first panel on the excerpts the second panel re-rated is "
                     f"{fmt(top.get('model_r', np.nan))}; the second panel's r there is "
                     f"{fmt(top.get('human_r', np.nan))} (a human reference, not a ceiling). Published on this "
                     "corpus, with random splits that put one film on both sides (optimistic): "
                     + "; ".join(f"{a['source'].split(':')[0]}, r {a['r']:.2f}" for a in anchors) + ".")
        elif corpus.is_synthetic:
            ceiling = top.get("ceiling_r2", corpus.noise_ceiling(target))
            text += (f" The generating function's R² on the same test songs is {fmt(ceiling)}; the model's interval "
                     + ("reaches it." if top.get("test_r2_high", np.nan) >= ceiling else "stays below it.")
                     + " The published anchors (" + ", ".join(f"{a['source']}: {a['r2']:.3f}" for a in anchors)
                     + ") are results on real music and cannot be compared with synthetic data.")
        else:
            text += " " + " ".join(
                f"Against {a['source']} ({a['r2']:.3f}) it is {abs(top['test_r2'] - a['r2']):.3f} "
                f"{'higher' if top['test_r2'] >= a['r2'] else 'lower'} ({a.get('caveat', '')})" for a in anchors)
        out.append(text)
    return out


def va_predictions(records: list[dict], best: dict) -> dict:
    """For each phase with picks for both targets: the test songs' true and predicted (valence, arousal).

    ``{phase: DataFrame(song_id, valence_true, arousal_true, valence_predicted, arousal_predicted)}``.
    """
    out = {}
    for phase in sorted({p for p, _ in best}):
        if (phase, "valence_mean") not in best or (phase, "arousal_mean") not in best:
            continue
        frames = []
        for target in TARGETS:
            frame = test_predictions(records[int(best[(phase, target)]["record"])])
            frames.append(frame.rename(columns={"true": f"{short_name(target)}_true",
                                                "predicted": f"{short_name(target)}_predicted"}))
        out[phase] = frames[0].merge(frames[1], on="song_id")
    return out
