"""What every notebook does first: resolve its parameters, load the corpus and split, show the banner.

Used by: every notebook (``notebooks/*.py``), in its first code cell.

A notebook's parameters cell leaves every setting at ``None``, which means
"the package default"; :func:`start_page` fills them in from
:data:`BOOK_DEFAULTS` (the data location) and returns them with the corpus and
the shared split, so each page says which data produced it (a warning banner
on SynthDEAM) and uses the same split, seeds and figure style.  The Makefile
passes only the knobs a user set, so each default is written once.
"""

from __future__ import annotations

import html
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .corpus.base import Corpus
from .corpus.sources import corpus_for, source
from .corpus.split import DEFAULT_SEED, fold_splits, is_cross_validated, read_split
from .results.runs import run_identity
from .training.runtime import set_seeds

BOOK_DEFAULTS = {"data": "synth", "seed": DEFAULT_SEED}  # the subset's default is the corpus's own (sources.py)


def default_paths(data: str) -> dict:
    """Where `make book` keeps the corpus (SynthDEAM only), the results and the caches of a ``DATA=`` choice."""
    found = source(data)
    return {"data_dir": found.default_dir, "results_dir": f"results/{found.name}", "cache_dir": f"cache/{found.name}"}


class PageWarnings(logging.Handler):
    """Shows each WARNING (or worse) of ``mer_utils`` on the page, as a warning admonition.

    Log lines go to stderr, which the book drops (papermill echoes it to the
    terminal); a warning is also something the reader must see, so it is not
    lost with them.  A warning that the page already states in its own words
    (a banner) is logged with ``extra={"on_page": True}`` and not repeated.
    """

    def __init__(self):
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        from IPython.display import HTML, display

        if getattr(record, "on_page", False):
            return
        try:
            message = html.escape(record.getMessage())
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        kind = "warning" if record.levelno < logging.ERROR else "error"
        display(HTML(f'<div class="admonition {kind}"><p class="admonition-title">{record.levelname.title()}</p>'
                     f"<p>{message}</p></div>"))


def configure_logging() -> None:
    """Log lines of ``mer_utils`` (INFO and up) to stderr, not into the page; warnings also on the page.

    In a notebook kernel stderr is a stream output of its own: ``make book``
    (papermill) echoes it to the terminal and :mod:`mer_utils.pagebuild` drops
    it from the page, so progress notes stay out of the text.  Inside a kernel,
    :class:`PageWarnings` puts every warning on the page as well.  Calling it
    again replaces the handlers rather than adding more.
    """
    from IPython import get_ipython

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    package = logging.getLogger("mer_utils")
    for handler in [h for h in package.handlers if isinstance(h, PageWarnings)]:
        package.removeHandler(handler)
    if get_ipython() is not None:
        package.addHandler(PageWarnings())


@dataclass
class Page:
    """A page's resolved settings, its corpus and the shared split (``song_id``, ``part``; ``fold`` under folds)."""

    data: str
    data_dir: str
    subset: str
    results_dir: Path
    cache_dir: Path
    seed: int
    corpus: Corpus
    split: pd.DataFrame

    @property
    def cross_validated(self) -> bool:
        """True when the corpus is evaluated by grouped folds (:func:`mer_utils.corpus.split.grouped_folds`)."""
        return is_cross_validated(self.split)

    @property
    def folds(self) -> dict[int, pd.DataFrame]:
        """Each fold's split by number (:func:`mer_utils.corpus.split.fold_splits`); one split is one entry."""
        return fold_splits(self.split)

    @property
    def first_split(self) -> pd.DataFrame:
        """The split a figure of one split shows: the split itself, or fold 1's under folds."""
        return next(iter(self.folds.values()))

    @property
    def groups(self) -> pd.Series | None:
        """Each song's group for bootstraps under folds (its film); ``None`` with one split (songs are the unit)."""
        return self.corpus.groups if self.cross_validated else None

    @property
    def run(self) -> dict:
        """What makes this run's results comparable (:func:`mer_utils.results.runs.run_identity`): what the data is,
        the split's hash and the seed, never where the data sits.

        Every result record carries it, and the summary pages read only records with the same value.
        """
        return run_identity(self.corpus, self.split, self.subset, self.seed)


def start_page(
    data=None,
    data_dir=None,
    subset=None,
    results_dir=None,
    cache_dir=None,
    seed=None,
    banner_extra: str = "",
    show_banner: bool = True,
) -> Page:
    """Resolve the settings (``None``: the default), load the corpus and the split, show the banner, set seeds and style.

    ``split`` covers exactly the songs of ``corpus.songs``.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from IPython.display import display

    from .results.tables import data_banner

    data = data or BOOK_DEFAULTS["data"]
    paths = default_paths(data)
    subset = subset or source(data).default_subset
    seed = BOOK_DEFAULTS["seed"] if seed is None else int(seed)
    data_dir = data_dir or paths["data_dir"]
    results_dir = Path(results_dir or paths["results_dir"])
    cache_dir = Path(cache_dir or paths["cache_dir"])
    configure_logging()
    set_seeds(seed)
    sns.set_theme(context="notebook", style="whitegrid")
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight"})
    corpus = corpus_for(data, data_dir, subset)
    split = read_split(results_dir / "split.csv")
    split = split[split["song_id"].isin(corpus.song_ids)].reset_index(drop=True)
    if show_banner:
        display(data_banner(corpus, banner_extra))
    return Page(
        data=data,
        data_dir=str(data_dir),
        subset=subset,
        results_dir=results_dir,
        cache_dir=cache_dir,
        seed=seed,
        corpus=corpus,
        split=split,
    )
