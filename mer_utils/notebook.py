"""What every notebook does first: load the corpus and split, show the banner.

Every page of the book calls :func:`start_page` in its first code cell, so
each page says which data produced it (a warning banner on SynthDEAM) and
uses the same shared split, seeds and figure style.
"""
from __future__ import annotations

import logging
import random
import sys
from pathlib import Path

import numpy as np

from .data import Corpus, corpus_for
from .split import read_split


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and (if imported) torch, with deterministic torch kernels."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)


def start_page(data: str, data_dir, subset: str, results_dir, seed: int = 42, banner_extra: str = "", show_banner: bool = True):
    """Load the corpus and the shared split, show the data banner, set seeds and style.

    Returns ``(corpus, split)``; ``split`` has columns ``song_id`` and ``part``
    and covers exactly the songs of ``corpus.songs``.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from IPython.display import display

    from .evaluate import data_banner

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stdout, force=True)
    set_seeds(seed)
    sns.set_theme(context="notebook", style="whitegrid")
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight"})
    corpus: Corpus = corpus_for(data, data_dir, subset)
    split = read_split(Path(results_dir) / "split.csv")
    split = split[split["song_id"].isin(corpus.song_ids)].reset_index(drop=True)
    if show_banner:
        display(data_banner(corpus, banner_extra))
    return corpus, split
