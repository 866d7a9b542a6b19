"""Phase 2 input: songs cut into 3-second chunks, one 128 x 128 log-mel image each.

Used by: ``notebooks/phase2_train.py``; measured by ``benchmarks/bench_phase2.py``.

The recipe (:data:`DEFAULT_SETTINGS`):

* decode with :func:`mer_utils.corpus.audio.load_audio` at 22,050 Hz, mono;
* cut into non-overlapping chunks of 66,150 samples (3 s) from the start; a
  trailing partial chunk is dropped, and a clip shorter than 3 s yields no chunk
  at all (it is reported, never padded);
* per chunk, a mel power spectrogram with ``n_fft=2048``, ``hop_length=512``,
  128 mel bands and librosa's default centred frames (``center=True``, zero
  padding).  That gives ``1 + 66150 // 512 = 130`` frames; we keep the first
  128, whose centres lie at samples 0, 512, ..., 65,024 (0 to 2.95 s), and drop
  the last two;
* decibels with a **fixed** reference: ``power_to_db(S, ref=1.0, amin=1e-10,
  top_db=80)``.  A fixed reference keeps the absolute level of each chunk, so a
  loud chunk stays louder than a quiet one (loudness is an arousal cue);
  ``ref=np.max`` would shift every chunk so its peak is 0 dB and hide it.
  ``top_db=80`` floors each chunk 80 dB below its own peak.

Each array is ``(n_mels, n_frames) = (128, 128)``: rows are mel bands from low
to high frequency, columns are frames in time order.  :mod:`mer_utils.phase2.models`
relies on that layout.

The cache.  :func:`build_chunk_cache` writes, under
``<cache_dir>/logmel/<key>/`` where ``key`` hashes the corpus (name, root,
song ids, audio file sizes and times) and the settings:

* ``chunks.npy``: one float16 array ``(N, 128, 128)`` holding every chunk;
* ``index.csv``: one row per chunk, ``row, song_id, chunk, start_s``;
* ``skipped.csv``: songs that gave no chunk, with the reason (corrupt or too short);
* ``cache.json``: the settings and counts, written last (its presence means "complete").

While it runs, each song is written to ``parts/``, a :class:`mer_utils.cache.SongCache`
(one ``.npy`` or skip record per song, atomically), so an interrupted build resumes where it stopped;
the parts are assembled into ``chunks.npy`` at the end and then removed.
Training reads ``chunks.npy`` with ``np.load(mmap_mode="r")`` through
:class:`mer_utils.phase2.datasets.ChunkDataset`, one chunk at a time, never the whole array.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import SongCache, atomic_path, settings_key, write_csv_atomic, write_json_atomic
from ..corpus.audio import corpus_fingerprint, load_audio
from ..corpus.base import id_list
from ..estimates import announce_audio, clip_seconds
from ..errors import AudioReadError, MerError
from ..training.runtime import DEFAULT_JOBS

log = logging.getLogger(__name__)

DEFAULT_SETTINGS = {
    "sr": 22050,
    "chunk_seconds": 3.0,
    "n_fft": 2048,
    "hop_length": 512,
    "n_mels": 128,
    "n_frames": 128,
    "ref": 1.0,
    "amin": 1e-10,
    "top_db": 80.0,
    "dtype": "float16",
}
CACHE_VERSION = 1  # bump when the recipe changes in a way the settings do not show


# --------------------------------------------------------------------------- one song


def chunk_samples(settings: dict) -> int:
    """Samples per chunk: 3 s at 22,050 Hz is 66,150."""
    return int(round(settings["chunk_seconds"] * settings["sr"]))


def logmel_chunks(audio: np.ndarray, settings: dict | None = None) -> np.ndarray:
    """Cut ``audio`` (mono, at ``settings['sr']``) into chunks and return their log-mels.

    Returns an array ``(n_chunks, n_mels, n_frames)`` in the settings' dtype;
    ``n_chunks = len(audio) // chunk_samples`` (zero for a clip shorter than one chunk).
    """
    import librosa

    s = {**DEFAULT_SETTINGS, **(settings or {})}
    size = chunk_samples(s)
    n_chunks = len(audio) // size
    if n_chunks == 0:
        return np.zeros((0, s["n_mels"], s["n_frames"]), dtype=s["dtype"])
    frames = np.ascontiguousarray(audio[: n_chunks * size], dtype=np.float32).reshape(n_chunks, size)
    available = 1 + size // s["hop_length"]
    if available < s["n_frames"]:
        raise MerError(
            f"settings give only {available} frames per chunk, fewer than n_frames={s['n_frames']}: lower hop_length or n_frames."
        )
    mel = librosa.feature.melspectrogram(
        y=frames, sr=s["sr"], n_fft=s["n_fft"], hop_length=s["hop_length"], n_mels=s["n_mels"], center=True, power=2.0
    )[..., : s["n_frames"]]
    db = librosa.power_to_db(mel, ref=s["ref"], amin=s["amin"], top_db=None)
    if s["top_db"] is not None:  # floor each chunk top_db below its own peak
        db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - s["top_db"])
    return db.astype(s["dtype"])


def _song_job(song_id: int, audio_path: str, parts_dir: str, settings: dict) -> None:
    """Worker: one song's chunks into the per-song cache ``parts/``, or a skip record with the reason."""
    parts = SongCache(parts_dir)
    try:
        audio = load_audio(audio_path, sr=settings["sr"])
    except AudioReadError as exc:
        parts.skip(song_id, audio_path, "corrupt", f"corrupt: {exc}")
        return
    chunks = logmel_chunks(audio, settings)
    if len(chunks) == 0:
        reason = (
            f"too short: {len(audio) / settings['sr']:.2f} s, less than one {settings['chunk_seconds']:g}-second chunk"
        )
        parts.skip(song_id, audio_path, "too short", reason)
        return
    parts.save(song_id, audio_path, chunks)


# --------------------------------------------------------------------------- the cache


@dataclass
class ChunkCache:
    """A finished chunk cache: where it is, what it holds and what was skipped.

    ``index`` has one row per chunk (``row``, ``song_id``, ``chunk``, ``start_s``);
    ``skipped`` one row per song without chunks (``song_id``, ``kind``, ``reason``)
    with ``kind`` "corrupt" or "too short".  ``build_seconds`` is the wall time
    of the build that made it, ``reused`` says whether this call found it ready.
    """

    folder: Path
    index: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict
    build_seconds: float
    audio_seconds: float
    reused: bool = False
    info: dict = field(default_factory=dict)

    @property
    def array_path(self) -> Path:
        return self.folder / "chunks.npy"

    @property
    def n_chunks(self) -> int:
        return len(self.index)

    @property
    def corrupt_ids(self) -> list[int]:
        return [int(i) for i in self.skipped.loc[self.skipped["kind"] == "corrupt", "song_id"]]

    @property
    def too_short_ids(self) -> list[int]:
        return [int(i) for i in self.skipped.loc[self.skipped["kind"] == "too short", "song_id"]]

    def array(self) -> np.ndarray:
        """The chunks as a read-only memory map ``(N, n_mels, n_frames)``; nothing is read yet."""
        return np.load(self.array_path, mmap_mode="r")

    def rows(self, song_ids) -> np.ndarray:
        """Row numbers (into :meth:`array`) of all chunks of ``song_ids``, in index order."""
        wanted = self.index["song_id"].isin([int(i) for i in song_ids])
        return self.index.loc[wanted, "row"].to_numpy()

    def describe(self) -> str:
        text = (
            f"{self.n_chunks} chunks of {self.settings['chunk_seconds']:g} s from "
            f"{self.index['song_id'].nunique()} songs in {self.folder}"
        )
        if len(self.skipped):
            text += f"; {len(self.corrupt_ids)} corrupt clip(s) and {len(self.too_short_ids)} clip(s) shorter than one chunk skipped"
        return text


def cache_folder(corpus, cache_dir, settings: dict | None = None) -> Path:
    """The folder :func:`build_chunk_cache` uses for this corpus and these settings."""
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    key = settings_key(
        version=CACHE_VERSION,
        name=corpus.name,
        root=str(Path(corpus.root).resolve()),
        song_ids=[int(i) for i in corpus.songs.index],
        audio=corpus_fingerprint(corpus.songs),
        settings=s,
    )
    return Path(cache_dir) / "logmel" / key


def load_chunk_cache(folder) -> ChunkCache:
    """Open a finished cache folder (one that has ``cache.json``)."""
    folder = Path(folder)
    meta_path = folder / "cache.json"
    if not meta_path.exists():
        raise MerError(
            f"{folder} is not a finished chunk cache (no cache.json): run build_chunk_cache again to finish it."
        )
    meta = json.loads(meta_path.read_text())
    index = pd.read_csv(folder / "index.csv")
    skipped = pd.read_csv(folder / "skipped.csv", dtype={"song_id": int, "kind": str, "reason": str})
    return ChunkCache(
        folder=folder,
        index=index,
        skipped=skipped,
        settings=meta["settings"],
        build_seconds=float(meta["build_seconds"]),
        audio_seconds=float(meta["audio_seconds"]),
        reused=True,
        info=meta,
    )


def build_chunk_cache(
    corpus, cache_dir, settings: dict | None = None, n_jobs: int | None = None, progress: bool = True
) -> ChunkCache:
    """Compute (or reuse) the log-mel chunks of every song of ``corpus``.

    ``settings`` overrides entries of :data:`DEFAULT_SETTINGS`.  A second call
    with the same corpus and settings finds ``cache.json`` and returns at once
    (``reused=True``).  Songs that cannot be decoded or are shorter than one
    chunk are skipped, logged with their ids and listed in ``cache.skipped``.
    ``n_jobs`` worker processes decode songs in parallel (1: in this process).
    Two runs started at once on the same cache (``make -j``) take turns: the
    second waits for the first and then reuses its result.
    """
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    unknown = set(s) - set(DEFAULT_SETTINGS)
    if unknown:
        raise MerError(f"unknown spectrogram setting(s) {sorted(unknown)}: use only {sorted(DEFAULT_SETTINGS)}.")
    n_jobs = n_jobs or DEFAULT_JOBS
    if int(n_jobs) < 1:
        raise MerError(f"n_jobs={n_jobs} must be 1 or more.")
    folder = cache_folder(corpus, cache_dir, s)
    if (folder / "cache.json").exists():
        cache = load_chunk_cache(folder)
        log.info("reusing chunk cache: %s", cache.describe())
        return cache
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder):  # a second run started at the same time (make -j) waits here, then reuses
        if (folder / "cache.json").exists():
            return load_chunk_cache(folder)
        return _build(corpus, folder, s, n_jobs, progress)


@contextlib.contextmanager
def _build_lock(folder: Path):
    """An exclusive lock on ``folder/.lock`` for the duration of a build (POSIX; no lock elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(corpus, folder: Path, s: dict, n_jobs: int, progress: bool) -> ChunkCache:
    """Compute the missing per-song parts, then assemble them (see :func:`build_chunk_cache`)."""
    from tqdm import tqdm

    start = time.perf_counter()
    parts = SongCache(folder / "parts")
    todo = parts.todo(corpus.songs)
    done = len(corpus.songs) - len(todo)
    if done:
        log.info("resuming chunk cache in %s: %d of %d songs already done", folder, done, len(corpus.songs))
    announce_audio("Phase 2 log-mel chunks", "chunk cache", len(todo), clip_seconds(path for _, path in todo))
    bar = tqdm(
        total=len(corpus.songs), initial=done, desc="log-mel chunks", unit="song", disable=not progress, mininterval=1.0
    )
    if int(n_jobs) == 1 or len(todo) <= 1:
        for song_id, path in todo:
            _song_job(song_id, path, str(parts.folder), s)
            bar.update()
    else:  # joblib's loky workers: safe from notebooks and from scripts without a __main__ guard
        from joblib import Parallel, delayed

        jobs = Parallel(n_jobs=int(n_jobs), return_as="generator_unordered")(
            delayed(_song_job)(song_id, path, str(parts.folder), s) for song_id, path in todo
        )
        for _ in jobs:
            bar.update()
    bar.close()
    cache = _assemble(corpus, folder, s, time.perf_counter() - start)
    log.info("built chunk cache in %.1f s: %s", cache.build_seconds, cache.describe())
    return cache


def _assemble(corpus, folder: Path, s: dict, compute_seconds: float) -> ChunkCache:
    """Join the per-song parts into ``chunks.npy`` (via a memory map) and write the tables."""
    start = time.perf_counter()
    parts = SongCache(folder / "parts")
    skipped = parts.skipped(corpus.songs)
    skipped_ids = set(skipped["song_id"])
    paths = {int(i): p for i, p in zip(corpus.songs.index, corpus.songs["audio_path"]) if int(i) not in skipped_ids}
    shapes = {song_id: parts.load(song_id, path, mmap_mode="r").shape for song_id, path in paths.items()}
    total = sum(shape[0] for shape in shapes.values())
    if total == 0:
        raise MerError(
            f"no song of the corpus at {corpus.root} gave a single {s['chunk_seconds']:g}-second chunk "
            f"({len(skipped)} skipped: corrupt or too short). Check the audio files under {corpus.root}."
        )
    rows = []
    with atomic_path(folder / "chunks.npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=s["dtype"], shape=(total, s["n_mels"], s["n_frames"]))
        at = 0
        for song_id, shape in shapes.items():
            out[at : at + shape[0]] = parts.load(song_id, paths[song_id])
            for chunk in range(shape[0]):
                rows.append(
                    {"row": at + chunk, "song_id": song_id, "chunk": chunk, "start_s": chunk * s["chunk_seconds"]}
                )
            at += shape[0]
        out.flush()
        del out
    index = pd.DataFrame(rows, columns=["row", "song_id", "chunk", "start_s"])
    write_csv_atomic(folder / "index.csv", index)
    write_csv_atomic(folder / "skipped.csv", skipped)
    build_seconds = compute_seconds + (time.perf_counter() - start)
    audio_seconds = float(len(index) * s["chunk_seconds"])
    meta = {
        "settings": s,
        "corpus": corpus.name,
        "root": str(corpus.root),
        "songs": len(corpus.songs),
        "songs_with_chunks": len(shapes),
        "chunks": len(index),
        "skipped": len(skipped),
        "build_seconds": build_seconds,
        "audio_seconds": audio_seconds,
    }
    write_json_atomic(folder / "cache.json", meta)
    shutil.rmtree(parts.folder, ignore_errors=True)
    cache = ChunkCache(
        folder=folder,
        index=index,
        skipped=skipped,
        settings=s,
        build_seconds=build_seconds,
        audio_seconds=audio_seconds,
        reused=False,
        info=meta,
    )
    for kind, ids in (("corrupt", cache.corrupt_ids), ("too short", cache.too_short_ids)):
        if ids:
            log.warning("%d clip(s) skipped as %s: %s", len(ids), kind, id_list(ids))
    return cache
