"""The 4Q clips as a corpus the book's caches can read, and what the Real music page does first.

Used by: ``notebooks/real_music.py`` (:func:`start_real_music`, in its first code cell).

The book's feature and embedding caches (:class:`mer_utils.cache.SongCache`,
:func:`mer_utils.phase1.features.extract_features`,
:func:`mer_utils.phase3.embeddings.embed_corpus`) key songs by integer ids, as
DEAM numbers its songs.  4Q names a song ``MT0000004637``: the digits are an
AllMusic track number, unique in the dataset, so :func:`numeric_ids` uses them
as the integer id (and the row's position in the sorted list, should a tree
ever hold names that are not ``MT`` plus digits or that collide).
:class:`FourQCorpus` carries the clips under those ids for the caches, and
:meth:`FourQCorpus.names` turns results back into 4Q names.  Nothing is
copied: the caches read the clips where ``FOURQ_DIR`` has them.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..corpus.fourq import FourQ, ids_text, load_fourq
from ..corpus.split import DEFAULT_SEED
from ..training.runtime import set_seeds

log = logging.getLogger(__name__)

CORPUS_NAME = "4q"
DEFAULT_RESULTS_DIR = "results/4q"
DEFAULT_CACHE_DIR = "cache/4q"
_MT_ID = re.compile(r"^MT0*(\d+)$")


def numeric_ids(song_ids) -> pd.Series:
    """4Q song names -> integer ids (the digits of ``MT...``; positions where the digits do not serve), by name."""
    names = sorted(str(s) for s in song_ids)
    matches = [_MT_ID.match(name) for name in names]
    digits = [int(m.group(1)) if m else None for m in matches]
    if None in digits or len(set(digits)) != len(digits):
        log.warning("4Q song names are not all MT<digits> with unique digits: numbering them by position instead")
        digits = list(range(1, len(names) + 1))
    return pd.Series(digits, index=pd.Index(names, name="song"), name="song_id")


@dataclass
class FourQCorpus:
    """4Q clips under integer ids, as the book's caches want them.

    ``songs`` is :attr:`FourQ.songs` re-indexed by integer ``song_id`` (the 4Q
    name kept in the column ``song``); ``fourq`` is the loaded dataset.
    """

    fourq: FourQ
    songs: pd.DataFrame
    name: str = CORPUS_NAME
    is_synthetic: bool = False

    @property
    def root(self) -> Path:
        return self.fourq.root

    def names(self, song_ids) -> list[str]:
        """Integer ids -> 4Q names, in the order given."""
        return [str(self.songs.at[int(i), "song"]) for i in song_ids]

    def by_name(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame indexed by integer id, re-indexed by 4Q name (index ``song``)."""
        return frame.set_axis(pd.Index(self.names(frame.index), name="song"), axis=0)


def fourq_corpus(fourq: FourQ) -> FourQCorpus:
    """Wrap a loaded :class:`FourQ` for the caches (see the module docstring for the ids)."""
    ids = numeric_ids(fourq.catalogue.index)
    songs = fourq.songs.copy()
    songs.insert(0, "song", songs.index.astype(str))
    songs.index = pd.Index([int(ids[s]) for s in songs["song"]], name="song_id")
    return FourQCorpus(fourq=fourq, songs=songs)


@dataclass
class RealMusicPage:
    """The Real music page's resolved settings and its data."""

    corpus: FourQCorpus
    results_dir: Path
    cache_dir: Path
    seed: int

    @property
    def fourq(self) -> FourQ:
        return self.corpus.fourq

    @property
    def songs(self) -> pd.DataFrame:
        """The clips with audio, indexed by 4Q name: quadrant, artist, artist group, moods, ..."""
        return self.fourq.songs


def fourq_banner(fourq: FourQ):
    """An HTML note saying which data produced the page: real clips, how many, and what was left out."""
    from IPython.display import HTML

    per = ", ".join(f"{q} {n}" for q, n in fourq.counts().items())
    body = (f"These results come from <b>real music</b>: the 4Q audio emotion dataset of Panda, Malheiro and Paiva "
            f"(2018) at <code>{html.escape(str(fourq.root))}</code>, {len(fourq.songs)} clips with audio ({per}) "
            f"by {fourq.songs['artist_group'].nunique()} artists.")
    if fourq.missing_audio:
        body += (f" {len(fourq.missing_audio)} songs of the annotation file have no clip here and are left out "
                 f"({html.escape(ids_text(fourq.missing_audio, limit=5))}).")
    if fourq.skipped:
        body += f" {len(fourq.skipped)} file(s) were skipped: {html.escape('; '.join(list(fourq.skipped)[:5]))}."
    return HTML(f'<div class="admonition note"><p class="admonition-title">Data</p><p>{body}</p></div>')


def start_real_music(fourq_dir, results_dir=None, cache_dir=None, seed=None, show_banner: bool = True) -> RealMusicPage:
    """Resolve the settings (``None``: the default), load 4Q, show the banner, set seeds and the figure style.

    ``fourq_dir`` has no default: a missing or wrong folder raises :class:`mer_utils.errors.MerError`
    saying how to get 4Q (``make data-4q FOURQ_DIR=<dir>``).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from IPython.display import display

    from ..page import configure_logging

    configure_logging()
    seed = DEFAULT_SEED if seed is None else int(seed)
    set_seeds(seed)
    sns.set_theme(context="notebook", style="whitegrid")
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight"})
    corpus = fourq_corpus(load_fourq(fourq_dir))
    if show_banner:
        display(fourq_banner(corpus.fourq))
    return RealMusicPage(corpus=corpus, results_dir=Path(results_dir or DEFAULT_RESULTS_DIR),
                         cache_dir=Path(cache_dir or DEFAULT_CACHE_DIR), seed=seed)
