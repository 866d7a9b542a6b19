"""The conclusions' sentences: the lessons, their verdicts and the headline, on small hand-made tables.

Each chapter's own sentences are tested beside that chapter's code: Phase 1's in ``test_features.py``,
Phase 3's in ``test_embeddings.py``, the Real music page's in ``test_real_music.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from fake_records import records_of

from mer_utils.results import lessons


class FakeCorpus:
    def __init__(self, synthetic: bool, ceiling=(0.6, 0.7)):
        self.synthetic = (
            {"noise_ceiling_r2": {"valence_mean": ceiling[0], "arousal_mean": ceiling[1]}} if synthetic else None
        )
        self.is_synthetic = synthetic
        self.name = "synthdeam" if synthetic else "deam"

    def noise_ceiling(self, target):
        return self.synthetic["noise_ceiling_r2"][target] if self.synthetic else None


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
    from mer_utils.results.anchors import SOUNDTRACKS_ANCHORS

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
