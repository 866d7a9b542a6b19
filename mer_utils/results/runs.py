"""Which run a result record belongs to, and the records of one run for the summary pages.

Used by: :attr:`mer_utils.page.Page.run` (every page that saves records), and
``notebooks/phase2_summary.py``, ``notebooks/conclusions.py`` and the Real music
transfer (``notebooks/real_music.py``) through :func:`records_of_run`.

A run is what the data is, never where it sits: :func:`run_identity` keys it
by a digest of the corpus (its name, subset, song ids and label values, with
no file path), the split's hash and the seed.  A checkout that is moved, or
data reached through a symlink, keeps its runs and its book.

The compatibility rule, stated once in :func:`is_stale`: a record whose run
has no ``corpus`` was written before runs were keyed this way (it names an
absolute ``data_root``); it belongs to no run and is reported as stale, with
the command that rebuilds it.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from ..corpus.split import split_hash
from ..errors import MerError
from .records import load_records

log = logging.getLogger(__name__)

RUN_KEYS = ("corpus", "split", "seed")
REBUILD = "make clean-book && make book"  # re-runs every page, keeping data and caches
PHASE_PAGES = {1: "notebooks/phase1_models.py", 2: "notebooks/phase2_train.py", 3: "notebooks/phase3_panns.py"}


def corpus_digest(corpus, subset: str) -> str:
    """``<name>-<12 hex>``: the corpus name, the subset, and every song id with its label values (no path column)."""
    songs = corpus.songs.drop(columns=[c for c in corpus.songs if str(c).endswith("_path")])
    songs = songs.sort_index()[sorted(songs.columns, key=str)]
    text = f"{corpus.name}\n{subset}\n{songs.to_csv()}"
    return f"{corpus.name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def run_identity(corpus, split, subset: str, seed: int) -> dict:
    """What makes results comparable: the corpus digest (:func:`corpus_digest`), the split's hash and the seed."""
    return {"corpus": corpus_digest(corpus, subset), "split": split_hash(split), "seed": int(seed)}


def is_stale(record: dict) -> bool:
    """A record written before runs were keyed by their data: its run has no ``corpus`` (it has ``data_root``)."""
    return "corpus" not in (record.get("run") or {})


def describe_run(run: dict | None) -> str:
    """``corpus synthdeam-…, split …, seed 42``; an old-format run by its data root."""
    run = run or {}
    if "corpus" not in run:
        return f"an old-format run (data root {run.get('data_root', '?')}, split {run.get('split', '?')})"
    return ", ".join(f"{key} {run.get(key)}" for key in RUN_KEYS)


def records_of_run(results_dir, run: dict, needed=()) -> list[dict]:
    """The records of ``run`` in ``<results_dir>/metrics``, with a record of every phase in ``needed``.

    Stale records (:func:`is_stale`) are left out and reported in one warning.
    Raises :class:`MerError` when no record of this run is found (or none of a
    needed phase), naming the run looked for, the runs found and what to re-run.
    """
    metrics = Path(results_dir) / "metrics"
    records = load_records(results_dir)
    mine = [r for r in records if r.get("run") == run]
    stale = [r for r in records if is_stale(r)]
    if stale:
        log.warning("%d records in %s were written before runs were keyed by their data (they name a data root) "
                    "and are left out: remove %s and rebuild with `%s`.", len(stale), metrics, metrics, REBUILD)
    missing = [p for p in needed if not any(r.get("phase") == p for r in mine)]
    if mine and not missing:
        return mine
    what = " or ".join(f"Phase {p}" for p in missing)
    found = {}
    for record in records:
        key = json.dumps(record.get("run"), sort_keys=True)
        found[key] = found.get(key, 0) + 1
    found_text = "; ".join(f"{n} records of " + (f"this run, none of {what}" if json.loads(key) == run
                                                  else describe_run(json.loads(key))) for key, n in found.items())
    pages = ", ".join(PHASE_PAGES[p] for p in missing if p in PHASE_PAGES) or "the phase pages"
    raise MerError(
        f"no {what + ' ' if what else ''}record of this run in {metrics}. Looked for {describe_run(run)}; "
        f"found {found_text or 'no records'}. Re-run {pages}: `make book` (a page that failed leaves no records), "
        f"or `{REBUILD}` when those pages are up to date (data and caches are kept)."
    )
