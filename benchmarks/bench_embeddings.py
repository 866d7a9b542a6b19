"""PANNs CNN14 embedding throughput, in times real time, decoding and resampling included.

    .venv/bin/python benchmarks/bench_embeddings.py [--songs 8] [--seconds 30] [--threads 2] [--audio-dir DIR]

Without ``--audio-dir`` it writes a few SynthDEAM clips (44.1 kHz MP3) to a
temporary folder; with it, it reads every audio file there (for example the
real DEAM sample, ``../shared/deam-sample/MEMD_audio``).  The CNN14 has random
weights (the pretrained ones cost the same to run).  Three ways are timed on the
same clips, each from the MP3 file to one 2048-dimensional embedding per
3-second segment:

* ``panns Cnn14 eager``: the panns-inference module as it comes, one forward
  pass per song over all its segments (what a straightforward script does);
* ``FastCnn14 float32``: :class:`mer_utils.embeddings.Embedder` in float32;
* ``FastCnn14 auto``: the same with ``precision="auto"`` (bfloat16 autocast
  where the CPU supports it), the setting the book uses;

and ``embed_corpus`` end to end (cold cache, cross-song batches, decoding in a
background thread).  Each way runs ``--repeats`` times and the fastest run is
kept, since other processes on a shared machine only ever slow a run down.
The load average before the runs is printed: above the thread count, the
machine was busy and the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--audio-dir", help="embed the audio files in this folder instead of generated clips")
    args = parser.parse_args()

    import torch
    from mer_utils.phase3.cnn14 import random_backbone
    from mer_utils.phase3.embeddings import Embedder, embed_corpus, segment_audio

    from mer_utils.corpus.audio import load_audio
    from mer_utils.corpus.deam import AUDIO_SUFFIXES, load_corpus

    torch.set_num_threads(args.threads)
    workdir = Path(tempfile.mkdtemp(prefix="bench_embeddings_"))
    try:
        corpus = None
        if args.audio_dir:
            paths = sorted(p for p in Path(args.audio_dir).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)[
                : args.songs
            ]
            source = f"{len(paths)} files from {args.audio_dir}"
        else:
            from mer_utils.corpus.synth import generate

            generate(
                workdir / "corpus", n_songs=args.songs, seconds=args.seconds, seed=7, sr=44100, n_jobs=2, progress=False
            )
            corpus = load_corpus(workdir / "corpus")
            paths = [Path(p) for p in corpus.songs["audio_path"]]
            source = f"{len(paths)} SynthDEAM clips of {args.seconds:g} s (44.1 kHz MP3)"
        backbone = random_backbone(seed=0)
        embedders = {
            "FastCnn14 float32": Embedder(
                backbone, batch_size=args.batch_size, n_threads=args.threads, precision="float32"
            ),
            "FastCnn14 auto": Embedder(backbone, batch_size=args.batch_size, n_threads=args.threads, precision="auto"),
        }
        audio_seconds = sum(len(segment_audio(load_audio(p, 32000))) * 3.0 for p in paths)

        def eager(path):
            segments = torch.from_numpy(segment_audio(load_audio(path, 32000)))
            with torch.inference_mode():
                return backbone.model(segments)["embedding"].numpy()

        ways = {"panns Cnn14 eager": eager}
        ways.update({name: embedder.embed_file for name, embedder in embedders.items()})
        eager(paths[0])  # warm-up: first calls allocate and pick kernels
        for embedder in embedders.values():
            embedder.embed_file(paths[0])

        print(f"{source}: {audio_seconds:.0f} s of audio in 3-second segments at 32 kHz")
        print(
            f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, "
            f"'auto' precision here = {embedders['FastCnn14 auto'].precision}; load average before: {os.getloadavg()[0]:.2f}\n"
        )
        print(f"{'way (decoding included)':34s} {'seconds':>8s} {'x real time':>12s}")
        results, reference = {}, {}
        for name, run in ways.items():
            best = np.inf
            for _ in range(args.repeats):
                start = time.perf_counter()
                outputs = [run(p) for p in paths]
                best = min(best, time.perf_counter() - start)
            results[name] = best
            reference[name] = np.concatenate(outputs)
            print(f"{name:34s} {best:8.2f} {audio_seconds / best:12.1f}", flush=True)
        base = reference["panns Cnn14 eager"]
        for name in embedders:
            diff = np.linalg.norm(reference[name] - base) / np.linalg.norm(base)
            print(
                f"  {name}: relative difference from eager {diff:.1e}; "
                f"speed-up {results['panns Cnn14 eager'] / results[name]:.2f}x"
            )
        if corpus is not None:
            best = np.inf
            for repeat in range(args.repeats):
                start = time.perf_counter()
                result = embed_corpus(
                    corpus,
                    workdir / f"cache{repeat}",
                    backbone,
                    batch_size=args.batch_size,
                    n_threads=args.threads,
                    progress=False,
                    embedder=embedders["FastCnn14 auto"],
                )
                best = min(best, time.perf_counter() - start)
            print(f"\n{'embed_corpus, cold cache':34s} {best:8.2f} {audio_seconds / best:12.1f}")
            print(f"  {result.describe()}")
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
