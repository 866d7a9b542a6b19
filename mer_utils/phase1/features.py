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

Results are cached per song (a :class:`mer_utils.cache.SongCache` keyed by the
settings), so an interrupted run resumes where it stopped.  :func:`split_arrays` hands
the features of a split's three parts on as arrays, to the regressors
(:mod:`.regressors`), the PCA table (:mod:`.selection`) and the transfer test.

Used by: ``notebooks/phase1_features.py`` and ``notebooks/phase1_models.py``, and by
``notebooks/phase4_dynamic.py`` (:func:`descriptor_blocks`, the same descriptors over
sliding windows); measured by ``benchmarks/bench_features.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import SKIP_COLUMNS, SongCache, settings_key, write_csv_atomic
from ..corpus.audio import load_audio
from ..corpus.base import Corpus, id_list
from ..estimates import announce_audio, clip_seconds
from ..errors import AudioReadError, MerError
from ..training.runtime import DEFAULT_JOBS

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


def descriptor_blocks(audio: np.ndarray, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512) -> list:
    """The frame-level descriptors behind the features, one ``(size, stft_frames)`` array per family of
    :data:`FAMILIES`, in that order, all from one STFT (Phase 4 averages them over sliding windows instead)."""
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
    return [mfcc, mfcc_delta, chroma, mel_db, contrast, tonnetz]


def song_features(audio: np.ndarray, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """The 386 features of one mono clip, sharing one STFT across all families."""
    blocks = descriptor_blocks(audio, sr=sr, n_fft=n_fft, hop_length=hop_length)
    values = np.concatenate([b.mean(axis=1) for b in blocks] + [b.std(axis=1) for b in blocks])
    return values.astype(np.float32)


def _song_job(song_id: int, audio_path: str, folder: str, settings: dict) -> None:
    """Worker: one song's 386 values into the cache, or a skip record with the reason."""
    store = SongCache(folder)
    try:
        audio = load_audio(audio_path, sr=settings["sr"])
        values = song_features(audio, sr=settings["sr"], n_fft=settings["n_fft"], hop_length=settings["hop_length"])
    except AudioReadError as exc:
        kind = "too short" if "shorter than one" in str(exc) else "corrupt"
        store.skip(song_id, audio_path, kind, str(exc))
        return
    store.save(song_id, audio_path, values)


def warm_up(settings: dict) -> None:
    """Compile librosa's numba kernels once, in this process, before workers start.

    librosa caches its compiled kernels on disk.  When several worker processes
    compile the same kernel at the same moment on a cold cache they can leave a
    corrupt cache file behind, and every later run then crashes with a
    segmentation fault inside ``chroma_stft`` (seen on this project's machines;
    numba issue 10128: a kernel's two cache files written by different processes).
    One small extraction here fills the cache before the workers read it; ``make venv``
    runs it once (``python -m mer_utils warm-up``), since two books built at once
    in one environment (the parallel tests) would otherwise race each other here.
    """
    noise = np.random.default_rng(0).standard_normal(settings["sr"]).astype(np.float32)
    song_features(noise, sr=settings["sr"], n_fft=settings["n_fft"], hop_length=settings["hop_length"])


@dataclass
class FeatureTable:
    """Features of the songs that decoded (``frame``, indexed by song id) and the ones skipped.

    ``skipped`` has one row per song without features: ``song_id``, ``kind``
    ("corrupt" or "too short") and ``reason``.
    """

    frame: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIP_COLUMNS))
    folder: Path | None = None


def extract_features(
    corpus: Corpus, cache_dir, n_jobs: int | None = None, progress: bool = True, settings: dict | None = None
) -> FeatureTable:
    """Features of every song in ``corpus``, from the cache where possible.

    Songs whose audio cannot be decoded are skipped, logged, and listed in
    ``FeatureTable.skipped`` with the reason; the table is also saved as
    ``features.csv`` in the cache folder.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    n_jobs = n_jobs or DEFAULT_JOBS
    store = SongCache(Path(cache_dir) / f"features-{settings_key(**settings)}", settings)
    songs = corpus.songs
    todo = store.todo(songs)
    if todo:
        announce_audio("Phase 1 features", "features", len(todo), clip_seconds(path for _, path in todo))
    if todo and n_jobs > 1:
        warm_up(settings)
    jobs = (delayed(_song_job)(song_id, path, str(store.folder), settings) for song_id, path in todo)
    runner = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    for _ in tqdm(
        runner(jobs),
        total=len(songs),
        initial=len(songs) - len(todo),
        desc="features",
        unit="song",
        disable=not progress,
    ):
        pass
    skipped = store.skipped(songs)
    skipped_ids = set(skipped["song_id"])
    kept = [(int(i), p) for i, p in zip(songs.index, songs["audio_path"]) if int(i) not in skipped_ids]
    if not kept:
        raise MerError(
            f"no song of {corpus.root} could be decoded ({len(skipped)} skipped, e.g. "
            f"{skipped['reason'].iloc[0] if len(skipped) else ''})."
        )
    frame = pd.DataFrame(
        np.vstack([store.load(i, p) for i, p in kept]),
        index=pd.Index([i for i, _ in kept], name="song_id"),
        columns=feature_names(),
    )
    if not np.isfinite(frame.to_numpy()).all():
        raise MerError(f"non-finite feature values in {store.folder}: delete that folder to recompute.")
    if len(skipped):
        log.warning("%d songs could not be decoded and are skipped: %s", len(skipped), id_list(skipped["song_id"]))
    write_csv_atomic(store.folder / "features.csv", frame, index=True)
    return FeatureTable(frame=frame, skipped=skipped, folder=store.folder)


def part_song_ids(features: pd.DataFrame, split: pd.DataFrame, part: str) -> list[int]:
    """The ids of the songs with features in one part, in the row order of :func:`split_arrays`."""
    parts = split.set_index("song_id")["part"]
    return [i for i in features.index if parts.get(i) == part]


def split_arrays(features: pd.DataFrame, labels: pd.DataFrame, split: pd.DataFrame, target: str, columns=None):
    """``(train_x, train_y, valid_x, valid_y, test_x, test_y)`` for the songs that have features."""
    columns = list(features.columns) if columns is None else list(columns)
    out = []
    for part in ("train", "validation", "test"):
        ids = part_song_ids(features, split, part)
        if not ids:
            raise MerError(f"no song with features in the {part} part of the split: the corpus is too small.")
        out += [features.loc[ids, columns].to_numpy(dtype=float), labels.loc[ids, target].to_numpy(dtype=float)]
    return tuple(out)


def family_counts(columns) -> pd.Series:
    """How many of ``columns`` belong to each feature family (``mfcc``, ``chroma``, ...)."""
    return pd.Series([feature_family(c) for c in columns]).value_counts().rename("columns")
