"""The corpora a book can run on, one entry per ``DATA=`` value, and the one function that loads them.

Used by: every notebook (through ``mer_utils.page.start_page``), ``python -m mer_utils
prepare`` and ``preflight``.  A fourth corpus is a loader module that returns a
:class:`mer_utils.corpus.base.Corpus` and one :class:`Source` here.

Each source says where `make book` finds it, under which folder name its results
and caches live, and how it is evaluated: ``"split"`` is the one song-grouped
train / validation / test split of the report (DEAM, SynthDEAM); ``"folds"`` is
group-wise K-fold cross-validation for a corpus too small for a test part that can
rank models (Soundtracks: 240 excerpts from 27 films; VGMIDI: pieces grouped by series), see
:mod:`mer_utils.corpus.split`.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from ..errors import MerError
from .base import Corpus


@dataclass(frozen=True)
class Source:
    """One ``DATA=`` choice: its loader (``"module:function"`` under ``mer_utils.corpus``) and its conventions."""

    data: str
    name: str
    label: str
    loader: str
    dir_knob: str
    default_dir: str | None = None
    protocol: str = "split"
    default_subset: str = ""
    random_cnn14_ok: bool = False  # a missing CNN14 checkpoint falls back to random weights (else PANNS_RANDOM=1)
    # Phase 3 fine-tunes musicnn by default (FINETUNE unset) where its weights are present: only where the corpus is
    # small enough for the page's budget on 2 float32 cores (mer_utils.phase3.backbones.finetune_runs): the default
    # SynthDEAM (4.6 min measured) and the Soundtracks sample, not DEAM
    finetune_by_default: bool = False

    def load(self, data_dir, subset: str | None = None) -> Corpus:
        module, function = self.loader.split(":")
        load = getattr(importlib.import_module(f"mer_utils.corpus.{module}"), function)
        return load(data_dir, subset=subset or self.default_subset, name=self.name)


SOURCES = {
    "synth": Source("synth", "synthdeam", "SynthDEAM (generated here)", "deam:load_corpus", "SYNTH_DIR",
                    default_dir="data/synthdeam", default_subset="1_2000", random_cnn14_ok=True,
                    finetune_by_default=True),
    "deam": Source("deam", "deam", "DEAM", "deam:load_corpus", "DEAM_DIR", default_subset="1_2000"),
    "soundtracks": Source("soundtracks", "soundtracks", "Soundtracks (Eerola and Vuoskoski 2011)",
                          "soundtracks:load_soundtracks", "SOUNDTRACKS_DIR", protocol="folds",
                          default_subset="set1", random_cnn14_ok=True, finetune_by_default=True),
    "vgmidi": Source("vgmidi", "vgmidi", "VGMIDI (Ferreira and Whitehead 2019)", "vgmidi:load_vgmidi", "VGMIDI_DIR",
                     protocol="folds", default_subset="all", random_cnn14_ok=True),
}
DATA_CHOICES = tuple(SOURCES)
CORPUS_LABELS = {"synthdeam": "SynthDEAM", "deam": "DEAM", "soundtracks": "Soundtracks", "4q": "4Q",
                 "vgmidi": "VGMIDI"}  # by results-folder name


def source(data: str) -> Source:
    """The :class:`Source` of a ``DATA=`` value; an unknown value is a :class:`MerError` listing the choices."""
    if data not in SOURCES:
        choices = ", ".join(f"DATA={key}" for key in SOURCES)
        raise MerError(f"unknown DATA value '{data}': use one of {choices} (synth, the default, needs no download).")
    return SOURCES[data]


def corpus_for(data: str, data_dir, subset: str | None = None, quiet: bool = False) -> Corpus:
    """Load the corpus a ``DATA=`` choice names, from ``data_dir`` (its knob, e.g. ``SOUNDTRACKS_DIR``).

    ``quiet``: the loaders' warnings (songs without audio, ...) are not logged, for a caller that only
    checks the corpus or reads it again (``prepare`` and the pages report them).
    """
    found = source(data)
    if data_dir is None or str(data_dir).strip() == "":
        data_dir = found.default_dir
    if not quiet:
        return found.load(data_dir, subset)  # each loader says what to do when its folder is missing
    loaders = logging.getLogger("mer_utils.corpus")
    level = loaders.level
    loaders.setLevel(logging.ERROR)
    try:
        return found.load(data_dir, subset)
    finally:
        loaders.setLevel(level)
