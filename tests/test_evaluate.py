"""Metrics, saved results and report figures."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from mer_utils.errors import MerError
from mer_utils.results.metrics import regression_metrics, song_level
from mer_utils.results.published import report_figure
from mer_utils.results.records import load_results, save_result
from mer_utils.results.tables import with_report_figures


def test_metrics_against_hand_computed_values():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 4.0])
    m = regression_metrics(y, p)
    assert m["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1 + 0) / 4))
    assert m["mae"] == pytest.approx(1.5 / 4)
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0) == r2_score(y, p)


def test_diverged_predictions_and_shape_mismatch_are_explained():
    with pytest.raises(MerError, match="diverged"):
        regression_metrics([1.0, 2.0], [np.nan, 1.0])
    with pytest.raises(MerError, match="shape"):
        regression_metrics([1.0, 2.0], [1.0])


def test_song_level_mean_of_chunks():
    chunks = pd.DataFrame({"song_id": [1, 1, 2], "prediction": [4.0, 6.0, 3.0], "target": [5.0, 5.0, 2.0]})
    songs = song_level(chunks)
    assert songs.loc[1, "prediction"] == 5.0 and songs.loc[2, "target"] == 2.0


def test_results_round_trip_and_report_figures(tmp_path):
    save_result(
        tmp_path,
        {
            "phase": 1,
            "model": "XGBoost",
            "target": "valence_mean",
            "data": "synthdeam",
            "validation": {"r2": 0.5, "rmse": 0.8, "mae": 0.6},
            "test": {"r2": 0.4, "rmse": 0.9, "mae": 0.7},
        },
    )
    table = load_results(tmp_path)
    assert table.loc[0, "test_r2"] == 0.4 and table.loc[0, "level"] == "song"
    table = with_report_figures(table, phase=1)
    assert table.loc[0, "report_r2"] == pytest.approx(0.554)
    assert np.isnan(report_figure(1, "Ridge", "valence_mean"))
