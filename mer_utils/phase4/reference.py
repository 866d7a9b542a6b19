"""The human reference for curves: how well half of a listener panel agrees with the other half.

Used by: ``notebooks/phase4_dynamic.py`` and the data page on ``DATA=vgmidi`` (the traces come from
:func:`mer_utils.corpus.vgmidi.read_annotations`), beside a model's per-song scores.

Where every listener's own curve is known, the panel can be split in two random halves and the halves' mean
curves scored against each other exactly as a model's curve is scored against the panel's
(:func:`mer_utils.phase4.protocol.curve_scores`: per-piece RMSE and Pearson r on the 2 Hz frames).
:func:`split_half_curves` does it for :data:`N_SPLITS` random splits of each piece's listeners and keeps each
piece's mean over splits; :func:`split_half_summary` takes the median over pieces and steps the half panel's r
up to the whole panel's with the Spearman-Brown formula (:func:`spearman_brown`): the agreement a second panel
of the same size would reach with this one.  A model's per-piece r is read against that figure: a model that
matches it predicts a panel as well as another panel does.  Whole-piece means agree far better than curves;
:func:`split_half_pieces` measures that on the piece labels (Pearson r across pieces between the halves'
means), the reference for Phases 1 to 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .curves import DIMENSIONS
from .protocol import FLAT

N_SPLITS = 200
SEED = 42


def spearman_brown(r, factor: float = 2.0):
    """The reliability of a panel ``factor`` times as large as the one whose reliability is ``r``."""
    r = np.asarray(r, dtype=float)
    return factor * r / (1 + (factor - 1) * r)


def _halves(n: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_splits, n)`` booleans: True for the listeners of the first half (``n // 2`` of them)."""
    order = np.argsort(rng.random((n_splits, n)), axis=1)
    return order < n // 2


def _rowwise_scores(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: Pearson r (NaN where either curve does not move) and RMSE between ``a`` and ``b``."""
    rmse = np.sqrt(np.mean((a - b) ** 2, axis=1))
    da, db = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
    moving = (np.ptp(a, axis=1) >= FLAT) & (np.ptp(b, axis=1) >= FLAT)
    return np.where(moving, r, np.nan), rmse


def split_half_curves(traces: pd.DataFrame, n_splits: int = N_SPLITS, seed: int = SEED) -> pd.DataFrame:
    """Per piece and dimension, the agreement of two random halves of its listeners over ``n_splits`` splits.

    ``traces``: ``song_id``, ``listener``, ``time_s``, ``valence``, ``arousal`` (every listener of a piece on the
    same frames).  Both dimensions use the same splits; each piece has its own seeded generator, so a piece's
    figures do not depend on the others.  Returns ``song_id``, ``dimension``, ``listeners``, ``frames``, ``r``
    (mean over the splits where both halves move), ``rmse`` (mean over splits, on -1..1) and ``splits_with_r``.
    """
    rows = []
    ordered = traces.sort_values(["song_id", "listener", "time_s"])
    for song, piece in ordered.groupby("song_id", sort=True):
        n = piece["listener"].nunique()
        if n < 2 or len(piece) % n:
            continue  # one listener, or listeners on different frames: no halves to compare
        wide = {d: piece[d].to_numpy(dtype=float).reshape(n, -1) for d in DIMENSIONS}
        first = _halves(n, n_splits, np.random.default_rng([int(seed), int(song)])).astype(float)
        second = 1.0 - first
        for d in DIMENSIONS:
            a = first @ wide[d] / first.sum(axis=1, keepdims=True)
            b = second @ wide[d] / second.sum(axis=1, keepdims=True)
            r, rmse = _rowwise_scores(a, b)
            rows.append({"song_id": int(song), "dimension": d, "listeners": n, "frames": wide[d].shape[1],
                         "r": float(np.nanmean(r)) if np.isfinite(r).any() else np.nan, "rmse": float(rmse.mean()),
                         "splits_with_r": int(np.isfinite(r).sum())})
    return pd.DataFrame(rows)


def split_half_summary(per_piece: pd.DataFrame) -> pd.DataFrame:
    """Per dimension: pieces, the median over pieces of the half panels' r and RMSE, and the whole panel's r
    (Spearman-Brown of the median r).  Indexed by dimension."""
    rows = []
    for d, g in per_piece.groupby("dimension", sort=False):
        half = float(g["r"].median())
        rows.append({"dimension": d, "pieces": len(g), "pieces_with_r": int(g["r"].notna().sum()),
                     "listeners (median)": float(g["listeners"].median()), "half panel r": half,
                     "whole panel r (Spearman-Brown)": float(spearman_brown(half)),
                     "half panel RMSE": float(g["rmse"].median())})
    return pd.DataFrame(rows).set_index("dimension")


def split_half_pieces(traces: pd.DataFrame, n_splits: int = N_SPLITS, seed: int = SEED) -> pd.DataFrame:
    """The same for piece labels: in each split every piece's listeners are halved at random, and the halves'
    piece means (over time and listeners) are correlated across pieces.  Per dimension: ``pieces``, ``half panel
    r`` (mean over splits), its 2.5 and 97.5 percentiles over splits, and the whole panel's (Spearman-Brown)."""
    means = traces.groupby(["song_id", "listener"])[list(DIMENSIONS)].mean()
    rng = np.random.default_rng(int(seed))
    pieces = [(song, g.to_numpy(dtype=float)) for song, g in means.groupby(level="song_id", sort=True) if len(g) >= 2]
    draws = np.empty((n_splits, len(DIMENSIONS)))
    for s in range(n_splits):
        a, b = [], []
        for _, values in pieces:
            first = _halves(len(values), 1, rng)[0]
            a.append(values[first].mean(axis=0))
            b.append(values[~first].mean(axis=0))
        a, b = np.array(a), np.array(b)
        draws[s] = [np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(len(DIMENSIONS))]
    rows = [{"dimension": d, "pieces": len(pieces), "half panel r": float(draws[:, k].mean()),
             "low": float(np.percentile(draws[:, k], 2.5)), "high": float(np.percentile(draws[:, k], 97.5)),
             "whole panel r (Spearman-Brown)": float(spearman_brown(draws[:, k].mean()))}
            for k, d in enumerate(DIMENSIONS)]
    return pd.DataFrame(rows).set_index("dimension")


# --------------------------------------------------------------------------- beside the models of the Phase 4 page

LABEL = "listeners: one half vs the other (human reference)"


class HumanReference:
    """The split-half reference of the pieces a Phase 4 run tests, shaped as the page's models are.

    ``scores``: one row per piece and dimension with the columns of :func:`mer_utils.phase4.protocol.song_scores`
    (``model`` is :data:`LABEL`; ``rmse`` and ``r`` are the half panels' means over splits); ``panel``: the
    medians over pieces and the whole panel's r (:func:`split_half_summary`).
    """

    def __init__(self, traces: pd.DataFrame, song_ids, n_splits: int = N_SPLITS, seed: int = SEED):
        per_piece = split_half_curves(traces[traces["song_id"].isin(list(song_ids))], n_splits, seed)
        self.panel = split_half_summary(per_piece)
        self.scores = per_piece.assign(model=LABEL, flat_truth=per_piece["r"].isna(), flat_prediction=False)[
            ["model", "dimension", "song_id", "frames", "rmse", "r", "flat_truth", "flat_prediction"]]

    def beside(self, scores: pd.DataFrame) -> pd.DataFrame:
        """A run's per-song scores with the reference's rows added, on the pieces both have."""
        return pd.concat([scores, self.scores[self.scores["song_id"].isin(scores["song_id"])]], ignore_index=True)

    def sentence(self) -> str:
        """The reference in words: a human reference, not a ceiling."""
        v, a = (self.panel.loc[d] for d in DIMENSIONS)
        return (f"**A human reference, not a ceiling.** The row *{LABEL}* scores the mean curve of a random half of "
                f"each piece's listeners against the other half's, with the same per-piece RMSE and r, averaged over "
                f"{N_SPLITS} random splits of each piece (median {v['listeners (median)']:.0f} listeners a piece). "
                f"The median piece's half panels agree with r {v['half panel r']:.2f} on valence and "
                f"{a['half panel r']:.2f} on arousal; for a whole panel the Spearman-Brown formula gives "
                f"{v['whole panel r (Spearman-Brown)']:.2f} and {a['whole panel r (Spearman-Brown)']:.2f}, the "
                "agreement a second panel of the same size would reach with this one. The models are scored "
                "against the whole panel's mean curve, steadier than a half panel's, so a model can score above "
                "the half-panel row without following the music better than a listener does; a model at or above "
                "the whole-panel figure would predict this panel as well as another panel of listeners.")


def human_reference(corpus, song_ids) -> HumanReference | None:
    """The split-half reference of ``song_ids`` where the corpus keeps each listener's curve
    (``corpus.listener_traces``, VGMIDI); ``None`` where it keeps only the panel's mean (DEAM, SynthDEAM)."""
    traces = getattr(corpus, "listener_traces", None)
    return None if traces is None or traces.empty else HumanReference(traces, song_ids)


def panel_tables(traces: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data page's two tables of the listeners' agreement: over time (per-piece curves, medians over pieces)
    and between pieces (the piece labels Phases 1 to 3 predict), each with the whole panel's Spearman-Brown r."""
    curves = split_half_summary(split_half_curves(traces)).reset_index()
    pieces = split_half_pieces(traces).reset_index()
    curves = pd.DataFrame({"dimension": curves["dimension"], "pieces": curves["pieces"],
                           "half panel r (median piece)": curves["half panel r"].round(2),
                           "half panel RMSE (median piece, -1..1)": curves["half panel RMSE"].round(3),
                           "whole panel r (Spearman-Brown)": curves["whole panel r (Spearman-Brown)"].round(2)})
    pieces = pd.DataFrame({"dimension": pieces["dimension"], "pieces": pieces["pieces"],
                           "half panel r across pieces [95% of splits]": [
                               f"{r:.2f} [{lo:.2f}, {hi:.2f}]" for r, lo, hi in
                               zip(pieces["half panel r"], pieces["low"], pieces["high"])],
                           "whole panel r (Spearman-Brown)": pieces["whole panel r (Spearman-Brown)"].round(2)})
    return curves, pieces


CURVES_CAPTION = ("Listeners over time: two random halves of each piece's listeners, their mean curves scored against "
                  f"each other per piece ({N_SPLITS} splits a piece), the median over pieces; Phase 4's human reference")
PIECES_CAPTION = ("Listeners between pieces: two random halves of every piece's listeners, their piece means "
                  f"correlated across pieces ({N_SPLITS} splits); the human reference for the piece labels of Phases "
                  "1 to 3")
