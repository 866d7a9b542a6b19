"""Throughput of Phase 2 in float32 and bfloat16, and a check that bfloat16 keeps the metrics.

Prints, from one run (so that the ratios compare like with like on a shared machine):

1. the chunk cache build: songs, chunks, wall seconds and how many times
   faster than real time (seconds of audio per second of build);
2. per model, training and evaluation chunks per second in float32 and with
   bfloat16 autocast (both in channels-last memory, as the training loop runs
   them), and the ratio bfloat16 / float32.  The two precisions alternate,
   ``--rounds`` times each, on the same training chunks; the table shows each
   precision's best round (the one least disturbed by other processes).
   ``x real time``: seconds of audio trained on per second;
3. the metric check: EmotionCNN on valence with the book's default schedule
   (:func:`mer_utils.training.defaults.training_settings`), once in float32 and
   once in bfloat16.  For the chosen epoch's validation R² (chunk level, the
   report's protocol, and song level) and the test R² (song level: the mean of
   each song's chunk predictions), the float32 figure with its 95% bootstrap
   interval over songs, the bfloat16 figure, and whether it lies inside that
   interval; then the paired bootstrap of bfloat16 minus float32 on the test songs;
4. with ``--full``: the whole default schedule of the book (4 models x 2
   targets) in ``--precision``, its total wall time and the peak memory;
5. with ``--compare-allocator``: the training and evaluation rates of part 2
   with glibc's allocator as it comes (``MER_KEEP_FREED_MEMORY=0``) and with
   :func:`mer_utils.training.runtime.keep_freed_memory` (the book's setting),
   each in its own child process, ``--rounds`` alternating pairs, the best
   round of each, and the ratio kept / default.
6. with ``--side-by-side``: the rates of part 2 (float32 and bfloat16) of one
   run on 2 torch threads, and of two runs started together on 1 thread each
   (their sum), as ``make book`` runs the Phase 2 pages (two at a time, one
   thread each: ``PAGE_JOBS`` in the Makefile), ``--rounds`` alternating
   rounds, the best of each, and the ratio two runs / one run.

The machine's load average is printed before and after each part: the
absolute rates depend on it, the ratios much less.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_phase2.py --cache-dir /tmp/bench-cache
    .venv/bin/python benchmarks/bench_phase2.py --data-dir data/synthdeam --cache-dir /tmp/bench-cache --reuse-cache
    .venv/bin/python benchmarks/bench_phase2.py --cache-dir /tmp/bench-cache --full --precision auto
    .venv/bin/python benchmarks/bench_phase2.py --cache-dir /tmp/bench-cache --reuse-cache --compare-allocator
    .venv/bin/python benchmarks/bench_phase2.py --cache-dir /tmp/bench-cache --side-by-side

``--data-dir`` defaults to ``data/synthdeam`` when it holds a corpus; otherwise a
small SynthDEAM (200 songs of 12 s) is generated under ``--synth-root`` first.
The cache is timed from scratch unless ``--reuse-cache`` is given (it is built
in ``--cache-dir``, which is emptied first).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import Subset  # noqa: E402

from mer_utils.corpus.base import TARGETS  # noqa: E402
from mer_utils.corpus.sources import corpus_for  # noqa: E402
from mer_utils.corpus.split import DEFAULT_SEED, song_split  # noqa: E402
from mer_utils.phase2.datasets import split_datasets  # noqa: E402
from mer_utils.phase2.logmel import build_chunk_cache  # noqa: E402
from mer_utils.phase2.models import PHASE2_MODELS  # noqa: E402
from mer_utils.results.intervals import bootstrap_interval, paired_difference  # noqa: E402
from mer_utils.results.metrics import regression_metrics  # noqa: E402
from mer_utils.training.defaults import training_settings  # noqa: E402
from mer_utils.training.loop import fit, make_loader, predict  # noqa: E402
from mer_utils.training.modelfile import build_model  # noqa: E402
from mer_utils.training.phase2 import best_epoch_row, chunk_and_song_scores, chunk_predictions  # noqa: E402
from mer_utils.training.runtime import KEEP_FREED_MEMORY_ENV, resolve_precision  # noqa: E402

PRECISIONS = ("float32", "bfloat16")
SMALL_CORPUS = {"n_songs": 200, "seconds": 12.0}  # generated when no corpus is given or found


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def peak_memory_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (MB)."""
    return (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


def find_corpus(data_dir, synth_root: Path) -> Path:
    """``data_dir``; else data/synthdeam when it holds a corpus; else a small SynthDEAM generated in ``synth_root``."""
    if data_dir:
        return Path(data_dir)
    default = REPO / "data" / "synthdeam"
    if (default / "synthdeam.json").exists():
        return default
    from mer_utils.corpus.synth import generate

    print(f"no corpus in {default}: generating SynthDEAM ({SMALL_CORPUS}) in {synth_root}", flush=True)
    generate(synth_root, progress=False, **SMALL_CORPUS)
    return synth_root


def time_cache(corpus, cache_dir: Path, n_jobs: int, reuse: bool):
    if not reuse and cache_dir.exists():
        shutil.rmtree(cache_dir)
    wall = time.perf_counter()
    cache = build_chunk_cache(corpus, cache_dir, n_jobs=n_jobs, progress=False)
    wall = time.perf_counter() - wall
    row = {
        "songs": len(corpus.songs),
        "chunks": cache.n_chunks,
        "skipped": len(cache.skipped),
        "n_jobs": n_jobs,
        "reused": cache.reused,
        "wall_s": wall,
        "audio_min": cache.audio_seconds / 60,
        "x_real_time": cache.audio_seconds / cache.build_seconds,
    }
    return cache, row


def one_epoch_rate(name, train_set, val_set, eval_set, scaler, batch_size, seed, precision) -> tuple[float, float]:
    """Training chunks/s of one epoch of a fresh ``name`` model, and evaluation chunks/s on ``eval_set``."""
    model = build_model(name, seed=seed)
    model, history = fit(model, make_loader(train_set, batch_size, shuffle=True, seed=seed), make_loader(val_set, 64),
                         epochs=1, patience=None, seed=seed, target_scaler=scaler, precision=precision,
                         progress=False)
    start = time.perf_counter()
    predict(model, make_loader(eval_set, 64), scaler, precision=precision)
    return float(history["samples_per_s"].iloc[0]), len(eval_set) / (time.perf_counter() - start)


def throughput(cache, corpus, split, n_chunks: int, batch_size: int, rounds: int, seed: int) -> pd.DataFrame:
    """Training and evaluation chunks/s per model and precision; best of ``rounds`` alternating rounds."""
    datasets, scaler, _ = split_datasets(cache, corpus, split, "valence_mean", seed=seed)
    train_set = Subset(datasets["train"], range(min(n_chunks, len(datasets["train"]))))
    val_set = Subset(datasets["validation"], range(min(64, len(datasets["validation"]))))
    eval_set = Subset(datasets["test"], range(min(n_chunks // 2, len(datasets["test"]))))
    chunk_seconds = cache.settings["chunk_seconds"]
    rows = []
    for name in PHASE2_MODELS:
        rates = {p: [] for p in PRECISIONS}
        for _ in range(rounds):
            for precision in PRECISIONS:
                rates[precision].append(one_epoch_rate(name, train_set, val_set, eval_set, scaler, batch_size, seed,
                                                       precision))
        best = {p: np.max(np.array(r), axis=0) for p, r in rates.items()}  # (train, eval), each its best round
        rows.append({
            "model": name,
            "train f32": best["float32"][0],
            "train bf16": best["bfloat16"][0],
            "train ratio": best["bfloat16"][0] / best["float32"][0],
            "bf16 x real time": best["bfloat16"][0] * chunk_seconds,
            "eval f32": best["float32"][1],
            "eval bf16": best["bfloat16"][1],
            "eval ratio": best["bfloat16"][1] / best["float32"][1],
        })
        print(f"  {name}: train {rows[-1]['train f32']:.0f} -> {rows[-1]['train bf16']:.0f} chunks/s", flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.2f"))
    return table


def train_once(name, target, cache, corpus, split, data, seed, precision):
    """One run as the book does it: the default schedule, validation each epoch, test predictions per chunk."""
    settings = training_settings(data, name)
    datasets, scaler, _ = split_datasets(cache, corpus, split, target, seed=seed)
    start = time.perf_counter()
    model, history = fit(
        build_model(name, seed=seed),
        make_loader(datasets["train"], settings["batch_size"], shuffle=True, seed=seed),
        make_loader(datasets["validation"], 64),
        epochs=settings["epochs"], patience=settings["patience"], lr=settings["lr"], seed=seed, target_scaler=scaler,
        val_groups=datasets["validation"].frame["song_id"], precision=precision, progress=False,
    )
    wall = time.perf_counter() - start
    precision = history.attrs["precision"]
    return {
        "history": history,
        "validation": chunk_predictions(model, datasets["validation"], scaler, precision=precision),
        "test": chunk_predictions(model, datasets["test"], scaler, precision=precision),
        "wall_s": wall,
        "precision": precision,
    }


def song_means(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("song_id", as_index=False)[["target", "prediction"]].mean()


def metric_check(cache, corpus, split, data: str, seed: int) -> pd.DataFrame:
    """EmotionCNN on valence in float32 and bfloat16: is each bfloat16 figure inside float32's interval?"""
    runs = {p: train_once("EmotionCNN", "valence_mean", cache, corpus, split, data, seed, p) for p in PRECISIONS}
    for p, run in runs.items():
        history = run["history"]
        print(f"{p}: {history.attrs['epochs_run']} epochs in {run['wall_s']:.0f} s, chosen epoch "
              f"{history.attrs['best_epoch']}, {history['samples_per_s'].mean():.0f} training chunks/s", flush=True)
    rows = []
    levels = (
        ("validation, chunk (chosen epoch)", "validation", lambda f: (f, f["song_id"])),
        ("validation, song", "validation", lambda f: (song_means(f), None)),
        ("test, song", "test", lambda f: (song_means(f), None)),
    )
    for label, part, shape in levels:
        (base, base_groups), (low, _) = shape(runs["float32"][part]), shape(runs["bfloat16"][part])
        base_r2 = regression_metrics(base["target"], base["prediction"])["r2"]
        bounds = bootstrap_interval(base["target"], base["prediction"], groups=base_groups)["r2"]
        low_r2 = regression_metrics(low["target"], low["prediction"])["r2"]
        rows.append({"figure": label, "float32 R2": base_r2, "low": bounds[0], "high": bounds[1],
                     "bfloat16 R2": low_r2, "inside": bool(bounds[0] <= low_r2 <= bounds[1])})
    # the chosen epoch's validation R² of the history is the chunk-level figure recomputed above
    for p in PRECISIONS:
        logged = best_epoch_row(runs[p]["history"])["val_r2"]
        recomputed = regression_metrics(runs[p]["validation"]["target"], runs[p]["validation"]["prediction"])["r2"]
        if not np.isclose(logged, recomputed, atol=1e-4):
            print(f"warning: {p} chosen-epoch val R² {logged:.4f} differs from its recomputation {recomputed:.4f}")
    base, low = song_means(runs["float32"]["test"]), song_means(runs["bfloat16"]["test"])
    diff = paired_difference(base["target"], low["prediction"], base["prediction"])
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.3f"))
    print(f"\ntest songs, bfloat16 minus float32 R²: {diff['difference']:+.3f} "
          f"[{diff['low']:+.3f}, {diff['high']:+.3f}] (paired bootstrap over {diff['songs']} songs)")
    print(f"training wall time bfloat16 / float32: {runs['bfloat16']['wall_s'] / runs['float32']['wall_s']:.2f} "
          f"(epochs run: {runs['float32']['history'].attrs['epochs_run']} and "
          f"{runs['bfloat16']['history'].attrs['epochs_run']})", flush=True)
    return table


def full_schedule(cache, corpus, split, data: str, seed: int, precision: str) -> pd.DataFrame:
    rows = []
    for name in PHASE2_MODELS:
        for target in TARGETS:
            run = train_once(name, target, cache, corpus, split, data, seed, precision)
            scores = chunk_and_song_scores(run["test"])
            rows.append({
                "model": name,
                "target": target,
                "precision": run["precision"],
                "epochs_run": run["history"].attrs["epochs_run"],
                "best_epoch": run["history"].attrs["best_epoch"],
                "val_r2": best_epoch_row(run["history"])["val_r2"],
                "test_song_r2": scores["song"]["r2"],
                "train_chunks_per_s": run["history"]["samples_per_s"].mean(),
                "wall_s": run["wall_s"],
            })
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1, float_format="%.3f"),
                  flush=True)
    return pd.DataFrame(rows)


def compare_allocator(argv: list[str], rounds: int) -> pd.DataFrame:
    """Part 2's rates with the allocator as it comes and kept, in alternating child processes; best of ``rounds``."""
    settings = {"default": "0", "kept": "1"}
    best: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(rounds):
            for name, value in settings.items():
                out = Path(scratch) / f"{name}-{k}.json"
                child = [sys.executable, __file__, *argv, "--reuse-cache", "--skip-check", "--rounds", "1",
                         "--throughput-json", str(out)]
                subprocess.run(child, check=True, env={**os.environ, KEEP_FREED_MEMORY_ENV: value},
                               stdout=subprocess.DEVNULL)
                table = pd.read_json(out).set_index("model")
                best[name] = table if name not in best else np.maximum(best[name], table)
    rows = []
    for model in best["kept"].index:
        row = {"model": model}
        for column in ("train bf16", "train f32", "eval bf16"):
            row[f"{column} default"] = best["default"].loc[model, column]
            row[f"{column} kept"] = best["kept"].loc[model, column]
            row[f"{column} ratio"] = row[f"{column} kept"] / row[f"{column} default"]
        rows.append(row)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.2f"))
    return table


RATE_COLUMNS = {"train f32": "train float32", "train bf16": "train bfloat16", "eval f32": "eval float32",
                "eval bf16": "eval bfloat16"}


def side_by_side(argv: list[str], rounds: int) -> pd.DataFrame:
    """Part 2's rates of one run on two threads against two runs side by side on one thread each (summed), in
    child processes; best of ``rounds`` alternating rounds.  The two runs start together and do the same work."""
    subprocess.run([sys.executable, __file__, *argv, "--skip-throughput", "--skip-check"], check=True,
                   stdout=subprocess.DEVNULL)  # the chunk cache, before the children share it
    layouts = {"one run, 2 threads": (2, 1), "two runs, 1 thread each": (1, 2)}
    best: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(rounds):
            for layout, (threads, runs) in layouts.items():
                outs = [Path(scratch) / f"{threads}-{k}-{i}.json" for i in range(runs)]
                children = [subprocess.Popen([sys.executable, __file__, *argv, "--reuse-cache", "--skip-check",
                                              "--rounds", "1", "--threads", str(threads), "--throughput-json",
                                              str(out)], stdout=subprocess.DEVNULL) for out in outs]
                if any(child.wait() for child in children):
                    raise SystemExit(f"a child run of the {layout} layout failed")
                table = sum(pd.read_json(out).set_index("model")[list(RATE_COLUMNS)] for out in outs)
                best[layout] = table if layout not in best else np.maximum(best[layout], table)
    one, two = (best[layout] for layout in layouts)
    rows = [{"model": model, "rate": label, **{layout: best[layout].loc[model, column] for layout in layouts},
             "ratio": two.loc[model, column] / one.loc[model, column]}
            for model in one.index for column, label in RATE_COLUMNS.items()]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.2f"))
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synth", choices=["synth", "deam"])
    parser.add_argument("--data-dir", default=None, help="the corpus (default: data/synthdeam, else a small one)")
    parser.add_argument("--synth-root", default="/tmp/bench-synthdeam", help="where a small SynthDEAM is generated")
    parser.add_argument("--cache-dir", required=True, help="scratch folder for the chunk cache")
    parser.add_argument("--subset", default="1_2000")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: one per core)")
    parser.add_argument("--batch-size", type=int, default=None, help="throughput batch (default: the book's)")
    parser.add_argument("--chunks", type=int, default=640, help="training chunks per throughput epoch")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per model and precision")
    parser.add_argument("--reuse-cache", action="store_true", help="do not rebuild the cache before timing it")
    parser.add_argument("--skip-throughput", action="store_true", help="leave out the float32/bfloat16 table")
    parser.add_argument("--skip-check", action="store_true", help="leave out the metric check")
    parser.add_argument("--full", action="store_true", help="also run the book's whole default schedule (8 trainings)")
    parser.add_argument("--precision", default="auto", help="precision of --full: auto, float32 or bfloat16")
    parser.add_argument("--compare-allocator", action="store_true",
                        help="only part 5: the rates with glibc's allocator as it comes and as the book sets it")
    parser.add_argument("--side-by-side", action="store_true",
                        help="only part 6: one run on 2 threads against two runs side by side on 1 thread each")
    parser.add_argument("--throughput-json", default=None, help=argparse.SUPPRESS)  # written by the child processes
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    if args.side_by_side:
        passed, skip = [], False
        for a in argv:  # the children are given their own thread counts
            if skip or a == "--side-by-side" or a.startswith("--threads"):
                skip = a == "--threads"
                continue
            passed.append(a)
        print(f"Side by side: training and evaluation chunks/s of one run on 2 torch threads and of two runs at "
              f"once on 1 thread each (their sum), as the Makefile runs Phase 2 pages (PAGE_JOBS=2), best of "
              f"{args.rounds} alternating rounds; {load_average()}", flush=True)
        side_by_side(passed, args.rounds)
        print(f"{load_average()} after", flush=True)
        return 0
    if args.compare_allocator:
        passed = [a for a in argv if a != "--compare-allocator"]
        print(f"Allocator: training and evaluation chunks/s with glibc's allocator as it comes (default) and with "
              f"freed memory kept (kept), best of {args.rounds} alternating rounds; {load_average()}", flush=True)
        compare_allocator(passed, args.rounds)
        print(f"{load_average()} after", flush=True)
        return 0

    if args.threads:
        torch.set_num_threads(args.threads)
    total_start = time.perf_counter()
    data_dir = find_corpus(args.data_dir, Path(args.synth_root))
    corpus = corpus_for(args.data, data_dir, args.subset)
    split = song_split(corpus.song_ids, seed=args.seed)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 'auto' precision here: "
          f"{resolve_precision('auto')}; {corpus.describe()}\n{load_average()} at start\n", flush=True)

    cache, cache_row = time_cache(corpus, Path(args.cache_dir), args.n_jobs, args.reuse_cache)
    print("Chunk cache build")
    print(pd.DataFrame([cache_row]).to_string(index=False, float_format="%.2f"), "\n", flush=True)

    if not args.skip_throughput:
        batch = args.batch_size or training_settings(args.data, "EmotionCNN")["batch_size"]
        print(f"Training and evaluation chunks/s, float32 vs bfloat16 autocast (channels-last), batch {batch}, "
              f"{args.chunks} training chunks, best of {args.rounds} alternating rounds; {load_average()}")
        table = throughput(cache, corpus, split, args.chunks, batch, args.rounds, args.seed)
        if args.throughput_json:
            table.to_json(args.throughput_json)
        print(f"{load_average()} after\n", flush=True)

    if not args.skip_check:
        settings = training_settings(args.data, "EmotionCNN")
        print(f"Metric check: EmotionCNN, valence, {settings['epochs']} epochs (patience {settings['patience']}, "
              f"batch {settings['batch_size']}), float32 then bfloat16; {load_average()}")
        metric_check(cache, corpus, split, args.data, args.seed)
        print(f"{load_average()} after\n", flush=True)

    if args.full:
        start = time.perf_counter()
        print(f"Full default schedule ({resolve_precision(args.precision)}); {load_average()}")
        runs = full_schedule(cache, corpus, split, args.data, args.seed, args.precision)
        schedule = time.perf_counter() - start
        self_mb, child_mb = peak_memory_mb()
        print(f"\n8 trainings {schedule:.1f} s (cache {cache_row['wall_s']:.1f} s); "
              f"epochs run: {int(runs['epochs_run'].sum())}; {load_average()}")
        print(f"peak memory: {self_mb:.0f} MB in this process, {child_mb:.0f} MB in the largest finished child process")
    print(f"\nbenchmark wall time {time.perf_counter() - total_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
