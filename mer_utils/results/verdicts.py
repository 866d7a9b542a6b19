"""The report's lessons as verdicts, one row per lesson and target, for every corpus this checkout has built.

Used by: ``notebooks/conclusions.py`` (the table "What each corpus shows").

A verdict is one paired comparison (:func:`mer_utils.results.lessons.paired`) and
its reading: ``holds`` when the interval of the difference excludes zero in the
lesson's favour, ``reversed`` when it excludes zero against it, ``not shown``
otherwise (embedding selection, which names no winner, ``holds`` when the interval excludes zero either
way).  :func:`lesson_verdicts` reads one run's records; :func:`corpus_verdicts`
does it for the latest run of every corpus under ``results/`` (SynthDEAM, DEAM,
Soundtracks, VGMIDI), so one table sets side by side what synthetic music, real film
music and (with DEAM) the report's own corpus show.  The Phase 4 lesson (:func:`dynamic_verdicts`) is read from
the Phase 4 page's saved comparisons where the corpus has curves (SynthDEAM, VGMIDI, DEAM).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..corpus.base import short_name
from ..corpus.sources import CORPUS_LABELS
from .intervals import format_interval

LESSONS = {
    "pretrained": "Pretrained embeddings with an MLP beat the other phases' picks",
    "embeddings": "Embedding selection matters (musicnn's MTT network against its MSD one)",
    "finetune": "Fine-tuning beats the frozen backbone",
    "pretraining": "Pretrained weights beat random ones (fine-tuned alike)",
    "temporal": "Temporal layers beat the plain CNN",
    "arousal": "Arousal is easier to predict than valence",
    "dynamic": "Dynamic models follow the curve better than a constant (BiGRU against it, per-song RMSE)",
}
DYNAMIC_RUNS = ("book_split.json", "book_folds.json")  # Phase 4's run on the book's own protocol (experiment.save_run)


LESSON_READINGS = {"better": "holds", "worse": "reversed", "no detectable difference": "not shown"}


def reading(difference: dict) -> str:
    """``holds``, ``reversed`` or ``not shown``: where the interval of A − B lies against zero (R²).

    The lesson's words for :func:`mer_utils.results.lessons.reading` of the comparison that tests it.
    """
    from .lessons import reading as comparison_reading

    return LESSON_READINGS[comparison_reading(difference)]


def lesson_verdicts(records: list[dict], table: pd.DataFrame, best: dict) -> pd.DataFrame:
    """One row per lesson and target: ``lesson``, ``target``, ``comparison``, ``difference``, ``low``, ``high``, ``verdict``.

    ``table`` and ``best`` are :func:`mer_utils.results.lessons.comparison_rows`
    and :func:`~mer_utils.results.lessons.best_of_each_phase` of ``records``.
    The pretrained lesson compares the Phase 3 pick with the better (on
    validation) of the Phase 1 and Phase 2 picks; the temporal lesson the
    validation pick among the temporal CNNs with the plain CNN; the arousal
    lesson the two targets' overall picks on the same songs; embedding selection musicnn's MTT network
    against its MSD one (each with its EmotionMLP); the fine-tuning lessons the fine-tuned
    backbone (musicnn where it ran, else CNN14) against its frozen EmotionMLP and against the same
    network fine-tuned from random weights.
    """
    from .lessons import finetune_rows, headline, paired, phase3_embedding_rows

    rows = []

    def add(lesson, target, a, b):
        diff = paired(records, a, b)
        verdict = reading(diff)
        if lesson == "embeddings":  # the lesson names no winner: a difference either way shows it
            verdict = "not shown" if verdict == "not shown" else "holds"
        rows.append({"lesson": lesson, "target": target, "comparison": f"{a['label']} − {b['label']}",
                     "difference": diff["difference"], "low": diff["low"], "high": diff["high"],
                     "verdict": verdict})

    for target in ("valence_mean", "arousal_mean"):
        others = [best[(p, target)] for p in (1, 2) if (p, target) in best]
        if (3, target) in best and others:
            add("pretrained", short_name(target), best[(3, target)], max(others, key=lambda r: r["validation_r2"]))
        embeddings = phase3_embedding_rows(table, target)
        if embeddings is not None:
            add("embeddings", short_name(target), *embeddings)
        phase2 = table[(table["phase"] == 2) & (table["target"] == target)]
        plain, temporal = phase2[phase2["model"] == "EmotionCNN"], phase2[phase2["model"] != "EmotionCNN"]
        if len(plain) and len(temporal):
            add("temporal", short_name(target), temporal.sort_values("validation_r2").iloc[-1], plain.iloc[0])
        tuned = finetune_rows(table, target)
        if tuned:
            _, finetuned, frozen, scratch = tuned[0]
            for lesson, other in (("finetune", frozen), ("pretraining", scratch)):
                if other is not None:
                    add(lesson, short_name(target), finetuned, other)
    arousal, valence = headline(best, "arousal_mean"), headline(best, "valence_mean")
    if arousal is not None and valence is not None:
        add("arousal", "both", arousal, valence)
    return pd.DataFrame(rows, columns=["lesson", "target", "comparison", "difference", "low", "high", "verdict"])


def dynamic_verdicts(results_dir) -> list[dict]:
    """The Phase 4 lesson of one results folder, per dimension: the BiGRU minus the constant baseline on per-song
    RMSE, from the page's saved comparisons (``phase4/book_split.json`` or ``book_folds.json``); ``[]`` without."""
    found = [Path(results_dir) / "phase4" / name for name in DYNAMIC_RUNS]
    path = next((p for p in found if p.is_file()), None)
    if path is None:
        return []
    rows = []
    for c in json.loads(path.read_text()).get("comparisons", []):
        if c["a"].startswith("BiGRU") and c["b"].startswith("constant") and c["metric"] == "rmse":
            verdict = LESSON_READINGS[c["reading"]]
            rows.append({"lesson": "dynamic", "target": c["dimension"], "comparison": f"{c['a']} − {c['b']}",
                         "difference": c["difference"], "low": c["low"], "high": c["high"], "verdict": verdict})
    return rows


def latest_run_records(results_dir) -> list[dict]:
    """The records of the run whose records were written last in ``<results_dir>/metrics`` (none: ``[]``)."""
    paths = sorted((Path(results_dir) / "metrics").glob("*.json"), key=lambda p: p.stat().st_mtime)
    records = [json.loads(p.read_text()) for p in paths]
    if not records:
        return []
    latest = records[-1].get("run")
    return [r for r in records if r.get("run") == latest]


def built_corpus(results_dir):
    """The corpus a results folder was built from (its ``corpus.json``, written by ``prepare``), or ``None``.

    ``None`` when the folder has no such file or its data is no longer where it was.
    """
    from ..corpus.sources import corpus_for
    from ..errors import MerError

    path = Path(results_dir) / "corpus.json"
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    try:
        return corpus_for(saved["data"], saved["root"], saved.get("subset"), quiet=True)
    except (MerError, KeyError):
        return None


def corpus_verdicts(results_root) -> pd.DataFrame:
    """:func:`lesson_verdicts` of the latest run of every corpus in ``results_root``, side by side.

    A corpus whose data is no longer reachable (:func:`built_corpus`) is left
    out.  Returns one row per lesson and target, a column per corpus holding
    ``"holds: 0.12 [0.05, 0.19]"``; empty when no corpus has records.
    """
    from .lessons import best_of_each_phase, comparison_rows, this_run

    columns = {}
    for name, label in CORPUS_LABELS.items():
        records = latest_run_records(Path(results_root) / name)
        corpus = built_corpus(Path(results_root) / name) if records else None
        if corpus is None:
            continue
        records, _ = this_run(records, corpus)
        table = comparison_rows(records, corpus)
        found = lesson_verdicts(records, table, best_of_each_phase(table))
        found = pd.concat([found, pd.DataFrame(dynamic_verdicts(Path(results_root) / name), columns=found.columns)],
                          ignore_index=True)
        columns[label] = {(LESSONS[r.lesson], r.target): f"{r.verdict}: {format_interval(r.difference, (r.low, r.high), 2)}"
                          for r in found.itertuples()}
    if not columns:
        return pd.DataFrame()
    frame = pd.DataFrame(columns)
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["lesson", "target"])
    order = {lesson: k for k, lesson in enumerate(LESSONS.values())}
    order |= {target: k for k, target in enumerate(("valence", "arousal", "both"))}
    return frame.sort_index(key=lambda index: index.map(order)).reset_index()
