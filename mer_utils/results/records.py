"""Result records: one JSON file per model, target and level, and the flat table they make.

Used by: ``notebooks/phase1_models.py``, ``notebooks/phase2_train.py`` and
``notebooks/phase3_panns.py`` (they save records) and ``notebooks/phase2_summary.py``
and ``notebooks/conclusions.py`` (they read them all back).

A record is a dict with ``phase``, ``model``, ``target``, ``data``, the metric
dicts ``validation`` and ``test``, and optionally ``setting``, ``level`` and
any plain values describing the run.  :func:`flatten_records` turns records
into one row each (``validation_r2``, ``test_rmse``, ...): the one flattening
used by every table of the book.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import write_json_atomic

PARTS_SCORED = ("validation", "test")
NOT_FLAT = (*PARTS_SCORED, "test_interval", "test_predictions", "run", "folds")


def make_record(phase: int, model: str, target: str, data: str, validation: dict, test: dict, *,
                test_predictions: pd.DataFrame | None = None, run: dict | None = None, groups=None, **details) -> dict:
    """A result record: the keys every record needs, the test interval, the run it belongs to, then ``details``.

    Args:
        phase, model, target, data: what was scored.
        validation, test: metric dicts (:func:`mer_utils.results.metrics.regression_metrics`).
        test_predictions: per-test-item ``song_id``, ``true``, ``predicted`` (1..9 scale); with it the record
            carries the 95% bootstrap interval of each test metric over songs (whole songs are resampled when
            a song has several items, i.e. chunks) and the per-song predictions (the mean over a song's items),
            which the conclusions use for paired comparisons.
        run: the run's identity (:attr:`mer_utils.page.Page.run`): corpus digest, split hash, seed.
        groups: each song id's group (a film; :attr:`mer_utils.corpus.base.Corpus.groups`) where songs are not
            independent: the interval then resamples whole groups, and the per-song predictions carry the group
            so that paired comparisons do too.
        details: further plain values describing the run.
    """
    record = {"phase": phase, "model": model, "target": target, "data": data, "validation": dict(validation),
              "test": dict(test), **details}
    if run is not None:
        record["run"] = dict(run)
    if test_predictions is not None:
        from .intervals import bootstrap_interval

        frame = pd.DataFrame(test_predictions)
        chunked = frame["song_id"].duplicated().any()
        resampled = None if groups is None else pd.Series(groups).loc[frame["song_id"]].to_numpy()
        if resampled is None and chunked:
            resampled = frame["song_id"]
        record["test_interval"] = bootstrap_interval(frame["true"], frame["predicted"], groups=resampled)
        songs = frame.groupby("song_id", sort=True)[["true", "predicted"]].mean().reset_index()
        record["test_predictions"] = {"song_id": [int(i) for i in songs["song_id"]],
                                      "true": [float(v) for v in songs["true"]],
                                      "predicted": [float(v) for v in songs["predicted"]]}
        if groups is not None:
            record["test_predictions"]["group"] = [str(g) for g in pd.Series(groups).loc[songs["song_id"]]]
    return record


def save_result(results_dir, record: dict) -> Path:
    """Save one model's scores as JSON under ``<results_dir>/metrics/``.

    ``record`` needs ``phase``, ``model``, ``target``, ``data`` and the metric
    dicts ``validation`` and ``test``; ``setting`` and ``level`` are optional.
    """
    for key in ("phase", "model", "target", "data", "validation", "test"):
        if key not in record:
            raise ValueError(f"result record lacks '{key}'")
    record = {"setting": "", "level": "song", **record}
    slug = "-".join(str(record[k]) for k in ("phase", "model", "setting", "target", "level") if record[k] != "")
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in slug)
    path = Path(results_dir) / "metrics" / f"{slug}.json"
    write_json_atomic(path, record)
    return path


def load_records(results_dir, run: dict | None = None) -> list[dict]:
    """The saved records; with ``run``, only those of that run (:func:`mer_utils.results.runs.run_identity`).

    The summary pages read them through :func:`mer_utils.results.runs.records_of_run`, which also says what
    to re-run when there are none.
    """
    paths = sorted((Path(results_dir) / "metrics").glob("*.json"))
    records = [json.loads(path.read_text()) for path in paths]
    return [r for r in records if run is None or r.get("run") == run]


def load_results(results_dir, run: dict | None = None) -> pd.DataFrame:
    """All saved records (of ``run``, when given) as one flat table (``validation_r2``, ``test_rmse``, ...)."""
    return flatten_records(load_records(results_dir, run))


def test_predictions(record: dict) -> pd.DataFrame:
    """A record's per-song test predictions (``song_id``, ``true``, ``predicted``); empty when it has none."""
    return pd.DataFrame(record.get("test_predictions", {"song_id": [], "true": [], "predicted": []}))


def flatten_records(records: list[dict]) -> pd.DataFrame:
    """Records as one flat table: metrics as ``<part>_<metric>``, test intervals as ``test_<metric>_low``/``_high``.

    Per-song predictions and the run identity stay out; other dicts become JSON text.
    """
    rows = []
    for record in records:
        row = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in record.items() if k not in NOT_FLAT}
        for part in PARTS_SCORED:
            row.update({f"{part}_{metric}": value for metric, value in record.get(part, {}).items()})
        for metric, (low, high) in record.get("test_interval", {}).items():
            row.update({f"test_{metric}_low": low, f"test_{metric}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def save_results(results_dir, records: list[dict]) -> list[Path]:
    """Save every record of a page (see :func:`save_result`)."""
    return [save_result(results_dir, record) for record in records]


def validation_picks(records: list[dict]) -> dict:
    """For each target, the record with the highest validation R² (never chosen on test): ``{target: record}``."""
    picks = {}
    for record in records:
        best = picks.get(record["target"])
        if best is None or record["validation"].get("r2", -np.inf) > best["validation"].get("r2", -np.inf):
            picks[record["target"]] = record
    return picks


def picked_test_predictions(picks: dict, targets) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)``, each ``(songs, len(targets))``, of the picks on the test songs they all predicted."""
    frames = [test_predictions(picks[t]).set_index("song_id") for t in targets]
    songs = sorted(set.intersection(*(set(f.index) for f in frames)))
    return (np.column_stack([f.loc[songs, "true"] for f in frames]),
            np.column_stack([f.loc[songs, "predicted"] for f in frames]))
