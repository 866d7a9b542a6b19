"""Fine-tuning's comparison: fine-tuned, frozen and from-scratch networks side by side, and their paired differences.

Used by: ``notebooks/phase3_finetune.py``; tested by ``tests/test_finetune.py``.

Why apart from :mod:`.finetune`: the page's question (does fine-tuning beat the frozen
backbone's EmotionMLP, and does pretraining beat the same network from random weights?)
is read from the records alone, each kind's found by its ``setting``
(:func:`comparison_records`), so the tables can be rebuilt from saved records without
training anything.  Differences are paired on the same songs (over films under
cross-validation), and a network is "better" only when the interval excludes zero.
"""

from __future__ import annotations

import pandas as pd

from ..corpus.base import short_name
from .backbones import FINETUNE_SETTINGS, SETTINGS


def frozen_setting(name: str) -> str:
    """The ``setting`` of the frozen backbone's EmotionMLP records (the page of that backbone)."""
    return SETTINGS[name]


def comparison_records(records: list[dict], name: str = "musicnn") -> dict:
    """``{(kind, target): record}`` for ``kind`` in ``finetuned``, ``frozen``, ``scratch``, from a run's records.

    ``frozen`` is the EmotionMLP on the frozen backbone (Phase 3, setting of
    :func:`frozen_setting`, song level); the others this page's runs.
    """
    wanted = {FINETUNE_SETTINGS[(name, "finetuned")]: "finetuned", frozen_setting(name): "frozen",
              FINETUNE_SETTINGS[(name, "scratch")]: "scratch"}
    found = {}
    for record in records:
        kind = wanted.get(record.get("setting", ""))
        if record.get("phase") == 3 and kind and record.get("level", "song") == "song":
            if kind != "frozen" or record.get("model") == "EmotionMLP":
                found[(kind, record["target"])] = record
    return found


KIND_WORDS = {"finetuned": "fine-tuned", "frozen": "frozen, EmotionMLP on its embedding",
              "scratch": "from random weights"}


def first_fold_validation(found: dict, targets) -> dict:
    """The frozen model's validation R² on the first fold's (or the split's) validation songs, per target."""
    from ..results.crossfit import fold_detail

    out = {}
    for target in targets:
        record = found.get(("frozen", target))
        if record is not None:
            folds = [entry["fold"] for entry in record.get("folds", [])]
            validation = fold_detail(record, "validation", min(folds)) if folds else record["validation"]
            out[target] = float(validation["r2"])
    return out


def side_by_side(found: dict, targets, corpus) -> pd.DataFrame:
    """One row per kind (fine-tuned, frozen, from scratch): test R² and RMSE [95% CI] per target (RMSE on the
    corpus's scale, which the caption names), validation R²."""
    from ..results.intervals import format_interval

    rows = []
    for kind in ("finetuned", "frozen", "scratch"):
        if not any((kind, t) in found for t in targets):
            continue
        row = {"backbone": KIND_WORDS[kind]}
        for target in targets:
            record = found.get((kind, target))
            label = corpus.target_label(target)
            if record is None:
                row[f"{label} R² [95% CI]"] = row[f"{label} RMSE [95% CI]"] = row[f"{label} validation R²"] = "–"
                continue
            interval = record.get("test_interval", {})
            row[f"{label} R² [95% CI]"] = format_interval(record["test"]["r2"], interval.get("r2"))
            row[f"{label} RMSE [95% CI]"] = format_interval(record["test"]["rmse"], interval.get("rmse"))
            row[f"{label} validation R²"] = f"{record['validation']['r2']:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


PAIRS = (("finetuned", "frozen"), ("finetuned", "scratch"))


def paired_differences(found: dict, targets, corpus) -> pd.DataFrame:
    """Fine-tuned minus frozen and fine-tuned minus from scratch, per target: R² difference, its paired 95% interval
    (over films under cross-validation, songs otherwise), the songs compared and the reading."""
    from ..results.intervals import compare_on_shared_songs
    from ..results.lessons import reading
    from ..results.records import test_predictions

    rows = []
    for a, b in PAIRS:
        for target in targets:
            if (a, target) not in found or (b, target) not in found:
                continue
            diff = compare_on_shared_songs(test_predictions(found[(a, target)]), test_predictions(found[(b, target)]))
            rows.append({"comparison": f"{KIND_WORDS[a].split(',')[0]} − {KIND_WORDS[b].split(',')[0]}",
                         "a": a, "b": b, "target": short_name(target), "target_label": corpus.target_label(target),
                         **{k: diff[k] for k in ("difference", "low", "high", "songs")}, "reading": reading(diff)})
    return pd.DataFrame(rows, columns=["comparison", "a", "b", "target", "target_label", "difference", "low", "high",
                                       "songs", "reading"])


def differences_table(differences: pd.DataFrame) -> pd.DataFrame:
    """:func:`paired_differences` for the page: comparison, target, R² A − B [95% CI], songs, A is."""
    from ..results.intervals import format_interval

    return pd.DataFrame({
        "comparison (A − B)": differences["comparison"], "target": differences["target_label"],
        "R² A − B [95% CI]": [format_interval(d, (lo, hi), 3) for d, lo, hi
                              in zip(differences["difference"], differences["low"], differences["high"])],
        "songs": differences["songs"], "A is": differences["reading"]})


def epoch_table(history: pd.DataFrame, targets) -> pd.DataFrame:
    """The per-epoch table of one run: losses, validation song R² per target, seconds, patches per second."""
    columns = {"epoch": "epoch", "train_loss": "train loss (MSE, std. units)",
               "val_song_loss": "val song loss (MSE, std. units)"}
    for target in targets:
        columns[f"val_song_r2_{target}"] = f"{short_name(target)} val song R²"
    columns.update({"seconds": "seconds", "samples_per_s": "train patches/s"})
    table = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    table["best"] = history["best"].map({True: "◀ best", False: ""}).to_numpy()
    return table
