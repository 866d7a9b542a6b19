"""The constant baseline of Phase 4: a static model's song prediction, held over the whole song.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`).

How much of the dynamic task is static?  The baseline answers by predicting, at every half second of a song,
the one value the book's best static model gives the song.  On the book's split that is the headline of the
conclusions for each dimension: the phase pick with the highest validation R² (never chosen on test,
:func:`mer_utils.results.lessons.headline`), read from its saved test predictions (:func:`static_picks`).

Static labels are ratings of the whole song on a 1..9 scale; the 2 Hz labels are a slider on -1..1.  A linear
map fit on the training songs, from a song's static label to the mean of its 2 Hz curve
(:func:`fit_scale_map`), carries the static prediction onto the curves' scale.  On SynthDEAM the two scales
are tied by construction ((value - 5) / 4); on DEAM the map is estimated.

In MediaEval 2015's setting the book's static models cannot serve (their training songs overlap the 2015 test
songs), so the baseline is refit there: a Ridge regression from a song's mean frame embedding to the mean of its
curve, its penalty chosen on the validation songs (:func:`fit_song_ridge`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS, short_name
from .curves import DIMENSIONS
from .ridge import ALPHAS


@dataclass
class StaticPick:
    """The static model behind the baseline for one dimension: its label and its test songs' predictions (1..9)."""

    dimension: str
    label: str
    predictions: pd.Series  # indexed by song_id


def static_picks(results_dir, run, corpus, split) -> dict:
    """The best static model of this run for each dimension (:class:`StaticPick`), from its saved records."""
    from ..results import lessons
    from ..results.records import test_predictions
    from ..results.runs import records_of_run

    records, _ = lessons.this_run(records_of_run(results_dir, run), corpus)
    best = lessons.best_of_each_phase(lessons.comparison_rows(records, corpus, split))
    picks = {}
    for target in TARGETS:
        row = lessons.headline(best, target)
        frame = test_predictions(records[int(row["record"])]).set_index("song_id")["predicted"]
        picks[short_name(target)] = StaticPick(short_name(target), str(row["label"]), frame)
    return picks


def fit_scale_map(corpus, curves, train_ids) -> dict:
    """Per dimension, ``(slope, intercept)`` from a song's static label (1..9) to its curve's mean (-1..1), least
    squares over the training songs."""
    means = curves.song_means(train_ids)
    labels = corpus.songs.loc[means.index]
    return {d: tuple(float(v) for v in np.polyfit(labels[f"{d}_mean"], means[d], 1)) for d in DIMENSIONS}


def constant_curves(curves, song_values: dict, song_ids) -> pd.DataFrame:
    """Each song's value held at every labelled time: ``song_id``, ``time_s``, ``valence``, ``arousal``.

    ``song_values``: dimension -> Series of one value per song (on -1..1).
    """
    table = curves.of(song_ids)[["song_id", "time_s"]].copy()
    for d in DIMENSIONS:
        table[d] = table["song_id"].map(song_values[d]).astype(float)
    return table.dropna().reset_index(drop=True)


def pick_values(picks: dict, scale_map: dict) -> dict:
    """The picks' test predictions mapped onto -1..1 by ``scale_map``: dimension -> one value per test song."""
    return {d: picks[d].predictions * scale_map[d][0] + scale_map[d][1] for d in DIMENSIONS}


@dataclass
class SongRidge:
    """The MediaEval setting's static stand-in: Ridge from a song's mean frame to its curve's mean."""

    scaler: object
    model: object
    alpha: float

    def values(self, source, song_ids) -> dict:
        x = self.scaler.transform(np.vstack([source.frames(s).mean(axis=0) for s in song_ids]))
        predicted = self.model.predict(x)
        return {d: pd.Series(predicted[:, k], index=list(song_ids)) for k, d in enumerate(DIMENSIONS)}


def fit_song_ridge(source, curves, train_ids, validation_ids, alphas=ALPHAS) -> SongRidge:
    """Fit :class:`SongRidge` on ``train_ids``; the penalty with the lowest validation RMSE of the song means wins."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    def songs(ids):
        ids = [s for s in ids if s in source.arrays]
        return np.vstack([source.frames(s).mean(axis=0) for s in ids]), curves.song_means(ids).loc[ids].to_numpy()

    x_train, y_train = songs(train_ids)
    x_val, y_val = songs(validation_ids)
    scaler = StandardScaler().fit(x_train)
    fitted = {a: Ridge(alpha=float(a)).fit(scaler.transform(x_train), y_train) for a in alphas}
    errors = {a: float(np.sqrt(np.mean((m.predict(scaler.transform(x_val)) - y_val) ** 2))) for a, m in fitted.items()}
    best = min(errors, key=errors.get)
    return SongRidge(scaler=scaler, model=fitted[best], alpha=float(best))


def constant_baseline(inputs, corpus, setting, results_dir, run, split, agreement=None):
    """The book setting's constant baseline: ``(values, label, details, scale_map)``.

    The best static models' test predictions mapped onto the curves' scale (:func:`static_picks`,
    :func:`fit_scale_map`); on a tree whose static labels and curves name crossed dimensions
    (:mod:`mer_utils.phase4.agreement`), the song-level Ridge on frame embeddings fitted to the curves' own song
    means instead (``scale_map`` ``None``), so no static label of one dimension meets the other's curve.
    """
    if agreement is not None and agreement.crossed:
        ridge = fit_song_ridge(inputs.frames, inputs.curves, setting.songs("train"), setting.songs("validation"))
        return (ridge.values(inputs.frames, setting.songs("test")), "song-level Ridge on frame embeddings",
                {"alpha": ridge.alpha, "static_labels_crossed": True}, None)
    picks = static_picks(results_dir, run, corpus, split)
    scale_map = fit_scale_map(corpus, inputs.curves, setting.songs("train"))
    return (pick_values(picks, scale_map), "best static model", {"picks": {d: p.label for d, p in picks.items()}},
            scale_map)
