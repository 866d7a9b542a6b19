"""The report's 386 handcrafted features, extracted in parallel and cached.

Per song, the mean and the standard deviation over time of

=================  =====  ===========================================
family             dims   computed from
=================  =====  ===========================================
``mfcc``           20     log-mel (dB) spectrogram, DCT-II
``mfcc_delta``     20     first-order deltas of those MFCCs
``chroma``         12     STFT power (``chroma_stft``)
``mel``            128    mel power spectrogram, in dB
``contrast``       7      STFT magnitude (6 sub-bands + the rest)
``tonnetz``        6      the chroma above (no second CQT pass)
=================  =====  ===========================================

giving 2 x 193 = 386 columns named like ``mfcc_1_mean`` (indices start at 1,
as in the report's figures).  The report counts 80 MFCC statistics for "20
coefficients x (mean + std)" and 386 in all; 20 MFCCs alone give 40 and a total
of 346, so we read its 80 as 20 MFCCs plus their 20 deltas, the usual companion,
which is the only reading that matches the published total.  All five families share one STFT, which is the
main speed-up over calling each librosa function on the waveform; ``tonnetz``
reuses the STFT chroma instead of librosa's default constant-Q chroma (the
report does not say which it used).  The mel bands are averaged in dB rather
than raw power so that quiet and loud bands weigh alike in linear models.

Results are cached per song (one small ``.npy`` per song, keyed by the
settings and the audio file's size and time), so an interrupted run resumes
where it stopped.  Used by ``notebooks/phase1_features.py`` and
``notebooks/phase1_models.py``; measured by ``benchmarks/bench_features.py``.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .cache import atomic_path, save_npy_atomic, settings_key, write_csv_atomic
from .data import Corpus, load_audio
from .errors import AudioReadError, MerError

log = logging.getLogger(__name__)

FAMILIES = {"mfcc": 20, "mfcc_delta": 20, "chroma": 12, "mel": 128, "contrast": 7, "tonnetz": 6}
DEFAULT_SETTINGS = {"sr": 22050, "n_fft": 2048, "hop_length": 512, "version": 1}


def feature_names() -> list[str]:
    """The 386 column names, in the order :func:`song_features` returns values."""
    names = []
    for stat in ("mean", "std"):
        for family, size in FAMILIES.items():
            names += [f"{family}_{i}_{stat}" for i in range(1, size + 1)]
    return names


def feature_family(name: str) -> str:
    """``"mfcc_3_mean"`` -> ``"mfcc"``, ``"mfcc_delta_3_std"`` -> ``"mfcc_delta"``."""
    return name.rsplit("_", 2)[0]


def song_features(audio: np.ndarray, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """The 386 features of one mono clip, sharing one STFT across all families."""
    import librosa

    if audio.size < n_fft:
        raise AudioReadError(f"clip of {audio.size} samples is shorter than one {n_fft}-sample frame")
    magnitude = np.abs(librosa.stft(audio, n_fft=n_fft, hop_length=hop_length))
    power = magnitude**2
    mel_power = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=128)
    mel_db = librosa.power_to_db(mel_power)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=20)
    mfcc_delta = librosa.feature.delta(mfcc)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    contrast = librosa.feature.spectral_contrast(S=magnitude, sr=sr)
    tonnetz = librosa.feature.tonnetz(chroma=chroma, sr=sr)
    blocks = [mfcc, mfcc_delta, chroma, mel_db, contrast, tonnetz]
    values = np.concatenate([b.mean(axis=1) for b in blocks] + [b.std(axis=1) for b in blocks])
    return values.astype(np.float32)


def _audio_fingerprint(path: Path) -> str:
    stat = Path(path).stat()
    return hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]


def _song_job(song_id: int, audio_path: str, folder: str, settings: dict):
    """Extract one song into its cache file; returns (song_id, error or None)."""
    target = Path(folder) / f"{song_id}_{_audio_fingerprint(audio_path)}.npy"
    if target.exists():
        return song_id, None
    try:
        audio = load_audio(audio_path, sr=settings["sr"])
        values = song_features(audio, sr=settings["sr"], n_fft=settings["n_fft"], hop_length=settings["hop_length"])
    except AudioReadError as exc:
        return song_id, str(exc)
    save_npy_atomic(target, values)
    return song_id, None


@dataclass
class FeatureTable:
    """Features of the songs that decoded (``frame``, indexed by song id) and the ones that did not."""

    frame: pd.DataFrame
    failed: dict[int, str] = field(default_factory=dict)
    folder: Path | None = None


def extract_features(corpus: Corpus, cache_dir, n_jobs: int = 2, progress: bool = True, settings: dict | None = None) -> FeatureTable:
    """Features of every song in ``corpus``, from the cache where possible.

    Songs whose audio cannot be decoded are skipped, logged, and listed in
    ``FeatureTable.failed`` with the reason; the table is also saved as
    ``features.csv`` in the cache folder.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    folder = Path(cache_dir) / f"features-{settings_key(**settings)}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    songs = corpus.songs
    jobs = (delayed(_song_job)(int(i), p, str(folder), settings) for i, p in zip(songs.index, songs["audio_path"]))
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    failed = {}
    for song_id, error in tqdm(runner(jobs), total=len(songs), desc="features", unit="song", disable=not progress):
        if error:
            failed[song_id] = error
    rows, ids = [], []
    for song_id, path in zip(songs.index, songs["audio_path"]):
        if int(song_id) in failed:
            continue
        rows.append(np.load(folder / f"{int(song_id)}_{_audio_fingerprint(path)}.npy"))
        ids.append(int(song_id))
    if not rows:
        raise MerError(f"no song of {corpus.root} could be decoded ({len(failed)} failures, e.g. {next(iter(failed.values()), '')}).")
    frame = pd.DataFrame(np.vstack(rows), index=pd.Index(ids, name="song_id"), columns=feature_names())
    if not np.isfinite(frame.to_numpy()).all():
        raise MerError(f"non-finite feature values in {folder}: delete that folder to recompute.")
    if failed:
        log.warning("%d songs could not be decoded and are skipped: %s", len(failed), ", ".join(map(str, sorted(failed))))
    write_csv_atomic(folder / "features.csv", frame, index=True)
    return FeatureTable(frame=frame, failed=failed, folder=folder)
