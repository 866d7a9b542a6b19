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

import pandas as pd

from ..cache import write_json_atomic

PARTS_SCORED = ("validation", "test")


def make_record(phase: int, model: str, target: str, data: str, validation: dict, test: dict, **details) -> dict:
    """A result record: the keys every record needs, then any further plain ``details``."""
    return {
        "phase": phase,
        "model": model,
        "target": target,
        "data": data,
        "validation": dict(validation),
        "test": dict(test),
        **details,
    }


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


def load_results(results_dir) -> pd.DataFrame:
    """All saved records as one flat table (``validation_r2``, ``test_rmse``, ...)."""
    paths = sorted((Path(results_dir) / "metrics").glob("*.json"))
    return flatten_records([json.loads(path.read_text()) for path in paths])


def flatten_records(records: list[dict]) -> pd.DataFrame:
    """Records as one flat table: ``validation``/``test`` metrics as ``<part>_<metric>``, other dicts as JSON text."""
    rows = []
    for record in records:
        row = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in record.items() if k not in PARTS_SCORED}
        for part in PARTS_SCORED:
            row.update({f"{part}_{metric}": value for metric, value in record.get(part, {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def save_results(results_dir, records: list[dict]) -> list[Path]:
    """Save every record of a page (see :func:`save_result`)."""
    return [save_result(results_dir, record) for record in records]
