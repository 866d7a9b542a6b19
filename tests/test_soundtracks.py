"""The Soundtracks loader, trap by trap, and the film-grouped folds it is evaluated by."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, write_tone

from mer_utils.corpus.base import human_reference
from mer_utils.corpus.soundtracks import film_key, load_soundtracks, main_check
from mer_utils.corpus.sources import corpus_for
from mer_utils.corpus.split import fold_splits, grouped_folds, load_or_create_split, read_split
from mer_utils.errors import MerError

SAMPLE = REPO.parent / "shared" / "soundtracks-sample"
BOM = "\ufeff"
# number: (film as the tracklist spells it, time range); 006 spells 005's film with a trailing space
EXCERPTS = {1: ("Shallow Grave", "02:02-02:17"), 2: ("Shallow Grave", "00:10-00:25"), 3: ("The Omen", "01:00-01:15"),
            4: ("The Omen ", "02:00-02:15"), 5: ("The Portrait of a Lady", "00:30-00:45"),
            6: ("The Portait of a Lady", "01:30-01:45"), 7: ("Batman", "00:00-00:15"), 8: ("Batman", "03:00-03:15")}


def write_tree(root: Path, with_audio=(1, 2, 3, 4, 5, 6, 7), set2: bool = True) -> Path:
    """A tiny tree in the dataset's format: BOM and CR LF in the rating CSVs, a tracklist, tones as audio."""
    lines = ["number,valence,energy,tension,anger,fear,happy,sad,tender,TARGET"]
    lines += [f"{n:03d},{1 + n * 0.7:.2f},{7 - n * 0.6:.2f},{2 + n * 0.5:.2f},1,1,1,1,1,HAPPY" for n in EXCERPTS]
    (root / "mean_ratings_set1.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "mean_ratings_set1.csv").write_bytes((BOM + "\r\n".join(lines) + "\r\n").encode())
    tracks = ["Nro,Emotion,Album name,Track,Min:Sec"] + [f"{n:03d},Happy,{film},1,{time}"
                                                         for n, (film, time) in EXCERPTS.items()]
    (root / "set1_tracklist.csv").write_text("\n".join(tracks) + "\n")
    if set2:  # Set 2 excerpt 1 links to Set 1's 3 correctly; excerpt 2 links to 7 but is another film's
        ratings = [BOM + "Number,Valence,Energy,Tension,soundtrack,link", "001,4.0,5.0,6.0,The Omen,3",
                   "002,3.0,4.0,5.0,Shallow Grave,7", "003,6.0,2.0,3.0,Batman,8"]
        (root / "mean_ratings_set2.csv").write_text("\r\n".join(ratings) + "\r\n", encoding="utf-8")
        (root / "set2_tracklist.csv").write_text("Nro,Emotion,Album name,Track,Min:Sec\n001,Fear,The Omen,1,01:00-01:15\n"
                                                 "002,Sad,Shallow Grave,2,00:40-00:55\n003,Happy,Batman,1,03:00-03:15\n")
    for number in with_audio:
        write_tone(root / "set1" / "mp3" / f"{number:03d}.mp3", 2.0, 110.0 * number, fmt="MP3")
    return root


def test_byte_order_mark_and_crlf_are_read_and_energy_is_arousal(tmp_path):
    corpus = load_soundtracks(write_tree(tmp_path / "st"))
    assert list(corpus.songs.index[:2]) == [1, 2]
    assert corpus.songs.at[1, "valence_mean"] == pytest.approx(1.7)
    assert corpus.songs.at[1, "arousal_mean"] == pytest.approx(6.4), "energy becomes arousal_mean"
    assert corpus.songs.at[1, "tension_mean"] == pytest.approx(2.5)
    assert corpus.target_label("arousal_mean") == "arousal (energy)"


def test_rated_excerpts_without_audio_are_reported_by_count_and_number(tmp_path, caplog):
    corpus = load_soundtracks(write_tree(tmp_path / "st", with_audio=(1, 2, 3, 5, 7)))
    assert corpus.missing_audio == [4, 6, 8]
    assert "3 rated excerpts have no audio and are skipped: 4, 6, 8" in caplog.text
    assert len(corpus.songs) == 5


@pytest.mark.parametrize("filename", ["mean_ratings_set1.csv", "set1_tracklist.csv"])
def test_missing_ratings_or_tracklist_names_the_file_and_where_to_get_it(tmp_path, filename):
    root = write_tree(tmp_path / "st")
    (root / filename).unlink()
    with pytest.raises(MerError, match=f"{filename}.*download form"):
        load_soundtracks(root)


def test_missing_folder_and_unset_knob_say_what_to_pass(tmp_path):
    with pytest.raises(MerError, match="SOUNDTRACKS_DIR is not set"):
        corpus_for("soundtracks", "")
    with pytest.raises(MerError, match="not a folder"):
        corpus_for("soundtracks", tmp_path / "nowhere")


def test_spellings_of_one_film_are_one_group(tmp_path):
    corpus = load_soundtracks(write_tree(tmp_path / "st"))
    assert corpus.groups.nunique() == 4
    assert film_key("The Omen ") == film_key("the omen") and film_key("Pride Prejudice") == film_key("Pride and Prejudice")


def test_a_wrong_set2_link_is_reported_and_left_out_of_the_human_reference(tmp_path, caplog):
    corpus = load_soundtracks(write_tree(tmp_path / "st"))
    assert sorted(corpus.reference["set2"]) == [1, 3]
    assert "Set 2 excerpt 2 links to Set 1 excerpt 7" in caplog.text
    assert "1 do not (2)" in " ".join(corpus.notes)
    without = load_soundtracks(write_tree(tmp_path / "bare", set2=False))
    assert without.reference is None and "absent" in without.notes[0]


def test_no_film_is_ever_on_two_sides_of_a_fold(tmp_path):
    films = pd.Series({i: f"film {i % 9}" for i in range(1, 91)})
    folds = grouped_folds(films.index, films, n_folds=5, seed=3)
    for fold, split in fold_splits(folds).items():
        sides = split.assign(film=films.loc[split["song_id"]].values).groupby("film")["part"].nunique()
        assert (sides == 1).all(), f"fold {fold} puts a film on two sides"
    tested = folds[folds["part"] == "test"]
    assert sorted(tested["song_id"]) == list(range(1, 91)), "every song tested exactly once"
    sizes = tested.groupby("fold").size()
    assert sizes.max() - sizes.min() <= 10, "folds of about equal size"


def test_saved_folds_are_read_back_and_rebuilt_when_k_changes(tmp_path):
    films = pd.Series({i: f"f{i % 7}" for i in range(1, 50)})
    path = tmp_path / "split.csv"
    first = load_or_create_split(path, films.index, seed=1, groups=films, n_folds=5)
    assert read_split(path).equals(first) and len(fold_splits(first)) == 5
    again = load_or_create_split(path, films.index, seed=1, groups=films, n_folds=3)
    assert len(fold_splits(again)) == 3
    with pytest.raises(MerError, match="FOLDS"):
        grouped_folds(films.index, films, n_folds=8)


@pytest.fixture
def sample() -> Path:
    if not (SAMPLE / "set1").is_dir():
        pytest.skip(f"the Soundtracks sample is not at {SAMPLE} (it lives in ../shared beside the repo)")
    return SAMPLE


def test_the_shared_sample_has_240_excerpts_of_27_films_and_the_panels_agree(sample):
    corpus = corpus_for("soundtracks", sample)
    assert len(corpus.songs) == 240 and len(corpus.missing_audio) == 120 and corpus.groups.nunique() == 27
    assert list(corpus.reference["set2"]).count(17) == 0 and len(corpus.reference) == 109
    reference = human_reference(corpus.reference)
    assert reference.loc["valence_mean", "pearson_r"] == pytest.approx(0.86, abs=0.01)
    assert reference.loc["arousal_mean", "pearson_r"] == pytest.approx(0.91, abs=0.01)
    assert reference.loc["tension_mean", "pearson_r"] == pytest.approx(0.94, abs=0.01)


def test_make_data_soundtracks_explains_and_checks_a_tree(sample, capsys):
    assert main_check(["--soundtracks-dir", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "no direct download address" in out and "240 songs" in out and "make book DATA=soundtracks" in out


def test_over_folds_pools_out_of_fold_predictions_and_bootstraps_over_films():
    from mer_utils.results.crossfit import over_folds
    from mer_utils.results.intervals import compare_on_shared_songs, predictions_frame
    from mer_utils.results.metrics import regression_metrics
    from mer_utils.results.records import make_record, test_predictions

    films = pd.Series({i: f"film {i % 6}" for i in range(1, 61)})
    truth = pd.Series({i: 1 + (i * 7 % 9) for i in films.index}, dtype=float)
    folds = fold_splits(grouped_folds(films.index, films, n_folds=3, seed=1))

    def score(split, run, offset):  # a "model" that predicts the truth plus a fold-dependent offset
        test = split.loc[split["part"] == "test", "song_id"]
        predicted = truth.loc[test] + offset * (1 + len(test) % 2)
        return [make_record(1, "m", "valence_mean", "st", {"r2": 0.5, "rmse": 1.0, "mae": 1.0},
                            regression_metrics(truth.loc[test], predicted), run=run,
                            test_predictions=predictions_frame(test, truth.loc[test], predicted), setting="s")]

    pooled = over_folds(score, folds, films, run={"id": 1}, offset=0.5)
    assert len(pooled) == 1 and pooled[0]["cross_validated"] == 3 and len(pooled[0]["folds"]) == 3
    frame = test_predictions(pooled[0])
    assert sorted(frame["song_id"]) == list(range(1, 61)), "every song predicted once, out of fold"
    assert pooled[0]["test"] == regression_metrics(frame["true"], frame["predicted"])
    assert set(frame["group"]) == set(films), "the film travels with each prediction"
    worse = over_folds(score, folds, films, run={"id": 1}, offset=1.5)
    diff = compare_on_shared_songs(frame, test_predictions(worse[0]))
    assert diff["low"] > 0, "the closer model wins on the same films"
    one = over_folds(score, {0: folds[1]}, None, run={"id": 1}, offset=0.5)
    assert "cross_validated" not in one[0], "one split: the scoring function's own records"


def test_a_fold_detail_is_the_folds_own_where_folds_differ_and_the_shared_value_where_they_agree():
    from mer_utils.results.crossfit import fold_detail, pool_records
    from mer_utils.results.intervals import predictions_frame
    from mer_utils.results.records import make_record

    films = pd.Series({i: f"film {i % 3}" for i in range(1, 7)})

    def record(fold, params):
        test = [fold, fold + 3]
        frame = predictions_frame(test, [5.0, 6.0], [5.5, 5.0])
        return [make_record(1, "Ridge", "valence_mean", "st", {"r2": 0.1, "rmse": 1.0, "mae": 1.0},
                            {"r2": 0.1, "rmse": 1.0, "mae": 1.0}, test_predictions=frame, setting="s",
                            best_params=params, epochs=7)]

    pooled = pool_records({1: record(1, {"alpha": 1.0}), 2: record(2, {"alpha": 10.0}),
                           3: record(3, {"alpha": 1.0})}, films)[0]
    assert [fold_detail(pooled, "best_params", f) for f in (1, 2, 3)] == [{"alpha": 1.0}, {"alpha": 10.0},
                                                                          {"alpha": 1.0}]
    assert fold_detail(pooled, "epochs", 2) == 7, "a detail every fold shares is kept once, at the top"
    one = record(1, {"alpha": 3.0})[0]
    assert fold_detail(one, "best_params", 0) == {"alpha": 3.0}, "one split: the record's own value"


def test_the_grid_search_folds_keep_a_film_whole_and_fall_back_to_songs_with_one_film(monkeypatch):
    import numpy as np

    from mer_utils.phase1 import regressors

    seen = []
    real = regressors.GridSearchCV

    def recording(*args, cv, **kwargs):
        seen.append(cv)
        return real(*args, cv=cv, **kwargs)

    monkeypatch.setattr(regressors, "GridSearchCV", recording)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    arrays = (x[:20], y[:20], x[20:25], y[20:25], x[25:], y[25:])
    regressors.grid_search("Ridge", *arrays, grid="small", n_jobs=1, train_groups=np.repeat(list("abcd"), 5))
    regressors.grid_search("Ridge", *arrays, grid="small", n_jobs=1, train_groups=np.repeat(["a"], 20))
    assert type(seen[0]).__name__ == "GroupKFold" and seen[0].get_n_splits() == 4
    assert type(seen[1]).__name__ == "KFold", "one film: no grouped fold exists"
