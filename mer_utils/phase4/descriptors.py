"""The Phase 1 descriptors per half second, so that a per-frame regressor can read them over a sliding window.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`).

Phase 1 summarises a whole song by the mean and the standard deviation over time of 193 frame-level
descriptors (MFCCs and their deltas, chroma, the mel spectrogram in dB, spectral contrast, tonnetz: 386
features, :func:`mer_utils.phase1.features.descriptor_blocks`).  Phase 4's per-frame regressor needs the same
summary over about 3 s around each half second.  One pass over the audio (the same STFT as Phase 1, the same
settings) keeps, per 0.5 s block, the number of STFT frames whose centre falls in it and the sum and the sum of
squares of each descriptor (:func:`block_statistics`); the mean and the standard deviation over any run of
blocks follow from running sums (:func:`window_features`), so the window costs nothing to change.

Blocks are cached per song (:class:`mer_utils.cache.SongCache`, keyed by the settings) and computed by worker
processes, as Phase 1's features; a clip that cannot be decoded gets a skip record and is left out.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..cache import SongCache, settings_key
from ..corpus.audio import load_audio
from ..errors import AudioReadError, MerError
from ..estimates import announce_audio, clip_seconds
from ..phase1.features import DEFAULT_SETTINGS, FAMILIES, descriptor_blocks, warm_up
from ..training.runtime import DEFAULT_JOBS
from .frames import WINDOW_AFTER, WINDOW_BEFORE, FrameSource

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.5
N_DESCRIPTORS = sum(FAMILIES.values())  # 193
CACHE_VERSION = 1
# Below this much audio the blocks are computed in this process: starting two workers (each importing librosa
# and loading its compiled kernels) took about 8 s on 2 cores, more than 10 minutes of audio takes on one.
SERIAL_BELOW_SECONDS = 600.0


def block_statistics(audio: np.ndarray, sr: int, n_fft: int, hop_length: int,
                     block_seconds: float = BLOCK_SECONDS) -> np.ndarray:
    """``(blocks, 1 + 2 * 193)`` float64: per whole 0.5 s block of the clip, the count of STFT frames centred in
    it, the sums of the 193 descriptors over them and the sums of their squares."""
    descriptors = np.vstack(descriptor_blocks(audio, sr=sr, n_fft=n_fft, hop_length=hop_length)).astype(np.float64)
    n_blocks = int(len(audio) / sr // block_seconds)
    if n_blocks == 0:
        raise AudioReadError(f"clip of {len(audio) / sr:.2f} s is shorter than one {block_seconds:g} s block")
    block = (np.arange(descriptors.shape[1]) * hop_length / sr // block_seconds).astype(int)
    keep = block < n_blocks
    stats = np.zeros((n_blocks, 1 + 2 * len(descriptors)))
    np.add.at(stats[:, 0], block[keep], 1.0)
    np.add.at(stats[:, 1 : 1 + len(descriptors)], block[keep], descriptors[:, keep].T)
    np.add.at(stats[:, 1 + len(descriptors) :], block[keep], descriptors[:, keep].T ** 2)
    return stats


def window_features(stats: np.ndarray, before: int = WINDOW_BEFORE, after: int = WINDOW_AFTER) -> np.ndarray:
    """``(blocks, 386)`` float32: for each block, the mean and the standard deviation of each descriptor over the
    STFT frames of blocks ``j - before .. j + after``, in the order of :func:`mer_utils.phase1.features.feature_names`."""
    total = np.vstack([np.zeros((1, stats.shape[1])), np.cumsum(stats, axis=0)])
    blocks = np.arange(len(stats))
    low, high = np.maximum(blocks - before, 0), np.minimum(blocks + after, len(stats) - 1) + 1
    window = total[high] - total[low]
    count = np.maximum(window[:, :1], 1.0)
    mean = window[:, 1 : 1 + N_DESCRIPTORS] / count
    variance = np.maximum(window[:, 1 + N_DESCRIPTORS :] / count - mean**2, 0.0)
    return np.hstack([mean, np.sqrt(variance)]).astype(np.float32)


def _song_job(song_id: int, audio_path: str, folder: str, settings: dict) -> None:
    """Worker: one song's block statistics into the cache, or a skip record with the reason."""
    store = SongCache(folder)
    try:
        audio = load_audio(audio_path, sr=settings["sr"])
        stats = block_statistics(audio, settings["sr"], settings["n_fft"], settings["hop_length"],
                                 settings["block_seconds"])
    except AudioReadError as exc:
        store.skip(song_id, audio_path, "too short" if "shorter than" in str(exc) else "corrupt", str(exc))
        return
    store.save(song_id, audio_path, stats)


def descriptor_frames(corpus, cache_dir, song_ids=None, n_jobs: int | None = None,
                      progress: bool = True) -> tuple[FrameSource, list]:
    """The windowed Phase 1 features of each song (``song_ids``, default all), one row per 0.5 s block.

    Returns the :class:`~mer_utils.phase4.frames.FrameSource` (386 columns, :func:`window_features`) and the
    ids of the songs skipped (undecodable or shorter than a block).
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    settings = {**{k: v for k, v in DEFAULT_SETTINGS.items() if k != "version"}, "block_seconds": BLOCK_SECONDS}
    store = SongCache(Path(cache_dir) / "phase4" / f"blocks-{settings_key(version=CACHE_VERSION, **settings)}",
                      {"version": CACHE_VERSION, **settings})
    songs = corpus.songs if song_ids is None else corpus.songs.loc[[int(i) for i in song_ids]]
    todo = store.todo(songs)
    n_jobs = n_jobs or DEFAULT_JOBS
    if todo:
        seconds = clip_seconds(path for _, path in todo)
        announce_audio("Phase 4 descriptors", "features", len(todo), seconds)
        if seconds < SERIAL_BELOW_SECONDS:
            n_jobs = 1  # starting worker processes would cost more than they save
        if n_jobs > 1:
            warm_up(DEFAULT_SETTINGS)
    jobs = (delayed(_song_job)(song_id, path, str(store.folder), settings) for song_id, path in todo)
    for _ in tqdm(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs), total=len(songs),
                  initial=len(songs) - len(todo), desc="Phase 4 descriptors", unit="song", disable=not progress):
        pass
    skipped = [int(i) for i in store.skipped(songs)["song_id"]]
    arrays = {int(i): window_features(store.load(int(i), p))
              for i, p in zip(songs.index, songs["audio_path"]) if int(i) not in set(skipped)}
    if not arrays:
        raise MerError(f"no song of {corpus.root} could be decoded for the Phase 4 descriptors "
                       f"({len(skipped)} skipped): check the audio files.")
    if skipped:
        log.warning("%d songs could not be decoded for the Phase 4 descriptors and are left out", len(skipped))
    return FrameSource(name="Phase 1 features over a 3 s window", hop=BLOCK_SECONDS, arrays=arrays), skipped
