"""The book's result tables: this run beside the report, the ceiling, readable labels, and the data banner.

Used by: every results notebook (``notebooks/phase1_models.py``,
``notebooks/phase2_train.py``, ``notebooks/phase2_summary.py``,
``notebooks/phase3_panns.py``, ``notebooks/conclusions.py``) and, for the
banner, every page through :func:`mer_utils.page.start_page`.

:func:`comparison_table` is the one call that makes a results table: the
records flattened, the report's figures beside this run's, SynthDEAM's ceiling
and the distance to it, and the columns a page shows.
"""

from __future__ import annotations

import html

import pandas as pd

from ..corpus.base import short_name
from .metrics import METRICS
from .published import report_figure
from .records import flatten_records

SCORE_COLUMNS = ["validation_r2", "validation_rmse", "validation_mae", "test_r2", "test_rmse", "test_mae"]
INTERVAL_COLUMNS = [f"test_{m}_{end}" for m in ("r2", "rmse", "mae") for end in ("low", "high")]
REPORT_COLUMNS = ["report_r2", "report_rmse", "report_mae"]
CEILING_COLUMNS = ["ceiling_r2", "below_ceiling"]
REFERENCE_COLUMNS = ["model_r", "human_r"]
FIGURE_COLUMNS = (SCORE_COLUMNS + REPORT_COLUMNS + CEILING_COLUMNS + REFERENCE_COLUMNS
                  + ["cv_r2", "cv_r2_mean", "cv_r2_sd", "validation_gap"])


def comparison_table(rows, corpus, phase: int, key: str = "model", columns=None, split=None) -> pd.DataFrame:
    """This run's scores beside the report's figures and, on SynthDEAM, the ceiling, in one call.

    ``rows`` is a list of result records or an already flat DataFrame; ``key``
    names the column matched against the report's figures (the model or the
    feature-set name); ``columns`` picks the leading columns to keep (the
    score, interval, report and ceiling columns follow).  ``None`` keeps every
    column.  With ``split``, the ceiling is computed on its test songs.  On a
    corpus with a second listener panel (Soundtracks), records also get the
    human reference (:func:`add_human_reference`) instead of a ceiling.
    """
    table = flatten_records(rows) if isinstance(rows, list) else rows
    table = add_ceiling(with_report_figures(table, phase=phase, key=key), corpus, split)
    if isinstance(rows, list):
        table = add_human_reference(table, rows, corpus)
    if columns is None:
        return table
    extra = SCORE_COLUMNS + INTERVAL_COLUMNS + REPORT_COLUMNS + CEILING_COLUMNS + REFERENCE_COLUMNS + ["cross_validated"]
    shown = [c for c in columns if c in table] + [c for c in extra if c in table and c not in columns]
    return table[shown]


def add_human_reference(table: pd.DataFrame, records: list[dict], corpus) -> pd.DataFrame:
    """Where the corpus has a second panel: each model's Pearson r with the first panel beside the second panel's.

    Both on the same linked songs (those the record predicted): the human
    reference, how far two listener panels agree, is not a ceiling, but a model
    that agrees with the first panel as well as the second panel does has
    reached human agreement on those excerpts.
    """
    from ..corpus.base import agreement_beside_panel
    from .records import test_predictions

    if getattr(corpus, "reference", None) is None:
        return table
    table = table.copy()
    found = [agreement_beside_panel(corpus.reference, test_predictions(r), r["target"]) for r in records]
    table["model_r"] = [f["model_r"] for f in found]
    table["human_r"] = [f["human_r"] for f in found]
    return table


def with_report_figures(table: pd.DataFrame, phase: int, key: str = "model") -> pd.DataFrame:
    """Add ``report_r2`` / ``report_rmse`` / ``report_mae`` beside this run's columns.

    ``table`` needs ``target`` and the column named by ``key`` (the model or
    feature-set name used in :data:`~mer_utils.results.published.REPORT_FIGURES`).
    """
    table = table.copy()
    for metric in METRICS:
        table[f"report_{metric}"] = [report_figure(phase, k, t, metric) for k, t in zip(table[key], table["target"])]
    return table


def add_ceiling(table: pd.DataFrame, corpus, split=None, r2_column: str = "test_r2") -> pd.DataFrame:
    """On SynthDEAM, add the ceiling (the generating function's R² on the test songs) and each row's distance from it.

    With ``split`` the ceiling is computed on its test songs, the songs every
    test figure is computed on; without it (or on a corpus generated before the
    expected labels were recorded), the corpus-wide expected ceiling.
    """
    if not corpus.is_synthetic:
        return table
    table = table.copy()
    test_ids = None if split is None else split.loc[split["part"] == "test", "song_id"]
    if test_ids is not None and corpus.expected is not None:
        table["ceiling_r2"] = [corpus.ceiling(t, test_ids) for t in table["target"]]
    else:
        table["ceiling_r2"] = [corpus.noise_ceiling(t) for t in table["target"]]
    table["below_ceiling"] = table["ceiling_r2"] - table[r2_column]
    return table


COLUMN_LABELS = {
    "target": "target",
    "validation_r2": "val R²",
    "validation_rmse": "val RMSE",
    "validation_mae": "val MAE",
    "test_r2": "test R² [95% CI]",
    "test_rmse": "test RMSE [95% CI]",
    "test_mae": "test MAE [95% CI]",
    "report_r2": "report R²",
    "report_rmse": "report RMSE",
    "report_mae": "report MAE",
    "ceiling_r2": "ceiling R²",
    "below_ceiling": "ceiling − test R²",
    "cv_r2": "grid-search CV R²",
    "cv_r2_mean": "CV R² (mean)",
    "cv_r2_sd": "CV R² (sd)",
    "model_r": "model r (linked)",
    "human_r": "panel 2 r (linked)",
    "validation_gap": "val − test R²",
}
TABLE_NOTE = ("RMSE and MAE on the 1..9 rating scale. Intervals: 95% bootstrap over the test songs "
              "({n} resamples). Ceiling: the R² of SynthDEAM's generating function on the same test songs, "
              "an expected upper bound, not a hard one; chunk-level rows are set beside this song-level ceiling.")
CROSS_VALIDATED_NOTE = ("Test: the pooled out-of-fold predictions of {k}-fold cross-validation grouped by film (by "
                        "series on VGMIDI): every item predicted once, by a model that never saw its film or series; "
                        "val: the mean over the folds of each fold's validation part. RMSE and MAE on the corpus's scale "
                        "(Soundtracks: the authors' 1..9; VGMIDI: -1..1). Intervals: 95% bootstrap over films (series on "
                        "VGMIDI; {n} resamples). Linked (Soundtracks): Pearson r with the first panel on the excerpts "
                        "the second panel re-rated, beside the second panel's own r there (a human reference, not a "
                        "ceiling).")


def style_table(table: pd.DataFrame, caption: str = "", details: bool = False):
    """A result table for the page: test figures with their intervals, labelled columns, one caption.

    Each test metric is shown with its 95% bootstrap interval in one cell
    (``0.41 [0.28, 0.52]``) when the table has the interval columns.  The main
    view keeps R² for validation and the report; ``details=True`` shows the
    validation and report RMSE and MAE instead of the test columns, so that
    neither table runs off the page.
    """
    from .intervals import N_RESAMPLES, format_interval

    shown = table.copy()
    for metric in ("r2", "rmse", "mae"):
        low, high = f"test_{metric}_low", f"test_{metric}_high"
        if low in shown and f"test_{metric}" in shown:
            shown[f"test_{metric}"] = [format_interval(v, (lo, hi)) for v, lo, hi in
                                       zip(shown[f"test_{metric}"], shown[low], shown[high])]
        shown = shown.drop(columns=[c for c in (low, high) if c in shown])
    hidden = (["test_r2", "test_rmse", "test_mae", "below_ceiling", "ceiling_r2"] if details
              else ["validation_rmse", "validation_mae", "report_rmse", "report_mae"])
    shown = shown.drop(columns=[c for c in [*hidden, "cross_validated"] if c in shown])
    if "target" in shown:
        shown["target"] = shown["target"].map(short_name)
    counts = {COLUMN_LABELS.get(c, c): "{:.0f}" for c in shown if c not in FIGURE_COLUMNS
              and pd.api.types.is_numeric_dtype(shown[c]) and (shown[c].dropna() % 1 == 0).all()}
    styled = (shown.rename(columns=COLUMN_LABELS).style.format(precision=3, na_rep="–")
              .format(counts, na_rep="–", subset=list(counts)).hide(axis="index"))  # epochs, songs: whole numbers
    words = [c for c in shown if not str(c).startswith("test_") and not pd.api.types.is_numeric_dtype(shown[c])]
    styled = words_left(styled, [COLUMN_LABELS.get(c, c) for c in words])
    folds = table["cross_validated"].dropna() if "cross_validated" in table else pd.Series(dtype=float)
    note = (CROSS_VALIDATED_NOTE.format(k=int(folds.iloc[0]), n=N_RESAMPLES) if len(folds)
            else TABLE_NOTE.format(n=N_RESAMPLES))
    note = note if not details else "RMSE and MAE on the 1..9 rating scale."
    caption = caption.strip()
    if caption and caption[-1] not in ".:;!?":
        caption += "."
    return styled.set_caption(f"{caption} {note}".strip())


def words_left(styled, columns):
    """Left-align the text columns of a Styler: the book's CSS right-aligns figures (book/_static/custom.css)."""
    return styled.set_table_styles({c: [{"selector": "", "props": "text-align: left"}] for c in columns},
                                   overwrite=False)


def style_plain(table: pd.DataFrame, caption: str = ""):
    """A table that is not a result table (comparisons, counts): 3 decimals, no index, words read from the left."""
    words = [c for c in table if not pd.api.types.is_numeric_dtype(table[c])]
    return words_left(table.style.format(precision=3, na_rep="–").hide(axis="index"), words).set_caption(caption)


def data_banner(corpus, extra: str = ""):
    """An HTML note saying which data produced the page; a warning on SynthDEAM."""
    from IPython.display import HTML

    if corpus.is_synthetic:
        ceiling = corpus.synthetic["noise_ceiling_r2"]
        body = (
            f"These results come from <b>SynthDEAM</b>, a synthetic corpus of {len(corpus.songs)} generated songs "
            f"(seed {corpus.synthetic.get('seed')}). They test the pipeline and say nothing about real music. "
            f"The R² of the function that generated the labels, over all its songs (the expected ceiling), is "
            f"{ceiling['valence_mean']:.3f} for valence and {ceiling['arousal_mean']:.3f} for arousal; tables set "
            "beside each figure its value on the same songs. Run <code>make book DATA=deam DEAM_DIR=&lt;dir&gt;</code> for real results."
        )
        kind, title = "warning", "Synthetic data"
    elif corpus.kind == "Soundtracks":
        body = (
            f"Real music: <b>Soundtracks</b> (film excerpts, one listener panel), {len(corpus.songs)} excerpts of "
            f"{corpus.groups.nunique()} films at <code>{html.escape(str(corpus.root))}</code>"
            + (f"; {len(corpus.missing_audio)} rated excerpts without audio skipped" if corpus.missing_audio else "")
            + ". Arousal is the dataset's <i>energy</i>; ratings are means on the authors' 1..9 scale. Figures come "
            "from film-grouped cross-validation; the report's figures beside them are DEAM validation figures."
        )
        kind, title = "note", "Real music"
    elif corpus.kind == "VGMIDI":
        body = (
            f"Real listeners: <b>VGMIDI</b> (piano arrangements of video game music, about 30 listeners' curves a "
            f"piece), {len(corpus.songs)} pieces of {corpus.groups.nunique()} series or games at "
            f"<code>{html.escape(str(corpus.root))}</code>, rendered from MIDI as piano. Labels are on the listeners' "
            "-1..1 scale (a piece's label is its mean over time and listeners). Figures come from cross-validation "
            "grouped by series (and by game within <i>Other</i>); the report's figures beside them are DEAM "
            "validation figures."
        )
        kind, title = "note", "Real listeners"
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


def label_summary(labels: pd.DataFrame) -> pd.DataFrame:
    """Count, mean, spread, quartiles and skewness of the song-level labels (1..9 scale), one row per column.

    The rated dimensions the corpus has (Soundtracks adds tension) and, where it has them, the raters' spreads.
    """
    from scipy import stats

    columns = [c for c in ("valence_mean", "arousal_mean", "tension_mean", "valence_std", "arousal_std") if c in labels]
    summary = labels[columns].describe().T
    summary["skewness"] = [stats.skew(labels[c]) for c in summary.index]
    return summary


RANDOM_PHASE3_WARNING = (
    '<div class="admonition warning"><p class="admonition-title">Phase 3 used a random CNN14</p><p>The CNN14 '
    "results of Phase 3 in this build come from a CNN14 with <b>random weights</b>, not from the pretrained PANNs "
    "checkpoint. They are a random-feature baseline: no statement about pretrained embeddings can be checked with "
    "them (musicnn's rows, where they appear, are pretrained).</p></div>"
)
