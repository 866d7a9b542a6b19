"""Phase 2 runs: test predictions per chunk and per song, their records, and the per-epoch tables.

Used by: ``notebooks/phase2_train.py`` (one run per split or per fold,
:func:`train_per_fold`: scores, records, the epoch table) and ``notebooks/phase2_summary.py`` (:func:`best_runs` over the saved
records).  Training itself is :func:`mer_utils.training.loop.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import MerError
from ..phase2.models import PHASE2_MODELS
from ..results.metrics import METRICS, regression_metrics, song_level
from .loop import make_loader, predict
from .runtime import DEFAULT_TRAINING_THREADS, torch_threads


def chunk_predictions(model, dataset, target_scaler, batch_size: int = 64, device=None,
                      precision: str | None = None) -> pd.DataFrame:
    """One row per chunk of a :class:`~mer_utils.phase2.datasets.ChunkDataset`: ids, target and prediction.

    For one target the columns are ``song_id``, ``chunk``, ``start_s``,
    ``target`` and ``prediction`` (1..9 scale), ready for
    :func:`mer_utils.results.metrics.song_level`.  ``precision``: as in
    :func:`mer_utils.training.loop.predict`; pass the one the model was trained in.
    """
    pred = predict(model, make_loader(dataset, batch_size), target_scaler, device, precision)
    frame = dataset.frame[["song_id", "chunk", "start_s"]].copy()
    if len(dataset.targets) == 1:
        frame["target"] = dataset.frame[dataset.targets[0]].to_numpy()
        frame["prediction"] = pred[:, 0]
    else:
        for k, name in enumerate(dataset.targets):
            frame[f"target_{name}"] = dataset.frame[name].to_numpy()
            frame[f"prediction_{name}"] = pred[:, k]
    return frame


def chunk_and_song_scores(frame: pd.DataFrame) -> dict:
    """R², RMSE and MAE (1..9 scale) of a one-target :func:`chunk_predictions` frame, per chunk and per song."""
    songs = song_level(frame)
    return {
        "chunk": regression_metrics(frame["target"], frame["prediction"]),
        "song": regression_metrics(songs["target"], songs["prediction"]),
    }


def best_epoch_row(history: pd.DataFrame) -> pd.Series:
    """The history row of the restored (best) epoch."""
    return history.loc[history["best"]].iloc[0]


def epoch_table(history: pd.DataFrame) -> pd.DataFrame:
    """The per-epoch table of the book (like the report's tables 3 to 10), with readable column names."""
    columns = {
        "epoch": "epoch",
        "train_loss": "train loss (MSE, std. units)",
        "val_loss": "val loss (MSE, std. units)",
        "val_r2": "val R²",
        "val_rmse": "val RMSE (1–9)",
        "val_mae": "val MAE (1–9)",
        "val_song_r2": "val song R²",
        "seconds": "seconds",
        "samples_per_s": "train samples/s",
        "best": "best",
    }
    table = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    table["best"] = table["best"].map({True: "◀ best", False: ""})
    return table


def result_records(model_name: str, target: str, corpus, history: pd.DataFrame, test_frame: pd.DataFrame,
                   run: dict | None = None, extra: dict | None = None) -> list[dict]:
    """The two result records of one Phase 2 run, ``level`` "song" and "chunk", with test intervals over songs.

    ``test_frame`` is :func:`chunk_predictions` on the test set; the song
    record scores the mean of each song's chunk predictions, the chunk record
    every chunk (its interval resamples whole songs).  Validation figures are
    the best epoch's (song level needs ``val_song_*`` columns, i.e.
    ``fit(..., val_groups=...)``).
    """
    from ..results.records import make_record

    best = best_epoch_row(history)
    details = {
        "epochs_run": int(history.attrs.get("epochs_run", len(history))),
        "best_epoch": int(best["epoch"]),
        "seconds_per_epoch": float(history["seconds"].mean()),
        "samples_per_s": float(history["samples_per_s"].mean()),
        **(extra or {}),
    }
    chunks = test_frame.rename(columns={"target": "true", "prediction": "predicted"})
    songs = chunks.groupby("song_id", as_index=False)[["true", "predicted"]].mean()
    records = []
    for level, prefix, frame in (("song", "val_song_", songs), ("chunk", "val_", chunks)):
        validation = {m: float(best[f"{prefix}{m}"]) for m in METRICS if f"{prefix}{m}" in best}
        test = regression_metrics(frame["true"], frame["predicted"])
        records.append(make_record(2, model_name, target, corpus.name, validation, test, run=run,
                                   test_predictions=frame[["song_id", "true", "predicted"]], level=level, **details))
    return records


def best_runs(results: pd.DataFrame, phase: int = 2, level: str | None = "song") -> pd.DataFrame:
    """The run with the highest validation R² of each model and target (of one ``level``), from saved records.

    ``results`` is :func:`mer_utils.results.records.load_results`; the test figures
    shown are those of the run picked on validation, never the best test figure.
    """
    if results.empty or "phase" not in results:
        return pd.DataFrame()
    table = results[results["phase"] == phase]
    if level is not None and "level" in table:
        table = table[table["level"] == level]
    if table.empty:
        return table
    table = table.sort_values("validation_r2", ascending=False).groupby(["model", "target"], as_index=False).head(1)
    order = {name: k for k, name in enumerate(PHASE2_MODELS)}
    table = table.assign(
        _model=table["model"].map(order), _target=table["target"].map({"valence_mean": 0, "arousal_mean": 1})
    )
    return table.sort_values(["_model", "_target", "model"]).drop(columns=["_model", "_target"]).reset_index(drop=True)


def saved_runs(results_dir, run: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """All saved records of ``run``, and the best Phase 2 run of each model and target at song and at chunk level.

    Raises :class:`MerError` when no Phase 2 record of this run has been saved
    (:func:`mer_utils.results.runs.records_of_run` names the runs it found and what to re-run).
    """
    from ..results.records import flatten_records
    from ..results.runs import records_of_run

    results = flatten_records(records_of_run(results_dir, run, needed=(2,)))
    songs, chunks = best_runs(results, level="song"), best_runs(results, level="chunk")
    if songs.empty:
        raise MerError(
            f"no Phase 2 results in {results_dir}/metrics: run the Phase 2 training pages first (make book)."
        )
    return results, songs, chunks


def part_counts(datasets: dict) -> pd.DataFrame:
    """Songs and chunks in each part of the split (from :func:`mer_utils.phase2.datasets.split_datasets`); on a corpus
    heard at a few chunks of each song (``Corpus.chunks_per_song``), the chunks heard."""
    return pd.DataFrame(
        [{"part": part, "songs": ds.frame["song_id"].nunique(), "chunks": len(ds)} for part, ds in datasets.items()]
    )


def hearing_sentence(corpus) -> str:
    """How much of each song Phase 2 hears, on a corpus heard at a few chunks of each song (else ``""``)."""
    per_song = getattr(corpus, "chunks_per_song", None)
    if not per_song:
        return ""
    return (f"Each piece is heard at {per_song} of its 3-second chunks, spread evenly over it, in training, "
            f"validation and test alike: every chunk of this corpus ({corpus.kind}'s pieces last minutes) would not "
            "train within the book's time budget on two CPU cores. A piece's prediction is the mean of those "
            "chunks'.")


def best_of_phases(results: pd.DataFrame, songs: pd.DataFrame) -> pd.DataFrame:
    """The best Phase 1 run and the best Phase 2 run (song level) of each target, picked on validation R².

    Empty when no Phase 1 record is saved.
    """
    phase1 = results[results["phase"] == 1] if "phase" in results else results
    if phase1.empty:
        return pd.DataFrame()
    best1 = phase1.sort_values("validation_r2", ascending=False).groupby("target", as_index=False).head(1)
    best2 = songs.sort_values("validation_r2", ascending=False).groupby("target", as_index=False).head(1)
    keep = ["phase", "model", "setting", "target", "validation_r2", "test_r2", "test_rmse", "test_mae",
            *[f"test_{m}_{end}" for m in ("r2", "rmse", "mae") for end in ("low", "high")]]
    both = [best1.assign(phase="Phase 1"), best2.assign(phase="Phase 2", setting="")]
    return pd.concat([b.reindex(columns=keep) for b in both], ignore_index=True)


def timing_table(songs: pd.DataFrame) -> pd.DataFrame:
    """Seconds per epoch, training samples per second and epochs of each model, averaged over the targets."""
    from ..phase2.models import LABELS

    timing = (
        songs.groupby("model", sort=False)[["seconds_per_epoch", "samples_per_s", "epochs_run", "best_epoch"]]
        .mean()
        .reindex([m for m in PHASE2_MODELS if m in set(songs["model"])])
    )
    timing["relative_time_per_epoch"] = timing["seconds_per_epoch"] / timing["seconds_per_epoch"].iloc[0]
    timing.index = timing.index.map(LABELS).rename("model")
    return timing.rename(
        columns={
            "seconds_per_epoch": "seconds per epoch",
            "samples_per_s": "training samples/s",
            "epochs_run": "epochs run",
            "best_epoch": "best epoch",
            "relative_time_per_epoch": "time per epoch vs CNN baseline",
        }
    )


@dataclass
class Phase2Run:
    """One split's Phase 2 run: its chunk datasets, the trained model, the history, test chunks and records."""

    datasets: dict
    target_scaler: object
    input_stats: tuple
    model: object
    history: pd.DataFrame
    test_frame: pd.DataFrame
    records: list[dict]


def train_on_split(split: pd.DataFrame, run: dict | None, *, cache, corpus, model_name: str, target: str,
                   settings: dict, seed: int, threads=None, precision=None, max_train_chunks=None) -> Phase2Run:
    """One Phase 2 run on one split: chunk datasets, training with early stopping on validation, test records.

    ``settings`` is :func:`mer_utils.training.defaults.training_settings` for ``model_name``;
    ``cache`` the log-mel chunk cache (:func:`mer_utils.phase2.logmel.build_chunk_cache`).
    ``threads``: torch CPU threads for the training and the test predictions
    (``None``: :data:`~mer_utils.training.runtime.DEFAULT_TRAINING_THREADS`).
    """
    with torch_threads(DEFAULT_TRAINING_THREADS if threads is None else threads):
        return _train_on_split(split, run, cache=cache, corpus=corpus, model_name=model_name, target=target,
                               settings=settings, seed=seed, precision=precision, max_train_chunks=max_train_chunks)


def _train_on_split(split, run, *, cache, corpus, model_name, target, settings, seed, precision, max_train_chunks):
    from ..phase2.datasets import split_datasets
    from .loop import fit
    from .modelfile import build_model

    datasets, target_scaler, input_stats = split_datasets(cache, corpus, split, target, seed=seed,
                                                         max_train_chunks=max_train_chunks)
    model, history = fit(
        build_model(model_name, seed=seed), make_loader(datasets["train"], settings["batch_size"], shuffle=True, seed=seed),
        make_loader(datasets["validation"], 64),
        epochs=settings["epochs"], patience=settings["patience"], lr=settings["lr"], seed=seed,
        target_scaler=target_scaler, target_names=[target], val_groups=datasets["validation"].frame["song_id"],
        precision=precision,
    )
    test_frame = chunk_predictions(model, datasets["test"], target_scaler, precision=history.attrs["precision"])
    records = result_records(
        model_name, target, corpus, history, test_frame, run=run,
        extra={"max_epochs": settings["epochs"], "patience": settings["patience"], "batch_size": settings["batch_size"],
               "lr": settings["lr"], "seed": seed, "train_chunks": len(datasets["train"]),
               "test_chunks": len(test_frame), "test_songs": int(test_frame["song_id"].nunique()),
               "precision": history.attrs["precision"]},
    )
    return Phase2Run(datasets, target_scaler, input_stats, model, history, test_frame, records)


def train_per_fold(folds: dict, groups, run: dict | None, **kwargs) -> tuple[dict, list[dict], pd.DataFrame]:
    """:func:`train_on_split` on every fold (:attr:`mer_utils.page.Page.folds`): ``({fold: Phase2Run}, records, chunks)``.

    ``chunks`` holds every test chunk's prediction (each chunk once).  With one
    split the records are its own; under folds they are pooled out of fold
    (:func:`mer_utils.results.crossfit.pool_records`), the chunk-level record on
    the pooled chunks, with intervals over groups.
    """
    from ..corpus.split import ONE_SPLIT
    from ..results.crossfit import pool_records

    runs = {fold: train_on_split(split, run, **kwargs) for fold, split in folds.items()}
    chunks = pd.concat([r.test_frame for r in runs.values()], ignore_index=True)
    if list(folds) == [ONE_SPLIT]:
        return runs, runs[ONE_SPLIT].records, chunks
    items = {"chunk": chunks.rename(columns={"target": "true", "prediction": "predicted"})[["song_id", "true",
                                                                                            "predicted"]]}
    return runs, pool_records({fold: r.records for fold, r in runs.items()}, groups, run, items=items), chunks
