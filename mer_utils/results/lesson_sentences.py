"""The report's lessons in words: one short claim per sentence, the numbers in the tables beside them.

Used by: ``notebooks/conclusions.py`` (its section "The report's lessons, checked against this build").

Each lesson is the report's claim in bold, the comparisons that test it (the rows
of :func:`mer_utils.results.lessons.lesson_comparisons`, shown as a numbered table
above the text), its verdict on this build (the reading of
:func:`mer_utils.results.verdicts.lesson_verdicts`, the same as in the table "What
each corpus shows"), then one sentence per comparison naming the better model or
saying there is no detectable difference.  The figures and their intervals stay in
the tables: a sentence holds at most :data:`MAX_WORDS` words, no semicolon and no
interval, and says one thing (:func:`sentences`, tested).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, short_name
from .anchors import anchors_for

MAX_WORDS = 30  # the longest sentence a lesson may write
CLAIMS = {
    "pretrained": "“Pretrained embeddings and a shallow MLP beat handcrafted features and deep CNNs.”",
    "embeddings": "“Embedding selection is crucial.”",
    "temporal": "“Temporal layers help, especially for arousal.”",
    "arousal": "“Arousal is easier to predict than valence.”",
    "optimism": "Validation scores as headline figures.",
    "finetune": "“Fine-tuning the CNN backbone could further personalize the features to emotional domains.”",
}
VERDICT_WORDS = {"holds": "holds", "reversed": "is reversed", "not shown": "is not shown"}
VERDICT_BASIS = {  # the comparison each lesson's verdict rests on (mer_utils.results.verdicts.lesson_verdicts)
    "pretrained": "Against the other phase pick with the higher validation R²",
    "embeddings": "Between musicnn's two networks",
    "temporal": "For the temporal model picked on validation",
    "arousal": "Between the two targets' headline models",
    "finetune": "Against the frozen backbone's EmotionMLP",
}


def fmt(value) -> str:
    """A figure with three decimals; an en dash where there is none."""
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def sentences(text: str) -> list[str]:
    """The sentences of a lesson's text, its bold claim and list number dropped (what the length rule counts)."""
    body = re.sub(r"^\d+\.\s*", "", text.strip())
    body = re.sub(r"^\*\*[^*]+\*\*\s*", "", body)
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“(])", body) if s]


def cited(numbers) -> str:
    """``"(comparison 3)"``, ``"(comparisons 1–4)"`` or ``"(comparisons 1, 3 and 5)"``; ``""`` for none."""
    numbers = sorted(int(n) for n in numbers)
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"(comparison {numbers[0]})"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"(comparisons {numbers[0]}–{numbers[-1]})"
    return f"(comparisons {', '.join(map(str, numbers[:-1]))} and {numbers[-1]})"


def _count(n: int, of: int = 0) -> str:
    """``"none"``, ``"all"`` (all ``of``) or the number itself."""
    return "none" if n == 0 else "all" if n == of else str(n)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdict_sentence(verdicts: pd.DataFrame) -> str:
    """``"Against ..., it holds for arousal and is not shown for valence."`` from one lesson's verdict rows."""
    if not len(verdicts):
        return ""
    basis = VERDICT_BASIS[verdicts["lesson"].iloc[0]]
    if set(verdicts["target"]) == {"both"}:
        return f"{basis}, it {VERDICT_WORDS[verdicts['verdict'].iloc[0]]} on this build."
    parts = [f"{VERDICT_WORDS[v]} for {_and(list(rows['target']))}" for v, rows in verdicts.groupby("verdict", sort=False)]
    return f"{basis}, it {_and(parts)} on this build."


def comparison_sentence(row) -> str:
    """One comparison in words: who is better, or that there is no detectable difference."""
    lead = "" if row["target"] == "both" else f"For {row['target']}, "
    if row["reading"] == "better":
        return f"{lead}{row['a']} beats {row['b']}."
    if row["reading"] == "worse":
        return f"{lead}{row['b']} beats {row['a']}."
    return f"{lead}{row['a']} and {row['b']} do not differ detectably."


def _claim(key: str, rows: pd.DataFrame) -> str:
    return f"**{CLAIMS[key]}** {cited(rows['number'])}".rstrip()


def _lesson_pretrained(comparisons, verdicts, best) -> str:
    rows = comparisons[comparisons["lesson"] == "pretrained"]
    backbones = comparisons[comparisons["lesson"] == "backbones"]
    out = [_claim("pretrained", pd.concat([rows, backbones])), verdict_sentence(verdicts)]
    for target in TARGETS:
        if (3, target) not in best:
            out.append(f"For {short_name(target)} it cannot be checked: Phase 3 has no results.")
        elif not (rows["target"] == short_name(target)).any():
            out.append(f"For {short_name(target)} no other phase has results to compare with.")
    out += [comparison_sentence(r) for _, r in rows.iterrows()]
    random_picks = [short_name(t) for t in TARGETS if (3, t) in best and best[(3, t)].get("backbone") == "random"]
    if random_picks:
        out.append(f"For {_and(random_picks)} the Phase 3 pick runs on a random-weight CNN14. "
                   "There the lesson tests random features, not pretrained ones.")
    if len(backbones):
        out.append("The two backbones, each with its own MLP, compare as follows.")
        out += [comparison_sentence(r) for _, r in backbones.iterrows()]
    return " ".join(s for s in out if s)


def _lesson_embeddings(comparisons, verdicts) -> str:
    """Embedding selection between two pretrained embeddings: musicnn's MTT and MSD networks, where both ran."""
    rows = comparisons[comparisons["lesson"] == "embeddings"]
    if not len(rows):
        return ""
    out = [_claim("embeddings", rows), "One network trained on two sets of tags gives two pretrained embeddings "
           "of the same size, each with its own MLP.", verdict_sentence(verdicts)]
    out += [comparison_sentence(r) for _, r in rows.iterrows()]
    return " ".join(s for s in out if s)


def _lesson_finetune(comparisons, verdicts) -> str:
    """The report's future work, fine-tuning, where this build fine-tuned a backbone: against the frozen one and
    against the same network from random weights."""
    tuned = comparisons[comparisons["lesson"] == "finetune"]
    scratch = comparisons[comparisons["lesson"] == "pretraining"]
    if not len(tuned) and not len(scratch):
        return ""
    out = [_claim("finetune", pd.concat([tuned, scratch])), "The report left this as future work.",
           verdict_sentence(verdicts[verdicts["lesson"] == "finetune"])]
    out += [comparison_sentence(r) for _, r in tuned.iterrows()]
    if len(scratch):
        out.append("Started from random weights, the same network shows what the pretraining brings.")
        out += [comparison_sentence(r) for _, r in scratch.iterrows()]
    return " ".join(s for s in out if s)


def _lesson_temporal(comparisons, verdicts, present) -> str:
    rows = comparisons[comparisons["lesson"] == "temporal"]
    if 2 not in present:
        return f"**{CLAIMS['temporal']}** It cannot be checked: Phase 2 has no results."
    if not len(rows):
        return f"**{CLAIMS['temporal']}** It cannot be checked: the plain CNN or the temporal models have no results."
    out = [_claim("temporal", rows), verdict_sentence(verdicts)]
    for target, part in rows.groupby("target", sort=False):
        better, worse = int((part["reading"] == "better").sum()), int((part["reading"] == "worse").sum())
        if len(part) == 1:
            out.append(comparison_sentence({**part.iloc[0], "a": "the temporal model", "b": "the plain CNN"}))
        else:
            out.append(f"For {target}, {_count(better, len(part))} of the {len(part)} temporal models "
                       f"{'beat' if better > 1 else 'beats'} the plain CNN and {_count(worse)} "
                       f"{'are' if worse > 1 else 'is'} worse.")
    return " ".join(s for s in out if s)


def _lesson_arousal(comparisons, verdicts, corpus, split) -> str:
    rows = comparisons[comparisons["lesson"] == "arousal"]
    if not len(rows):
        return ""
    out = [_claim("arousal", rows), verdict_sentence(verdicts)]
    for _, row in rows.iterrows():
        word = {"better": "arousal is predicted better than valence",
                "worse": "valence is predicted better than arousal"}.get(row["reading"],
                                                                          "neither target is detectably easier")
        out.append(f"In Phase {row['phase']}, {word}.")
    if corpus.is_synthetic and split is not None and corpus.expected is not None:
        test_ids = split.loc[split["part"] == "test", "song_id"]
        out.append(f"SynthDEAM's generating function reaches R² {fmt(corpus.ceiling('valence_mean', test_ids))} "
                   f"for valence and {fmt(corpus.ceiling('arousal_mean', test_ids))} for arousal on these songs.")
        out.append("That says which target this corpus makes easier, not which one real music does.")
    return " ".join(s for s in out if s)


def _lesson_optimism(best) -> str:
    if not best:
        return ""
    gap = float(np.mean([r["validation_r2"] - r["test_r2"] for r in best.values()]))
    return " ".join([
        f"**{CLAIMS['optimism']}**",
        "The report published the best validation epoch or setting of each model.",
        f"Over this build's phase picks, validation R² exceeds test R² by {gap:+.3f} on average." if gap >= 0 else
        f"Over this build's phase picks, test R² exceeds validation R² by {-gap:.3f} on average.",
        "The table of phase picks gives each gap." if len(best) > 1 else "",
        "A positive gap is the optimism of selecting on validation, and the test figure is the honest one."
        if gap > 0 else "Here the test songs happened to be no harder than the validation songs.",
    ]).replace("  ", " ")


def _headline_reference(top, corpus, anchors) -> list[str]:
    """The sentences that set the headline model beside a reference: the second panel, the generator, or anchors."""
    if getattr(corpus, "reference", None) is not None:
        out = [f"On the excerpts the second panel re-rated, its Pearson r with the first panel is "
               f"{fmt(top.get('model_r', np.nan))}.",
               f"The second panel's own r there is {fmt(top.get('human_r', np.nan))}, a human reference rather "
               "than a ceiling."]
        out += [f"{a['short']} published r {a['r']:.2f} on this corpus." for a in anchors]
        return out + ([anchors[0]["notes" if len(anchors) > 1 else "note"]] if anchors else [])
    if corpus.is_synthetic:
        ceiling = top.get("ceiling_r2", corpus.noise_ceiling(top["target"]))
        reaches = top.get("test_r2_high", np.nan) >= ceiling
        return [f"The generating function's R² on the same test songs is {fmt(ceiling)}.",
                f"The model's interval {'reaches' if reaches else 'stays below'} it.",
                "The published anchors come from real music, so they cannot be compared with SynthDEAM."]
    out = []
    for a in anchors:
        gap = top["test_r2"] - a["r2"]
        out += [f"Its test R² is {abs(gap):.3f} {'higher' if gap >= 0 else 'lower'} than the {a['r2']:.3f} of "
                f"{a['short']}.", a["note"]]
    return out


def _lesson_headline(best, corpus) -> list[str]:
    from .lessons import headline

    out = []
    for target in TARGETS:
        top = headline(best, target)
        if top is None:
            continue
        anchors = [a for a in anchors_for(corpus) if a["target"] == target]
        text = [f"**The book's model for {short_name(target)}** is {top['label']}.",
                "It is the phase pick with the highest validation R².",
                f"Its test R² is {fmt(top['test_r2'])}, with its interval in the table of phase picks.",
                *_headline_reference(top, corpus, anchors)]
        out.append(" ".join(text))
    return out


def lessons(comparisons: pd.DataFrame, verdicts: pd.DataFrame, table: pd.DataFrame, best: dict, corpus,
            split=None) -> str:
    """The report's lessons checked against this build, as a numbered Markdown list of short sentences.

    ``comparisons``: :func:`mer_utils.results.lessons.lesson_comparisons`; ``verdicts``:
    :func:`mer_utils.results.verdicts.lesson_verdicts` of the same records; ``table`` and ``best``:
    :func:`~mer_utils.results.lessons.comparison_rows` and :func:`~mer_utils.results.lessons.best_of_each_phase`.
    """
    from .lessons import present_phases

    def of(lesson):
        return verdicts[verdicts["lesson"] == lesson]

    out = [_lesson_pretrained(comparisons, of("pretrained"), best), _lesson_embeddings(comparisons, of("embeddings")),
           _lesson_finetune(comparisons, verdicts[verdicts["lesson"].isin(["finetune", "pretraining"])]),
           _lesson_temporal(comparisons, of("temporal"), present_phases(table)),
           _lesson_arousal(comparisons, of("arousal"), corpus, split), _lesson_optimism(best),
           *_lesson_headline(best, corpus)]
    return "\n\n".join(f"{k}. {text}" for k, text in enumerate([t for t in out if t], start=1))
