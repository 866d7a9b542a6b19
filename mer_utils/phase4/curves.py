"""The 2 Hz annotations Phase 4 predicts: one curve per song and dimension, the raters' spread, the ceiling curve.

Used by: ``notebooks/phase4_dynamic.py`` (:func:`load_curves`), and the Makefile's rule for which books build
Phase 4 (:func:`has_dynamic_annotations` says the same in Python).

DEAM annotates valence and arousal every half second from 15 s on (the raters' first seconds were too
unsteady to keep), on a continuous -1..1 scale, and averages its raters per song
(``annotations averaged per song/dynamic (per second annotations)/valence.csv`` and ``arousal.csv``: a row
per song, a column per time, the cells after a song's end empty).  SynthDEAM writes the same files, from
2 s on, with the raters' standard deviation per half second beside them and, at its root, the noise-free
curve of each song (:mod:`mer_utils.corpus.synth`).  :class:`Curves` holds all of it as one long table,
one row per song and labelled time, keeping only times where both dimensions have a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..corpus.deam import DYNAMIC_FILES, SYNTH_META_FILE, find_file, load_dynamic_annotations, load_dynamic_spread
from ..errors import MerError

DIMENSIONS = ("valence", "arousal")
SCALE = "[-1, 1] (DEAM dynamic annotations)"
STEP_SECONDS = 0.5
HOW_TO_GET_DYNAMIC = (
    "Phase 4 needs DEAM's 2 Hz annotations, annotations/annotations averaged per song/dynamic (per second "
    "annotations)/valence.csv and arousal.csv, which come in DEAM_Annotations.zip: unpack it whole into DEAM_DIR "
    "('make data-deam DEAM_DIR=<dir>' does)"
)


def has_dynamic_annotations(root) -> bool:
    """True when the tree under ``root`` holds both 2 Hz annotation files (the Makefile builds Phase 4 only then)."""
    try:
        for name in DYNAMIC_FILES.values():
            find_file(root, name, "dynamic annotation file")
    except MerError:
        return False
    return True


@dataclass
class Curves:
    """The 2 Hz curves of a corpus: ``table`` has ``song_id``, ``time_s``, ``valence``, ``arousal`` (-1..1) and,
    where the corpus has them, ``<dimension>_std`` (the raters' spread) and ``<dimension>_expected``
    (SynthDEAM's noise-free curve, the ceiling)."""

    table: pd.DataFrame
    source: str

    @property
    def song_ids(self) -> list[int]:
        return sorted(int(i) for i in self.table["song_id"].unique())

    @property
    def has_spread(self) -> bool:
        return all(f"{d}_std" in self.table for d in DIMENSIONS)

    @property
    def has_ceiling(self) -> bool:
        return all(f"{d}_expected" in self.table for d in DIMENSIONS)

    def of(self, song_ids) -> pd.DataFrame:
        """The rows of ``song_ids``, in song and time order."""
        wanted = {int(i) for i in song_ids}
        return self.table[self.table["song_id"].isin(wanted)].sort_values(["song_id", "time_s"]).reset_index(drop=True)

    def song_means(self, song_ids=None) -> pd.DataFrame:
        """Each song's mean over its labelled times, indexed by ``song_id`` (columns ``valence``, ``arousal``)."""
        table = self.table if song_ids is None else self.of(song_ids)
        return table.groupby("song_id")[list(DIMENSIONS)].mean()

    def static_share(self, song_ids=None) -> dict:
        """Per dimension, the share of the 2 Hz labels' variance that lies between song means (0..1).

        What a constant per song could explain at best: the rest is movement within songs.
        """
        table = self.table if song_ids is None else self.of(song_ids)
        out = {}
        for d in DIMENSIONS:
            total = float(table[d].var(ddof=0))
            within = float((table[d] - table.groupby("song_id")[d].transform("mean")).var(ddof=0))
            out[d] = float(1 - within / total) if total > 0 else float("nan")
        return out

    def summary(self, song_ids=None) -> pd.DataFrame:
        """One row per dimension: songs, labelled half seconds per song, first and last time, the spread of the
        song means and of the movement within songs, the raters' mean spread where known (all on -1..1)."""
        table = self.table if song_ids is None else self.of(song_ids)
        per_song = table.groupby("song_id")
        share = self.static_share(song_ids)
        rows = []
        for d in DIMENSIONS:
            within = table[d] - per_song[d].transform("mean")
            rows.append({"dimension": d, "songs": per_song.ngroups,
                         "frames per song": float(per_song.size().mean()),
                         "first (s)": float(table["time_s"].min()), "last (s)": float(table["time_s"].max()),
                         "sd of song means": float(per_song[d].mean().std(ddof=0)),
                         "sd within songs": float(within.std(ddof=0)),
                         "between-song share": share[d],
                         "raters' sd (mean)": float(table[f"{d}_std"].mean()) if self.has_spread else np.nan})
        return pd.DataFrame(rows)


def _long(frame: pd.DataFrame, name: str) -> pd.Series:
    """A wide 2 Hz table (songs x times) as one value per (song_id, time_s), empty cells dropped."""
    series = frame.stack(future_stack=True).dropna()
    series.index = series.index.set_names(["song_id", "time_s"])
    return series.rename(name)


def load_curves(corpus) -> Curves:
    """The 2 Hz curves of the songs of ``corpus``: those its loader mapped itself (``corpus.curves``, VGMIDI),
    else DEAM's files (a DEAM-layout corpus: DEAM or SynthDEAM).

    A tree without the annotation files raises :class:`MerError` saying where they come from.  Times where one
    dimension has a value and the other has none are left out; songs of the corpus without any labelled time
    are left out too (they cannot be scored).
    """
    if getattr(corpus, "curves", None) is not None:
        table = corpus.curves.dropna(subset=list(DIMENSIONS))
        table = table[table["song_id"].isin(corpus.song_ids)].sort_values(["song_id", "time_s"])
        return Curves(table=table.reset_index(drop=True), source=corpus.kind)
    root = corpus.root
    if not has_dynamic_annotations(root):
        raise MerError(f"no 2 Hz annotations under {root}: {HOW_TO_GET_DYNAMIC}.")
    columns = []
    for d in DIMENSIONS:
        columns.append(_long(load_dynamic_annotations(root, d), d))
        spread = load_dynamic_spread(root, d)
        if spread is not None:
            columns.append(_long(spread, f"{d}_std"))
    table = pd.concat(columns, axis=1).dropna(subset=list(DIMENSIONS)).reset_index()
    expected_file = (corpus.synthetic or {}).get("dynamic", {}).get("expected_file")
    if expected_file and (root / expected_file).is_file():
        expected = pd.read_csv(root / expected_file)
        table = table.merge(expected, on=["song_id", "time_s"], how="left")
    table["song_id"] = table["song_id"].astype(int)
    table = table[table["song_id"].isin(corpus.song_ids)]
    table = table.sort_values(["song_id", "time_s"]).reset_index(drop=True)
    if table.empty:
        raise MerError(f"the 2 Hz annotations under {root} hold no song of this corpus with audio: "
                       f"check that they belong to the same DEAM tree ({HOW_TO_GET_DYNAMIC}).")
    return Curves(table=table, source="SynthDEAM" if (root / SYNTH_META_FILE).exists() else "DEAM")
