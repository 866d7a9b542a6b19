"""The Phase 2 pages' sentences: the run, the chunk cache, the best epoch, the runs a summary found.

Used by: ``notebooks/phase2_train.py`` and ``notebooks/phase2_summary.py``.

Why here: each chapter's wording sits beside its code (the log-mel cache of
:mod:`.logmel`, the networks of :mod:`.models`), so a change to either and the
sentence that reports it are read together.  Pure functions to Markdown
(``tests/test_spectrograms.py``).
"""

from __future__ import annotations

import pandas as pd

from ..corpus.base import TARGETS, short_name
from .models import LABELS, PHASE2_MODELS


def phase2_run_sentence(model_name: str, target: str, settings: dict, seed: int) -> str:
    """Which model and target this page trains, with its schedule."""
    return (
        f"**This run:** `{model_name}` ({LABELS[model_name]}) predicting **{short_name(target)}**; "
        f"at most {settings['epochs']} epochs, patience {settings['patience']}, batch size {settings['batch_size']}, "
        f"Adam learning rate {settings['lr']:g}, seed {seed}."
    )


def chunk_cache_note(cache) -> str:
    """What the log-mel chunk cache holds, whether it was reused, and which clips were skipped."""
    text = (
        f"{cache.describe()}. Cache {'reused' if cache.reused else 'built'}: `{cache.folder}`; build time "
        f"{cache.build_seconds:.1f} s for {cache.audio_seconds / 60:.1f} min of audio. "
    )
    if not len(cache.skipped):
        return text + "No clip was skipped: every song decoded and gave at least one chunk."
    return text + (
        f"{len(cache.corrupt_ids)} corrupt clip(s) skipped: {cache.corrupt_ids}; "
        f"{len(cache.too_short_ids)} clip(s) shorter than 3 s skipped: {cache.too_short_ids}."
    )


def best_epoch_note(history: pd.DataFrame) -> str:
    """``best epoch 4 of 7 run (stopped early)``."""
    attrs = history.attrs
    return f"Best epoch {attrs['best_epoch']} of {attrs['epochs_run']} run" + (
        " (stopped early)." if attrs["stopped_early"] else "."
    )


def phase2_runs_found(songs: pd.DataFrame, results_dir) -> str:
    """How many of the eight model/target runs have saved results, and which are missing."""
    missing = [
        (m, t) for m in PHASE2_MODELS for t in TARGETS if not ((songs["model"] == m) & (songs["target"] == t)).any()
    ]
    return f"{len(songs)} of {len(PHASE2_MODELS) * len(TARGETS)} model/target runs found in `{results_dir}/metrics`" + (
        f"; missing: {missing}." if missing else "."
    )
