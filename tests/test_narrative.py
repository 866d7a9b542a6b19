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


def test_mlp_findings_name_the_easier_target_only_when_the_paired_interval_says_so():
    clear = records_of([(3, "EmotionMLP", "valence_mean", 0.2, 1.0, {}), (3, "EmotionMLP", "arousal_mean", 0.5, 0.3, {})])
    text = narrative.mlp_findings(mlp_table(0.2, 0.5), history(), random_backbone=False, synthetic=True, records=clear)
    assert "On this run **arousal** is predicted better than valence on the same 120 test songs" in text
    assert "The report found arousal far easier than valence for this model (0.667 against 0.451)" in text
    assert "the generating function's R² on these test songs is 0.700, 0.500 above this test score" in text
    assert "The best validation epoch was 4 of 7 run (early stopping ended the run)." in text
    close = records_of([(3, "EmotionMLP", "valence_mean", 0.2, 0.6, {}), (3, "EmotionMLP", "arousal_mean", 0.5, 0.6, {})],
                       seed=2)
    text = narrative.mlp_findings(mlp_table(0.2, 0.5), history(), random_backbone=False, synthetic=True, records=close)
    assert "there is **no detectable difference** between the two targets" in text
    none = narrative.mlp_findings(mlp_table(0.0, -0.1), history(stopped=False), random_backbone=True, synthetic=False,
                                  records=clear)
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


def three_phases(mlp_noise=0.5, backbone="pretrained"):
    specs = []
    for t in ("valence_mean", "arousal_mean"):
        specs += [(1, "Ridge", t, 0.3, 0.9, {"setting": "full features, grid search"}),
                  (2, "EmotionCNN", t, 0.2, 1.0, {}),
                  (2, "EmotionCNN_GRU", t, 0.25, 1.0, {}),
                  (3, "EmotionMLP", t, 0.45, mlp_noise, {"backbone": backbone})]
    return records_of(specs)


def lessons_text(records, synthetic=False, corpus=None):
    from mer_utils.results import lesson_sentences
    from mer_utils.results.verdicts import lesson_verdicts

    corpus = corpus or FakeCorpus(synthetic=synthetic)
    table = lessons.comparison_rows(records, corpus)
    best = lessons.best_of_each_phase(table)
    return lesson_sentences.lessons(lessons.lesson_comparisons(records, table, best),
                                    lesson_verdicts(records, table, best), table, best, corpus)


def test_a_model_is_called_better_only_when_the_paired_interval_excludes_zero():
    clear = lessons_text(three_phases(mlp_noise=0.3))
    assert "For valence, P3 EmotionMLP on PANNs CNN14 beats P1 Ridge (grid search)." in clear
    close = lessons_text(three_phases(mlp_noise=0.9))  # the same noise as Ridge: no real difference
    assert "For valence, P3 EmotionMLP on PANNs CNN14 and P1 Ridge (grid search) do not differ detectably." in close


def test_the_reading_follows_the_sign_of_the_interval():
    from mer_utils.results import verdicts

    cases = [({"low": 0.01, "high": 0.2}, "better", "holds"), ({"low": -0.2, "high": -0.01}, "worse", "reversed"),
             ({"low": -0.01, "high": 0.2}, "no detectable difference", "not shown")]
    for interval, comparison, lesson in cases:
        assert lessons.reading(interval) == comparison and verdicts.reading(interval) == lesson


def test_the_lessons_say_what_cannot_be_checked_and_warn_about_a_random_backbone():
    no_phase3 = [r for r in three_phases() if r["phase"] != 3]
    assert "For valence it cannot be checked: Phase 3 has no results." in lessons_text(no_phase3, synthetic=True)
    text = lessons_text(three_phases(backbone="random"), synthetic=True)
    assert "For valence and arousal the Phase 3 pick runs on a random-weight CNN14." in text
    assert "There the lesson tests random features, not pretrained ones." in text


def with_musicnn(records, noise=0.3, val_r2=0.5, embedding="musicnn (MSD)"):
    """``records`` plus a musicnn Phase 3 row per target (as notebooks/phase3_panns.py writes them)."""
    extra = {"backbone": "pretrained", "setting": "musicnn", "embedding": embedding}
    return records + records_of([(3, "EmotionMLP", t, val_r2, noise, extra) for t in ("valence_mean", "arousal_mean")],
                                seed=0)


def test_two_backbones_sit_side_by_side_and_are_compared_on_the_same_songs():
    records = with_musicnn(three_phases(backbone="random"))
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    labels = set(table.loc[table["phase"] == 3, "label"])
    assert labels == {"P3 EmotionMLP on random CNN14", "P3 EmotionMLP on musicnn (MSD)"}
    musicnn_rows = table[table["setting"] == "musicnn"]
    assert musicnn_rows["report_r2"].isna().all()  # the report's Table 12 is CNN14's, never musicnn's
    assert table.loc[(table["phase"] == 3) & (table["setting"] != "musicnn"), "report_r2"].notna().all()
    best = lessons.best_of_each_phase(table)
    assert best[(3, "valence_mean")]["setting"] == "musicnn"  # the higher validation R² picks the phase's model
    text = lessons_text(records)
    assert "The two backbones, each with its own MLP, compare as follows. For valence, P3 EmotionMLP on musicnn" in text
    assert "random-weight CNN14" not in text  # musicnn was picked
    pairs = lessons.comparisons_table(lessons.lesson_comparisons(records, table, best))
    assert ((pairs["model A"] == "P3 EmotionMLP on musicnn (MSD)")
            & (pairs["model B"] == "P3 EmotionMLP on random CNN14")).sum() == 2


def test_one_backbone_gives_no_backbone_comparison():
    records = three_phases()
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    assert lessons.phase3_backbone_rows(table, "valence_mean") is None
    assert "The two backbones" not in lessons_text(records)


def test_each_backbone_has_its_method_and_the_caption_names_the_reports_backbone():
    from mer_utils.results import narrative

    assert "2048-dimensional" in narrative.backbone_method("cnn14")
    assert "200-dimensional" in narrative.backbone_method("musicnn")
    caption = narrative.phase3_table_caption("musicnn (MSD)", 7)
    assert caption.startswith("EmotionMLP on musicnn (MSD) embeddings") and "on PANNs CNN14" in caption


def test_the_headline_is_the_validation_pick_not_the_best_test_score():
    records = records_of([(2, "EmotionCNN", "valence_mean", 0.5, 1.0, {}),
                          (2, "EmotionCNN_GRU", "valence_mean", 0.4, 0.2, {})])  # better on test, worse on validation
    text = lessons_text(records)
    assert "**The book's model for valence** is P2 CNN baseline. It is the phase pick with the highest validation" in text


def test_validation_optimism_is_computed_on_the_validation_picks_only():
    records = records_of([(2, "EmotionCNN", "valence_mean", 0.9, 0.9, {}),
                          (2, "EmotionCNN_GRU", "valence_mean", 0.1, 0.3, {})])  # better on test, not picked
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    best = lessons.best_of_each_phase(table)
    expected = 0.9 - float(table.loc[table["model"] == "EmotionCNN", "test_r2"].iloc[0])
    assert expected > 0
    from mer_utils.results.lesson_sentences import _lesson_optimism

    assert f"by {expected:+.3f} on average" in _lesson_optimism(best)
    assert lessons.best_table(best, FakeCorpus(synthetic=False))["validation_gap"].iloc[0] == pytest.approx(expected)


def test_each_phase_is_represented_by_its_validation_pick():
    records = records_of([(2, "EmotionCNN", "valence_mean", 0.5, 1.0, {}),
                          (2, "EmotionCNN_GRU", "valence_mean", 0.4, 0.1, {})])
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    assert lessons.best_of_each_phase(table)[(2, "valence_mean")]["model"] == "EmotionCNN"


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


# --------------------------------------------------------------------------- Real music (4Q)


def fourq_scores(rows):
    """rows: (task, representation, model, f1, low, high)."""
    return pd.DataFrame([{"task": t, "representation": r, "key": r, "model": m, "f1": f, "low": lo, "high": hi,
                          "sd_repeats": 0.01, "repeats": 5, "songs": 400} for t, r, m, f, lo, hi in rows])


def fourq_diffs(rows):
    """rows: (compared, a, b, difference, low, high)."""
    frame = pd.DataFrame([{"task": "quadrant", "compared": c, "a": a, "b": b, "held fixed": "", "difference": d,
                           "low": lo, "high": hi, "songs": 400} for c, a, b, d, lo, hi in rows])
    frame["better"] = np.where(frame["low"] > 0, frame["a"], np.where(frame["high"] < 0, frame["b"], ""))
    return frame


def published_4q():
    return pd.DataFrame([{"source": "P", "task": "quadrant", "f1": 0.764, "approximate": False}])


@pytest.mark.parametrize("low, words", [(0.26, "lies above it"), (0.25, "does not lie clearly above it")])
def test_a_fourq_best_setting_is_above_chance_only_when_its_whole_interval_is(low, words):
    scores = fourq_scores([("quadrant", "musicnn", "linear", 0.4, low, 0.5)])
    text = narrative.fourq_score_findings(scores, scores, published_4q(), "CAVEAT.")
    assert words in text and "chance is 0.25" in text and "CAVEAT." in text


@pytest.mark.parametrize("low, high, words", [(0.6, 0.7, "below their best"), (0.7, 0.8, "level with their best"),
                                              (0.77, 0.9, "above their best")])
def test_the_best_quadrant_figure_is_placed_against_panda_by_its_interval(low, high, words):
    scores = fourq_scores([("quadrant", "musicnn", "mlp", (low + high) / 2, low, high)])
    assert words in narrative.fourq_score_findings(scores, scores, published_4q(), "")


def test_the_representation_lesson_weighs_the_share_of_decided_differences_and_the_largest_gap():
    supports = fourq_diffs([("representations", "A", "B", 0.2, 0.1, 0.3), ("representations", "A", "C", 0.0, -0.1, 0.1),
                            ("models", "MLP", "LR", 0.01, -0.05, 0.06)])
    scores = fourq_scores([("quadrant", "A", "linear", 0.5, 0.4, 0.6)])
    assert "**supports it**" in narrative.fourq_lessons(supports, scores, "A", [], [])
    against = fourq_diffs([("representations", "A", "B", 0.01, -0.1, 0.1), ("models", "MLP", "LR", 0.2, 0.1, 0.3)])
    assert "**does not support it**" in narrative.fourq_lessons(against, scores, "A", [], [])
    neither = fourq_diffs([("representations", "A", "B", 0.01, -0.1, 0.1), ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    assert "**cannot tell the two apart**" in narrative.fourq_lessons(neither, scores, "A", [], [])


def test_the_pretrained_lesson_counts_paired_wins_and_says_when_nothing_pretrained_ran():
    scores = fourq_scores([("quadrant", "musicnn", "linear", 0.7, 0.6, 0.8)])
    wins = fourq_diffs([("representations", "features", "musicnn", -0.1, -0.2, -0.05),
                        ("representations", "musicnn", "features", 0.1, 0.05, 0.2),
                        ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    text = narrative.fourq_lessons(wins, scores, "features", ["musicnn"], [])
    assert "better in 2, worse in 0, undecided in 0" in text and "supports the lesson" in text
    losses = fourq_diffs([("representations", "musicnn", "features", -0.1, -0.2, -0.05),
                          ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    assert "does not support the lesson" in narrative.fourq_lessons(losses, scores, "features", ["musicnn"], [])
    text = narrative.fourq_lessons(losses, scores, "features", [], ["CNN14 (random weights)"])
    assert "cannot be tested on this run" in text and "CNN14 (random weights) is a random-feature baseline" in text


def test_the_arousal_lesson_names_the_easier_sign_and_whether_the_intervals_overlap():
    diffs = fourq_diffs([("representations", "A", "B", 0.0, -0.1, 0.1), ("models", "MLP", "LR", 0.0, -0.1, 0.1)])
    apart = fourq_scores([("arousal", "A", "linear", 0.85, 0.8, 0.9), ("valence", "A", "linear", 0.6, 0.5, 0.7)])
    assert "arousal is the easier here, with intervals apart" in narrative.fourq_lessons(diffs, apart, "A", [], [])
    close = fourq_scores([("arousal", "A", "linear", 0.6, 0.5, 0.7), ("valence", "A", "linear", 0.65, 0.55, 0.75)])
    assert "valence is the easier here, though the intervals overlap" in narrative.fourq_lessons(diffs, close, "A",
                                                                                                 [], [])


@pytest.mark.parametrize("auc, low, high, words", [
    (0.7, 0.51, 0.8, "above chance"),
    (0.55, 0.5, 0.6, "not distinguishable from chance"),
    (0.3, 0.2, 0.49, "below chance: the ranking is inverted"),
    (float("nan"), float("nan"), float("nan"), "cannot be measured"),
])
def test_auc_verdicts_change_exactly_at_chance(auc, low, high, words):
    assert narrative.auc_verdict(auc, low, high) == words


def test_transfer_findings_say_what_the_training_corpus_means_and_list_what_was_not_scored():
    from types import SimpleNamespace

    table = pd.DataFrame([{"model": "EmotionMLP", "trained_on": "SynthDEAM", "corpus": "synthdeam", "question": "q",
                           "auc": 0.6, "low": 0.55, "high": 0.65}])
    left = [SimpleNamespace(label="Phase 1 regressors", reason="no split")]
    text = narrative.transfer_findings(table, left)
    assert "0.600 [0.550, 0.650], above chance" in text and "**SynthDEAM**" in text
    assert "Phase 1 regressors is not scored: no split." in text
    assert "cross-dataset" in narrative.transfer_findings(table.assign(corpus="deam"), [])
    both = narrative.transfer_findings(pd.concat([table.assign(corpus="soundtracks"), table]), [])
    assert both.index("**Soundtracks**") < both.index("**SynthDEAM**"), "one line per training corpus, in table order"
    assert "fold 1's" in both and "energy" in both
    model = SimpleNamespace(label="EmotionMLP", corpus_label="Soundtracks", note="fold 1 of 5: 142 training songs.")
    assert "- EmotionMLP trained on Soundtracks: fold 1 of 5: 142 training songs." in narrative.transfer_findings(
        table, [], [model])
    assert narrative.transfer_findings(table.iloc[:0], left).startswith("No model of the book")


def test_transfer_difference_findings_name_a_winner_only_when_the_interval_excludes_zero():
    rows = pd.DataFrame([
        {"model": "EmotionMLP", "question": "q1", "a": "SynthDEAM", "b": "Soundtracks", "difference": -0.1,
         "low": -0.2, "high": -0.01, "songs": 400, "better": "Soundtracks"},
        {"model": "Phase 1 regressors", "question": "q2", "a": "SynthDEAM", "b": "Soundtracks", "difference": 0.02,
         "low": -0.03, "high": 0.07, "songs": 400, "better": ""}])
    text = narrative.transfer_difference_findings(rows)
    first, second = text.split("\n")[-2:]
    assert "-0.100 [-0.200, -0.010]" in first and "the Soundtracks-trained one ranks better" in first
    assert "no detectable difference" in second
    assert narrative.transfer_difference_findings(rows.iloc[:0]) == ""


def test_the_comparisons_table_lists_each_lesson_pair_with_its_interval_and_verdict():
    records = three_phases(mlp_noise=0.3)
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    pairs = lessons.comparisons_table(lessons.lesson_comparisons(records, table, lessons.best_of_each_phase(table)))
    # per target: MLP against each other phase's pick, and the one temporal model against the plain CNN;
    # then each phase's arousal pick against its valence pick
    assert len(pairs) == 9 and set(pairs["target"]) == {"valence", "arousal", "both"}
    assert list(pairs["#"]) == list(range(1, 10)) and (pairs["target"] == "both").sum() == 3
    across = pairs[pairs["target"] == "both"].iloc[0]
    assert (across["model A"], across["model B"]) == ("P1 Ridge (grid search), arousal", "P1 Ridge (grid search), valence")
    mlp_vs_ridge = pairs[(pairs["model A"].str.startswith("P3")) & (pairs["model B"].str.startswith("P1"))]
    assert (mlp_vs_ridge["A is"] == "better").all()
    assert pairs["R² A − B [95% CI]"].str.match(r"^-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]$").all()


def test_the_map_notes_name_the_embeddings_own_size():
    values = {"valence_mean": 0.5, "arousal_mean": 0.7}
    text = narrative.embedding_map_notes(values, values, 30.0, 500, 42, False, True, dimensions=200)
    assert "full 200-dimensional space" in text and "2048" not in text


def verdicts_of(records):
    from mer_utils.results.verdicts import lesson_verdicts

    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    return lesson_verdicts(records, table, lessons.best_of_each_phase(table)).set_index(["lesson", "target"])


def test_each_lesson_gets_one_verdict_per_target_from_its_paired_interval():
    found = verdicts_of(three_phases(mlp_noise=0.3))  # the MLP clearly ahead; the GRU and the plain CNN alike
    assert found.loc[("pretrained", "valence"), "verdict"] == "holds"
    assert found.loc[("temporal", "arousal"), "verdict"] == "not shown"
    assert "P3 EmotionMLP" in found.loc[("pretrained", "arousal"), "comparison"]
    worse = verdicts_of(three_phases(mlp_noise=2.0))
    assert set(worse.loc["pretrained", "verdict"]) == {"reversed"}


def with_finetuned(records, tuned_noise=0.2, scratch_noise=0.9, val_r2=0.9):
    """``records`` plus musicnn fine-tuned and from random weights per target (as notebooks/phase3_finetune.py writes
    them), with a validation R² above every other model's."""
    specs = []
    for kind, noise, label in (("finetuned", tuned_noise, "musicnn (MSD) fine-tuned"),
                               ("scratch", scratch_noise, "musicnn from random weights")):
        extra = {"setting": f"musicnn-{kind}", "start": kind, "backbone": kind, "network_label": label}
        specs += [(3, "MusicnnRegressor", t, val_r2, noise, extra) for t in ("valence_mean", "arousal_mean")]
    return records + records_of(specs, seed=1)


def test_fine_tuned_networks_are_labelled_kept_out_of_the_phase_pick_and_tested_against_frozen_and_random():
    records = with_finetuned(with_musicnn(three_phases(backbone="random"), noise=0.6))
    table = lessons.comparison_rows(records, FakeCorpus(synthetic=False))
    labels = set(table.loc[table["phase"] == 3, "label"])
    assert {"P3 musicnn (MSD) fine-tuned", "P3 musicnn from random weights"} <= labels
    assert table.loc[table["setting"].fillna("").str.contains("-"), "report_r2"].isna().all()
    best = lessons.best_of_each_phase(table)
    assert best[(3, "valence_mean")]["label"] == "P3 EmotionMLP on musicnn (MSD)"  # not the higher-validation tuned one
    pairs = lessons.comparisons_table(lessons.lesson_comparisons(records, table, best))
    tuned = pairs[pairs["lesson"] == "fine-tuning"]
    assert list(tuned["model B"]) == ["P3 EmotionMLP on musicnn (MSD)"] * 2 and (tuned["A is"] == "better").all()
    scratch = pairs[pairs["lesson"] == "pretrained weights"]
    assert list(scratch["model B"]) == ["P3 musicnn from random weights"] * 2 and (scratch["A is"] == "better").all()
    backbones = pairs[pairs["lesson"] == "the two backbones"]
    assert set(backbones["model B"]) == {"P3 EmotionMLP on random CNN14"}  # fine-tuned rows are not CNN14's
    found = verdicts_of(records)
    assert found.loc[("finetune", "valence"), "verdict"] == "holds"
    assert found.loc[("pretraining", "arousal"), "verdict"] == "holds"
    text = lessons_text(records)
    assert "**“Fine-tuning the CNN backbone could further personalize the features to emotional domains.”**" in text
    assert "For valence, P3 musicnn (MSD) fine-tuned beats P3 EmotionMLP on musicnn (MSD)." in text
    same = verdicts_of(with_finetuned(with_musicnn(three_phases(), noise=0.3), tuned_noise=0.3, scratch_noise=0.3))
    assert set(same.loc["finetune", "verdict"]) == {"not shown"}


def every_lesson_scenario():
    """The lessons' text in each situation it words differently: clear and unclear, random, musicnn, fine-tuned,
    missing phases."""
    yield lessons_text(with_finetuned(with_musicnn(three_phases(backbone="random"))))
    yield lessons_text(three_phases(mlp_noise=0.3))
    yield lessons_text(three_phases(mlp_noise=0.9), synthetic=True)
    yield lessons_text(three_phases(mlp_noise=2.0, backbone="random"))
    yield lessons_text(with_musicnn(three_phases(backbone="random")))
    yield lessons_text([r for r in three_phases() if r["phase"] != 3], synthetic=True)
    yield lessons_text([r for r in three_phases() if r["phase"] != 2])


def test_every_lesson_sentence_is_one_short_claim_without_an_interval():
    from mer_utils.results.lesson_sentences import MAX_WORDS, sentences

    for text in every_lesson_scenario():
        lesson_texts = text.split("\n\n")
        assert [t.split(".", 1)[0] for t in lesson_texts] == [str(k) for k in range(1, len(lesson_texts) + 1)]
        for lesson in lesson_texts:
            assert lesson.split(" ", 1)[1].startswith("**"), "each lesson opens with its claim in bold"
            for sentence in sentences(lesson):
                assert len(sentence.split()) <= MAX_WORDS, sentence
                assert ";" not in sentence and "[" not in sentence, sentence
                assert sentence.endswith("."), sentence


def test_the_sentence_splitter_counts_each_sentence_of_a_lesson():
    from mer_utils.results.lesson_sentences import sentences

    text = "3. **“A claim.”** (comparisons 1–2) On this build it holds. For valence, P1 Ridge beats P2 CNN."
    assert sentences(text) == ["(comparisons 1–2) On this build it holds.", "For valence, P1 Ridge beats P2 CNN."]
    assert sentences("1. **Claim.** Its r is 0.81. Chowdhury et al. 2019 published r 0.79.") == [
        "Its r is 0.81.", "Chowdhury et al. 2019 published r 0.79."]


def test_each_lesson_cites_its_comparisons_and_states_the_verdict_of_the_corpus_table():
    records = three_phases(mlp_noise=0.3)
    text = lessons_text(records)
    pretrained = text.split("\n\n")[0]
    assert ("(comparisons 1–4) Against the other phase pick with the higher validation R², it holds for valence and "
            "arousal on this build.") in pretrained
    temporal = text.split("\n\n")[1]
    assert ("(comparisons 5–6) For the temporal model picked on validation, it is not shown for valence and arousal "
            "on this build.") in temporal
    assert "For valence, the temporal model and the plain CNN do not differ detectably." in temporal


def test_the_headline_sets_a_soundtracks_model_beside_the_second_panel_and_its_published_anchors():
    from types import SimpleNamespace

    from mer_utils.results.lesson_sentences import MAX_WORDS, _headline_reference
    from mer_utils.results.published import SOUNDTRACKS_ANCHORS

    corpus = SimpleNamespace(reference=pd.DataFrame(), is_synthetic=False)
    anchors = [a for a in SOUNDTRACKS_ANCHORS if a["target"] == "valence_mean"]
    found = _headline_reference({"model_r": 0.78, "human_r": 0.857, "target": "valence_mean"}, corpus, anchors)
    assert found[:2] == ["On the excerpts the second panel re-rated, its Pearson r with the first panel is 0.780.",
                         "The second panel's own r there is 0.857, a human reference rather than a ceiling."]
    assert "Chowdhury et al. 2019 published r 0.81 on this corpus." in found
    assert found[-1] == "Their random splits put excerpts of one film on both sides, which flatters them."
    assert all(len(s.split()) <= MAX_WORDS for s in found)


def test_the_dynamic_lesson_reads_the_phase4_pages_paired_rmse_of_the_bigru_against_the_constant(tmp_path):
    import json

    from mer_utils.results.verdicts import LESSONS, dynamic_verdicts

    assert dynamic_verdicts(tmp_path) == []  # no Phase 4 on this corpus
    comparisons = [
        {"a": "BiGRU, musicnn (MSD) frames", "b": "constant: best static model", "dimension": d, "metric": m,
         "difference": diff, "low": diff - 0.01, "high": diff + 0.01, "reading": reading}
        for d, m, diff, reading in (("valence", "rmse", -0.03, "better"), ("valence", "r", 0.2, "better"),
                                    ("arousal", "rmse", 0.001, "no detectable difference"))]
    comparisons.append({**comparisons[0], "a": "Ridge, Phase 1 features (3 s window)"})
    (tmp_path / "phase4").mkdir()
    (tmp_path / "phase4" / "book_folds.json").write_text(json.dumps({"comparisons": comparisons}))
    rows = dynamic_verdicts(tmp_path)
    assert [(r["target"], r["verdict"]) for r in rows] == [("valence", "holds"), ("arousal", "not shown")]
    assert "per-song RMSE" in LESSONS["dynamic"] and rows[0]["comparison"].startswith("BiGRU")
