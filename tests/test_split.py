"""The shared song-grouped split."""

import pandas as pd
import pytest

from mer_utils.corpus.split import load_or_create_split, part_ids, read_split, song_split
from mer_utils.errors import MerError


def test_every_song_on_exactly_one_side():
    split = song_split(range(2, 202), seed=1, fractions=(0.70, 0.15, 0.15))
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
    assert load_or_create_split(path, range(20), seed=5).equals(first)  # same songs and settings: reused
    again = load_or_create_split(path, range(20), seed=99)  # another seed: a new split, saved
    assert not again.equals(first) and read_split(path).equals(again)
    changed = load_or_create_split(path, range(25), seed=99)
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


def test_seed_7_and_seed_42_give_different_splits_of_the_default_corpus():
    ids = range(2, 502)
    assert (song_split(ids, seed=7)["part"] != song_split(ids, seed=42)["part"]).sum() > 100


def test_the_default_split_of_500_songs_has_100_test_songs():
    assert song_split(range(2, 502))["part"].value_counts()["test"] == 100


def test_adding_a_song_moves_at_most_two_others():
    before = song_split(range(2, 302), seed=3).set_index("song_id")["part"]
    after = song_split(range(2, 303), seed=3).set_index("song_id")["part"]
    assert (before != after.loc[before.index]).sum() <= 2


def test_changed_fractions_rebuild_the_saved_split(tmp_path):
    path = tmp_path / "split.csv"
    first = load_or_create_split(path, range(40), seed=1, fractions=(0.6, 0.2, 0.2))
    second = load_or_create_split(path, range(40), seed=1, fractions=(0.8, 0.1, 0.1))
    assert (second["part"] == "test").sum() == 4 and (first["part"] == "test").sum() == 8
