"""The data page's sentences: what the loader found, and the ceiling or human reference beside every figure.

Used by: ``notebooks/data_corpus.py``.

Why here: the wording of a chapter sits beside that chapter's code (the corpus
loaders and :class:`~mer_utils.corpus.base.Corpus`), so a change to what a loader
reports and the sentence that reports it are read and tested together
(``tests/test_synth.py``).  Pure functions from a corpus to Markdown.
"""

from __future__ import annotations

from .base import human_reference, id_list


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
