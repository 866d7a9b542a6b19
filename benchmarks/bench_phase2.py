"""Throughput of Phase 2: the log-mel chunk cache and the four models.

Prints three tables:

1. the chunk cache build: songs, chunks, wall seconds and how many times
   faster than real time (seconds of audio per second of build);
2. per model: seconds per epoch, training samples per second, evaluation
   samples per second and each model's speed relative to EmotionCNN;
3. with ``--full``: the whole default schedule of the book (4 models x 2
   targets with :data:`mer_utils.train.TRAINING_DEFAULTS`), its total wall time
   against the 15-minute budget, and the peak memory.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_phase2.py --data-dir data/synthdeam --cache-dir /tmp/bench-cache
    .venv/bin/python benchmarks/bench_phase2.py --data-dir data/synthdeam --cache-dir /tmp/bench-cache --full

The cache is timed from scratch unless ``--reuse-cache`` is given (it is built
in ``--cache-dir``, which is emptied first).  Timing is wall-clock and depends
on what else runs on the machine; CPU seconds are shown beside it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from mer_utils.models import PHASE2_MODELS, build_model  # noqa: E402

from mer_utils import train  # noqa: E402
from mer_utils.corpus.deam import TARGETS, corpus_for  # noqa: E402
from mer_utils.corpus.split import song_split  # noqa: E402
from mer_utils.phase2.logmel import build_chunk_cache, split_datasets  # noqa: E402

BUDGET_S = 15 * 60


def cpu_seconds() -> float:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def peak_memory_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (MB)."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def time_cache(corpus, cache_dir: Path, n_jobs: int, reuse: bool):
    if not reuse and cache_dir.exists():
        shutil.rmtree(cache_dir)
    wall = time.perf_counter()
    cache = build_chunk_cache(corpus, cache_dir, n_jobs=n_jobs, progress=False)
    wall = time.perf_counter() - wall
    audio_s = cache.audio_seconds + 0.0
    row = {
        "songs": len(corpus.songs),
        "chunks": cache.n_chunks,
        "skipped": len(cache.skipped),
        "n_jobs": n_jobs,
        "reused": cache.reused,
        "wall_s": wall,
        "audio_min": audio_s / 60,
        "x_real_time": audio_s / cache.build_seconds,
    }
    return cache, row


def time_models(cache, corpus, split, epochs: int, batch_size: int, seed: int):
    datasets, scaler, _ = split_datasets(cache, corpus, split, "valence_mean", seed=seed)
    rows = []
    for name in PHASE2_MODELS:
        model = build_model(name, seed=seed)
        train_loader = train.make_loader(datasets["train"], batch_size, shuffle=True, seed=seed)
        val_loader = train.make_loader(datasets["validation"], 64)
        cpu = cpu_seconds()
        _, history = train.fit(
            model,
            train_loader,
            val_loader,
            epochs=epochs,
            patience=None,
            seed=seed,
            target_scaler=scaler,
            progress=False,
        )
        cpu = cpu_seconds() - cpu
        start = time.perf_counter()
        train.predict(model, train.make_loader(datasets["test"], 64), scaler)
        eval_rate = len(datasets["test"]) / (time.perf_counter() - start)
        rows.append(
            {
                "model": name,
                "train_chunks": len(datasets["train"]),
                "seconds_per_epoch": history["seconds"].mean(),
                "cpu_s_per_epoch": cpu / len(history),
                "train_samples_per_s": history["samples_per_s"].mean(),
                "eval_samples_per_s": eval_rate,
            }
        )
    table = pd.DataFrame(rows)
    base = table.loc[table["model"] == "EmotionCNN", "seconds_per_epoch"].iloc[0]
    table["epoch_time_vs_EmotionCNN"] = table["seconds_per_epoch"] / base
    return table


def time_full_schedule(cache, corpus, split, data: str, seed: int):
    rows = []
    for name in PHASE2_MODELS:
        for target in TARGETS:
            settings = train.training_settings(data, name)
            datasets, scaler, _ = split_datasets(cache, corpus, split, target, seed=seed)
            model = build_model(name, seed=seed)
            train_loader = train.make_loader(datasets["train"], settings["batch_size"], shuffle=True, seed=seed)
            val_loader = train.make_loader(datasets["validation"], 64)
            start = time.perf_counter()
            model, history = train.fit(
                model,
                train_loader,
                val_loader,
                epochs=settings["epochs"],
                patience=settings["patience"],
                lr=settings["lr"],
                seed=seed,
                target_scaler=scaler,
                val_groups=datasets["validation"].frame["song_id"],
                progress=False,
            )
            scores = train.chunk_and_song_scores(train.chunk_predictions(model, datasets["test"], scaler))
            rows.append(
                {
                    "model": name,
                    "target": target,
                    "epochs_run": len(history),
                    "best_epoch": history.attrs["best_epoch"],
                    "val_r2": train.best_epoch_row(history)["val_r2"],
                    "test_song_r2": scores["song"]["r2"],
                    "wall_s": time.perf_counter() - start,
                }
            )
            print(
                pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1, float_format="%.3f"), flush=True
            )
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synth", choices=["synth", "deam"])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--cache-dir", required=True, help="scratch folder for the chunk cache")
    parser.add_argument("--subset", default="1_2000")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per model for the throughput table")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: one per core)")
    parser.add_argument("--reuse-cache", action="store_true", help="do not rebuild the cache before timing it")
    parser.add_argument("--skip-models", action="store_true", help="time the cache only")
    parser.add_argument("--full", action="store_true", help="also run the book's whole default schedule (8 trainings)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    total_start = time.perf_counter()
    corpus = corpus_for(args.data, args.data_dir, args.subset)
    split = song_split(corpus.song_ids, seed=args.seed)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load:.2f} at start; "
        f"{corpus.describe()}\n",
        flush=True,
    )

    cache, cache_row = time_cache(corpus, Path(args.cache_dir), args.n_jobs, args.reuse_cache)
    print("Chunk cache build")
    print(pd.DataFrame([cache_row]).to_string(index=False, float_format="%.2f"), "\n", flush=True)

    if not args.skip_models:
        table = time_models(cache, corpus, split, args.epochs, args.batch_size, args.seed)
        print(f"Models ({args.epochs} epoch(s) each, batch {args.batch_size}, valence)")
        print(table.to_string(index=False, float_format="%.2f"), "\n", flush=True)

    if args.full:
        if not args.reuse_cache:  # time the cache from scratch as part of the schedule
            cache, cache_row = time_cache(corpus, Path(args.cache_dir), args.n_jobs, reuse=False)
        start = time.perf_counter()
        print("Full default schedule")
        runs = time_full_schedule(cache, corpus, split, args.data, args.seed)
        schedule = time.perf_counter() - start
        total = cache_row["wall_s"] + schedule
        self_mb, child_mb = peak_memory_mb()
        print(
            f"\ncache {cache_row['wall_s']:.1f} s + 8 trainings {schedule:.1f} s = {total:.1f} s "
            f"({total / BUDGET_S:.0%} of the {BUDGET_S // 60}-minute budget); "
            f"epochs run: {int(runs['epochs_run'].sum())}"
        )
        print(f"peak memory: {self_mb:.0f} MB in this process, {child_mb:.0f} MB in the largest finished child process")
    print(f"\nbenchmark wall time {time.perf_counter() - total_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
