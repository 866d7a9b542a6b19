"""Every sentence the book computes from numbers, for the pages of the corpus and of Phases 1 to 3.

Used by: ``notebooks/data_corpus.py``, ``notebooks/phase1_eda.py``,
``notebooks/phase1_features.py``, ``notebooks/phase1_models.py``,
``notebooks/phase2_train.py``, ``notebooks/phase2_summary.py`` and
``notebooks/phase3_panns.py``; the conclusions' lessons are in
:mod:`mer_utils.results.lessons`.

Pure functions from tables and numbers to Markdown.  Every threshold that
decides a verdict is a named constant here, and tested on both sides
(``tests/test_narrative.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, id_list, short_name

SYMMETRIC_SKEW = 0.2  # |skewness| below it: "close to symmetric"
CLEAR_GRADIENT_R = 0.6  # neighbour agreement at or above it: a clear gradient
PARTIAL_GRADIENT_R = 0.3  # ... a partial gradient
FAINT_TREND_R = 0.1  # ... at most a faint trend; below it: no visible order
CLEAR_AGREEMENT_GAP = 0.1  # arousal ordered better than valence by more than this: "the same difference"
SHAPE_CAVEAT = (
    "A skewed target matters for evaluation: a model can score a reasonable R² while "
    "systematically under-predicting the rarer end of the scale, which is why every table in "
    "this book reports RMSE and MAE (on the 1..9 scale) next to R²."
)


# --------------------------------------------------------------------------- the corpus


def corpus_findings(corpus) -> str:
    """The bullet list of what the loader found: songs kept and songs skipped, with ids."""

    def ids(values) -> str:
        return f" (ids {id_list(values, limit=30)})." if values else "."

    return "\n".join(
        [
            f"- Corpus: **{'SynthDEAM' if corpus.is_synthetic else corpus.kind}** at `{corpus.root}`, subset `{corpus.subset}`.",
            f"- Songs with labels and an audio file: **{len(corpus.songs)}**"
            + (f", from **{corpus.groups.nunique()}** {corpus.group_column}s." if corpus.group_column else "."),
            f"- Annotated songs without audio (skipped): **{len(corpus.missing_audio)}**" + ids(corpus.missing_audio),
            f"- Audio files without labels (skipped): **{len(corpus.unlabelled_audio)}**"
            + ids(corpus.unlabelled_audio),
            "- Audio that exists but cannot be decoded is found when features are extracted; each "
            "phase lists those songs on its own pages.",
            *[f"- {note}" for note in corpus.notes],
        ]
    )


def noise_ceiling_sentence(corpus) -> str:
    """The corpus page's sentence on the expected ceiling (SynthDEAM), the human reference (a second panel) or neither."""
    if corpus.reference is not None:
        from ..corpus.base import human_reference

        agree = human_reference(corpus.reference)
        figures = ", ".join(f"{corpus.target_label(t)} **{row.pearson_r:.2f}**" for t, row in agree.iterrows())
        return (f"Real music: no label function is known, so there is no ceiling. A second listener panel re-rated "
                f"{int(agree['excerpts'].iloc[0])} excerpts (checked links); its means correlate with the first "
                f"panel's at Pearson r {figures}. That is a human reference, how far two panels of listeners agree, "
                "not a ceiling: every results table sets a model's r with the first panel beside it, on the same "
                "excerpts.")
    if not corpus.is_synthetic:
        return f"Real {corpus.kind}: labels come from human raters; no ceiling is known."
    ceiling = corpus.synthetic["noise_ceiling_r2"]
    return (
        f"Expected ceiling on this corpus: R² **{ceiling['valence_mean']:.3f}** for valence and "
        f"**{ceiling['arousal_mean']:.3f}** for arousal, the R² of the generating function on all "
        f"{len(corpus.songs)} songs. It is an expected upper bound, not a hard one: on a few dozen songs it moves "
        "by several hundredths, so every table sets beside its figures the ceiling on the same songs."
    )


# --------------------------------------------------------------------------- Phase 1


def va_correlation_sentence(labels: pd.DataFrame) -> str:
    """Pearson's r between mean valence and mean arousal, beside the value in DEAM's own annotation file."""
    from scipy import stats

    from .published import DEAM_VA_CORRELATION

    r, p = stats.pearsonr(labels["valence_mean"], labels["arousal_mean"])
    return (
        f"On this data Pearson's r between mean valence and mean arousal is **{r:.2f}** "
        f"(p = {p:.1g}, {len(labels)} songs). In DEAM's own static annotations (the 1,744 songs of its 1_2000 file) "
        f"it is about {DEAM_VA_CORRELATION:.2f}, computed from that file; the report calls it a moderate positive "
        "correlation without a figure."
    )


def protocol_note(phase: int) -> str:
    """The caveat lines where the report's protocol differs from the book's, for a phase's pages."""
    from .published import protocol_caveats

    return "**Comparing with the report.** " + " ".join(protocol_caveats(phase))


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
    from .intervals import format_interval
    from .published import report_figure

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


# --------------------------------------------------------------------------- Phase 2


def phase2_run_sentence(model_name: str, target: str, settings: dict, seed: int) -> str:
    """Which model and target this page trains, with its schedule."""
    from ..phase2.models import LABELS

    return (
        f"**This run:** `{model_name}` ({LABELS[model_name]}) predicting **{short_name(target)}**; "
        f"at most {settings['epochs']} epochs, patience {settings['patience']}, batch size {settings['batch_size']}, "
        f"Adam learning rate {settings['lr']:g}, seed {seed}."
    )


def chunk_cache_note(cache) -> str:
    """What the log-mel chunk cache holds, whether it was reused, and which clips were skipped."""
    text = (
        f"{cache.describe()}. Cache {'reused' if cache.reused else 'built'}: `{cache.folder}`; build time "
        f"{cache.build_seconds:.1f} s for {cache.audio_seconds / 60:.1f} min of audio. "
    )
    if not len(cache.skipped):
        return text + "No clip was skipped: every song decoded and gave at least one chunk."
    return text + (
        f"{len(cache.corrupt_ids)} corrupt clip(s) skipped: {cache.corrupt_ids}; "
        f"{len(cache.too_short_ids)} clip(s) shorter than 3 s skipped: {cache.too_short_ids}."
    )


def best_epoch_note(history: pd.DataFrame) -> str:
    """``best epoch 4 of 7 run (stopped early)``."""
    attrs = history.attrs
    return f"Best epoch {attrs['best_epoch']} of {attrs['epochs_run']} run" + (
        " (stopped early)." if attrs["stopped_early"] else "."
    )


def phase2_runs_found(songs: pd.DataFrame, results_dir) -> str:
    """How many of the eight model/target runs have saved results, and which are missing."""
    from ..phase2.models import PHASE2_MODELS

    missing = [
        (m, t) for m in PHASE2_MODELS for t in TARGETS if not ((songs["model"] == m) & (songs["target"] == t)).any()
    ]
    return f"{len(songs)} of {len(PHASE2_MODELS) * len(TARGETS)} model/target runs found in `{results_dir}/metrics`" + (
        f"; missing: {missing}." if missing else "."
    )


# --------------------------------------------------------------------------- Phase 3


BACKBONE_METHODS = {
    "cnn14": (
        "**CNN14** (PANNs; Kong et al. 2020, trained to tag AudioSet's 527 sound classes) reads mono audio at "
        "32 kHz in 3-second segments. Its vector is the 2048-dimensional output the `panns-inference` package "
        "names `embedding`: the last convolution block's maps, averaged over frequency, max- plus mean-pooled over "
        "time, then passed through CNN14's 2048-unit dense layer and a ReLU. The report calls its vectors the "
        "max-pooled output of the penultimate block without more detail; we take the package's definition."
    ),
    "musicnn": (
        "**musicnn** (Pons and Serra 2019, trained to tag the Million Song Dataset with its 50 most frequent "
        "Last.fm tags: genres, moods, eras, instruments) reads mono audio at 16 kHz as 96-band log-mel patches of "
        "187 frames (about 3 s). Its vector is the 200-dimensional output of the penultimate dense layer before its "
        "ReLU, the layer from which Essentia's published emotion models read musicnn. Its weights are the "
        "authors' Keras file, run by the book's PyTorch port, checked against Essentia's own outputs to 1e-4."
    ),
    "musicnn-mtt": (
        "**musicnn (MTT)** is the same network trained on other tags: those of MagnaTagATune (Law et al. 2009), "
        "about 25,000 clips of 29 s tagged by players of an online game with 50 tags, mostly instruments, voices and "
        "genres, with a few moods (\"slow\", \"fast\", \"soft\", \"loud\"). It reads the same 96-band log-mel "
        "patches of 187 frames (about 3 s) at 16 kHz, and its vector is again the 200-dimensional output of the "
        "penultimate dense layer before its ReLU. Its weights are the authors' checkpoint from the musicnn package, "
        "run by the book's PyTorch port. Beside the MSD page it asks whether the choice of pretrained embedding "
        "matters when the architecture does not change."
    ),
}


def backbone_method(name: str) -> str:
    """What one segment's vector is, for the Phase 3 page's backbone ``name`` (``"cnn14"``, ``"musicnn"`` or
    ``"musicnn-mtt"``: :attr:`mer_utils.phase3.backbones.Phase3Backbone.key`)."""
    return BACKBONE_METHODS[name]


def phase3_table_caption(label: str, best_epoch: int) -> str:
    """The caption of a Phase 3 page's results table: this run beside the report's Table 12 (which used CNN14)."""
    return (f"EmotionMLP on {label} embeddings: this run (validation = best epoch {best_epoch}; test = held out) "
            "beside the report's Table 12 (its EmotionMLP on PANNs CNN14; DEAM, validation)")


def embedding_note(backbone, embedded) -> str:
    """Which backbone embedded how much audio, at which precision, and what was skipped."""
    text = f"{backbone.describe()}. {embedded.describe()}. Computing precision: {embedded.settings['precision']}. "
    if len(embedded.skipped):
        return text + f"**{len(embedded.skipped)} clip(s) skipped** and left out of everything below:"
    return text + "No clip was skipped: every song decoded and lasted at least one 3-second segment."


def neighbour_strength(r: float) -> str:
    """Words for a neighbour agreement r: from "no visible order" to "a clear gradient"."""
    if not np.isfinite(r):
        return "cannot be measured"
    if r >= CLEAR_GRADIENT_R:
        return "a clear gradient"
    if r >= PARTIAL_GRADIENT_R:
        return "a partial gradient"
    if r >= FAINT_TREND_R:
        return "at most a faint trend"
    return "no visible order"


def embedding_map_notes(
    agreement: dict,
    agreement_full: dict,
    perplexity: float,
    n_songs: int,
    seed: int,
    random_backbone: bool,
    synthetic: bool,
    dimensions: int = 2048,
) -> str:
    """What the t-SNE maps show: each target's neighbour agreement, which is better ordered, and the caveats.

    Args:
        agreement: ``{target: r}`` on the map.
        agreement_full: ``{target: r}`` in the full embedding space.
        perplexity, n_songs, seed: the t-SNE run.
        random_backbone: the embeddings come from random weights.
        synthetic: the songs are SynthDEAM's.
        dimensions: the embedding's size (2048 for CNN14, 200 for musicnn).
    """
    lines = [
        f"- **{short_name(t)}**: neighbour agreement r = {agreement[t]:.2f} on the map "
        f"({agreement_full[t]:.2f} among nearest neighbours in the full {dimensions}-dimensional space), i.e. "
        f"{neighbour_strength(agreement[t])}."
        for t in TARGETS
    ]
    stronger = max(TARGETS, key=lambda t: agreement[t])
    weaker = min(TARGETS, key=lambda t: agreement[t])
    if agreement[stronger] < FAINT_TREND_R:
        lines.append(
            "- Neither target is ordered on this map. The report saw arousal separate more cleanly than valence "
            "on DEAM with pretrained weights; this run cannot show that."
        )
    else:
        same = stronger == "arousal_mean" and agreement[stronger] - agreement[weaker] > CLEAR_AGREEMENT_GAP
        lines.append(
            f"- On this run, **{short_name(stronger)}** is the better ordered of the two "
            f"(r {agreement[stronger]:.2f} against {agreement[weaker]:.2f}). The report saw arousal separate more "
            "cleanly than valence on DEAM with pretrained weights; "
            + ("this run shows the same difference." if same else "this run does not show that difference clearly.")
        )
    caveats = [
        f"t-SNE perplexity {perplexity:.1f}, {n_songs} songs, seed {seed}; t-SNE keeps neighbourhoods, not "
        "distances, so the size of clusters and the gaps between them carry no meaning."
    ]
    if random_backbone:
        caveats.append(
            "These embeddings come from a CNN14 with **random weights**. Whatever order the colours show is "
            "what random convolutions of the log-mel spectrogram preserve (loudness, brightness, density), "
            "not what pretraining on AudioSet learned."
        )
    if synthetic:
        caveats.append(
            "The songs are **synthetic**: their labels are a known function of a few musical cues, so "
            "this picture says nothing about real music."
        )
    return "What the maps show on this run:\n\n" + "\n".join(lines) + "\n\n" + " ".join(caveats)


def mlp_training_sentence(ids: dict, settings: dict, seed: int, folds: int = 1) -> str:
    """How many songs train, validate and test the MLP, and its schedule (per fold, the first shown, under folds)."""
    per_fold = (f"The MLP is trained once per fold of the {folds}-fold cross-validation; the table and curves "
                "below show the first fold. " if folds > 1 else "")
    return per_fold + (
        f"Songs: {len(ids['train'])} for training, {len(ids['validation'])} for validation, {len(ids['test'])} held "
        f"out for the test. At most {settings['epochs']} epochs, patience {settings['patience']}, batch size "
        f"{settings['batch_size']}, Adam learning rate {settings['lr']:g}, seed {seed}."
    )


def mlp_findings(table: pd.DataFrame, history: pd.DataFrame, random_backbone: bool, synthetic: bool,
                 records: list[dict]) -> str:
    """What the EmotionMLP run shows: scores beside the report and the ceiling, the easier target, the best epoch.

    ``records`` are the run's result records (with per-song test predictions):
    which target is easier is decided by a paired bootstrap on the same test songs.
    """
    from .intervals import compare_on_shared_songs, format_interval
    from .published import REPORT_MLP_BEST_EPOCH, report_figure
    from .records import test_predictions

    lines = []
    for _, row in table.iterrows():
        shown = format_interval(row["test_r2"], (row.get("test_r2_low"), row.get("test_r2_high")), 3)
        text = (
            f"- **{short_name(row['target'])}**: test R² {shown} (validation {row['validation_r2']:.3f}), "
            f"test RMSE {row['test_rmse']:.3f} on the 1–9 scale. The report's validation R² on DEAM (its MLP on "
            "PANNs CNN14) was "
            f"{row['report_r2']:.3f}"
        )
        if synthetic:
            text += (
                f"; the generating function's R² on these test songs is {row['ceiling_r2']:.3f}, {row['below_ceiling']:.3f} "
                "above this test score."
            )
        else:
            gap = row["test_r2"] - row["report_r2"]
            text += f"; this run's test score is {abs(gap):.3f} {'above' if gap >= 0 else 'below'} it."
        lines.append(text)
    report = {t: report_figure(3, "EmotionMLP", t) for t in TARGETS}
    report_words = (f"The report found arousal far easier than valence for this model "
                    f"({report['arousal_mean']:.3f} against {report['valence_mean']:.3f}).")
    test_r2 = {t: float(table.loc[table["target"] == t, "test_r2"].iloc[0]) for t in TARGETS}
    if max(test_r2.values()) <= 0:
        lines.append(
            "- Neither target is predicted better than by the mean label of the training songs (test R² at or "
            f"below 0), so which one is easier cannot be read from this run. {report_words}"
        )
    else:
        by_target = {r["target"]: test_predictions(r) for r in records}
        diff = compare_on_shared_songs(by_target["arousal_mean"], by_target["valence_mean"])
        shown = format_interval(diff["difference"], (diff["low"], diff["high"]), 3)
        word = ("**arousal** is predicted better than valence" if diff["low"] > 0 else
                "**valence** is predicted better than arousal" if diff["high"] < 0 else
                "there is **no detectable difference** between the two targets")
        lines.append(f"- {report_words} On this run {word} on the same {diff['songs']} test songs "
                     f"(R² arousal − valence {shown}, paired bootstrap).")
    best_epoch = int(history.attrs["best_epoch"])
    lines.append(
        f"- The best validation epoch was {best_epoch} of {len(history)} run"
        + (" (early stopping ended the run)." if history.attrs.get("stopped_early") else ".")
        + f" The report's best epoch was {REPORT_MLP_BEST_EPOCH}."
    )
    if random_backbone:
        lines.append(
            "- These numbers measure an MLP on **random-weight CNN14 features**, not on PANNs: they are a floor "
            "that pretrained embeddings would have to beat, not a reproduction of the report's Phase 3."
        )
    if synthetic:
        lines.append("- On SynthDEAM these scores check the pipeline; they say nothing about real music.")
    return "What this run shows:\n\n" + "\n".join(lines)


# --------------------------------------------------------------------------- Real music (4Q)

FOURQ_TASK_NAMES = {"quadrant": "the four quadrants", "valence": "the valence sign", "arousal": "the arousal sign"}


def _f1_text(row) -> str:
    return f"{row['f1']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def fourq_representation_notes(representations, left_out, backbone_is_random: bool, n_common: int) -> str:
    """Which representations ran on the 4Q clips, which were left out and why, and the random-CNN14 caveat."""
    lines = [f"- **{r.label}** ({r.dims} dimensions): {r.note}"
             + (f" {len(r.skipped)} clip(s) skipped: " + "; ".join(f"{s}: {why}" for s, why in
                                                                    zip(r.skipped['song'], r.skipped['reason']))
                if len(r.skipped) else "")
             for r in representations]
    lines += [f"- **{r.label}** is left out of this run: {r.reason}." for r in left_out]
    lines.append(f"- Every comparison below uses the **{n_common} songs** that every representation covers.")
    if backbone_is_random:
        lines.append("- The CNN14 on this page has **random weights** (no PANNs checkpoint was found): its row is a "
                     "random-feature baseline. It says nothing about pretraining, and no sentence below reads it as "
                     "a pretrained embedding.")
    return "\n".join(lines)


def fourq_score_findings(scores: pd.DataFrame, best: pd.DataFrame, published: pd.DataFrame, caveat: str) -> str:
    """The best setting of each task (chosen by the cross-validation itself), against chance and Panda et al."""
    from ..corpus.fourq import TASKS

    lines = []
    for _, row in best.iterrows():
        chance = 1 / len(TASKS[row["task"]])
        above = row["low"] > chance
        lines.append(
            f"- **{FOURQ_TASK_NAMES[row['task']]}**: the best setting is **{row['representation']} with "
            f"{'an MLP' if row['model'] == 'mlp' else 'logistic regression'}**, macro F1 {_f1_text(row)} "
            f"(spread over repeats {row['sd_repeats']:.3f}); chance is {chance:.2f}, and the interval "
            + ("lies above it." if above else "does not lie clearly above it.")
        )
    quadrant = best[best["task"] == "quadrant"]
    if len(quadrant) and len(published):
        row = quadrant.iloc[0]
        marks = "; ".join(("about " if p["approximate"] else "") + f"{p['f1']:.3f} ({p['source']})"
                          for _, p in published.iterrows())
        top = published["f1"].max()
        where = ("below" if row["high"] < top else "above" if row["low"] > top else "level with")
        lines.append(
            f"- Panda et al. published macro F1 {marks} for the quadrants. This run's best, {row['f1']:.3f}, is "
            f"{where} their best figure. {caveat}"
        )
    lines.append("- \"Best\" is chosen on the same cross-validated predictions that report it (4Q has no held-out "
                 "part), so it is slightly optimistic; the differences below say whether it is really ahead.")
    return "What this run shows:\n\n" + "\n".join(lines)


def _verdict_counts(rows: pd.DataFrame) -> tuple[int, int, int]:
    """(rows where a is better, rows where b is better, undecided) of a differences table."""
    a = int((rows["better"] == rows["a"]).sum())
    b = int((rows["better"] == rows["b"]).sum())
    return a, b, len(rows) - a - b


def fourq_lessons(diffs: pd.DataFrame, scores: pd.DataFrame, handcrafted: str, pretrained: list[str],
                  random_labels: list[str]) -> str:
    """What the run says about the report's lessons on real music, each from paired intervals.

    Args:
        diffs: :func:`mer_utils.realmusic.crossval.differences`.
        scores: :func:`mer_utils.realmusic.crossval.score_table`.
        handcrafted: the label of the 386 features.
        pretrained: labels of the pretrained embeddings on this run (musicnn's MSD and MTT networks; CNN14 with
            the PANNs checkpoint); each pair of them is set side by side too (embedding selection).
        random_labels: labels of random-weight representations (CNN14 without its checkpoint).
    """
    lines = []
    reps = diffs[diffs["compared"] == "representations"]
    models = diffs[diffs["compared"] == "models"]
    rep_decided = int((reps["better"] != "").sum())
    model_decided = int((models["better"] != "").sum())
    if not len(reps) or not len(models):
        lines.append("- *The representation matters more than the model*: this run has too few representations or "
                     "models to weigh the two.")
    else:
        rep_gap, model_gap = float(reps["difference"].abs().max()), float(models["difference"].abs().max())
        rep_share, model_share = rep_decided / len(reps), model_decided / len(models)
        if rep_share > model_share and rep_gap > model_gap:
            verdict = "**supports it**"
        elif model_share > rep_share and model_gap > rep_gap:
            verdict = "**does not support it**: the model moved the scores more than the representation"
        else:
            verdict = "**cannot tell the two apart**"
        lines.append(
            f"- *The representation matters more than the model.* Changing the representation (same model and task) "
            f"moved macro F1 by up to {rep_gap:.3f}, with {rep_decided} of {len(reps)} paired intervals excluding "
            f"zero; changing logistic regression for the MLP (same representation) moved it by up to {model_gap:.3f}, "
            f"with {model_decided} of {len(models)} intervals excluding zero. On real music this run {verdict}."
        )
    for label in pretrained:
        pair = {label, handcrafted}
        rows = reps[[{a, b} == pair for a, b in zip(reps["a"], reps["b"])]]
        if not len(rows):
            continue
        wins = int((rows["better"] == label).sum())
        losses = int((rows["better"] == handcrafted).sum())
        lines.append(
            f"- *Pretrained embeddings beat handcrafted features*: **{label}** against the {handcrafted}, over "
            f"{len(rows)} task and model pairs: better in {wins}, worse in {losses}, undecided in "
            f"{len(rows) - wins - losses} (paired 95% intervals)."
            + (" On real music this run supports the lesson." if wins > losses and wins >= len(rows) / 2 else
               " On real music this run does not support the lesson." if losses > wins else
               " This run does not settle it.")
        )
    if not pretrained:
        lines.append("- *Pretrained embeddings beat handcrafted features* cannot be tested on this run: no pretrained "
                     "embedding ran (see the left-out representations above).")
    for i, first in enumerate(pretrained):
        for second in pretrained[i + 1:]:
            rows = reps[[{a, b} == {first, second} for a, b in zip(reps["a"], reps["b"])]]
            if not len(rows):
                continue
            wins, losses = int((rows["better"] == first).sum()), int((rows["better"] == second).sum())
            lines.append(
                f"- *Embedding selection is crucial*: **{first}** against **{second}**, two pretrained embeddings, "
                f"over {len(rows)} task and model pairs: {first} better in {wins}, {second} better in {losses}, "
                f"undecided in {len(rows) - wins - losses} (paired 95% intervals)."
                + (" On real music the choice between them matters on this run." if wins or losses else
                   " On this run the choice between these two makes no detectable difference.")
            )
    for label in random_labels:
        lines.append(f"- {label} is a random-feature baseline: where it matches the others, random convolutions of "
                     "the spectrogram already carry what those tasks need; it is no evidence about pretraining.")
    best = scores.loc[scores.groupby("task")["f1"].idxmax()].set_index("task")
    if {"valence", "arousal"} <= set(best.index):
        v, a = best.loc["valence"], best.loc["arousal"]
        easier = "arousal" if a["f1"] > v["f1"] else "valence"
        overlap = not (a["low"] > v["high"] or v["low"] > a["high"])
        lines.append(
            f"- *Arousal is easier than valence* (the report's Phase 3, and most of the literature): the best arousal "
            f"sign reaches {_f1_text(a)}, the best valence sign {_f1_text(v)}; {easier} is the easier here"
            + (", though the intervals overlap." if overlap else ", with intervals apart.")
        )
    return "What this says about the report's lessons:\n\n" + "\n".join(lines)


def fourq_protocol_sentence(description: str, n_resamples: int) -> str:
    """How the cross-validation ran and what its intervals cover."""
    return (
        f"Protocol: {description} Macro F1 is the mean over repeats of the F1 of each repeat's out-of-fold "
        f"predictions; its 95% interval comes from {n_resamples} bootstrap resamples of *artists* (all clips of a "
        "drawn artist together) applied to those pooled predictions, and the paired differences draw the same "
        "artists for both settings. The spread over repeats (in the caption of the table) is what fold assignment "
        "alone moves."
    )


def auc_verdict(auc: float, low: float, high: float) -> str:
    """Words for a ROC AUC interval against chance (0.5): above chance, inverted, or indistinguishable from it."""
    if not np.isfinite(auc):
        return "cannot be measured"
    if low > 0.5:
        return "above chance"
    if high < 0.5:
        return "below chance: the ranking is inverted"
    return "not distinguishable from chance"


TRANSFER_CONTEXT = {  # what a model's training corpus means for its score on 4Q, by corpus name
    "synthdeam": ("Models trained on **SynthDEAM** learnt labels that are a known function of a few musical cues "
              "(mode, tempo, loudness, articulation, register, brightness). An AUC above chance means those cues, "
              "as the models read them from audio, carry some way to real recordings. At chance, what they learnt "
              "is specific to the synthetic songs."),
    "deam": ("Models trained on **DEAM** learnt listener ratings of other songs. 4Q's quadrants come from AllMusic "
             "mood tags, so this is a cross-dataset test, a question the literature leaves open."),
    "soundtracks": ("Models trained on **Soundtracks** learnt one listener panel's ratings of film-music excerpts "
                    "(their arousal is the dataset's \"energy\"). 4Q holds popular songs with AllMusic mood tags, so "
                    "this test crosses both datasets and genres. That book is cross-validated by film, and its "
                    "models here are fold 1's (the list below says on how many excerpts each was trained)."),
}


def transfer_findings(table: pd.DataFrame, left_out, models=()) -> str:
    """What the book's models, trained on their own corpora and not retrained, rank correctly on the 4Q clips.

    ``table``: :func:`mer_utils.realmusic.transfer.transfer_table`; each training corpus among its rows
    adds what training there means (:data:`TRANSFER_CONTEXT`).  ``models``: the scored
    :class:`~mer_utils.realmusic.transfer.TransferModel` s, whose notes say where each came from.
    """
    lines = [f"- **{row['model']}** (trained on {row['trained_on']}): {row['question']} with ROC AUC "
             f"{row['auc']:.3f} [{row['low']:.3f}, {row['high']:.3f}], "
             f"{auc_verdict(row['auc'], row['low'], row['high'])}."
             for _, row in table.iterrows()]
    lines += [f"- {r.label} is not scored: {r.reason}." for r in left_out]
    if not len(table):
        return "No model of the book could be scored on 4Q on this run:\n\n" + "\n".join(lines)
    lines += [f"- {TRANSFER_CONTEXT[name]}" for name in dict.fromkeys(table["corpus"]) if name in TRANSFER_CONTEXT]
    sources = [f"- {m.label} trained on {m.corpus_label}: {m.note}" for m in models]
    return ("What transfers:\n\n" + "\n".join(lines)
            + ("\n\nWhere each model came from:\n\n" + "\n".join(sources) if sources else ""))


def transfer_difference_findings(diffs: pd.DataFrame) -> str:
    """One line per paired AUC difference of one kind of model trained on two corpora; "" when nothing was paired."""
    if not len(diffs):
        return ""
    lines = []
    for _, row in diffs.iterrows():
        shown = f"{row['difference']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"
        word = f"the {row['better']}-trained one ranks better" if row["better"] else "no detectable difference"
        lines.append(f"- **{row['model']}**, {row['question']}: trained on {row['a']} minus trained on {row['b']}, "
                     f"AUC difference {shown}. Verdict: {word}.")
    return ("The same kind of model, trained on two corpora, on the same clips (a paired bootstrap over artists; "
            "a verdict needs the interval to exclude zero):\n\n" + "\n".join(lines))
