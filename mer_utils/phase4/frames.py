"""Songs as sequences of half-second frames, and which frame each 2 Hz label belongs to.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`) and
:mod:`mer_utils.phase4.bundle`.

A :class:`FrameSource` holds, for every song, an array ``(frames, dim)`` whose frame ``j`` covers the hop
that ends at ``(j + 1) * hop`` seconds.  Two sources feed Phase 4:

* the backbone's frame embeddings (:func:`backbone_frames`), kept by Phase 3's embedding pass in its cache
  (:meth:`mer_utils.phase3.backbones.Phase3Backbone.embed` with ``keep_frames``): six per 3-second segment,
  a hop of 0.5 s for CNN14 and of 2.992 / 6 s for musicnn, whose patches last 187 spectrogram frames;
* the Phase 1 descriptors summed per 0.5 s block (:mod:`mer_utils.phase4.descriptors`).

A label at time ``t`` belongs to the frame that ends nearest to ``t``, within half a hop
(:func:`label_frames`): the rating at ``t`` is read against the half second heard just before it.
:func:`windowed_mean` averages each frame with its neighbours over a window of about 3 s
(:data:`WINDOW_BEFORE` frames before, :data:`WINDOW_AFTER` after), the context a per-frame regressor sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WINDOW_BEFORE, WINDOW_AFTER = 2, 3  # frames j-2 .. j+3: the 3 s from 1.5 s before frame j's end to 1.5 s after


@dataclass
class FrameSource:
    """Per song, ``(frames, dim)`` values at a fixed ``hop`` (seconds); ``name`` says what they are."""

    name: str
    hop: float
    arrays: dict = field(repr=False)

    @property
    def song_ids(self) -> list[int]:
        return sorted(self.arrays)

    @property
    def dim(self) -> int:
        return int(next(iter(self.arrays.values())).shape[1])

    def frames(self, song_id: int) -> np.ndarray:
        """One song's frames as float32."""
        return np.asarray(self.arrays[int(song_id)], dtype=np.float32)

    def frame_count(self) -> int:
        return int(sum(len(a) for a in self.arrays.values()))


def backbone_frames(embedded, name: str) -> FrameSource:
    """The frame embeddings an :class:`~mer_utils.phase3.embeddings.EmbeddingSet` kept, read from its cache
    (float16 on disk, kept so in memory)."""
    from ..phase3.embeddings import frames_path

    arrays = {int(i): np.load(frames_path(embedded.files[int(i)])) for i in embedded.song_ids}
    return FrameSource(name=name, hop=float(embedded.frame_seconds), arrays=arrays)


def label_frames(times, hop: float, n_frames: int) -> np.ndarray:
    """For each label time, the index of the frame that ends nearest to it (``-1`` where none is within half a hop)."""
    times = np.asarray(times, dtype=float)
    index = np.rint(times / hop).astype(int) - 1
    ok = (index >= 0) & (index < n_frames) & (np.abs((index + 1) * hop - times) <= hop / 2 + 1e-9)
    return np.where(ok, index, -1)


def windowed_mean(values: np.ndarray, before: int = WINDOW_BEFORE, after: int = WINDOW_AFTER) -> np.ndarray:
    """Each frame's mean over frames ``j - before .. j + after`` (fewer at the ends of the song), float32."""
    values = np.asarray(values, dtype=np.float64)
    total = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    frames = np.arange(len(values))
    low, high = np.maximum(frames - before, 0), np.minimum(frames + after, len(values) - 1) + 1
    return ((total[high] - total[low]) / (high - low)[:, None]).astype(np.float32)


@dataclass
class Sequences:
    """Songs ready for a model: each song's frames (``source``) and, for its labelled times that a frame covers,
    the frame index, the time and the labels (``(n, 2)``: valence, arousal).  ``dropped``: labels no frame covers."""

    source: FrameSource
    song_ids: list
    index: dict
    times: dict
    labels: dict
    dropped: int = 0

    def labelled_count(self) -> int:
        return int(sum(len(i) for i in self.index.values()))


def align(curves, source: FrameSource, song_ids) -> Sequences:
    """The songs of ``song_ids`` that ``source`` has frames for and ``curves`` labels for, each label on its frame.

    A song whose labels no frame covers is left out; labels past a song's last frame (the clip's tail, shorter
    than a whole segment) are counted in ``dropped``.
    """
    table = curves.of([i for i in song_ids if int(i) in source.arrays])
    index, times, labels, kept, dropped = {}, {}, {}, [], 0
    for song_id, rows in table.groupby("song_id", sort=True):
        at = label_frames(rows["time_s"], source.hop, len(source.arrays[int(song_id)]))
        ok = at >= 0
        dropped += int((~ok).sum())
        if not ok.any():
            continue
        kept.append(int(song_id))
        index[int(song_id)] = at[ok]
        times[int(song_id)] = rows["time_s"].to_numpy()[ok]
        labels[int(song_id)] = rows[["valence", "arousal"]].to_numpy(dtype=np.float32)[ok]
    return Sequences(source=source, song_ids=kept, index=index, times=times, labels=labels, dropped=dropped)
