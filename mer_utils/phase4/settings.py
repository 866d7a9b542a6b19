"""Which songs train, select and test a Phase 4 model: the book's split, and MediaEval 2015's own setting.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`).

* :func:`book_setting`: the shared song-grouped split of every phase (``split.csv``): models fit on its
  training songs, choose their settings and epochs on its validation songs and are scored once on its test
  songs, the same test songs as every static figure of the book.
* :func:`fold_settings` and :func:`pooled_setting`: on a corpus evaluated by grouped folds (VGMIDI), the same
  per fold, every song tested once out of fold, the scores pooled.
* :func:`mediaeval_setting`: the Emotion in Music task of MediaEval 2015 trained on the 45-second excerpts of
  2013 and 2014 (ids up to 2000) and tested on the 58 full-length songs of 2015 (ids 2001 to 2058).  It applies
  to ``DATA=deam SUBSET=all``, where both are in the corpus.  The excerpts of the book's validation part select
  the settings; every other excerpt trains.  The task's own development set was a cleaned subset of 431 of the
  excerpts; this setting uses all of them, so it is close to the task, not the same.
"""

from __future__ import annotations

from dataclasses import dataclass

MEDIAEVAL_2015_TEST = range(2001, 2059)  # the 58 full-length songs annotated for the 2015 evaluation
PARTS = ("train", "validation", "test")


@dataclass
class Setting:
    """A named assignment of songs to ``train``, ``validation`` and ``test`` (``parts``: part -> song ids)."""

    name: str
    parts: dict
    description: str

    def songs(self, part: str) -> list[int]:
        return list(self.parts[part])


def book_setting(split, song_ids) -> Setting:
    """The book's split, restricted to ``song_ids`` (the songs with curves and frames)."""
    have = {int(i) for i in song_ids}
    parts = {part: sorted(int(i) for i in split.loc[split["part"] == part, "song_id"] if int(i) in have)
             for part in PARTS}
    return Setting("book split", parts, "the book's song-grouped split: train, validation and test songs as in "
                                        "every other phase")


def fold_settings(folds: dict, song_ids) -> list[Setting]:
    """One :func:`book_setting` per fold of a corpus evaluated by grouped folds (``folds``: fold -> split)."""
    return [Setting(f"fold {k}", book_setting(split, song_ids).parts,
                    f"fold {k} of {len(folds)} of the book's grouped folds") for k, split in folds.items()]


def pooled_setting(settings: list[Setting]) -> Setting:
    """The folds taken together: every song tested once, by the fold that held it out (training and validation
    counts are the first fold's)."""
    test = sorted(i for setting in settings for i in setting.songs("test"))
    return Setting("book folds", {**settings[0].parts, "test": test},
                   f"the book's {len(settings)} grouped folds (as every other phase): each song predicted once, by "
                   "the models of the fold that held out its group; training and validation counts are one fold's")


def mediaeval_setting(split, song_ids, kind: str = "DEAM") -> Setting | None:
    """MediaEval 2015's setting (see the module docstring), or ``None`` when the corpus lacks either side or is not
    in DEAM's numbering (``kind``: the corpus's, :attr:`mer_utils.corpus.base.Corpus.kind`)."""
    if kind != "DEAM":
        return None
    have = {int(i) for i in song_ids}
    test = sorted(i for i in have if i in MEDIAEVAL_2015_TEST)
    excerpts = {i for i in have if i < MEDIAEVAL_2015_TEST.start}
    validation = sorted(int(i) for i in split.loc[split["part"] == "validation", "song_id"] if int(i) in excerpts)
    train = sorted(excerpts - set(validation))
    if not test or not train or not validation:
        return None
    return Setting("MediaEval 2015", {"train": train, "validation": validation, "test": test},
                   "MediaEval 2015's setting: trained on the 2013-14 excerpts, tested on the 58 full-length 2015 songs")
