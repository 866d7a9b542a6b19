"""The conclusions page: every model on the same test songs, each phase's pick, and the report's lessons checked.

Used by: ``notebooks/conclusions.py``.

:func:`comparison_rows` turns the saved records of this run into one table
with readable labels and the report's figures; :func:`best_of_each_phase`
picks each phase's model by validation R² (never by the test score);
:func:`lesson_comparisons` numbers every paired comparison behind the report's
lessons, which :mod:`mer_utils.results.lesson_sentences` words.  Every
verdict rests on a paired bootstrap of the difference on the same test songs
(:func:`mer_utils.results.intervals.paired_difference`): a model is called
better only when that interval excludes zero, and otherwise the page says
"no detectable difference".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, short_name
from ..phase3.backbones import FINETUNE_SETTINGS, MTT_KEY
from ..phase3.backbones import SETTINGS as BACKBONE_SETTINGS
from .intervals import N_RESAMPLES, compare_on_shared_songs, format_interval
from .published import report_figure
from .records import flatten_records, test_predictions
from .tables import REFERENCE_COLUMNS, add_ceiling, add_human_reference

PHASES = {1: "Phase 1 (handcrafted features, classical regressors)", 2: "Phase 2 (log-mel CNNs)",
          3: "Phase 3 (pretrained embeddings, EmotionMLP)"}
MUSICNN_SETTING = BACKBONE_SETTINGS["musicnn"]  # the setting of musicnn's Phase 3 records
MTT_SETTING = BACKBONE_SETTINGS[MTT_KEY]  # the setting of musicnn's MTT network (DATA=soundtracks and deam)
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
        if isinstance(row.get("network_label"), str):  # a fine-tuned backbone (mer_utils.phase3.finetune)
            return f"P3 {row['network_label']}"
        if isinstance(row.get("embedding"), str):
            return f"P3 {row['model']} on {row['embedding']}"
        kind = row.get("backbone") if isinstance(row.get("backbone"), str) else "?"
        return f"P3 {row['model']} on {'PANNs' if kind == 'pretrained' else kind} CNN14"
    return f"P{row['phase']} {row['model']}"


def row_report_r2(row) -> float:
    """The report's R² for a record's setting (a Phase 1 feature set) or else its model; NaN where none.

    The report's Phase 3 figure is that of its MLP on PANNs CNN14: a musicnn row, or a fine-tuned one, gets none.
    """
    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    if int(row["phase"]) == 3 and setting != BACKBONE_SETTINGS["cnn14"]:
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
    setting = rows["setting"].fillna("")  # a record saved without one is CNN14's
    musicnn = rows[setting == MUSICNN_SETTING]
    cnn14 = rows[setting == BACKBONE_SETTINGS["cnn14"]]
    return (musicnn.iloc[0], cnn14.iloc[0]) if len(musicnn) and len(cnn14) else None


def phase3_embedding_rows(table: pd.DataFrame, target: str) -> tuple:
    """This target's Phase 3 rows ``(musicnn (MTT), musicnn (MSD))`` when both networks ran, else ``None``: one
    architecture trained on two sets of tags, the test of "embedding selection is crucial" between pretrained ones."""
    rows = table[(table["phase"] == 3) & (table["target"] == target)]
    if "setting" not in rows:
        return None
    setting = rows["setting"].fillna("")
    mtt, msd = rows[setting == MTT_SETTING], rows[setting == MUSICNN_SETTING]
    return (mtt.iloc[0], msd.iloc[0]) if len(mtt) and len(msd) else None


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


def is_finetuned(table: pd.DataFrame) -> pd.Series:
    """Rows of a fine-tuned backbone (from pretrained or random weights): the fine-tuning lessons compare them."""
    return table["start"].notna() if "start" in table else pd.Series(False, index=table.index)


def best_of_each_phase(table: pd.DataFrame) -> dict:
    """``{(phase, target): row}``: each phase's model with the highest validation R² (never the test score).

    Phase 3's pick is among the EmotionMLPs on frozen embeddings, the report's Phase 3; the fine-tuned
    backbones are set against them in lessons of their own.
    """
    best = {}
    table = table[~is_finetuned(table)]
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
    """The rows of :func:`best_of_each_phase` as a table (test figures with their intervals, the validation gap)."""
    keep = ["phase", "target", "label", "validation_r2", *[c for c in COLUMNS if c.startswith("test_")], "report_r2",
            *REFERENCE_COLUMNS, "cross_validated"]
    rows = pd.DataFrame([{k: r.get(k) for k in keep if k in r} for r in best.values()]).rename(columns={"label": "model"})
    rows.insert(rows.columns.get_loc("validation_r2") + 1, "validation_gap", rows["validation_r2"] - rows["test_r2"])
    return add_ceiling(rows.sort_values(["target", "phase"], ascending=[False, True]), corpus, split)


def paired(records: list[dict], a, b, metric: str = "r2") -> dict:
    """Paired bootstrap of row ``a`` minus row ``b`` (two comparison rows) on the test songs both predicted."""
    return compare_on_shared_songs(test_predictions(records[int(a["record"])]),
                                   test_predictions(records[int(b["record"])]), metric=metric)


def reading(difference: dict) -> str:
    """``"better"``, ``"worse"`` or ``"no detectable difference"``: A against B, from where the interval of A − B lies."""
    return "better" if difference["low"] > 0 else "worse" if difference["high"] < 0 else "no detectable difference"


LESSON_TOPICS = {"pretrained": "pretrained embeddings", "backbones": "the two backbones",
                 "embeddings": "embedding selection",
                 "finetune": "fine-tuning", "pretraining": "pretrained weights",
                 "temporal": "temporal layers", "arousal": "arousal easier"}  # the comparisons table's lesson column


def finetune_rows(table: pd.DataFrame, target: str) -> list[tuple]:
    """``(backbone, fine-tuned, frozen, from scratch)`` rows of one target, for each backbone fine-tuned in this run
    (musicnn first); a missing frozen or from-scratch row is ``None``."""
    rows = table[(table["phase"] == 3) & (table["target"] == target)]
    if "setting" not in rows:
        return []
    found, settings = [], rows["setting"].fillna("")
    for name in ("musicnn", "cnn14"):
        def one(setting):
            match = rows[settings == setting]
            return match.iloc[0] if len(match) else None

        tuned = one(FINETUNE_SETTINGS[(name, "finetuned")])
        if tuned is not None:
            found.append((name, tuned, one(BACKBONE_SETTINGS[name]), one(FINETUNE_SETTINGS[(name, "scratch")])))
    return found


def _pairs(table: pd.DataFrame, best: dict) -> list[tuple]:
    """``(lesson, target, row A, row B)`` of every comparison behind the lessons, in the order the lessons cite them."""
    pairs = []
    for target in TARGETS:
        if (3, target) in best:
            pairs += [("pretrained", target, best[(3, target)], best[(p, target)]) for p in (1, 2) if (p, target) in best]
    for target in TARGETS:
        backbones = phase3_backbone_rows(table, target)
        if backbones is not None:
            pairs.append(("backbones", target, *backbones))
    for target in TARGETS:
        embeddings = phase3_embedding_rows(table, target)
        if embeddings is not None:
            pairs.append(("embeddings", target, *embeddings))
    for lesson, other in (("finetune", 2), ("pretraining", 3)):
        for target in TARGETS:
            pairs += [(lesson, target, rows[1], rows[other]) for rows in finetune_rows(table, target)
                      if rows[other] is not None]
    for target in TARGETS:
        rows = table[(table["phase"] == 2) & (table["target"] == target)].set_index("model", drop=False)
        if "EmotionCNN" in rows.index:
            pairs += [("temporal", target, rows.loc[m], rows.loc["EmotionCNN"]) for m in rows.index if m != "EmotionCNN"]
    for phase in sorted({p for p, _ in best}):
        if (phase, "arousal_mean") in best and (phase, "valence_mean") in best:
            pairs.append(("arousal", "both", best[(phase, "arousal_mean")], best[(phase, "valence_mean")]))
    return pairs


def lesson_comparisons(records: list[dict], table: pd.DataFrame, best: dict) -> pd.DataFrame:
    """Every paired comparison behind the lessons, numbered from 1, with its R² difference and reading.

    Columns: ``number``, ``lesson`` (a :data:`LESSON_TOPICS` key), ``target`` (``"valence"``,
    ``"arousal"`` or ``"both"``), ``phase`` (of model A), ``a``, ``b`` (labels), ``difference``, ``low``,
    ``high``, ``songs``, ``reading`` (:func:`reading`).  The lessons: the Phase 3 pick against
    each other phase's pick; the two Phase 3 backbones; musicnn's MTT network against its MSD one
    (embedding selection); each fine-tuned backbone against its
    frozen EmotionMLP and against the same network from random weights; each temporal CNN
    against the plain one; each phase's arousal pick against its valence pick, on the same songs.
    """
    rows = []
    for lesson, target, a, b in _pairs(table, best):
        diff = paired(records, a, b)
        both = target == "both"  # a row that sets one target's model against the other's names each target
        rows.append({"number": len(rows) + 1, "lesson": lesson, "target": "both" if both else short_name(target),
                     "phase": int(a["phase"]),
                     "a": f"{a['label']}, {short_name(a['target'])}" if both else a["label"],
                     "b": f"{b['label']}, {short_name(b['target'])}" if both else b["label"],
                     "difference": diff["difference"], "low": diff["low"], "high": diff["high"],
                     "songs": diff["songs"], "reading": reading(diff)})
    return pd.DataFrame(rows, columns=["number", "lesson", "target", "phase", "a", "b", "difference", "low", "high",
                                       "songs", "reading"])


def comparisons_table(comparisons: pd.DataFrame) -> pd.DataFrame:
    """:func:`lesson_comparisons` for the page: #, lesson, target, model A, model B, R² A − B [95% CI], songs, A is."""
    return pd.DataFrame({
        "#": comparisons["number"], "lesson": comparisons["lesson"].map(LESSON_TOPICS),
        "target": comparisons["target"], "model A": comparisons["a"], "model B": comparisons["b"],
        "R² A − B [95% CI]": [format_interval(d, (lo, hi), 3) for d, lo, hi
                              in zip(comparisons["difference"], comparisons["low"], comparisons["high"])],
        "songs": comparisons["songs"], "A is": comparisons["reading"]})


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
