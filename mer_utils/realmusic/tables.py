"""Tables of the Real music chapter: macro F1 per setting and task, paired differences, transfer AUCs.

Used by: ``notebooks/real_music.py``.  Each figure is shown with its 95%
interval in one cell (``0.52 [0.47, 0.57]``, :func:`mer_utils.results.intervals.format_interval`),
tables narrow enough for the book's content column.
"""

from __future__ import annotations

import pandas as pd

from ..results.intervals import format_interval
from .crossval import MODEL_LABELS, TASK_LABELS


def _cell(frame: pd.DataFrame, value: str) -> list[str]:
    return [format_interval(v, (lo, hi), digits=3) for v, lo, hi in zip(frame[value], frame["low"], frame["high"])]


def score_grid(scores: pd.DataFrame) -> pd.DataFrame:
    """Macro F1 [interval] with one row per representation and model and one column per task."""
    shown = scores.assign(cell=_cell(scores, "f1"), model=scores["model"].map(MODEL_LABELS),
                          task=scores["task"].map(TASK_LABELS))
    grid = shown.pivot(index=["representation", "model"], columns="task", values="cell")
    grid = grid.reindex([t for t in TASK_LABELS.values() if t in grid.columns], axis=1)
    rows = list(dict.fromkeys(zip(shown["representation"], shown["model"])))  # the order of score_table
    grid = grid.reindex(pd.MultiIndex.from_tuples(rows, names=["representation", "model"]))
    grid.columns.name = None
    return grid.reset_index()


def styled_scores(scores: pd.DataFrame, caption: str = ""):
    """:func:`score_grid` styled for the page; the caption adds the largest spread over repeats."""
    spread = float(scores["sd_repeats"].max())
    note = (f"Spread of macro F1 over the {int(scores['repeats'].iloc[0])} repeats (fold assignment alone): at most "
            f"{spread:.3f}.")
    return score_grid(scores).style.hide(axis="index").set_caption(f"{caption} {note}".strip())


def styled_differences(diffs: pd.DataFrame, caption: str = ""):
    """Paired differences, one row each: task, A, B, what was held fixed, A − B [interval] and the verdict."""
    shown = pd.DataFrame({
        "task": diffs["task"].map(TASK_LABELS),
        "A": diffs["a"],
        "B": diffs["b"],
        "same": diffs["held fixed"],
        "A − B [95% CI]": _cell(diffs, "difference"),
        "better": diffs["better"].replace("", "undecided"),
    })
    return shown.style.hide(axis="index").set_caption(caption)


def transfer_view(table: pd.DataFrame, caption: str = ""):
    """A transfer table for the page: the AUC table (ROC AUC [interval]) or any other, styled; a note when empty."""
    from IPython.display import Markdown

    if table.empty:
        return Markdown("*Nothing to show here: no model of the book was found (see the note below).*")
    if "auc" not in table.columns:
        return table.style.format(precision=2).hide(axis="index").set_caption(caption)
    shown = pd.DataFrame({"model": table["model"], "trained on": table["trained_on"], "question": table["question"],
                          "ROC AUC [95% CI]": _cell(table, "auc"), "songs": table["songs"],
                          "positives": table["positives"]})
    return shown.style.hide(axis="index").set_caption(caption)


def transfer_differences_view(diffs: pd.DataFrame, caption: str = ""):
    """Paired AUC differences of one kind of model trained on two corpora: A − B [interval] and which is better."""
    from IPython.display import Markdown

    if diffs.empty:
        return Markdown("*No pair to compare: the models of only one corpus were scored on this run.*")
    shown = pd.DataFrame({"model": diffs["model"], "question": diffs["question"], "A: trained on": diffs["a"],
                          "B: trained on": diffs["b"], "AUC A − B [95% CI]": _cell(diffs, "difference"),
                          "songs": diffs["songs"], "better": diffs["better"].replace("", "undecided")})
    return shown.style.hide(axis="index").set_caption(caption)
