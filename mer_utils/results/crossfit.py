"""One phase run on every fold of a cross-validated corpus, and the out-of-fold predictions pooled into records.

Used by: ``notebooks/phase1_models.py`` (and every phase page on a corpus evaluated
by folds, such as Soundtracks; see :mod:`mer_utils.corpus.split`).

The book's scoring functions take one train / validation / test split and return
result records (:func:`mer_utils.results.records.make_record`).  On a corpus with
one split, :func:`over_folds` calls such a function once and returns its records
unchanged.  On a cross-validated corpus it calls it once per fold, each time with
that fold's split (selection sees the fold's training and validation songs only),
and pools the records of one model, setting, target and level into one:

* ``test``: R², RMSE and MAE of the pooled out-of-fold predictions (every song
  predicted once, by a model that never saw its group), on the corpus's own scale;
* ``test_interval``: the 95% bootstrap over groups (films): songs of one group are
  drawn together, since they are not independent;
* ``test_predictions``: the pooled per-song predictions with each song's group, so
  paired comparisons between models bootstrap over the same groups;
* ``validation``: the mean over folds of each fold's validation metrics, the
  figure selection used (never the test songs);
* ``folds``: each fold's validation and test metrics and the details that differ
  between folds (the chosen grid setting, the best epoch, ...); at the top level
  such a detail is the mean over folds where it is a number, else its most
  common value and in how many folds it was chosen (:func:`summarise_detail`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.split import ONE_SPLIT
from .metrics import METRICS, regression_metrics
from .records import make_record

RECORD_KEY = ("phase", "model", "setting", "target", "level")
POOLED = ("validation", "test", "test_interval", "test_predictions", "run")


def over_folds(score, folds: dict, groups: pd.Series | None = None, per_fold: dict | None = None,
               run: dict | None = None, **kwargs) -> list[dict]:
    """``score(split=..., run=..., **kwargs)`` on every fold of ``folds`` (:attr:`mer_utils.page.Page.folds`), pooled.

    ``per_fold`` maps a keyword to ``{fold: value}`` for arguments that differ
    between folds (the feature sets chosen on each fold's training songs).
    ``groups`` maps each song id to its group for the bootstrap.  With one split
    the records are ``score``'s own.
    """
    per_fold = per_fold or {}
    results = {}
    for fold, split in folds.items():
        extra = {name: values[fold] for name, values in per_fold.items()}
        results[fold] = score(split=split, run=run, **kwargs, **extra)
    if list(folds) == [ONE_SPLIT]:
        return results[ONE_SPLIT]
    return pool_records(results, groups, run)


def _key(record: dict) -> tuple:
    return tuple(record.get(k, "song" if k == "level" else "") for k in RECORD_KEY)


def pool_records(records_by_fold: dict[int, list[dict]], groups: pd.Series | None, run: dict | None = None,
                 items: dict | None = None) -> list[dict]:
    """One record per model, setting, target and level from each fold's records (see the module docstring).

    ``items`` maps a record's level to the pooled predictions of the items it
    scores where those are not songs (Phase 2's chunks: ``song_id``, ``true``,
    ``predicted``, every chunk of every fold's test songs); the test figures and
    the interval (over groups) are then computed on them.
    """
    by_key: dict[tuple, dict[int, dict]] = {}
    for fold, records in records_by_fold.items():
        for record in records:
            by_key.setdefault(_key(record), {})[fold] = record
    n_folds = len(records_by_fold)
    pooled = []
    for key, folds in by_key.items():
        if len(folds) != n_folds:
            missing = sorted(set(records_by_fold) - set(folds))
            raise ValueError(f"record {key} is missing from fold(s) {missing}: every fold must score every model")
        pooled.append(_pool(folds, groups, run, (items or {}).get(key[-1])))
    return pooled


def fold_detail(record: dict, key: str, fold: int):
    """A detail of one fold of a record (a chosen grid setting, ...): the fold's own where the folds differ, else
    the value they all share (:func:`pool_records` keeps a detail per fold only where it varies).  A record of one
    split has no folds: its own value."""
    for entry in record.get("folds", []):
        if entry.get("fold") == fold and key in entry:
            return entry[key]
    return record.get(key)


def summarise_detail(values: list):
    """One value for a detail of every fold: itself when all agree, the mean of numbers, else the most common."""
    import json

    if all(v == values[0] for v in values):
        return values[0]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return float(np.mean(values))
    texts = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]
    common = max(sorted(set(texts)), key=texts.count)
    return f"{common} ({texts.count(common)} of {len(texts)} folds)"


def _pool(folds: dict[int, dict], groups: pd.Series | None, run: dict | None, items=None) -> dict:
    first = next(iter(folds.values()))
    details = {k: v for k, v in first.items() if k not in POOLED and k not in ("phase", "model", "target", "data")}
    varying = sorted(k for k in details if any(r.get(k) != details[k] for r in folds.values()))
    predictions = pd.concat([pd.DataFrame(r["test_predictions"]) for r in folds.values()])
    if predictions["song_id"].duplicated().any():
        raise ValueError("a song is tested in two folds: the folds do not partition the songs")
    predictions = predictions.sort_values("song_id") if items is None else items
    validation = {m: float(np.mean([r["validation"][m] for r in folds.values()])) for m in METRICS}
    test = regression_metrics(predictions["true"], predictions["predicted"])
    per_fold = [{"fold": int(fold), "validation": r["validation"], "test": r["test"],
                 **{k: r.get(k) for k in varying}} for fold, r in folds.items()]
    shared = {k: summarise_detail([r.get(k) for r in folds.values()]) for k in details}
    return make_record(first["phase"], first["model"], first["target"], first["data"], validation, test,
                       test_predictions=predictions[["song_id", "true", "predicted"]], run=run, groups=groups,
                       **shared, cross_validated=len(folds), folds=per_fold)
