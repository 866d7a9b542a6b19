"""The Real music page's sentences: the representations that ran, the scores, the lessons, what transfers.

Used by: ``notebooks/real_music.py``.

Why here: each chapter's wording sits beside its code (the cross-validation of
:mod:`.crossval`, the transfer test of :mod:`.transfer`), so the page's tables
and the words that read them are one folder.  Every verdict reads a paired
interval (a setting is "better" only when the interval of the difference
excludes zero); ``tests/test_real_music.py`` checks both sides of each wording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.fourq import TASKS

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
