"""Every sentence of the Phase 4 page, computed from its tables.

Used by: ``notebooks/phase4_dynamic.py``, and ``notebooks/data_corpus.py`` (:func:`dynamic_annotations_note`).

Pure functions from numbers and tables to Markdown; each verdict reads the paired comparisons of
:mod:`mer_utils.phase4.protocol` (a model is "better" only when the interval of the difference excludes zero),
and ``tests/test_phase4.py`` checks both sides of every wording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results.intervals import N_RESAMPLES, format_interval
from .curves import DIMENSIONS
from .experiment import CEILING, GRU, RIDGE_FEATURES, RIDGE_FRAMES, STATIC
from .protocol import FLAT

DRIFTING = "tempo, dynamics, brightness and rhythmic density"


def annotations_sentence(curves, synthetic: bool) -> str:
    """What the 2 Hz labels are on this corpus, how much of them is static, and (SynthDEAM) how they follow the cues."""
    summary = curves.summary().set_index("dimension")
    first, per_song = float(summary["first (s)"].min()), float(summary["frames per song"].mean())
    share = {d: float(summary.loc[d, "between-song share"]) for d in DIMENSIONS}
    text = (f"**{int(summary['songs'].iloc[0])} songs** carry 2 Hz curves, from {first:g} s on, "
            f"{per_song:.0f} labelled half seconds per song on average, on the -1..1 scale. "
            f"Between the song means lies {share['valence']:.0%} of the variance of the valence labels and "
            f"{share['arousal']:.0%} of the arousal labels': the most a curve held constant at the right level could "
            "explain. The rest is movement within songs, which only a model that follows the music over time can "
            "capture.")
    if synthetic:
        text += (f" SynthDEAM's curves start at {first:g} s (DEAM's at 15 s, after the raters' unsteady first "
                 f"seconds), so a short clip is labelled over most of its length. At each half second the song's "
                 f"latent valence and arousal are its cue weights applied to the cues *at that moment*: {DRIFTING} "
                 "drift linearly over the clip, in the audio and in the labels alike, and the song keeps its own "
                 "unexplained offset. Ten simulated raters each add a level of their own and a slow wandering "
                 "around it (from one half second to the next it keeps 90% of its value); the curve is their mean, "
                 "the band their spread. The "
                 "generator also records the noise-free curve, the expected mean rating given the cues at each "
                 "moment: the **ceiling** row of the tables, what a model that read every cue exactly would score.")
    elif not curves.has_spread:
        text += (" This tree holds no per-frame spread of the raters (a file named valence_std.csv or "
                 "valence_cont_std.csv beside the curves), so the figures draw the mean curve without a band.")
    return text


def frames_sentence(inputs, backbone) -> str:
    """Where the frame embeddings came from: Phase 3's cache, the backbone, what was computed on this page."""
    embedded, frames = inputs.embedded, inputs.frames
    reused = embedded.reused_songs
    text = (f"The sequence model and the second Ridge read **{backbone.label}** frame embeddings: the Phase 3 "
            f"embedding pass keeps six per 3-second segment (a hop of {frames.hop:.3f} s, "
            f"{frames.dim} numbers each) from the same forward computation as the song embedding, so no clip is "
            f"embedded twice. {reused} of {len(embedded.song_ids) + len(embedded.skipped)} songs came from that "
            "cache")
    text += (f"; {embedded.computed_audio_seconds / 60:.1f} min of audio was embedded here."
             if embedded.computed_audio_seconds else ".")
    if backbone.is_random:
        text += (" **The backbone has random weights**: its frames are random projections of the spectrogram, a "
                 "baseline, not the pretrained representation.")
    if inputs.skipped:
        text += f" {len(inputs.skipped)} songs could not be decoded or were too short and are left out."
    return text


RANKING_SONGS = 100  # test songs a ranking of models needs (design.md: the default test set has at least 100)


def setting_sentence(run) -> str:
    """Which songs train, select and test, and how many test frames every model is scored on."""
    parts = run.setting.parts
    scored = run.scores[run.scores["model"] == run.labels[GRU]]
    frames = int(scored.groupby("song_id")["frames"].first().sum())
    tested = scored["song_id"].nunique()
    text = (f"Setting: {run.setting.description}. {len(parts['train'])} training songs, {len(parts['validation'])} "
            f"validation songs (settings and epochs are chosen on them) and **{tested} test "
            f"songs** with {frames:,} labelled half seconds, the frames every model below is scored on.")
    if tested < RANKING_SONGS:
        text += (f" **{tested} test songs cannot rank models**: the intervals below span most of the scale, so this "
                 f"page shows the pipeline running on real curves, not which model follows them best (the book asks "
                 f"for at least {RANKING_SONGS} test songs before ranking).")
    return text


def summary_caption(run, cross_validated: bool) -> str:
    """The caption of the page's table of every model."""
    unit = "whole groups (series or films)" if cross_validated else "songs"
    tested = "each predicted once, out of fold" if cross_validated else "test songs"
    return (f"Every model on the same {run.summary['songs'].max()} songs ({tested}) and frames: mean per-song RMSE "
            f"(-1..1 scale) and Pearson r [95% bootstrap interval over {unit}]")


def comparisons_caption(cross_validated: bool) -> str:
    songs, unit = ("songs, each predicted once out of fold", "whole groups") if cross_validated else ("test songs",
                                                                                                       "songs")
    return (f"Paired comparisons on the same {songs}: model A minus model B, mean over songs [95% paired bootstrap "
            f"interval over {unit}]")


def static_sentence(run, scale_map: dict | None) -> str:
    """What the constant baseline is, and how its static prediction reaches the -1..1 scale."""
    static = run.static
    if "picks" in static:
        picks = static["picks"]
        text = ("The constant baseline holds, over each test song, the prediction of the book's best static model "
                "for that dimension, picked on validation R² in the conclusions: "
                + "; ".join(f"{d}: {picks[d]}" for d in DIMENSIONS) + ".")
    else:
        text = (f"The constant baseline is refit in this setting: a Ridge regression (penalty {static['alpha']:g}, "
                "chosen on the validation songs) from a song's mean frame embedding to the mean of its curve.")
        if static.get("static_labels_crossed"):
            text += (" It stands in for the book's static models because this tree's static labels and 2 Hz curves "
                     "name crossed dimensions (above): a static model of one dimension would be held against the "
                     "other dimension's curve.")
    if scale_map:
        text += (" A line fit on the training songs carries a static prediction (1..9) to the curves' scale: "
                 + "; ".join(f"{d} → {scale_map[d][0]:.3f} × prediction {scale_map[d][1]:+.3f}" for d in DIMENSIONS)
                 + ".")
    return text


def models_sentence(run) -> str:
    """The fitted settings of the Ridge regressions and the GRU."""
    ridges, gru = run.ridges, run.gru.settings
    return (f"Ridge penalties chosen on the validation songs: {ridges[RIDGE_FEATURES].alpha:g} on the Phase 1 "
            f"features, {ridges[RIDGE_FRAMES].alpha:g} on the frame embeddings. The BiGRU trained on "
            f"{gru['train_frames']:,} frames of {gru['train_songs']} songs, batches of {gru['batch_size']}, Adam "
            f"(learning rate {gru['lr']:g}); the validation loss was lowest at epoch **{gru['best_epoch']}** of "
            f"{gru['epochs_run']} run (at most {gru['epochs']}, patience {gru['patience']}), whose weights are kept.")


def _row(run, model: str, dimension: str) -> pd.Series:
    table = run.summary
    return table[(table["model"] == run.labels[model]) & (table["dimension"] == dimension)].iloc[0]


def _comparison(run, a: str, b: str, dimension: str, metric: str):
    table = run.comparisons
    if not len(table):
        return None
    hit = table[(table["a"] == run.labels[a]) & (table["b"] == run.labels[b]) & (table["dimension"] == dimension)
                & (table["metric"] == metric)]
    return hit.iloc[0] if len(hit) else None


METRIC_WORDS = {"rmse": ("RMSE", "lower", "higher"), "r": ("r", "higher", "lower")}


def claim(row, subject: str, other: str, context: str = "") -> str:
    """One sentence from a numbered comparison (A = ``subject``, B = ``other``, both as mid-sentence noun phrases;
    ``context`` an opening phrase): which is better on its metric, or no detectable difference, with A − B and its
    interval."""
    if row is None:
        return ""
    name, good, bad = METRIC_WORDS[row["metric"]]
    figures = f"(#{int(row['number'])}: A − B {format_interval(row['difference'], (row['low'], row['high']), 3)})"
    if row["reading"] == "better":
        text = f"{subject} has a {good} {name} than {other} {figures}."
    elif row["reading"] == "worse":
        text = f"{subject} has a {bad} {name} than {other} {figures}."
    else:
        text = f"no detectable difference in {name} between {subject} and {other} {figures}."
    text = f"{context}, {text}" if context else text
    return text[0].upper() + text[1:]


def findings(run) -> str:
    """The page's findings, one dimension at a time, one claim per sentence, each citing its numbered comparison."""
    lines = []
    for d in DIMENSIONS:
        gru, static = _row(run, GRU, d), _row(run, STATIC, d)
        sentences = [
            f"The BiGRU's mean per-song RMSE is {format_interval(gru['rmse'], (gru['rmse_low'], gru['rmse_high']), 3)}, "
            f"the constant's {format_interval(static['rmse'], (static['rmse_low'], static['rmse_high']), 3)}.",
            claim(_comparison(run, GRU, STATIC, d, "rmse"), "the BiGRU", "the constant"),
            f"The BiGRU's mean per-song r is {format_interval(gru['r'], (gru['r_low'], gru['r_high']), 2)}, the "
            "constant's 0 by construction.",
            claim(_comparison(run, GRU, STATIC, d, "r"), "the BiGRU", "the constant"),
            claim(_comparison(run, GRU, RIDGE_FRAMES, d, "rmse"), "the BiGRU", "the per-frame Ridge",
                  "on the same frame embeddings"),
            claim(_comparison(run, GRU, RIDGE_FRAMES, d, "r"), "the BiGRU", "the per-frame Ridge",
                  "on the same frame embeddings"),
            claim(_comparison(run, RIDGE_FRAMES, RIDGE_FEATURES, d, "rmse"), "the Ridge on frame embeddings",
                  "the Ridge on Phase 1 features", "per frame"),
        ]
        if CEILING in run.labels and (run.summary["model"] == run.labels[CEILING]).any():
            ceiling = _row(run, CEILING, d)
            sentences.append(f"The generating function's own curves score RMSE {ceiling['rmse']:.3f} and r "
                             f"{ceiling['r']:.2f} on the same frames: the gap to them is what the models leave.")
        lines.append(f"- **{d.capitalize()}.** " + " ".join(s for s in sentences if s))
    return "\n".join(lines)


def protocol_note(run) -> str:
    """How the table is computed, including what happens to flat curves on this run's test songs."""
    flat_truth = int(run.scores.loc[run.scores["model"] == run.labels[GRU], "flat_truth"].sum())
    return (
        "MediaEval 2015's protocol: for each test song, the RMSE and Pearson's r between the predicted and the "
        "annotated curve (both on -1..1; every prediction is clipped to that range) over the labelled half seconds "
        "every model predicts; then the mean over "
        f"songs, with a 95% bootstrap interval over the songs ({N_RESAMPLES} resamples). Where r is undefined "
        f"because a curve does not move (its range below {FLAT:g}): a song whose annotated curve is flat is left "
        f"out of every model's r (here {flat_truth} song-dimension pair{'s' if flat_truth != 1 else ''}), and a "
        "prediction that does not move gets r 0, so the constant baseline's r is 0 on every song. Paired "
        "comparisons resample the same songs for both models; a model is called better only when the interval of "
        "the difference excludes zero.")


def anchors_note(anchors: pd.DataFrame) -> str:
    """What the published anchors are and why they are not this table's figures."""
    from ..results.anchors import DYNAMIC_PROTOCOL_CAVEAT

    return (f"{DYNAMIC_PROTOCOL_CAVEAT} The ± beside a published mean is the standard deviation over songs the paper "
            f"prints, not an interval. A dash: not published.")


def anchors_table(anchors: pd.DataFrame) -> pd.DataFrame:
    """The anchors as the page shows them: source, dimension, RMSE and r with the papers' spread."""
    def cell(value, spread, digits):
        if not np.isfinite(value):
            return "–"
        return f"{value:.{digits}f}" + (f" ± {spread:.{digits}f}" if np.isfinite(spread) else "")

    return pd.DataFrame({"source": anchors["source"], "dimension": anchors["dimension"],
                         "RMSE (-1..1)": [cell(v, s, 3) for v, s in zip(anchors["rmse"], anchors["rmse_spread"])],
                         "r": [cell(v, s, 2) for v, s in zip(anchors["r"], anchors["r_spread"])],
                         "protocol": anchors["protocol"]})


def timing_sentence(inputs, run) -> str:
    """What this page cost, step by step, and the sequence model's training throughput."""
    history = run.gru.history
    best = history["frames_per_s"].median()
    return (f"On this page: frame embeddings read in {inputs.seconds['frames']:.1f} s, Phase 1 descriptors in "
            f"{inputs.seconds['descriptors']:.1f} s, both Ridge regressions fit in {run.seconds['ridge']:.1f} s and "
            f"the BiGRU trained in {run.seconds['gru']:.1f} s ({best:,.0f} training frames per second on one thread, "
            "the median over epochs; validation excluded).")


def mediaeval_absent_sentence(data: str, subset: str) -> str:
    """Why the MediaEval 2015 setting did not run on this build, and what runs it."""
    if data not in ("deam", "synth"):
        return "MediaEval 2015's own setting is DEAM's (its 2015 test songs); it does not apply to this corpus."
    if data == "deam" and subset == "all":
        return ("The MediaEval 2015 setting needs both the 2013-14 excerpts and the 2015 songs with curves and "
                "frames; this tree lacks one side.")
    return ("MediaEval 2015's own setting (train on the 2013-14 excerpts, test on the 58 full-length 2015 songs) runs "
            "with `make book DATA=deam DEAM_DIR=<dir> SUBSET=all`; this build "
            + ("is SynthDEAM, which has no 2015 songs." if data == "synth" else f"uses the subset {subset}."))


def saved_model_sentence(path, backbone) -> str:
    """Where the sequence model went and what it needs to predict a new recording."""
    weights = ("its seeded random weights" if backbone.is_random else "the same weights file, checked by its sha256")
    return (f"Saved to `{path}`: the BiGRU, its scalers and its backbone ({backbone.label}, {weights}). "
            "`mer_utils.phase4.bundle.predict_file_curve` returns the 2 Hz curve of any audio file with it: "
            "one row per half second (`time_s`, the end of the frame), valence and arousal on -1..1.")


def dynamic_annotations_note(present: bool, corpus) -> str:
    """The data page's sentence on the 2 Hz annotations: what they feed, or why Phase 4 is not built."""
    if present:
        from .agreement import dimension_check

        agreement = dimension_check(corpus)
        return ("Phase 4 predicts these curves every half second; the drawing shows the first songs of the corpus."
                + (f"\n\n{agreement.sentence()}" if agreement is not None else ""))
    if corpus.kind == "Soundtracks":
        return "The Soundtracks excerpts have no 2 Hz annotations, so this book has no Phase 4 (emotion over time)."
    from .curves import HOW_TO_GET_DYNAMIC

    return (f"No 2 Hz annotations in this tree, so this build has no Phase 4 (emotion over time): "
            f"{HOW_TO_GET_DYNAMIC}.")
