"""The book's sentences: each verdict threshold on both sides, and the lessons on small hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mer_utils.results import lessons, narrative


class FakeCorpus:
    def __init__(self, synthetic: bool, ceiling=(0.6, 0.7)):
        self.synthetic = (
            {"noise_ceiling_r2": {"valence_mean": ceiling[0], "arousal_mean": ceiling[1]}} if synthetic else None
        )
        self.is_synthetic = synthetic
        self.name = "synthdeam" if synthetic else "deam"

    def noise_ceiling(self, target):
        return self.synthetic["noise_ceiling_r2"][target] if self.synthetic else None


@pytest.mark.parametrize(
    "r, words",
    [
        (narrative.CLEAR_GRADIENT_R, "a clear gradient"),
        (narrative.CLEAR_GRADIENT_R - 0.01, "a partial gradient"),
        (narrative.PARTIAL_GRADIENT_R, "a partial gradient"),
        (narrative.PARTIAL_GRADIENT_R - 0.01, "at most a faint trend"),
        (narrative.FAINT_TREND_R, "at most a faint trend"),
        (narrative.FAINT_TREND_R - 0.01, "no visible order"),
        (float("nan"), "cannot be measured"),
    ],
)
def test_neighbour_strength_words_change_exactly_at_their_thresholds(r, words):
    assert narrative.neighbour_strength(r) == words


def test_skew_is_symmetric_below_the_threshold_and_names_the_longer_tail_above():
    assert narrative.skew_shape(narrative.SYMMETRIC_SKEW - 0.01) == "close to symmetric"
    assert narrative.skew_shape(-(narrative.SYMMETRIC_SKEW - 0.01)) == "close to symmetric"
    assert narrative.skew_shape(narrative.SYMMETRIC_SKEW).startswith("skewed to the right")
    assert narrative.skew_shape(-narrative.SYMMETRIC_SKEW).startswith("skewed to the left")


def agreement_notes(valence, arousal, random_backbone=False, synthetic=False):
    values = {"valence_mean": valence, "arousal_mean": arousal}
    return narrative.embedding_map_notes(values, values, 13.0, 40, 42, random_backbone, synthetic)


def test_the_map_notes_say_arousal_separates_only_when_it_leads_by_more_than_the_gap():
    gap = narrative.CLEAR_AGREEMENT_GAP
    assert "this run shows the same difference" in agreement_notes(0.3, 0.3 + gap + 0.01)
    assert "does not show that difference clearly" in agreement_notes(0.3, 0.3 + gap - 0.01)
    assert "does not show that difference clearly" in agreement_notes(0.6, 0.3)  # valence leads
    assert "Neither target is ordered" in agreement_notes(0.0, narrative.FAINT_TREND_R - 0.01)
    notes = agreement_notes(0.5, 0.7, random_backbone=True, synthetic=True)
    assert "**random weights**" in notes and "**synthetic**" in notes


def mlp_table(valence_test, arousal_test, synthetic=True):
    rows = [
        {
            "target": t,
            "test_r2": r,
            "validation_r2": r + 0.05,
            "test_rmse": 0.9,
            "report_r2": rep,
            "ceiling_r2": 0.7,
            "below_ceiling": 0.7 - r,
        }
        for t, r, rep in (("valence_mean", valence_test, 0.4509), ("arousal_mean", arousal_test, 0.667))
    ]
    return pd.DataFrame(rows)


def history(best=4, run=7, stopped=True):
    frame = pd.DataFrame({"epoch": range(1, run + 1)})
    frame.attrs.update(best_epoch=best, epochs_run=run, stopped_early=stopped)
    return frame


def test_mlp_findings_name_the_easier_target_or_say_neither_beats_the_mean():
    text = narrative.mlp_findings(mlp_table(0.2, 0.5), history(), random_backbone=False, synthetic=True)
    assert "On this run **arousal** is predicted better on the test songs (0.500 against 0.200)" in text
    assert "the noise ceiling of this corpus is 0.700, 0.500 above this test score" in text
    assert "The best validation epoch was 4 of 7 run (early stopping ended the run)." in text
    none = narrative.mlp_findings(mlp_table(0.0, -0.1), history(stopped=False), random_backbone=True, synthetic=False)
    assert "Neither target is predicted better than by the mean label" in none
    assert "random-weight CNN14 features" in none and "this run's test score is 0.451 below it" in none


def test_phase1_findings_report_the_validation_pick_and_never_a_test_pick():
    table = pd.DataFrame(
        [
            {"model": "Ridge", "target": t, "validation_r2": 0.5, "test_r2": 0.1}
            for t in ("valence_mean", "arousal_mean")
        ]
        + [
            {"model": "SVR", "target": t, "validation_r2": 0.4, "test_r2": 0.6}
            for t in ("valence_mean", "arousal_mean")
        ]
    )
    text = narrative.phase1_model_findings(table)
    assert "the model chosen on validation is **Ridge** (validation R² 0.500, test R² 0.100)" in text
    assert "SVR" not in text and "on test would have been" not in text


def comparison(rows):
    return pd.DataFrame(
        [
            {
                "phase": p,
                "label": label,
                "model": model,
                "target": t,
                "validation_r2": v,
                "test_r2": r,
                "test_rmse": 0.9,
                "test_mae": 0.7,
                "report_r2": np.nan,
                "backbone": backbone,
            }
            for p, label, model, t, v, r, backbone in rows
        ]
    )


def table_of_three_phases(backbone="pretrained", mlp=0.5):
    rows = []
    for t in ("valence_mean", "arousal_mean"):
        rows += [
            (1, "P1 Ridge (grid search)", "Ridge", t, 0.3, 0.30, None),
            (2, "P2 CNN baseline", "EmotionCNN", t, 0.2, 0.20, None),
            (2, "P2 CNN + SE + GRU", "EmotionCNN_GRU", t, 0.25, 0.25, None),
            (3, "P3 EmotionMLP on PANNs CNN14", "EmotionMLP", t, 0.45, mlp, backbone),
        ]
    return comparison(rows)


def test_the_pretrained_lesson_flags_gaps_within_the_noise_of_the_test_set():
    table = table_of_three_phases(mlp=0.35)  # 0.05 above Phase 1: within 1/sqrt(30) ~ 0.18
    best = lessons.best_of_each_phase(table)
    text = lessons.lessons(table, best, FakeCorpus(synthetic=False), n_test=30)
    assert "beats it by 0.050, a gap within the noise of 30 test songs" in text
    wide = lessons.lessons(
        table_of_three_phases(mlp=0.9),
        lessons.best_of_each_phase(table_of_three_phases(mlp=0.9)),
        FakeCorpus(synthetic=False),
        n_test=30,
    )
    assert "beats it by 0.600." in wide


def test_the_lessons_say_what_cannot_be_checked_and_warn_about_a_random_backbone():
    no_phase3 = table_of_three_phases()
    no_phase3 = no_phase3[no_phase3["phase"] != 3]
    text = lessons.lessons(no_phase3, lessons.best_of_each_phase(no_phase3), FakeCorpus(synthetic=True), n_test=30)
    assert "valence: cannot be checked, Phase 3 has no results." in text
    random = table_of_three_phases(backbone="random")
    text = lessons.lessons(random, lessons.best_of_each_phase(random), FakeCorpus(synthetic=True), n_test=30)
    assert "random-weight CNN14 here" in text


def test_a_score_above_the_ceiling_is_explained_as_chance_on_few_songs():
    table = table_of_three_phases(mlp=0.8)
    text = lessons.lessons(table, lessons.best_of_each_phase(table), FakeCorpus(synthetic=True, ceiling=(0.6, 0.7)), 30)
    assert "above the noise ceiling of this corpus (0.600)" in text and "by chance" in text


def test_each_phase_is_represented_by_its_validation_pick():
    table = comparison(
        [
            (2, "A", "EmotionCNN", "valence_mean", 0.5, 0.1, None),
            (2, "B", "EmotionCNN_GRU", "valence_mean", 0.4, 0.9, None),
        ]
    )
    assert lessons.best_of_each_phase(table)[(2, "valence_mean")]["label"] == "A"


def test_model_labels_read_like_the_book():
    assert (
        lessons.model_label({"phase": 1, "model": "Ridge", "setting": "full features, grid search"})
        == "P1 Ridge (grid search)"
    )
    assert (
        lessons.model_label({"phase": 1, "model": "XGBoost", "setting": "Top-15 Pearson"})
        == "P1 XGBoost, Top-15 Pearson"
    )
    assert lessons.model_label({"phase": 2, "model": "EmotionCNN_GRU"}) == "P2 CNN + SE + GRU"
    assert (
        lessons.model_label({"phase": 3, "model": "EmotionMLP", "backbone": "random"})
        == "P3 EmotionMLP on random CNN14"
    )
