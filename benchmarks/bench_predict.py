"""`mer predict` end to end, in times real time: decoding, CNN14 embeddings and the MLP, on real MP3s.

    .venv/bin/python benchmarks/bench_predict.py [--clips 40] [--source 4q|deam|DIR] [--jobs 2] [--threads 2]

Reads ``--clips`` real clips: by default the 4Q sample beside the repository
(``../shared/4q-sample``, 30 s MP3s at 32 kHz, taken in turn from the four
quadrant folders), else ``--source deam`` (``../shared/deam-sample``, 45 s MP3s
at 44.1 kHz, resampled on decoding) or any folder.  Without them it says so and
stops.  The model is a bundle made the way ``tests/test_predict.py`` makes one
(a random-weights CNN14, an untrained EmotionMLP): the pretrained weights cost
the same to run, and precision is ``auto`` as in the book (bfloat16 where the
CPU has it).

Three figures, each the audio's length over the wall time:

* ``sequential decoding``: each file decoded, then embedded, one after the
  other (``predict_files(jobs=0)``, how ``mer predict`` worked before);
* ``parallel decoding``: ``--jobs`` threads decode the next files while the
  network embeds (``predict_files(jobs=N)``, ``mer predict``'s way; ``--jobs 1,2``
  times each);
* ``command line``: ``mer predict -q --format csv`` on the same files, in this
  process, loading the model included (with the last ``--jobs``).

The two ways alternate for ``--repeats`` rounds and the fastest run of each
is kept, since other processes on a shared machine only ever slow a run down;
the load average is printed before and after: above the thread count, the
machine was busy and the figures are pessimistic.  The CPU seconds of each way
(all its threads) are printed too: they barely depend on the load, and a way
whose threads wait for each other spends more of them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = {
    "4q": REPO.parent / "shared" / "4q-sample" / "MER_audio_taffc_dataset",
    "deam": REPO.parent / "shared" / "deam-sample" / "MEMD_audio",
}


def find_clips(source: str, count: int) -> list[Path]:
    """Up to ``count`` MP3s of ``source``, alternating between its subfolders (the 4Q quadrants)."""
    root = Path(SOURCES.get(source, source))
    folders = sorted({p.parent for p in root.rglob("*.mp3")}) if root.is_dir() else []
    lists = [sorted(folder.glob("*.mp3")) for folder in folders]
    clips = [clip for group in zip(*lists) for clip in group] if lists else []
    taken = set(clips)
    leftovers = [clip for group in lists for clip in group if clip not in taken]
    return (clips + leftovers)[:count]


def make_bundle(path: Path, precision: str = "auto") -> Path:
    """A bundle with a random CNN14 (seed 0) and an untrained EmotionMLP, as ``tests/test_predict.py`` makes one."""
    import numpy as np
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    from mer_utils.phase3.cnn14 import random_backbone
    from mer_utils.phase3.embeddings import EMBEDDING_DIM, Embedder
    from mer_utils.predict.bundles import save_bundle
    from mer_utils.training.loop import fit_target_scaler
    from mer_utils.training.mlp import MlpResult
    from mer_utils.training.modelfile import build_model

    backbone = random_backbone(seed=0)
    rng = np.random.default_rng(0)
    mlp = MlpResult(
        model=build_model("EmotionMLP", seed=0).eval(),
        feature_scaler=StandardScaler().fit(rng.random((20, EMBEDDING_DIM))),
        target_scaler=fit_target_scaler(rng.uniform(2, 8, size=(20, 2))),
        target_names=["valence_mean", "arousal_mean"],
        history=pd.DataFrame(),
        settings={"in_features": EMBEDDING_DIM, "outputs": 2},
    )
    settings = Embedder(backbone, n_threads=1, precision=precision).settings
    return save_bundle(path, mlp, backbone.info(), settings, data="synthdeam")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--source", default="4q", help="4q, deam or a folder of MP3s (default: 4q)")
    parser.add_argument(
        "--jobs", default="2", help="decoding threads of the parallel way; a list such as 1,2 times each (default: 2)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-cli", action="store_true", help="time the two ways only")
    args = parser.parse_args()

    clips = find_clips(args.source, args.clips)
    if not clips:
        print(f"skipped: no MP3 under {SOURCES.get(args.source, args.source)} (the samples live in ../shared)")
        return 0

    import soundfile as sf
    import torch

    from mer_utils.predict import bundles, cli
    from mer_utils.predict.songs import song_model

    torch.set_num_threads(args.threads)
    audio_seconds = sum(sf.info(str(c)).duration for c in clips)
    print(
        f"{len(clips)} clips from {args.source} ({audio_seconds / 60:.1f} min of audio), {args.threads} torch "
        f"threads, {os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        bundle_path = make_bundle(Path(tmp) / "models" / "emotion_mlp.pt")
        start = time.perf_counter()
        model = song_model(bundles.load_bundle(bundle_path), threads=args.threads)
        print(f"model loaded in {time.perf_counter() - start:.1f} s")
        list(cli.predict_files(model, clips[:1], jobs=0))  # warm-up

        jobs_list = [int(j) for j in str(args.jobs).split(",")]
        ways = {"sequential decoding (jobs=0)": 0, **{f"parallel decoding (jobs={j})": j for j in jobs_list}}
        best = {name: float("inf") for name in ways}
        cpu = {name: float("inf") for name in ways}
        for _ in range(args.repeats):
            for name, jobs in ways.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                done = list(cli.predict_files(model, clips, jobs=jobs))
                best[name] = min(best[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], time.process_time() - start_cpu)
                failed = [str(path) for path, _, error in done if error is not None]
                if failed:
                    print(f"warning: {len(failed)} clip(s) failed: {failed[:3]}", file=sys.stderr)
        for name, seconds in best.items():
            print(
                f"{name:<32} {seconds:7.1f} s  {audio_seconds / seconds:6.1f}x real time  "
                f"(CPU {cpu[name]:.1f} s, {audio_seconds / cpu[name]:.1f}x real time per CPU second)"
            )
        old = best["sequential decoding (jobs=0)"]
        for j in jobs_list:
            print(f"parallel (jobs={j}) / sequential: {old / best[f'parallel decoding (jobs={j})']:.2f}x as fast")

        if not args.skip_cli:
            argv = [*map(str, clips), "--model", str(bundle_path), "-q", "--format", "csv"]
            argv += ["--jobs", str(jobs_list[-1]), "--threads", str(args.threads)]
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = cli.main(argv)
            seconds = time.perf_counter() - start
            print(
                f"{'command line (model load incl.)':<32} {seconds:7.1f} s  {audio_seconds / seconds:6.1f}x real time"
                f"  (exit {code})"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB; load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
