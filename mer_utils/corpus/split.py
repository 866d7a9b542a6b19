"""The song-grouped train / validation / test split shared by every phase.

Made once per corpus from a seed and saved as ``split.csv`` next to the results;
every notebook reads the same file, so chunk-level models (Phase 2) and
song-level models (Phases 1 and 3) are scored on the same held-out songs and a
song's chunks never fall on two sides.

Used by: every notebook (through ``mer_utils.page.start_page``) and
``notebooks/data_corpus.py``; created by ``python -m mer_utils prepare``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..cache import write_csv_atomic, write_json_atomic
from ..errors import MerError

PARTS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.60, 0.20, 0.20)  # a test part large enough to rank models (100 songs of 500)
DEFAULT_SEED = 42  # the seed of the split and of every page of the book (SEED= on the command line)


def song_split(song_ids, seed: int = DEFAULT_SEED, fractions=DEFAULT_FRACTIONS) -> pd.DataFrame:
    """Assign each song to train, validation or test by a seeded hash of its id.

    Songs are ordered by ``sha1("<seed>:<song_id>")``; the first share of that
    order is train, the next validation, the rest test, with counts rounded
    from ``fractions``.  The order of two songs never depends on the others, so
    adding or removing a song moves at most a song or two across a boundary,
    and a different seed gives a different split.  Returns ``song_id`` and
    ``part``, sorted by song id; every part gets at least one song.
    """
    ids = sorted({int(i) for i in song_ids})
    if len(ids) < 3:
        raise MerError(f"need at least 3 songs for a train/validation/test split, got {len(ids)}.")
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise MerError(f"split fractions {fractions} must be three positive numbers summing to 1.")
    order = sorted(ids, key=lambda song_id: hashlib.sha1(f"{int(seed)}:{song_id}".encode()).hexdigest())
    n_val = max(1, int(round(fractions[1] * len(ids))))
    n_test = max(1, int(round(fractions[2] * len(ids))))
    n_train = len(ids) - n_val - n_test
    part_of = {song_id: "train" for song_id in order[:n_train]}
    part_of.update({song_id: "validation" for song_id in order[n_train : n_train + n_val]})
    part_of.update({song_id: "test" for song_id in order[n_train + n_val :]})
    return pd.DataFrame({"song_id": ids, "part": [part_of[i] for i in ids]})


def split_settings(split: pd.DataFrame, seed: int, fractions) -> dict:
    """What a saved split was made from, and a hash of its assignments (every result record carries it)."""
    text = "\n".join(f"{int(i)},{p}" for i, p in zip(split["song_id"], split["part"]))
    return {"seed": int(seed), "fractions": [float(f) for f in fractions], "songs": int(len(split)),
            "sha1": hashlib.sha1(text.encode()).hexdigest()[:12]}


def split_hash(split: pd.DataFrame) -> str:
    """The hash of a split's assignments (as in ``split.json``)."""
    return split_settings(split, 0, DEFAULT_FRACTIONS)["sha1"]


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
    """Read ``path`` if it was made with this seed and these fractions for exactly ``song_ids``; else rebuild it.

    The settings are stored beside the split in ``split.json``; a split without
    them, or made with another seed or other fractions, is rebuilt.
    """
    path = Path(path)
    wanted = sorted(int(i) for i in song_ids)
    settings_path = path.with_suffix(".json")
    if path.exists() and settings_path.exists():
        split = read_split(path)
        saved = json.loads(settings_path.read_text())
        same = saved.get("seed") == int(seed) and saved.get("fractions") == [float(f) for f in fractions]
        if same and sorted(split["song_id"].astype(int)) == wanted:
            return split
    split = song_split(wanted, seed=seed, fractions=fractions)
    write_csv_atomic(path, split)
    write_json_atomic(settings_path, split_settings(split, seed, fractions))
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
