"""Feature-extraction throughput on SynthDEAM clips, in times real time.

    .venv/bin/python benchmarks/bench_features.py [--songs 8] [--seconds 30]

Compares, per core, the straightforward way (each librosa feature computed
from the waveform, tonnetz on librosa's default constant-Q chroma) with
``mer_utils.features.song_features`` (one shared STFT), and reports decoding
and the parallel throughput of ``extract_features`` with 1 and 2 workers.
Times exclude the first clip (imports, numba compilation).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def naive_features(audio, sr):
    """The 386 features the straightforward way: every call starts from the waveform."""
    import librosa

    mfcc = librosa.feature.mfcc(y=audio, sr=sr, n_mfcc=20)
    blocks = [
        mfcc,
        librosa.feature.delta(mfcc),
        librosa.feature.chroma_stft(y=audio, sr=sr),
        librosa.feature.melspectrogram(y=audio, sr=sr),
        librosa.feature.spectral_contrast(y=audio, sr=sr),
        librosa.feature.tonnetz(y=audio, sr=sr),
    ]
    return np.concatenate([b.mean(axis=1) for b in blocks] + [b.std(axis=1) for b in blocks])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    from mer_utils.corpus.audio import load_audio
    from mer_utils.corpus.deam import load_corpus
    from mer_utils.corpus.synth import generate
    from mer_utils.phase1.features import extract_features, song_features

    workdir = Path(tempfile.mkdtemp(prefix="bench_features_"))
    try:
        generate(
            workdir / "corpus", n_songs=args.songs + 1, seconds=args.seconds, seed=7, sr=44100, n_jobs=2, progress=False
        )
        corpus = load_corpus(workdir / "corpus")
        paths = list(corpus.songs["audio_path"])
        warm = load_audio(paths[0], 22050)
        song_features(warm)
        naive_features(warm, 22050)
        paths = paths[1:]
        audio_seconds = 0.0
        timings = {"decode + resample": 0.0, "naive librosa": 0.0, "mer_utils (shared STFT)": 0.0}
        for path in paths:
            start = time.perf_counter()
            audio = load_audio(path, 22050)
            timings["decode + resample"] += time.perf_counter() - start
            audio_seconds += audio.size / 22050
            start = time.perf_counter()
            naive_features(audio, 22050)
            timings["naive librosa"] += time.perf_counter() - start
            start = time.perf_counter()
            song_features(audio)
            timings["mer_utils (shared STFT)"] += time.perf_counter() - start
        print(f"{len(paths)} SynthDEAM clips, {audio_seconds:.0f} s of audio (44.1 kHz MP3 decoded to 22,050 Hz)\n")
        print(f"{'stage (one core)':32s} {'seconds':>8s} {'x real time':>12s}")
        for stage, seconds in timings.items():
            print(f"{stage:32s} {seconds:8.2f} {audio_seconds / seconds:12.1f}")
        total = timings["decode + resample"] + timings["mer_utils (shared STFT)"]
        print(f"{'decode + mer_utils features':32s} {total:8.2f} {audio_seconds / total:12.1f}")
        print(
            f"speed-up of the shared STFT over naive librosa: {timings['naive librosa'] / timings['mer_utils (shared STFT)']:.1f}x\n"
        )
        print(f"{'extract_features (cold cache)':32s} {'seconds':>8s} {'x real time':>12s}")
        for jobs in (1, 2):
            cache = workdir / f"cache{jobs}"
            start = time.perf_counter()
            extract_features(corpus, cache, n_jobs=jobs, progress=False)
            seconds = time.perf_counter() - start
            whole = audio_seconds * (len(paths) + 1) / len(paths)
            print(f"{f'{jobs} worker(s), incl. start-up':32s} {seconds:8.2f} {whole / seconds:12.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
