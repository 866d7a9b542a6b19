"""The song-grouped train / validation / test split shared by every phase.

Made once per corpus from a seed and saved as ``split.csv`` next to the results;
every notebook reads the same file, so chunk-level models (Phase 2) and
song-level models (Phases 1 and 3) are scored on the same held-out songs and a
song's chunks never fall on two sides.

Used by: every notebook (through ``mer_utils.page.start_page``) and
``notebooks/data_corpus.py``; created by ``python -m mer_utils prepare``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import write_csv_atomic
from ..errors import MerError

PARTS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)
DEFAULT_SEED = 42  # the seed of the split and of every page of the book (SEED= on the command line)


def song_split(song_ids, seed: int = DEFAULT_SEED, fractions=DEFAULT_FRACTIONS) -> pd.DataFrame:
    """Assign each song to train, validation or test at random (seeded).

    Returns a frame with columns ``song_id`` and ``part``, sorted by song id.
    Every part gets at least one song when there are three or more songs.
    """
    ids = np.array(sorted({int(i) for i in song_ids}))
    if len(ids) < 3:
        raise MerError(f"need at least 3 songs for a train/validation/test split, got {len(ids)}.")
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise MerError(f"split fractions {fractions} must be three positive numbers summing to 1.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_val = max(1, int(round(fractions[1] * len(ids))))
    n_test = max(1, int(round(fractions[2] * len(ids))))
    n_train = len(ids) - n_val - n_test
    parts = np.empty(len(ids), dtype=object)
    parts[order[:n_train]] = "train"
    parts[order[n_train : n_train + n_val]] = "validation"
    parts[order[n_train + n_val :]] = "test"
    return pd.DataFrame({"song_id": ids, "part": parts})


def read_split(path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise MerError(f"split file {path} not found: run 'make book' (or 'python -m mer_utils prepare') to create it.")
    split = pd.read_csv(path)
    if list(split.columns[:2]) != ["song_id", "part"] or not split["part"].isin(PARTS).all():
        raise MerError(
            f"split file {path} is malformed: expected columns song_id, part with parts {PARTS}. Delete it to regenerate."
        )
    if split["song_id"].duplicated().any():
        raise MerError(f"split file {path} lists a song twice. Delete it to regenerate.")
    return split


def load_or_create_split(path, song_ids, seed: int = DEFAULT_SEED, fractions=DEFAULT_FRACTIONS) -> pd.DataFrame:
    """Read ``path`` if it covers exactly ``song_ids``, else make and save a new split."""
    path = Path(path)
    wanted = sorted(int(i) for i in song_ids)
    if path.exists():
        split = read_split(path)
        if sorted(split["song_id"].astype(int)) == wanted:
            return split
    split = song_split(wanted, seed=seed, fractions=fractions)
    write_csv_atomic(path, split)
    return split


def part_ids(split: pd.DataFrame, part: str) -> list[int]:
    """Song ids in one part (``train``, ``validation`` or ``test``)."""
    if part not in PARTS:
        raise MerError(f"unknown split part '{part}': use one of {PARTS}.")
    return [int(i) for i in split.loc[split["part"] == part, "song_id"]]


def part_overview(split: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Songs, share and mean labels of each part (train, validation, test), for the corpus page."""
    parts = split.merge(labels[["valence_mean", "arousal_mean"]], left_on="song_id", right_index=True)
    overview = parts.groupby("part").agg(
        songs=("song_id", "size"), valence_mean=("valence_mean", "mean"), arousal_mean=("arousal_mean", "mean")
    )
    overview = overview.reindex(list(PARTS))
    overview["share"] = overview["songs"] / overview["songs"].sum()
    return overview
