"""Song embeddings: cut clips into 3-second segments, embed them in batches, cache them per song.

Used by: ``notebooks/phase3_panns.py`` (:func:`embed_corpus`) and ``mer predict``
(:class:`Embedder`); measured by ``benchmarks/bench_embeddings.py``.

A clip is decoded to mono at 32 kHz and cut into non-overlapping 3-second
segments; the trailing partial segment is dropped and a clip shorter than one
segment is skipped and reported.  Each segment goes through CNN14 to its
2048-dimensional ``embedding`` output (the ReLU of ``fc1`` after global max +
mean pooling of the last conv block), computed by
:class:`mer_utils.phase3.inference.FastCnn14`; a song's embedding is the mean
of its segments' embeddings.

The cache is a :class:`mer_utils.cache.SongCache`: one ``.npy`` per song,
``(n_segments, 2048)`` float32, in a folder keyed by the corpus, the segment
settings and the backbone's identity (the checkpoint's sha256, or the random
seed and a hash of the weights).  Clips that cannot be decoded or are too
short get a skip record with the reason; an interrupted run resumes.

With ``keep_frames`` (the Phase 3 pages ask for it) the same forward passes also
give each segment six frame embeddings of about 0.5 s
(:meth:`mer_utils.phase3.inference.FastCnn14.forward_with_frames`), stored as
float16 beside the song's segment embeddings (``<id>_<fingerprint>.frames.npy``):
Phase 4's sequence model reads them (``notebooks/phase4_dynamic.py``), so no clip
is embedded twice.  The song embeddings, the cache key and every Phase 3 figure
are the same with or without them.  A song cached before frames were kept gets
them on the next call with ``keep_frames``; its segment embeddings are left as
they are.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..cache import SongCache, save_npy_atomic, settings_key, write_csv_atomic
from ..corpus.audio import clips_ahead, decoded_ahead, load_audio
from ..errors import AudioReadError, MerError
from ..estimates import announce_audio, clip_seconds
from ..training.runtime import DEFAULT_JOBS, keep_freed_memory, resolve_precision, torch_threads
from .cnn14 import Backbone
from .inference import FastCnn14

log = logging.getLogger(__name__)

EMBEDDING_DIM = 2048
SEGMENT_SETTINGS = {"sr": 32000, "segment_seconds": 3.0}
FRAMES_PER_SEGMENT = 6  # frame embeddings kept beside each segment's (keep_frames): one per 0.5 s, for Phase 4
FRAMES_SUFFIX = ".frames.npy"  # a song's frame embeddings sit beside its segment embeddings: <id>_<fingerprint>.frames.npy
FRAMES_DTYPE = np.float16  # half the disk of float32; Phase 4 reads them back as float32
CACHE_VERSION = 1
DEFAULT_BATCH = 32  # segments per forward pass


def segment_audio(
    audio: np.ndarray,
    sr: int = SEGMENT_SETTINGS["sr"],
    seconds: float = SEGMENT_SETTINGS["segment_seconds"],
    name: str = "clip",
) -> np.ndarray:
    """Cut a mono clip into non-overlapping ``seconds``-long segments ``(n, samples)``; the tail is dropped.

    A clip shorter than one segment raises :class:`AudioReadError` (the caller
    reports and skips it; it is never padded).
    """
    length = int(round(seconds * sr))
    count = len(audio) // length
    if count == 0:
        raise AudioReadError(
            f"{name}: {len(audio) / sr:.2f} s long, shorter than one {seconds:g}-second segment; "
            "nothing to embed (clips are not padded)"
        )
    return np.ascontiguousarray(np.asarray(audio[: count * length], dtype=np.float32).reshape(count, length))


class Embedder:
    """Batched CPU embedding of segments with a :class:`~mer_utils.phase3.cnn14.Backbone`.

    ``batch_size``: segments per forward pass (stage two of
    :class:`FastCnn14`); ``n_threads``: torch threads during inference;
    ``precision``: ``"auto"``, ``"float32"`` or ``"bfloat16"``.
    """

    def __init__(
        self,
        backbone: Backbone,
        batch_size: int = 32,
        n_threads: int | None = 2,
        precision: str = "auto",
        stage_one_batch: int = 4,
    ):
        if int(batch_size) < 1:
            raise MerError(f"batch_size={batch_size} must be 1 or more.")
        self.backbone = backbone
        self.batch_size = int(batch_size)
        self.n_threads = n_threads
        self.precision = resolve_precision(precision)
        self.fast = FastCnn14(backbone.model, precision=self.precision, stage_one_batch=stage_one_batch)

    @property
    def settings(self) -> dict:
        """What the embeddings depend on (the cache key and the saved model carry it)."""
        return {**SEGMENT_SETTINGS, "precision": self.precision, "output": "embedding"}

    def embed_segments(self, segments: np.ndarray) -> np.ndarray:
        """``(n, 96000)`` waveforms -> ``(n, 2048)`` float32 embeddings."""
        return self._run(segments, frames=False)

    def embed_segments_with_frames(self, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 96000)`` waveforms -> the embeddings of :meth:`embed_segments` and, from the same forward passes,
        ``(n * FRAMES_PER_SEGMENT, 2048)`` float32 frame embeddings, one per 0.5 s, in time order."""
        return self._run(segments, frames=True)

    def _run(self, segments: np.ndarray, frames: bool):
        segments = np.asarray(segments, dtype=np.float32)
        if segments.ndim != 2 or segments.shape[0] == 0:
            raise MerError(f"expected a non-empty (n_segments, samples) array, got shape {segments.shape}.")
        out, framed = [], []
        keep_freed_memory()
        with torch_threads(self.n_threads), torch.inference_mode():
            for at in range(0, len(segments), self.batch_size):
                batch = torch.from_numpy(segments[at : at + self.batch_size])
                if frames:
                    embedding, frame = self.fast.forward_with_frames(batch, FRAMES_PER_SEGMENT)
                    framed.append(frame.float().reshape(-1, frame.shape[-1]).numpy())
                else:
                    embedding = self.fast(batch)
                out.append(embedding.float().numpy())
        embeddings = np.concatenate(out).astype(np.float32, copy=False)
        return (embeddings, np.concatenate(framed).astype(np.float32, copy=False)) if frames else embeddings

    def embed_file_frames(self, path) -> np.ndarray:
        """The 0.5 s frame embeddings ``(n_frames, 2048)`` of any audio file (``mer predict --curve``, Phase 4)."""
        audio = load_audio(path, sr=SEGMENT_SETTINGS["sr"])
        return self.embed_segments_with_frames(segment_audio(audio, name=str(path)))[1]

    def embed_audio(self, audio: np.ndarray, name: str = "clip") -> np.ndarray:
        """Embeddings ``(n_segments, 2048)`` of a mono clip at 32 kHz."""
        return self.embed_segments(segment_audio(audio, name=name))

    def embed_file(self, path) -> np.ndarray:
        """Decode any file librosa reads (mono or stereo, any rate) and embed its segments."""
        return self.embed_audio(load_audio(path, sr=SEGMENT_SETTINGS["sr"]), name=str(path))


# --------------------------------------------------------------------------- the corpus cache


def cache_folder(corpus, cache_dir, embedder: Embedder) -> Path:
    """``<cache_dir>/panns/<key>``: the key covers the corpus, the segment settings and the backbone."""
    key = settings_key(
        version=CACHE_VERSION,
        data=corpus.name,
        root=str(Path(corpus.root).resolve()),
        settings=embedder.settings,
        backbone=embedder.backbone.identity,
    )
    return Path(cache_dir) / "panns" / key


@dataclass
class EmbeddingSet:
    """Song embeddings of a corpus (``songs``: rows in ``song_ids`` order) and what was skipped.

    ``skipped`` has columns ``song_id``, ``kind`` ("corrupt" or "too short") and
    ``reason``.  Segment embeddings stay on disk: :meth:`segments` reads one song's.
    """

    folder: Path
    song_ids: list[int]
    songs: np.ndarray
    n_segments: pd.Series
    skipped: pd.DataFrame
    settings: dict
    backbone: dict
    compute_seconds: float = 0.0
    computed_audio_seconds: float = 0.0
    reused_songs: int = 0
    files: dict = field(default_factory=dict, repr=False)
    frame_seconds: float | None = None  # the hop of the kept frame embeddings (None: not kept)

    def segments(self, song_id: int) -> np.ndarray:
        """The ``(n_segments, 2048)`` embeddings of one song."""
        return np.load(self.files[int(song_id)])

    def frames(self, song_id: int) -> np.ndarray:
        """The ``(n_frames, dim)`` frame embeddings of one song, float32; frame ``j`` ends at ``(j + 1) * frame_seconds``."""
        if self.frame_seconds is None:
            raise MerError(f"the embeddings in {self.folder} were computed without frames: embed with keep_frames=True.")
        return np.load(frames_path(self.files[int(song_id)])).astype(np.float32)

    def segment_counts(self) -> pd.DataFrame:
        """Count, mean, spread and range of the segments per song, as one row."""
        return pd.DataFrame({"segments per song": self.n_segments.describe()}).T.round(1)

    def songs_heard_at(self, at_most: int | None) -> np.ndarray:
        """Song embeddings (rows in ``song_ids`` order), each the mean of at most ``at_most`` of its segments spread
        over the song (:func:`spread_indices`); ``None``: :attr:`songs`, the mean of them all.  Used by the predictor,
        which hears a song as ``mer predict`` will (``notebooks/predictor.py``)."""
        if at_most is None:
            return self.songs
        rows = [self.segments(song_id)[spread_indices(n, at_most)].mean(axis=0) if n > at_most else self.songs[row]
                for row, (song_id, n) in enumerate(zip(self.song_ids, self.n_segments.loc[self.song_ids]))]
        return np.vstack(rows).astype(np.float32)

    def frame(self, at_most: int | None = None) -> pd.DataFrame:
        """Song embeddings as a DataFrame indexed by ``song_id`` (columns ``emb_0`` ... ``emb_2047``); ``at_most``:
        each song heard at that many spread segments (:meth:`songs_heard_at`)."""
        songs = self.songs_heard_at(at_most)
        columns = [f"emb_{i}" for i in range(songs.shape[1])]
        return pd.DataFrame(songs, index=pd.Index(self.song_ids, name="song_id"), columns=columns)

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio embedded per second of computing, in this call (NaN when all came from the cache)."""
        return (
            self.computed_audio_seconds / self.compute_seconds
            if self.compute_seconds > 0 and self.computed_audio_seconds
            else float("nan")
        )

    def describe(self) -> str:
        text = (
            f"{len(self.song_ids)} song embeddings ({int(self.n_segments.sum())} segments of "
            f"{self.settings['segment_seconds']:g} s) in {self.folder}"
        )
        if self.reused_songs:
            text += f"; {self.reused_songs} songs from the cache"
        if self.computed_audio_seconds:
            text += (
                f"; {self.computed_audio_seconds / 60:.1f} min of audio embedded in {self.compute_seconds:.1f} s "
                f"({self.realtime_factor:.0f}x real time, decoding included)"
            )
        if len(self.skipped):
            text += f"; {len(self.skipped)} clip(s) skipped"
        return text


def spread_indices(n_segments: int, at_most: int | None) -> np.ndarray:
    """Which of a song's ``n_segments`` consecutive segments to hear when it is heard at ``at_most`` of them.

    All of them when there are no more than ``at_most`` (or ``at_most`` is
    ``None``); otherwise ``at_most`` spread evenly, the i-th being the segment
    that holds the point ``(i + 1/2) / at_most`` of the way through the song (10
    segments heard at 4: 1, 3, 6, 8).  The network's cost is per segment, so a
    song heard this way costs the same whatever its length.
    """
    n = int(n_segments)
    if at_most is not None and int(at_most) < 1:
        raise MerError(f"at_most={at_most}: a song must be heard at 1 segment or more (None: all of them).")
    if at_most is None or n <= int(at_most):
        return np.arange(n)
    k = int(at_most)
    return np.floor((np.arange(k) + 0.5) * n / k).astype(int)


def frames_path(array_path) -> Path:
    """Where a song's frame embeddings sit: beside its segment embeddings, ``<stem>.frames.npy``."""
    array_path = Path(array_path)
    return array_path.with_name(array_path.name.removesuffix(".npy") + FRAMES_SUFFIX)


def todo_songs(store, songs: pd.DataFrame, keep_frames: bool) -> list[tuple[int, str]]:
    """The songs to embed: those not done, and with ``keep_frames`` also those embedded without their frames."""
    todo = store.todo(songs)
    if keep_frames:
        waiting = set(todo)
        todo += [(int(i), str(p)) for i, p in zip(songs.index, songs["audio_path"])
                 if (int(i), str(p)) not in waiting and store.array_path(i, p).exists()
                 and not frames_path(store.array_path(i, p)).exists()]
    return todo


def save_song(store, song_id: int, audio_path, values: np.ndarray, frames: np.ndarray | None) -> None:
    """Store a song's segment embeddings (unless cached already) and, when given, its frame embeddings (float16)."""
    path = store.array_path(song_id, audio_path)
    if not path.exists():
        store.save(song_id, audio_path, values)
    if frames is not None:
        save_npy_atomic(frames_path(path), frames.astype(FRAMES_DTYPE))


def read_cached_songs(store, songs, skipped_ids: set, dim: int, what: str):
    """Read back each song's cached ``(segments, dim)`` array and average it: ``(ids, rows, counts, files)``.

    Shared by the CNN14 and the musicnn embedding caches; songs in
    ``skipped_ids`` are left out.  A file that cannot be read, or whose shape
    or values are wrong, is an error naming it (``what``: which embedding).
    """
    ids, rows, counts, files = [], [], [], {}
    for song_id, audio_path in songs:
        if song_id in skipped_ids:
            continue
        file = store.array_path(song_id, audio_path)
        try:
            values = np.load(file)
        except (OSError, ValueError) as exc:
            raise MerError(f"cached {what} {file} cannot be read ({exc}): delete it and run again.") from None
        if values.ndim != 2 or values.shape[1] != dim or not len(values) or not np.isfinite(values).all():
            raise MerError(f"cached {what} {file} is malformed (shape {values.shape}): delete it and run again.")
        ids.append(song_id)
        rows.append(values.mean(axis=0))
        counts.append(len(values))
        files[song_id] = file
    return ids, rows, counts, files


def plan_embedding(step: str, rate_key: str, todo: list, n_songs: int, folder, sr: int) -> int:
    """Before embedding the songs ``todo`` of ``n_songs``: log what the cache holds and the estimate, size the window.

    Returns how many clips may be decoded ahead (:func:`mer_utils.corpus.audio.clips_ahead`).
    Used by both embedders, CNN14's (:func:`embed_corpus`) and musicnn's.
    """
    if n_songs > len(todo):
        log.info("%s: %d of %d songs found in the cache %s", step, n_songs - len(todo), n_songs, folder)
    expected_seconds = clip_seconds(path for _, path in todo) if todo else 0.0
    if todo:
        announce_audio(step, rate_key, len(todo), expected_seconds)
    return clips_ahead(expected_seconds / max(len(todo), 1), sr)


def embed_corpus(
    corpus,
    cache_dir,
    backbone: Backbone,
    batch_size: int | None = None,
    n_threads: int | None = None,
    precision: str | None = None,
    progress: bool = True,
    embedder: Embedder | None = None,
    keep_frames: bool = False,
) -> EmbeddingSet:
    """Embed every song of ``corpus`` (from the cache where possible).

    Segments of several songs share a forward pass (``batch_size`` segments);
    the next clips are decoded in a background thread while the network runs.
    Clips that cannot be decoded or are shorter than one segment are skipped,
    logged and listed in ``EmbeddingSet.skipped``.  ``keep_frames``: also keep
    each song's 0.5 s frame embeddings (see the module docstring).
    """
    from tqdm import tqdm

    embedder = embedder or Embedder(
        backbone,
        batch_size=batch_size or DEFAULT_BATCH,
        n_threads=n_threads or DEFAULT_JOBS,
        precision=precision or "auto",
    )
    folder = cache_folder(corpus, cache_dir, embedder)
    store = SongCache(
        folder,
        {
            "version": CACHE_VERSION,
            "data": corpus.name,
            "root": str(corpus.root),
            "settings": embedder.settings,
            "backbone": embedder.backbone.info(),
        },
    )
    songs = [(int(i), str(p)) for i, p in zip(corpus.songs.index, corpus.songs["audio_path"])]
    todo = todo_songs(store, corpus.songs, keep_frames)
    reused = len(songs) - len(todo)
    ahead = plan_embedding("CNN14 embeddings", "cnn14", todo, len(songs), folder, SEGMENT_SETTINGS["sr"])

    start = time.perf_counter()
    audio_seconds = 0.0
    sr, seconds = SEGMENT_SETTINGS["sr"], SEGMENT_SETTINGS["segment_seconds"]

    def decode(item):
        song_id, path = item
        try:
            return song_id, segment_audio(load_audio(path, sr=sr), sr=sr, seconds=seconds, name=str(path)), None
        except AudioReadError as exc:
            kind = "too short" if "shorter than one" in str(exc) else "corrupt"
            return song_id, None, (kind, str(exc))

    paths = dict(songs)
    pending: list[tuple[int, np.ndarray]] = []

    def flush():
        nonlocal audio_seconds
        if not pending:
            return
        batch = np.concatenate([segs for _, segs in pending])
        values, frames = embedder.embed_segments_with_frames(batch) if keep_frames else (
            embedder.embed_segments(batch), None)
        at = 0
        for song_id, segs in pending:
            part = slice(at * FRAMES_PER_SEGMENT, (at + len(segs)) * FRAMES_PER_SEGMENT)
            save_song(store, song_id, paths[song_id], values[at : at + len(segs)], None if frames is None else frames[part])
            at += len(segs)
            audio_seconds += len(segs) * seconds
        pending.clear()

    bar = tqdm(
        total=len(songs), initial=reused, desc="PANNs embeddings", unit="song", disable=not progress, mininterval=1.0
    )
    for _, decoded in decoded_ahead(decode, todo, ahead=ahead):  # decoding overlaps inference, within a budget
        song_id, segs, problem = decoded.result()
        if problem:
            kind, reason = problem
            store.skip(song_id, paths[song_id], kind, reason)
        else:
            pending.append((song_id, segs))
            if sum(len(s) for _, s in pending) >= embedder.batch_size:
                flush()
        bar.update()
    flush()
    bar.close()
    compute_seconds = time.perf_counter() - start if todo else 0.0

    skipped = store.skipped(corpus.songs)
    ids, rows, counts, files = read_cached_songs(store, songs, set(skipped["song_id"]), EMBEDDING_DIM, "embedding")
    write_csv_atomic(folder / "skipped.csv", skipped)
    if not ids:
        raise MerError(
            f"no song of the corpus at {corpus.root} could be embedded ({len(skipped)} clips skipped as corrupt or "
            f"shorter than {seconds:g} s). Check the audio files under {corpus.root}."
        )
    for kind in ("corrupt", "too short"):
        bad = skipped.loc[skipped["kind"] == kind, "song_id"].tolist()
        if bad:
            log.warning("%d clip(s) skipped as %s: %s", len(bad), kind, ", ".join(map(str, bad[:20])))
    result = EmbeddingSet(
        folder=folder,
        song_ids=ids,
        songs=np.vstack(rows).astype(np.float32),
        n_segments=pd.Series(counts, index=pd.Index(ids, name="song_id"), name="segments"),
        skipped=skipped,
        settings=embedder.settings,
        backbone=embedder.backbone.info(),
        compute_seconds=compute_seconds,
        computed_audio_seconds=audio_seconds,
        reused_songs=reused,
        files=files,
        frame_seconds=seconds / FRAMES_PER_SEGMENT if keep_frames else None,
    )
    log.info(result.describe())
    return result
