"""What every corpus gives the book: one :class:`Corpus` shape, the targets and their names.

Used by: every notebook (through ``mer_utils.page.start_page``); the loaders
(:mod:`.deam` for DEAM and SynthDEAM, :mod:`.soundtracks`) return a
:class:`Corpus`, and :mod:`.sources` maps each ``DATA=`` value to its loader.

A corpus is a table of songs (``songs``, indexed by an integer ``song_id``)
with the song-level targets on the corpus's own rating scale and an
``audio_path``, plus what the loader found missing and, where the corpus has
them, a grouping of songs that are not independent (the film of a
Soundtracks excerpt) and a measured reference for the targets (SynthDEAM's
generating function, Soundtracks' second listener panel).  Downstream code
reads only this shape, so a new corpus is one loader module and one entry in
:data:`mer_utils.corpus.sources.SOURCES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MerError

TARGETS = ["valence_mean", "arousal_mean"]  # the two targets every corpus gives and every phase predicts
TARGET_NAMES = {"valence_mean": "valence", "arousal_mean": "arousal", "tension_mean": "tension"}


def short_name(target: str) -> str:
    """``"valence_mean"`` -> ``"valence"``: the one spelling of a target in tables, figures and output."""
    return TARGET_NAMES.get(target, target)


def id_list(ids, limit: int = 20) -> str:
    """``"2, 3, 5 and 40 more"``: song ids for messages and pages."""
    ids = sorted(int(i) for i in ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_folder(root, knob: str, holds: str, how_to_get: str, usage: str = "") -> Path:
    """``root`` as an existing folder, or a :class:`MerError` saying how to set ``knob`` (``DEAM_DIR``, ...)."""
    if root is None or str(root).strip() == "":
        raise MerError(f"{knob} is not set: pass {usage or knob + '=<dir>'}; to get the data, {how_to_get}.")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MerError(f"{knob} '{root}' is not a folder: point {knob} at the folder {holds} ({how_to_get}).")
    return root


def match_audio(labels: pd.DataFrame, audio: dict) -> tuple[pd.DataFrame, list, list]:
    """Rated songs that have audio (with ``audio_path``), rated songs without audio, audio without ratings."""
    have = labels.index.isin(list(audio))
    missing = [int(i) for i in labels.index[~have]]
    unlabelled = sorted(set(audio) - set(int(i) for i in labels.index))
    songs = labels[have].copy()
    songs["audio_path"] = [str(audio[int(i)]) for i in songs.index]
    return songs, missing, unlabelled


def ceiling_r2(labels: pd.DataFrame, expected: pd.DataFrame, song_ids=None) -> dict:
    """R² (``r2_score``) of a generating function on some songs: its expected labels against the published ones.

    ``expected`` holds ``<dimension>_expected`` columns (SynthDEAM's, :mod:`mer_utils.corpus.synth`).  The
    ceiling beside a figure must be computed on the songs of that figure:
    on a few dozen songs it moves by several hundredths and can change which
    target looks easier.  ``song_ids`` ``None`` means every song (the corpus-wide "expected ceiling").
    """
    from sklearn.metrics import r2_score

    ids = list(labels.index if song_ids is None else song_ids)
    return {target: float(r2_score(labels.loc[ids, target], expected.loc[ids, f"{short_name(target)}_expected"]))
            for target in TARGETS}


def human_reference(reference: pd.DataFrame, song_ids=None, targets=(*TARGETS, "tension_mean")) -> pd.DataFrame:
    """How well a second panel's means agree with the first's: Pearson r per target, on the checked links.

    ``reference`` is :attr:`Corpus.reference` (one row per second-panel rating:
    ``song_id`` and ``<target>_set1`` / ``<target>_set2``); with ``song_ids``, only
    links to those songs count (the songs a model predicted).  Panels use a scale
    differently, so they are compared by correlation, never by raw differences.
    Returns one row per target present: ``pearson_r`` and ``excerpts``.
    """
    if song_ids is not None:
        reference = reference[reference["song_id"].isin([int(i) for i in song_ids])]
    rows = [{"target": t, "excerpts": int(len(reference)),
             "pearson_r": float(np.corrcoef(reference[f"{t}_set2"], reference[f"{t}_set1"])[0, 1])
             if len(reference) > 2 else float("nan")}
            for t in targets if f"{t}_set1" in reference.columns]
    return pd.DataFrame(rows).set_index("target")


def agreement_beside_panel(reference: pd.DataFrame, predictions: pd.DataFrame, target: str) -> dict:
    """A model's Pearson r with the first panel and the second panel's, on the same linked songs.

    ``predictions`` has ``song_id`` and ``predicted`` (a record's test predictions).
    A Set 1 song rated twice by the second panel counts twice in both, so the two
    figures are computed on exactly the same pairs.
    """
    linked = reference.merge(predictions[["song_id", "predicted"]], on="song_id")
    if len(linked) < 3:
        return {"model_r": float("nan"), "human_r": float("nan"), "linked": int(len(linked))}
    return {"model_r": float(np.corrcoef(linked["predicted"], linked[f"{target}_set1"])[0, 1]),
            "human_r": float(np.corrcoef(linked[f"{target}_set2"], linked[f"{target}_set1"])[0, 1]),
            "linked": int(len(linked))}


@dataclass
class Corpus:
    """A corpus ready for the pipeline.

    ``songs`` is indexed by ``song_id`` with the static labels (:data:`TARGETS`,
    on the scale named by ``scale``; more columns where the corpus has them)
    and ``audio_path``; it holds only songs that have both labels and an audio
    file.  ``missing_audio`` lists rated songs without an audio file and
    ``unlabelled_audio`` audio files without labels: both are reported, never
    dropped silently.

    ``kind`` names the corpus for banners ("DEAM", "Soundtracks", ...).
    ``group_column``, when set, is the column of ``songs`` whose songs are not
    independent (a film): splits, folds and bootstraps keep a group whole.
    ``extra_targets`` are further rated dimensions shown where a page can take
    them (Soundtracks' tension).  ``target_labels`` are the corpus's own names
    for the targets where they differ (Soundtracks calls arousal "energy").
    ``synthetic`` holds the generator's record for SynthDEAM and ``expected``
    each SynthDEAM song's noise-free expected label (for :meth:`ceiling`);
    ``reference`` holds a second panel's ratings where the corpus has one
    (:func:`mer_utils.corpus.soundtracks.human_reference`); ``notes`` are the
    loader's findings worth a sentence on the data page.  ``curves`` holds the 2 Hz curves where the loader
    maps its own annotations to them (VGMIDI's per-measure traces), in the long shape of
    :class:`mer_utils.phase4.curves.Curves`; ``None`` where Phase 4 reads them from DEAM's files.
    """

    name: str
    root: Path
    subset: str
    songs: pd.DataFrame
    missing_audio: list[int] = field(default_factory=list)
    unlabelled_audio: list[int] = field(default_factory=list)
    synthetic: dict | None = None
    expected: pd.DataFrame | None = None
    kind: str = "DEAM"
    scale: str = "1..9"
    group_column: str | None = None
    extra_targets: tuple[str, ...] = ()
    target_labels: dict = field(default_factory=dict)
    reference: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    curves: pd.DataFrame | None = None  # 2 Hz curves a loader maps itself (VGMIDI); None: DEAM's files
    # each listener's own 2 Hz curve (song_id, listener, time_s, valence, arousal) where the corpus gives them (VGMIDI):
    # the human reference of Phase 4 (mer_utils.phase4.reference)
    listener_traces: pd.DataFrame | None = None
    # Phase 2 hears a song at most at this many of its 3-s chunks, spread over it, in every part of the split: a corpus
    # of long pieces (VGMIDI: 4.7 h) that would not train within the book's budget otherwise; None: every chunk
    chunks_per_song: int | None = None

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    @property
    def song_ids(self) -> list[int]:
        return [int(i) for i in self.songs.index]

    @property
    def groups(self) -> pd.Series:
        """The group of each song (its film, ...), or the song itself where songs are independent."""
        if self.group_column is None:
            return pd.Series(self.songs.index.astype(str), index=self.songs.index, name="group")
        return self.songs[self.group_column].rename("group")

    def target_label(self, target: str) -> str:
        """A target as this corpus names it: ``"arousal (energy)"`` on Soundtracks, ``"arousal"`` elsewhere."""
        own = self.target_labels.get(target)
        return f"{short_name(target)} ({own})" if own else short_name(target)

    def noise_ceiling(self, target: str) -> float | None:
        """The expected ceiling over the whole corpus (SynthDEAM only), else ``None``; see :meth:`ceiling`."""
        if not self.synthetic:
            return None
        return float(self.synthetic["noise_ceiling_r2"][target])

    def ceiling(self, target: str, song_ids) -> float | None:
        """R² of the generating function on ``song_ids`` (SynthDEAM only), else ``None``.

        The score of a model that reads every cue off the audio exactly, on
        these songs: the ceiling to set beside a figure computed on them.  It
        is an expected upper bound, not a hard one.
        """
        if self.expected is None:
            return None
        return ceiling_r2(self.songs, self.expected, [int(i) for i in song_ids])[target]

    def describe(self) -> str:
        kind = "SynthDEAM (synthetic)" if self.is_synthetic else self.kind
        subset = f", subset {self.subset}" if self.subset else ""
        groups = f" from {self.groups.nunique()} {self.group_column}s" if self.group_column else ""
        return (
            f"{kind} at {self.root}{subset}: {len(self.songs)} songs with labels and audio{groups}; "
            f"{len(self.missing_audio)} rated songs without audio; "
            f"{len(self.unlabelled_audio)} audio files without labels"
        )
