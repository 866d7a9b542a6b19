"""Bootstrap intervals over songs and paired differences behave as the book's verdicts assume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from mer_utils.results.intervals import (
    bootstrap_interval,
    compare_on_shared_songs,
    format_interval,
    is_better,
    paired_difference,
    predictions_frame,
)


def songs(n=150, noise_a=0.6, noise_b=0.6, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.normal(5, 1.2, n)
    shared = rng.normal(0, 0.5, n)  # what is hard for every model
    return truth, truth + shared + rng.normal(0, noise_a, n), truth + shared + rng.normal(0, noise_b, n)


def test_the_interval_contains_the_observed_r2_and_narrows_with_more_songs():
    truth, pred, _ = songs(100)
    low, high = bootstrap_interval(truth, pred)["r2"]
    assert low < r2_score(truth, pred) < high
    big_truth, big_pred, _ = songs(1600)
    big_low, big_high = bootstrap_interval(big_truth, big_pred)["r2"]
    assert (big_high - big_low) < (high - low) / 2.5  # about 1/sqrt(16) as wide


def test_intervals_are_the_same_on_every_run():
    truth, pred, _ = songs()
    assert bootstrap_interval(truth, pred) == bootstrap_interval(truth, pred)


def test_chunks_of_one_song_resampled_together_give_a_wider_interval_than_independent_chunks():
    rng = np.random.default_rng(1)
    truth, pred, _ = songs(60)
    song_error = rng.normal(0, 0.8, 60)  # chunks of a song share their error
    rows = pd.DataFrame({"song": np.repeat(np.arange(60), 5), "true": np.repeat(truth, 5)})
    rows["predicted"] = np.repeat(pred + song_error, 5) + rng.normal(0, 0.1, len(rows))
    grouped = bootstrap_interval(rows["true"], rows["predicted"], groups=rows["song"])["r2"]
    naive = bootstrap_interval(rows["true"], rows["predicted"])["r2"]
    assert grouped[1] - grouped[0] > 1.5 * (naive[1] - naive[0])


def test_a_clearly_better_model_is_called_better_and_an_equal_one_is_not():
    truth, good, bad = songs(150, noise_a=0.2, noise_b=1.0)
    assert is_better(paired_difference(truth, good, bad))
    assert not is_better(paired_difference(truth, bad, good))
    assert is_better(paired_difference(truth, good, bad, metric="rmse"), metric="rmse")
    truth, a, b = songs(150, noise_a=0.6, noise_b=0.6, seed=3)
    same = paired_difference(truth, a, b)
    assert same["low"] < 0 < same["high"]


def test_pairing_on_the_same_songs_cancels_what_is_hard_for_both_models():
    truth, a, b = songs(120, noise_a=0.3, noise_b=0.4)
    paired = paired_difference(truth, a, b)
    # the same difference with each model's songs drawn independently (seeds differ): no cancelling
    rng = np.random.default_rng(7)
    draws = [r2_score(truth[i], a[i]) - r2_score(truth[j], b[j])
             for i, j in (rng.integers(0, 120, (2, 120)) for _ in range(1000))]
    unpaired_width = np.subtract(*np.percentile(draws, [97.5, 2.5]))
    assert paired["high"] - paired["low"] < 0.8 * unpaired_width


def test_models_of_two_targets_are_each_scored_against_their_own_labels():
    truth_v, pred_v, _ = songs(150, noise_a=0.9, seed=4)
    truth_a, pred_a, _ = songs(150, noise_a=0.2, seed=5)
    frame_a = predictions_frame(range(150), truth_a, pred_a)
    frame_v = predictions_frame(range(150), truth_v, pred_v)
    diff = compare_on_shared_songs(frame_a, frame_v)
    assert diff["difference"] == pytest.approx(r2_score(truth_a, pred_a) - r2_score(truth_v, pred_v))
    assert diff["low"] > 0


def test_only_songs_both_models_predicted_are_compared():
    truth, a, b = songs(50)
    diff = compare_on_shared_songs(predictions_frame(range(50), truth, a), predictions_frame(range(10, 60), truth, b))
    assert diff["songs"] == 40


def test_intervals_are_written_compactly():
    assert format_interval(0.4123, (0.281, 0.52)) == "0.41 [0.28, 0.52]"
    assert format_interval(0.4123, (None, None)) == "0.41"
    assert format_interval(float("nan"), (0.1, 0.2)) == "–"
