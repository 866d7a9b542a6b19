"""Phase 2's training input: the chunks of a split's parts as torch datasets, standardised on the training songs.

Used by: ``notebooks/phase2_train.py`` (through :func:`mer_utils.training.phase2.train_on_split`) and
``benchmarks/bench_phase2.py``; tested by ``tests/test_spectrograms.py``.

Why apart from :mod:`.logmel`: the log-mel recipe and its cache are what a chunk *is*
(computed once per corpus and settings, kept on disk); this module decides how a run
*reads* them: which songs' chunks go to which part (:func:`split_datasets`, never one
song on two sides), the input statistics and label scaler fitted on the training songs
only (:func:`input_stats`), and :class:`ChunkDataset`, which reads the memory map one
chunk at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..corpus.base import id_list
from ..errors import MerError
from .logmel import ChunkCache


def input_stats(cache: ChunkCache, song_ids, block: int = 512) -> tuple[float, float]:
    """Mean and standard deviation (dB) over all chunks of ``song_ids``.

    Fit on the training songs only and passed to :class:`ChunkDataset`, which
    standardises every chunk with them.  Reads the memory map block by block.
    """
    rows = np.sort(cache.rows(song_ids))
    if len(rows) == 0:
        raise MerError("no chunks for the given songs: cannot compute input statistics.")
    array = cache.array()
    total, total_sq, count = 0.0, 0.0, 0
    for at in range(0, len(rows), block):
        values = np.asarray(array[rows[at : at + block]], dtype=np.float64)
        total += values.sum()
        total_sq += np.square(values).sum()
        count += values.size
    mean = total / count
    std = float(np.sqrt(max(total_sq / count - mean**2, 1e-12)))
    return float(mean), std


class ChunkDataset:
    """A torch Dataset of the chunks of some songs, with their songs' scaled targets.

    ``targets_by_song``: a DataFrame (or Series) indexed by ``song_id`` with the
    target column(s) on the 1..9 scale; ``target_scaler``: a fitted scikit-learn
    scaler (fit on training songs only).  ``stats``: the (mean, std) from
    :func:`input_stats`.  ``max_chunks`` keeps a seeded random subset of that
    many chunks.  Item ``i`` is ``(x, y)`` with ``x`` a float32 tensor
    ``(1, 128, 128)`` read from the memory map and ``y`` a float32 tensor
    ``(n_targets,)``.  ``frame`` lists the chunks in item order (``row``,
    ``song_id``, ``chunk``, ``start_s`` and the unscaled targets).
    """

    def __init__(
        self,
        cache: ChunkCache,
        song_ids,
        targets_by_song,
        target_scaler,
        stats: tuple[float, float],
        max_chunks: int | None = None,
        seed: int = 0,
        per_song: int | None = None,
    ):
        if isinstance(targets_by_song, pd.Series):
            targets_by_song = targets_by_song.to_frame()
        self.cache = cache
        self.targets = list(targets_by_song.columns)
        frame = cache.index[cache.index["song_id"].isin([int(i) for i in song_ids])]
        missing = sorted(set(frame["song_id"]) - set(int(i) for i in targets_by_song.index))
        if missing:
            raise MerError(f"no target values for song(s) {id_list(missing)}: pass labels for every song in song_ids.")
        if per_song is not None:  # the chunks a song is heard at, spread over it (Corpus.chunks_per_song)
            from ..phase3.embeddings import spread_indices

            frame = frame.sort_values(["song_id", "chunk"])
            keep = [rows[spread_indices(len(rows), per_song)] for rows in frame.groupby("song_id").indices.values()]
            frame = frame.iloc[np.sort(np.concatenate(keep))] if keep else frame
        if max_chunks is not None and len(frame) > int(max_chunks):
            keep = np.random.default_rng(seed).choice(len(frame), size=int(max_chunks), replace=False)
            frame = frame.iloc[np.sort(keep)]
        frame = frame.reset_index(drop=True)
        labels = targets_by_song.loc[frame["song_id"].to_numpy(), self.targets].to_numpy(dtype=float)
        self.frame = pd.concat([frame, pd.DataFrame(labels, columns=self.targets)], axis=1)
        self.y = target_scaler.transform(labels).astype(np.float32)
        self.mean, self.std = float(stats[0]), float(stats[1])
        self._rows = frame["row"].to_numpy()
        self._array = None  # opened on first use, so the dataset pickles cheaply

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):
        import torch

        if self._array is None:
            self._array = self.cache.array()
        x = (np.asarray(self._array[self._rows[i]], dtype=np.float32) - self.mean) / self.std
        return torch.from_numpy(x[None]), torch.from_numpy(self.y[i])


def split_datasets(
    cache: ChunkCache, corpus, split: pd.DataFrame, targets, seed: int = 42, max_train_chunks: int | None = None
):
    """Train, validation and test :class:`ChunkDataset` of the shared song split.

    ``targets``: a column name of ``corpus.songs`` (``"valence_mean"``) or a
    list of them.  The label scaler and the input statistics are fit on the
    training chunks only.  Songs skipped by the cache simply have no chunks.
    ``max_train_chunks`` caps the training set (a seeded random subset); a corpus with
    ``chunks_per_song`` is heard at that many chunks of each song, spread over it, in every part.
    Returns ``(datasets, target_scaler, stats)`` with ``datasets`` a dict keyed
    by ``"train"``, ``"validation"``, ``"test"``.
    """
    from ..corpus.split import PARTS, part_ids
    from ..training.loop import fit_target_scaler

    names = [targets] if isinstance(targets, str) else list(targets)
    unknown = [t for t in names if t not in corpus.songs.columns]
    if unknown:
        raise MerError(f"unknown target(s) {unknown}: use valence_mean or arousal_mean.")
    labels = corpus.songs[names]
    ids = {part: part_ids(split, part) for part in PARTS}
    train_rows = cache.index[cache.index["song_id"].isin(ids["train"])]
    if train_rows.empty:
        raise MerError(
            f"no training chunks: none of the {len(ids['train'])} training songs is in the chunk cache {cache.folder}."
        )
    scaler = fit_target_scaler(labels.loc[train_rows["song_id"].to_numpy()].to_numpy())
    stats = input_stats(cache, ids["train"])
    datasets = {
        part: ChunkDataset(
            cache, ids[part], labels, scaler, stats, max_chunks=max_train_chunks if part == "train" else None, seed=seed,
            per_song=getattr(corpus, "chunks_per_song", None),
        )
        for part in PARTS
    }
    for part, dataset in datasets.items():
        if len(dataset) == 0:
            raise MerError(
                f"the {part} part of the split has no chunks in {cache.folder}: use more songs or longer clips."
            )
    return datasets, scaler, stats
