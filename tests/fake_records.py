"""Hand-made result records for the tests of the book's sentences (Phase 3's findings, the conclusions' lessons)."""

from __future__ import annotations

import numpy as np


def records_of(specs, n_songs=120, seed=0):
    """Records whose test predictions are the truth plus noise of a given size (smaller noise: better model)."""
    from mer_utils.results.intervals import predictions_frame
    from mer_utils.results.records import make_record

    rng = np.random.default_rng(seed)
    truth = {t: rng.normal(5, 1.2, n_songs) for t in ("valence_mean", "arousal_mean")}
    records = []
    for phase, model, target, val_r2, noise, extra in specs:
        predicted = truth[target] + rng.normal(0, noise, n_songs)
        frame = predictions_frame(range(n_songs), truth[target], predicted)
        test = {"r2": 1 - np.mean((predicted - truth[target]) ** 2) / np.var(truth[target]), "rmse": 1.0, "mae": 1.0}
        records.append(make_record(phase, model, target, "synthdeam", {"r2": val_r2}, test,
                                   test_predictions=frame, **extra))
    return records
