"""The Phase 3 page's sentences: the backbone's method, the embedding, the t-SNE maps, the EmotionMLP's findings.

Used by: ``notebooks/phase3_panns.py`` (one page per backbone).

Why here: each chapter's wording sits beside its code (the backbones of
:mod:`.backbones`, the embeddings of :mod:`.embeddings`, the map of
:mod:`.space`), so the page's numbers and the words that read them are one
folder; the fine-tuning page's are :mod:`.finetune_narrative`.  Pure functions
from tables and numbers to Markdown; every threshold that decides a verdict is
a named constant, tested on both sides (``tests/test_embeddings.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, short_name
from ..results.intervals import compare_on_shared_songs, format_interval
from ..results.published import REPORT_MLP_BEST_EPOCH, report_figure
from ..results.records import test_predictions

CLEAR_GRADIENT_R = 0.6  # neighbour agreement at or above it: a clear gradient
PARTIAL_GRADIENT_R = 0.3  # ... a partial gradient
FAINT_TREND_R = 0.1  # ... at most a faint trend; below it: no visible order
CLEAR_AGREEMENT_GAP = 0.1  # arousal ordered better than valence by more than this: "the same difference"


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
