"""musicnn embedding throughput, in times real time: decoding, front end, network (float32 vs bfloat16), end to end.

    .venv/bin/python benchmarks/bench_musicnn.py [--clips 4] [--seconds 30] [--threads 2] [--batch-size 16]
                                                 [--audio-dir DIR] [--weights FILE]

Without ``--audio-dir`` it writes a few SynthDEAM clips (44.1 kHz MP3) to a
temporary folder; with it, it reads the audio files there (for example the real
DEAM sample, ``../shared/deam-sample/MEMD_audio``).  The weights default to
``../shared/weights/MSD_musicnn.h5`` beside the repository, else
``$MUSICNN_WEIGHTS`` or ``weights/MSD_musicnn.h5``; without any, an untrained
network is timed (the cost does not depend on the weights).  Stages, each timed
on all clips:

* ``decode``: file -> mono 16 kHz waveform (``load_audio``, resampling included);
* ``front end``: waveform -> log-mel patches (:func:`audio_patches`);
* ``network float32`` / ``network bfloat16``: patches -> embeddings and tags;
* ``end to end``: waveform -> embeddings (front end + network), the figure the
  100x-real-time target is about, and the same with decoding.

Real time is the audio the patches cover (187 frames of 256 samples at 16 kHz
each, 2.99 s).  Each stage runs ``--repeats`` times and the fastest run is kept,
since other processes on a shared machine only ever slow a run down; the load
average is printed before and after: above the thread count, the machine was
busy and the figures are pessimistic.  The CPU seconds the process used are
printed too: ``x RT per CPU s`` times the thread count is what the wall clock
would show with the cores to ourselves and perfect scaling (an upper bound; on
a busy machine waiting threads also burn CPU, so it is pessimistic as well).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_WEIGHTS = REPO.parent / "shared" / "weights" / "MSD_musicnn.h5"


def best_time(run, repeats: int) -> tuple[float, float]:
    """The fastest of ``repeats`` runs: (wall seconds, CPU seconds of this process in that run)."""
    best = (np.inf, np.inf)
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def clip_paths(args, workdir: Path) -> tuple[list[Path], str]:
    from mer_utils.corpus.deam import AUDIO_SUFFIXES, load_corpus

    if args.audio_dir:
        paths = sorted(p for p in Path(args.audio_dir).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)[: args.clips]
        return paths, f"{len(paths)} files from {args.audio_dir}"
    from mer_utils.corpus.synth import generate

    generate(workdir / "corpus", n_songs=max(args.clips, 3), seconds=args.seconds, seed=7, sr=44100, n_jobs=2,
             progress=False)  # SynthDEAM needs 3 songs at least
    paths = [Path(p) for p in load_corpus(workdir / "corpus").songs["audio_path"]][: args.clips]
    return paths, f"{len(paths)} SynthDEAM clips of {args.seconds:g} s (44.1 kHz MP3)"


def models(weights: str | None):
    """``{precision: Musicnn}`` for float32 and bfloat16, and a line saying which weights."""
    import torch

    from mer_utils.phase3 import musicnn

    path = Path(weights) if weights else (SHARED_WEIGHTS if SHARED_WEIGHTS.is_file() else musicnn.weights_path())
    if path.is_file():
        return {p: musicnn.load_musicnn(path, precision=p) for p in ("float32", "bfloat16")}, f"weights {path}"
    torch.manual_seed(0)
    return {p: musicnn.Musicnn(precision=p) for p in ("float32", "bfloat16")}, f"untrained network ({path} not found)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--audio-dir", help="embed the audio files in this folder instead of generated clips")
    parser.add_argument("--weights", help="a musicnn .h5 (default: ../shared/weights/MSD_musicnn.h5 or the knob)")
    args = parser.parse_args()

    import torch

    from mer_utils.corpus.audio import load_audio
    from mer_utils.phase3 import musicnn

    torch.set_num_threads(args.threads)
    workdir = Path(tempfile.mkdtemp(prefix="bench_musicnn_"))
    try:
        paths, source = clip_paths(args, workdir)
        nets, weights_line = models(args.weights)
        embedders = {p: musicnn.MusicnnEmbedder(m, batch_size=args.batch_size, n_threads=args.threads)
                     for p, m in nets.items()}
        bf16_native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

        waves = [load_audio(p, sr=musicnn.SR) for p in paths]  # warm-up of decoding, and the waveforms
        patches = [musicnn.audio_patches(w, name=str(p)) for w, p in zip(waves, paths)]
        all_patches = np.concatenate(patches)
        audio_seconds = len(all_patches) * (musicnn.PATCH_FRAMES * musicnn.HOP) / musicnn.SR
        outputs = {p: e.run_patches(all_patches) for p, e in embedders.items()}  # warm-up: kernels get picked

        print(f"{source}: {len(all_patches)} patches, {audio_seconds:.0f} s of audio; {weights_line}")
        print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, native bfloat16: "
              f"{bf16_native}; load average before: {os.getloadavg()[0]:.2f}\n")
        times = {
            "decode (file -> 16 kHz)": best_time(lambda: [load_audio(p, sr=musicnn.SR) for p in paths], args.repeats),
            "front end (wave -> patches)": best_time(
                lambda: [musicnn.audio_patches(w) for w in waves], args.repeats),
        }
        for precision, embedder in embedders.items():
            times[f"network {precision}"] = best_time(lambda e=embedder: e.run_patches(all_patches), args.repeats)
        for precision, embedder in embedders.items():
            times[f"end to end {precision} (from wave)"] = best_time(
                lambda e=embedder: [e.embed_audio(w) for w in waves], args.repeats)
        for precision, embedder in embedders.items():
            times[f"end to end {precision} (from file)"] = best_time(
                lambda e=embedder: [e.embed_file(p) for p in paths], args.repeats)

        print(f"{'stage':38s} {'seconds':>8s} {'x real time':>12s} {'CPU s':>8s} {'x RT per CPU s':>15s}")
        for name, (seconds, cpu) in times.items():
            print(f"{name:38s} {seconds:8.3f} {audio_seconds / seconds:12.1f} {cpu:8.3f} {audio_seconds / cpu:15.1f}")

        times = {name: wall for name, (wall, _) in times.items()}
        ratio = times["network float32"] / times["network bfloat16"]
        (emb32, tags32), (emb16, tags16) = outputs["float32"], outputs["bfloat16"]
        print(f"\nnetwork bfloat16 / float32 speed: {ratio:.2f}x; end to end from wave: "
              f"{times['end to end float32 (from wave)'] / times['end to end bfloat16 (from wave)']:.2f}x")
        print(f"bfloat16 vs float32 on these clips: embedding max abs diff {np.abs(emb16 - emb32).max():.3g} "
              f"(relative {np.linalg.norm(emb16 - emb32) / np.linalg.norm(emb32):.2e}, embedding std "
              f"{emb32.std():.3g}); tag probabilities max abs diff {np.abs(tags16 - tags32).max():.3g}")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
