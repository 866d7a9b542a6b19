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

from ..corpus.deam import TARGETS, id_list, short_name

SYMMETRIC_SKEW = 0.2  # |skewness| below it: "close to symmetric"
CLEAR_GRADIENT_R = 0.6  # neighbour agreement at or above it: a clear gradient
PARTIAL_GRADIENT_R = 0.3  # ... a partial gradient
FAINT_TREND_R = 0.1  # ... at most a faint trend; below it: no visible order
CLEAR_AGREEMENT_GAP = 0.1  # arousal ordered better than valence by more than this: "the same difference"
REPORT_MLP_BEST_EPOCH = 3  # the report's best EmotionMLP epoch (Table 12)
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
            f"- Corpus: **{'SynthDEAM' if corpus.is_synthetic else 'DEAM'}** at `{corpus.root}`, subset `{corpus.subset}`.",
            f"- Songs with labels and an audio file: **{len(corpus.songs)}**.",
            f"- Annotated songs without audio (skipped): **{len(corpus.missing_audio)}**" + ids(corpus.missing_audio),
            f"- Audio files without labels (skipped): **{len(corpus.unlabelled_audio)}**"
            + ids(corpus.unlabelled_audio),
            "- Audio that exists but cannot be decoded is found when features are extracted; each "
            "phase lists those songs on its own pages.",
        ]
    )


def noise_ceiling_sentence(corpus) -> str:
    """The corpus page's sentence on the noise ceiling (SynthDEAM) or its absence (DEAM)."""
    if not corpus.is_synthetic:
        return "Real DEAM: labels come from human raters; no ceiling is known."
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


def phase1_model_findings(models_table: pd.DataFrame) -> str:
    """For each target: the regressor chosen on validation, its test score, and the report's XGBoost figure."""
    from .published import report_figure

    lines = []
    for target in TARGETS:
        rows = models_table[models_table["target"] == target]
        chosen = rows.sort_values("validation_r2", ascending=False).iloc[0]
        lines.append(
            f"- **{short_name(target)}**: the model chosen on validation is **{chosen['model']}** "
            f"(validation R² {chosen['validation_r2']:.3f}, test R² {chosen['test_r2']:.3f}). "
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
) -> str:
    """What the t-SNE maps show: each target's neighbour agreement, which is better ordered, and the caveats.

    Args:
        agreement: ``{target: r}`` on the map.
        agreement_full: ``{target: r}`` in the full embedding space.
        perplexity, n_songs, seed: the t-SNE run.
        random_backbone: the embeddings come from random weights.
        synthetic: the songs are SynthDEAM's.
    """
    lines = [
        f"- **{short_name(t)}**: neighbour agreement r = {agreement[t]:.2f} on the map "
        f"({agreement_full[t]:.2f} among nearest neighbours in the full 2048-dimensional space), i.e. "
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


def mlp_training_sentence(ids: dict, settings: dict, seed: int) -> str:
    """How many songs train, validate and test the MLP, and its schedule."""
    return (
        f"Songs: {len(ids['train'])} for training, {len(ids['validation'])} for validation, {len(ids['test'])} held "
        f"out for the test. At most {settings['epochs']} epochs, patience {settings['patience']}, batch size "
        f"{settings['batch_size']}, Adam learning rate {settings['lr']:g}, seed {seed}."
    )


def mlp_findings(table: pd.DataFrame, history: pd.DataFrame, random_backbone: bool, synthetic: bool) -> str:
    """What the EmotionMLP run shows: scores beside the report and the ceiling, the easier target, the best epoch."""
    lines = []
    for _, row in table.iterrows():
        text = (
            f"- **{short_name(row['target'])}**: test R² {row['test_r2']:.3f} (validation {row['validation_r2']:.3f}), "
            f"test RMSE {row['test_rmse']:.3f} on the 1–9 scale. The report's validation R² on DEAM was "
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
    test_r2 = {t: float(table.loc[table["target"] == t, "test_r2"].iloc[0]) for t in TARGETS}
    better = max(TARGETS, key=test_r2.get)
    if max(test_r2.values()) <= 0:
        lines.append(
            "- Neither target is predicted better than by the mean label of the training songs (test R² at or "
            "below 0), so which one is easier cannot be read from this run. The report found arousal far easier "
            "than valence for this model (0.667 against 0.451)."
        )
    else:
        lines.append(
            f"- The report found arousal far easier than valence for this model (0.667 against 0.451). On this "
            f"run **{short_name(better)}** is predicted better on the test songs "
            f"({test_r2[better]:.3f} against {min(test_r2.values()):.3f})."
        )
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
