"""Training throughput of Phase 4's sequence model, beside a Phase 2 CNN's, measured in one run.

    .venv/bin/python benchmarks/bench_phase4.py [--songs 256] [--frames 90] [--rounds 3]

Phase 4's BiGRU (:class:`mer_utils.phase4.sequence.DynamicGRU`) trains on whole songs of frame embeddings, one
per half second; Phase 2's CNNs train on 3-second log-mel chunks.  To set the two side by side, this runs, in
float32 on 1 and on 2 torch threads, alternating ``--rounds`` times and keeping each setting's best round:

* one epoch of the BiGRU through the book's training loop on ``--songs`` songs of ``--frames`` frames (90: a
  45-second DEAM clip) of CNN14's width (2048) and of musicnn's (200), every frame labelled: training frames
  per second;
* one epoch of EmotionCNN (batch 32, the report's) on random chunks of the book's log-mel shape (128 x 128):
  training chunks per second.

Each row also gives the seconds of audio trained on per second (a frame is 0.5 s of audio, a chunk 3 s), the
common unit of the two.  Then, at DEAM's size, the per-frame Ridge on frame embeddings
(:func:`mer_utils.phase4.ridge.ridge_path`, every penalty) on ``--ridge-rows`` labelled frames of 2,048 numbers
(90,000: the training songs of a DEAM book, 1,046, with 86 labelled frames each as the DEAM-scale rehearsal
has them), and what a BiGRU epoch over those songs costs at the measured rate.

The inputs are random: training time does not depend on the values.  The machine's load average is printed
before and after: the absolute rates depend on it, the ratios much less.

``--frames-overhead`` measures what keeping the frame embeddings costs Phase 3: CNN14's embedding of
``--segments`` 3-second segments with and without them (:meth:`mer_utils.phase3.embeddings.Embedder.embed_segments_with_frames`),
alternating ``--rounds`` times, the best round of each, and the ratio.

``--deam-scale`` times instead the page's models end to end at DEAM's size on stand-in inputs: SynthDEAM's 2 Hz
curves of ``--songs`` songs of 45 s (labelled from 2 s, as the DEAM-scale rehearsal's corpus), random CNN14-wide
frame embeddings (float16, as Phase 3's cache keeps them) and random windowed descriptors, the book's split, and
:func:`mer_utils.phase4.experiment.run_setting` with DEAM's training settings for the BiGRU, early stopping off and
``--epochs`` epochs: every step's seconds, and the BiGRU's seconds per epoch, from which the schedule's maximum
(60 epochs) follows.  What it leaves out: reading the frames from the cache (640 MB, seconds) and extracting the
Phase 1 descriptors, which costs what Phase 1's features cost (the same STFT and descriptors over the same audio:
2.9 min in the rehearsal of book/reproduce.md).

    .venv/bin/python benchmarks/bench_phase4.py --deam-scale --songs 1744 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def gru_rate(songs: int, frames: int, dim: int, threads: int, seed: int = 0) -> float:
    """Training frames per second of one BiGRU epoch (the book's loop, the page's batch size)."""
    from mer_utils.phase4.curves import Curves
    from mer_utils.phase4.frames import FrameSource, align
    from mer_utils.phase4.sequence import fit_dynamic_gru
    from mer_utils.training.defaults import training_settings

    rng = np.random.default_rng(seed)
    times = 0.5 * np.arange(1, frames + 1)
    table = pd.DataFrame({"song_id": np.repeat(np.arange(songs), frames), "time_s": np.tile(times, songs),
                          "valence": rng.uniform(-1, 1, songs * frames), "arousal": rng.uniform(-1, 1, songs * frames)})
    arrays = {s: rng.standard_normal((frames, dim)).astype(np.float16) for s in range(songs)}
    sequences = align(Curves(table, "bench"), FrameSource("bench", 0.5, arrays), list(range(songs)))
    settings = training_settings("deam", "DynamicGRU")
    result = fit_dynamic_gru(sequences, list(range(songs - 8)), list(range(songs - 8, songs)), epochs=1,
                             patience=None, batch_size=settings["batch_size"], lr=settings["lr"], seed=seed,
                             progress=False, n_threads=threads)
    return float(result.history["frames_per_s"].iloc[0])


def cnn_rate(chunks: int, threads: int, seed: int = 0) -> float:
    """Training chunks per second of one EmotionCNN epoch on random log-mel chunks (batch 32)."""
    from sklearn.preprocessing import StandardScaler
    from torch.utils.data import TensorDataset

    from mer_utils.phase2.logmel import DEFAULT_SETTINGS
    from mer_utils.training.loop import fit, make_loader
    from mer_utils.training.modelfile import build_model
    from mer_utils.training.runtime import torch_threads

    shape = (1, DEFAULT_SETTINGS["n_mels"], DEFAULT_SETTINGS["n_frames"])
    x = torch.randn(chunks, *shape)
    y = torch.randn(chunks, 1)
    scaler = StandardScaler().fit(np.zeros((2, 1)) + [[0.0], [1.0]])
    train = make_loader(TensorDataset(x, y), 32, shuffle=True, seed=seed)
    val = make_loader(TensorDataset(x[:32], y[:32]), 64)
    with torch_threads(threads):
        _, history = fit(build_model("EmotionCNN", seed=seed), train, val, epochs=1, patience=None, seed=seed,
                         target_scaler=scaler, precision="float32", progress=False)
    return float(history["samples_per_s"].iloc[0])


def deam_scale(songs: int, epochs: int, seed: int = 42) -> None:
    """The Phase 4 models at DEAM's size on stand-in inputs (see the module docstring)."""
    from mer_utils.corpus import synth_labels
    from mer_utils.corpus.split import song_split
    from mer_utils.phase4.curves import Curves
    from mer_utils.phase4.experiment import Inputs, run_setting
    from mer_utils.phase4.frames import FrameSource
    from mer_utils.phase4.settings import book_setting
    from mer_utils.training.defaults import training_settings

    start = time.perf_counter()
    ids = list(range(2, songs + 2))
    rows = []
    for song in ids:
        labels = synth_labels.dynamic_labels(1234, song, 45.0)
        rows.append(pd.DataFrame({"song_id": song, "time_s": labels["times"], "valence": labels["valence"],
                                  "arousal": labels["arousal"]}))
    curves = Curves(pd.concat(rows, ignore_index=True), "stand-in")
    rng = np.random.default_rng(seed)
    frames = FrameSource("CNN14 stand-in frames", 0.5,
                         {s: rng.standard_normal((90, 2048), dtype=np.float32).astype(np.float16) for s in ids})
    descriptors = FrameSource("descriptors", 0.5, {s: rng.standard_normal((90, 386), dtype=np.float32) for s in ids})
    inputs = Inputs(curves=curves, frames=frames, descriptors=descriptors, embedded=None)
    setting = book_setting(song_split(ids, seed=seed), ids)
    means = curves.song_means(setting.songs("test"))
    print(f"stand-in inputs for {songs} songs in {time.perf_counter() - start:.0f} s; "
          f"{curves.table.shape[0]:,} labelled frames; split {[len(v) for v in setting.parts.values()]}", flush=True)
    settings = {**training_settings("deam", "DynamicGRU"), "epochs": epochs, "patience": None}
    start = time.perf_counter()
    run = run_setting(inputs, setting, {d: means[d] for d in ("valence", "arousal")}, "stand-in", settings, seed,
                      progress=False)
    total = time.perf_counter() - start
    per_epoch = float(run.gru.history["seconds"].mean())
    fixed = total - run.seconds["ridge"] - run.seconds["gru"]
    print(f"both Ridge regressions {run.seconds['ridge']:.0f} s; BiGRU {run.seconds['gru']:.0f} s for {epochs} "
          f"epochs ({per_epoch:.1f} s an epoch with validation, "
          f"{run.gru.history['frames_per_s'].median():,.0f} training frames/s); alignment, predictions and scores "
          f"{fixed:.0f} s; in all {total:.0f} s.")
    print(f"at the schedule's maximum of {training_settings('deam', 'DynamicGRU')['epochs']} epochs: "
          f"{(total + (training_settings('deam', 'DynamicGRU')['epochs'] - epochs) * per_epoch) / 60:.1f} min, "
          "plus the Phase 1 descriptors (about Phase 1's features time).", flush=True)


def frames_overhead(segments: int, rounds: int) -> None:
    """CNN14 embeddings with and without the frame embeddings, alternating; the best of ``rounds`` each."""
    from mer_utils.phase3.cnn14 import random_backbone
    from mer_utils.phase3.embeddings import Embedder

    embedder = Embedder(random_backbone(42), batch_size=32, n_threads=2, precision="auto")
    x = np.random.default_rng(0).standard_normal((segments, 96000)).astype(np.float32) * 0.1
    times = {"without frames": [], "with frames": []}
    for _ in range(rounds):
        for name, run in (("without frames", embedder.embed_segments), ("with frames", embedder.embed_segments_with_frames)):
            start = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    print(f"CNN14 ({embedder.precision}, 2 threads), {segments} segments: " + ", ".join(
        f"{k} {segments * 3.0 / v:.0f}x real time" for k, v in best.items())
          + f"; with / without: {best['with frames'] / best['without frames']:.3f} in time")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=256, help="songs of the throughput epochs (--deam-scale: 1744)")
    parser.add_argument("--frames", type=int, default=90, help="frames per song (90: a 45-second clip)")
    parser.add_argument("--chunks", type=int, default=640, help="log-mel chunks of the Phase 2 epoch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ridge-rows", type=int, default=90000, help="labelled training frames of the Ridge timing")
    parser.add_argument("--train-songs", type=int, default=1046, help="training songs of a DEAM-scale BiGRU epoch")
    parser.add_argument("--deam-scale", action="store_true", help="time the page's models at DEAM's size instead")
    parser.add_argument("--epochs", type=int, default=3, help="BiGRU epochs of --deam-scale")
    parser.add_argument("--frames-overhead", action="store_true", help="Phase 3's cost of keeping frames instead")
    parser.add_argument("--segments", type=int, default=32, help="segments of --frames-overhead")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.INFO)
    print(load_average(), flush=True)
    if args.frames_overhead:
        frames_overhead(args.segments, args.rounds)
        print(load_average(), flush=True)
        return 0
    if args.deam_scale:
        deam_scale(args.songs, args.epochs)
        print(load_average(), flush=True)
        return 0
    rates: dict = {}
    for _ in range(args.rounds):
        for threads in (1, 2):
            for name, dim in (("BiGRU on CNN14 frames (2048)", 2048), ("BiGRU on musicnn frames (200)", 200)):
                rates.setdefault((name, threads), []).append(gru_rate(args.songs, args.frames, dim, threads))
            rates.setdefault(("EmotionCNN (Phase 2)", threads), []).append(cnn_rate(args.chunks, threads))
    rows = []
    for (name, threads), values in rates.items():
        best = max(values)
        chunk = name.startswith("EmotionCNN")
        rows.append({"model": name, "threads": threads, "unit": "3 s chunks" if chunk else "0.5 s frames",
                     "training items/s": best, "x real time": best * (3.0 if chunk else 0.5)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format="%.0f"))

    from mer_utils.phase4.ridge import ALPHAS, ridge_path
    from mer_utils.training.runtime import torch_threads

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.ridge_rows, 2048)).astype(np.float32)
    y = rng.standard_normal((args.ridge_rows, 2))
    start = time.perf_counter()
    with torch_threads(2):
        ridge_path(x, y, ALPHAS)
    ridge_s = time.perf_counter() - start
    gru = table[table["model"].str.contains("CNN14") & (table["threads"] == 1)]["training items/s"].iloc[0]
    frames = args.train_songs * 90
    print(f"\nDEAM scale: Ridge on {args.ridge_rows:,} frames x 2048, {len(ALPHAS)} penalties: {ridge_s:.1f} s; "
          f"a BiGRU epoch over {args.train_songs:,} songs of 90 frames at {gru:,.0f} frames/s (CNN14, 1 thread): "
          f"{frames / gru:.1f} s of training")
    print(load_average(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
