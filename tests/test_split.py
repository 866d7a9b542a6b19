"""The shared song-grouped split."""

import pandas as pd
import pytest

from mer_utils.corpus.split import load_or_create_split, part_ids, read_split, song_split
from mer_utils.errors import MerError


def test_every_song_on_exactly_one_side():
    split = song_split(range(2, 202), seed=1)
    assert split["song_id"].is_unique and len(split) == 200
    sides = [set(part_ids(split, p)) for p in ("train", "validation", "test")]
    assert sum(len(s) for s in sides) == 200
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert split["part"].value_counts().to_dict() == {"train": 140, "validation": 30, "test": 30}


def test_seeded_and_seed_sensitive():
    assert song_split(range(50), seed=3).equals(song_split(range(50), seed=3))
    assert not song_split(range(50), seed=3).equals(song_split(range(50), seed=4))


def test_saved_split_is_reused_and_renewed_when_songs_change(tmp_path):
    path = tmp_path / "split.csv"
    first = load_or_create_split(path, range(20), seed=5)
    assert read_split(path).equals(first)
    again = load_or_create_split(path, range(20), seed=99)  # same songs: the saved split wins
    assert again.equals(first)
    changed = load_or_create_split(path, range(25), seed=5)
    assert len(changed) == 25


def test_too_few_songs_and_bad_files_are_explained(tmp_path):
    with pytest.raises(MerError, match="at least 3 songs"):
        song_split([1, 2])
    bad = tmp_path / "split.csv"
    pd.DataFrame({"song_id": [1, 1], "part": ["train", "test"]}).to_csv(bad, index=False)
    with pytest.raises(MerError, match="lists a song twice"):
        read_split(bad)
    with pytest.raises(MerError, match="not found"):
        read_split(tmp_path / "none.csv")
