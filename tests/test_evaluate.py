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


def test_every_test_figure_in_a_comparison_table_is_shown_with_its_interval():
    from mer_utils.results.intervals import predictions_frame
    from mer_utils.results.records import make_record
    from mer_utils.results.tables import comparison_table, style_table

    class RealDeam:
        is_synthetic = False

    rng = np.random.default_rng(0)
    truth = rng.normal(5, 1, 120)
    predicted = truth + rng.normal(0, 0.6, 120)
    record = make_record(1, "Ridge", "valence_mean", "deam", {"r2": 0.5}, regression_metrics(truth, predicted),
                         test_predictions=predictions_frame(range(120), truth, predicted))
    table = comparison_table([record], RealDeam(), phase=1, columns=["model", "target"])
    low, high = record["test_interval"]["r2"]
    assert table["test_r2_low"].iloc[0] == low and table["test_r2_high"].iloc[0] == high
    html = style_table(table).to_html()
    assert f"{record['test']['r2']:.2f} [{low:.2f}, {high:.2f}]" in html
    assert "95% bootstrap over the test songs (2000 resamples)" in html


def test_the_validation_pick_of_each_target_and_its_test_predictions():
    from mer_utils.phase1.narrative import picks_title
    from mer_utils.results.intervals import predictions_frame
    from mer_utils.results.records import make_record, picked_test_predictions, validation_picks

    def record(model, target, val_r2, songs):
        frame = predictions_frame(songs, [5.0] * len(songs), [float(model == "SVR")] * len(songs))
        return make_record(1, model, target, "deam", {"r2": val_r2}, {"r2": 0.9 if model == "SVR" else 0.1},
                           test_predictions=frame)

    records = [record("Ridge", "valence_mean", 0.5, [1, 2, 3]), record("SVR", "valence_mean", 0.4, [1, 2, 3]),
               record("SVR", "arousal_mean", 0.6, [2, 3, 4]), record("Lasso", "arousal_mean", 0.2, [2, 3, 4])]
    picks = validation_picks(records)
    assert {t: r["model"] for t, r in picks.items()} == {"valence_mean": "Ridge", "arousal_mean": "SVR"}
    y_true, y_pred = picked_test_predictions(picks, ["valence_mean", "arousal_mean"])
    assert y_true.shape == (2, 2) and y_pred[:, 0].tolist() == [0.0, 0.0] and y_pred[:, 1].tolist() == [1.0, 1.0]
    assert picks_title(picks) == "Held-out test songs: Ridge for valence, SVR for arousal (each chosen on validation)"


def test_counts_in_a_result_table_are_shown_as_whole_numbers():
    from mer_utils.results.tables import style_table

    table = pd.DataFrame({"model": ["A"], "target": ["valence_mean"], "best_epoch": [4.0], "validation_r2": [1.0]})
    html = style_table(table).to_html()
    assert ">4<" in html and ">4.000<" not in html and ">1.000<" in html
