"""The song-grouped train / validation / test split shared by every phase, or group-wise K folds.

Made once per corpus from a seed and saved as ``split.csv`` next to the results;
every notebook reads the same file, so chunk-level models (Phase 2) and
song-level models (Phases 1 and 3) are scored on the same held-out songs and a
song's chunks never fall on two sides.

A small corpus (:data:`mer_utils.corpus.sources.SOURCES` says which: Soundtracks)
is evaluated by cross-validation instead (:func:`grouped_folds`): its groups
(films) are dealt into K folds of about equal size; in fold k the films of fold k
are the test part, those of the next fold the validation part and the rest the
training part, so every song is tested once and every group stays on one side.
The file then holds one row per fold and song (a ``fold`` column), and
:func:`fold_splits` gives each fold's split in the one-split shape every phase
already takes; a phase runs once per fold and pools the out-of-fold predictions
(:mod:`mer_utils.results.crossfit`).

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
DEFAULT_FOLDS = 5  # K of group-wise cross-validation (FOLDS= on the command line)
ONE_SPLIT = 0  # the "fold" number of a corpus with one split, in fold_splits


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


def _hash_key(seed: int, item) -> str:
    return hashlib.sha1(f"{int(seed)}:{item}".encode()).hexdigest()


def grouped_folds(song_ids, groups, n_folds: int = DEFAULT_FOLDS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Group-wise K-fold cross-validation with a validation part: ``fold``, ``song_id``, ``part``.

    ``groups`` maps each song id to its group (a film).  Groups are dealt,
    largest first (ties in a seeded hash order), to the fold with the fewest
    songs so far, so folds come out about equal however unequal the groups.  In
    fold k, fold k's songs are ``test``, the next fold's (k + 1, wrapping round)
    ``validation``, the rest ``train``.  Folds are numbered from 1.
    """
    ids = sorted({int(i) for i in song_ids})
    group_of = {int(i): str(g) for i, g in pd.Series(groups).items()}
    unknown = [i for i in ids if i not in group_of]
    if unknown:
        raise MerError(f"songs {unknown[:10]} have no group: every song needs one (its film) for grouped folds.")
    members: dict[str, list[int]] = {}
    for song_id in ids:
        members.setdefault(group_of[song_id], []).append(song_id)
    if n_folds < 3 or len(members) < n_folds:
        raise MerError(f"grouped cross-validation needs at least 3 folds and a group per fold: asked for {n_folds} "
                       f"folds of {len(members)} groups. Set FOLDS to a value from 3 to {max(3, len(members))}.")
    order = sorted(members, key=lambda g: (-len(members[g]), _hash_key(seed, g)))
    sizes, fold_of = [0] * n_folds, {}
    for group in order:
        fold = min(range(n_folds), key=lambda f: (sizes[f], f))
        fold_of[group] = fold
        sizes[fold] += len(members[group])
    rows = []
    for fold in range(n_folds):
        for song_id in ids:
            home = fold_of[group_of[song_id]]
            part = "test" if home == fold else "validation" if home == (fold + 1) % n_folds else "train"
            rows.append((fold + 1, song_id, part))
    return pd.DataFrame(rows, columns=["fold", "song_id", "part"])


def is_cross_validated(split: pd.DataFrame) -> bool:
    """True for a split file of :func:`grouped_folds` (one row per fold and song)."""
    return "fold" in split.columns


def fold_splits(split: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Each fold's split (``song_id``, ``part``) by fold number; one split is ``{ONE_SPLIT: split}``."""
    if not is_cross_validated(split):
        return {ONE_SPLIT: split[["song_id", "part"]].reset_index(drop=True)}
    return {int(fold): rows[["song_id", "part"]].reset_index(drop=True)
            for fold, rows in split.groupby("fold", sort=True)}


def split_settings(split: pd.DataFrame, seed: int, fractions, n_folds: int | None = None) -> dict:
    """What a saved split was made from, and a hash of its assignments (every result record carries it)."""
    folds = split["fold"] if is_cross_validated(split) else [None] * len(split)
    text = "\n".join(f"{int(i)},{p}" if f is None else f"{int(f)},{int(i)},{p}"
                      for f, i, p in zip(folds, split["song_id"], split["part"]))
    settings = {"seed": int(seed), "fractions": [float(f) for f in fractions], "songs": int(split["song_id"].nunique()),
                "sha1": hashlib.sha1(text.encode()).hexdigest()[:12]}
    if n_folds:
        settings.update({"folds": int(n_folds), "fractions": None})
    return settings


def split_hash(split: pd.DataFrame) -> str:
    """The hash of a split's assignments (as in ``split.json``)."""
    return split_settings(split, 0, DEFAULT_FRACTIONS)["sha1"]


def read_split(path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise MerError(f"split file {path} not found: run 'make book' (or 'python -m mer_utils prepare') to create it.")
    split = pd.read_csv(path)
    if is_cross_validated(split):
        split = split[["fold", "song_id", "part"]]
    if not {"song_id", "part"} <= set(split.columns) or not split["part"].isin(PARTS).all():
        raise MerError(
            f"split file {path} is malformed: expected columns song_id, part with parts {PARTS}. Delete it to regenerate."
        )
    keys = ["fold", "song_id"] if is_cross_validated(split) else ["song_id"]
    if split.duplicated(keys).any():
        raise MerError(f"split file {path} lists a song twice{' in one fold' if len(keys) == 2 else ''}. "
                       "Delete it to regenerate.")
    return split


def load_or_create_split(path, song_ids, seed: int = DEFAULT_SEED, fractions=DEFAULT_FRACTIONS,
                         groups=None, n_folds: int | None = None) -> pd.DataFrame:
    """Read ``path`` if it was made with these settings for exactly ``song_ids``; else rebuild it.

    With ``n_folds`` (and ``groups``, each song's group) the file holds
    :func:`grouped_folds`; otherwise one :func:`song_split` by ``fractions``.
    The settings are stored beside the split in ``split.json``; a split without
    them, or made with other settings, is rebuilt.
    """
    path = Path(path)
    wanted = sorted(int(i) for i in song_ids)
    settings_path = path.with_suffix(".json")
    if n_folds:
        split = grouped_folds(wanted, groups, n_folds=n_folds, seed=seed)
    else:
        split = song_split(wanted, seed=seed, fractions=fractions)
    settings = split_settings(split, seed, fractions, n_folds)
    if path.exists() and settings_path.exists():
        saved = json.loads(settings_path.read_text())
        if saved == settings:
            return read_split(path)
    write_csv_atomic(path, split)
    write_json_atomic(settings_path, settings)
    return split


def part_ids(split: pd.DataFrame, part: str) -> list[int]:
    """Song ids in one part (``train``, ``validation`` or ``test``)."""
    if part not in PARTS:
        raise MerError(f"unknown split part '{part}': use one of {PARTS}.")
    return [int(i) for i in split.loc[split["part"] == part, "song_id"]]


def fold_overview(split: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Songs and groups (films) in each part of each fold, for the corpus page of a cross-validated corpus."""
    rows = split.assign(group=groups.loc[split["song_id"]].to_numpy())
    table = rows.groupby(["fold", "part"]).agg(songs=("song_id", "size"), groups=("group", "nunique")).unstack("part")
    table.columns = [f"{part} {what}" for what, part in table.columns]
    order = [f"{part} {what}" for part in PARTS for what in ("songs", "groups")]
    return table[order].reset_index()


def part_overview(split: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Songs, share and mean labels of each part (train, validation, test), for the corpus page."""
    parts = split.merge(labels[["valence_mean", "arousal_mean"]], left_on="song_id", right_index=True)
    overview = parts.groupby("part").agg(
        songs=("song_id", "size"), valence_mean=("valence_mean", "mean"), arousal_mean=("arousal_mean", "mean")
    )
    overview = overview.reindex(list(PARTS))
    overview["share"] = overview["songs"] / overview["songs"].sum()
    return overview
