"""The predictor for real songs: learning ratings and 4Q's quadrants at once, scored out of fold, saved for predict."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from conftest import MUSICNN_WEIGHTS, REPO

from mer_utils.corpus.base import TARGETS
from mer_utils.corpus.split import fold_splits, grouped_folds
from mer_utils.errors import MerError
from mer_utils.phase3.musicnn_wheel import DATA_SHA256
from mer_utils.predict import bundles, cli, fusion
from mer_utils.predict import narrative as predictor_sentences
from mer_utils.predict import songs as song_models

SETTINGS = {"epochs": 12, "patience": 4, "batch_size": 16, "lr": 3e-3}
FOURQ = REPO.parent / "shared" / "4q-sample" / "MER_audio_taffc_dataset"


def toy_corpora(seed: int = 0, dim: int = 12, n_rated: int = 60, n_clips: int = 80):
    """A rated corpus (films of 4 songs) and signed clips (artists of 2 clips) sharing one linear truth."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((dim, 2))
    x_rated = rng.standard_normal((n_rated, dim)).astype(np.float32)
    y = 5 + x_rated @ weights * 0.5 + 0.2 * rng.standard_normal((n_rated, 2))
    ids = np.arange(100, 100 + n_rated)
    films = pd.Series([f"film{i // 4}" for i in range(n_rated)], index=ids)
    folds = fold_splits(grouped_folds(ids, films, n_folds=3, seed=seed))
    labels = pd.DataFrame(y, index=ids, columns=TARGETS)
    rated = fusion.rated_songs("soundtracks", ids, x_rated, labels, films, folds)
    x_clips = rng.standard_normal((n_clips, dim)).astype(np.float32)
    latent = x_clips @ weights
    names = [f"MT{i:010d}" for i in range(n_clips)]
    songs = pd.DataFrame({"valence_positive": latent[:, 0] > 0, "arousal_high": latent[:, 1] > 0,
                          "artist_group": [f"artist{i // 2}" for i in range(n_clips)]}, index=names)
    positive, high = songs["valence_positive"], songs["arousal_high"]
    songs["quadrant"] = np.select([positive & high, ~positive & high, ~positive & ~high], ["Q1", "Q2", "Q3"], "Q4")
    clips = fusion.signed_clips("4q", pd.DataFrame(x_clips, index=names), songs)
    return rated, clips


def test_a_signed_clip_counts_as_a_rating_one_training_sd_from_the_mean():
    y = np.array([[2.0, 4.0], [4.0, 8.0]])
    pseudo = fusion.pseudo_ratings(np.array([[True, False]]), y)
    assert pseudo.tolist() == [[3.0 + 1.0, 6.0 - 2.0]]


def test_every_item_is_predicted_once_per_variant_by_a_model_that_never_saw_its_film_or_artist():
    rated, clips = toy_corpora()
    runs = fusion.fold_runs(rated, clips, settings=SETTINGS, seed=1)
    assert set(runs["variant"]) == set(fusion.VARIANTS)
    for (variant, corpus), part in runs.groupby(["variant", "corpus"]):
        assert part["item"].is_unique and len(part) == (len(rated.ids) if corpus == "soundtracks" else len(clips.names))
    rated_parts = fusion.rated_parts(rated)
    clip_parts = fusion.sign_folds(clips, len(rated_parts), seed=1)
    for k, fold in enumerate(sorted(rated_parts)):
        for parts, groups in ((rated_parts[fold], rated.groups), (clip_parts[sorted(clip_parts)[k]], clips.groups)):
            tested = set(groups[parts["test"]])
            assert not tested & set(groups[parts["train"]]) and not tested & set(groups[parts["validation"]])
    # the ratings-only variant also scores the clips (it never learned them), so the two are paired on 4Q
    fused = runs[(runs["corpus"] == "4q") & (runs["variant"] == fusion.VARIANTS[1])]
    alone = runs[(runs["corpus"] == "4q") & (runs["variant"] == fusion.VARIANTS[0])]
    assert sorted(fused["item"]) == sorted(alone["item"])


def test_learning_the_quadrants_ranks_the_clips_and_the_scores_carry_intervals():
    rated, clips = toy_corpora()
    runs = fusion.fold_runs(rated, clips, settings=SETTINGS, seed=1)
    signs = fusion.sign_scores(runs, "4q").set_index(["variant", "target"])
    fused = signs.loc[fusion.VARIANTS[1]]
    assert (fused["auc"] > 0.8).all() and (fused["low"] < fused["auc"]).all() and (fused["auc"] < fused["high"]).all()
    rated_scores = fusion.rated_scores(runs, "soundtracks")
    assert (rated_scores["r2_low"] < rated_scores["r2"]).all() and (rated_scores["groups"] == 15).all()
    differences = fusion.variant_differences(runs, "soundtracks", "4q")
    assert list(differences["metric"]) == ["R²", "R²", "ROC AUC", "ROC AUC"]
    fit = fusion.quadrant_fit(runs, "4q")
    assert fit["valence"]["slope"] > 0 and fit["arousal"]["slope"] > 0 and fit["clips"] == len(clips.names)


def test_without_clips_only_the_ratings_are_learned_and_nothing_is_claimed_about_quadrants():
    rated, _ = toy_corpora()
    runs = fusion.fold_runs(rated, None, settings=SETTINGS, seed=1)
    assert set(runs["variant"]) == {fusion.VARIANTS[0]} and set(runs["corpus"]) == {"soundtracks"}
    assert fusion.sign_scores(runs, None).empty and fusion.variant_differences(runs, "soundtracks", None).empty
    text = predictor_sentences.predictor_findings(fusion.rated_scores(runs, "soundtracks"),
                                                  fusion.sign_scores(runs, None),
                                                  fusion.variant_differences(runs, "soundtracks", None), "soundtracks")
    assert "no FOURQ_DIR" in text and "no quadrant probabilities" in text


def test_verdicts_follow_the_paired_interval_on_both_sides():
    rows = pd.DataFrame([{"corpus": "4q", "target": "valence_mean", "metric": "ROC AUC", "difference": 0.1,
                          "low": 0.05, "high": 0.15, "songs": 400},
                         {"corpus": "soundtracks", "target": "arousal_mean", "metric": "R²", "difference": -0.08,
                          "low": -0.16, "high": -0.01, "songs": 240},
                         {"corpus": "soundtracks", "target": "valence_mean", "metric": "R²", "difference": 0.04,
                          "low": -0.04, "high": 0.15, "songs": 240}])
    table = predictor_sentences.difference_table(rows)
    assert list(table["verdict"]) == ["fused better", "ratings only better", "no detectable difference"]
    assert list(table["target"]) == ["valence", "arousal (energy)", "valence"] and table["corpus"].iloc[0] == "4Q"
    text = predictor_sentences.predictor_findings(pd.DataFrame(), pd.DataFrame(), rows, "soundtracks")
    assert "improves valence ROC AUC on 4Q" in text and "costs arousal (energy) R² on Soundtracks" in text
    assert "No detectable difference in valence R² on Soundtracks" in text


@pytest.fixture(scope="module")
def musicnn_predictor(tmp_path_factory):
    """A predictor bundle on the real musicnn weights, trained on toy rows (200-d), with a quadrant fit."""
    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(f"musicnn's weights are not at {MUSICNN_WEIGHTS}")
    from mer_utils.phase3.backbones import phase3_backbone
    from mer_utils.phase3.musicnn_embeddings import musicnn_settings

    rated, clips = toy_corpora(dim=200, n_rated=48, n_clips=40)
    runs = fusion.fold_runs(rated, clips, settings={**SETTINGS, "epochs": 3}, seed=0)
    final = fusion.final_predictor(rated, clips, settings={**SETTINGS, "epochs": 3}, seed=0)
    backbone = phase3_backbone("musicnn", "soundtracks", musicnn_weights=MUSICNN_WEIGHTS)
    return fusion.save_predictor(tmp_path_factory.mktemp("results"), final, backbone, musicnn_settings("float32"),
                                 rated, clips, runs)


def test_a_musicnn_predictor_runs_from_its_own_file_and_says_where_its_numbers_come_from(
        musicnn_predictor, monkeypatch, tmp_path, capsys):
    if not FOURQ.is_dir():
        pytest.skip(f"the 4Q sample is not at {FOURQ}")
    clip = sorted((FOURQ / "Q2").glob("*.mp3"))[0]
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\xff\xfb not an mp3 " * 40)
    monkeypatch.setenv("MUSICNN_WEIGHTS", str(tmp_path / "absent.h5"))  # the bundle carries the weights it needs
    code = cli.main([str(clip), str(broken), "--model", str(musicnn_predictor), "--format", "csv", "--quadrant",
                     "--segments", "--threads", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and str(broken) in err and "learned from Soundtracks ratings, 4Q quadrant signs" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [*cli.COLUMNS, "valence", "arousal", "quadrant", "quadrant_p"]
    song, *patches = rows
    assert (song["data"], song["backbone"], song["scale"]) == ("soundtracks+4q", "musicnn", "soundtracks:1-9")
    assert song["weights"] == f"pretrained:{DATA_SHA256['MSD_musicnn'][:12]}" and len(patches) >= 5
    assert int(song["segments"]) == fusion.PATCHES_PER_SONG  # heard at its spread patches; every patch has a row
    assert song["quadrant"] in song_models.QUADRANTS and 0.25 <= float(song["quadrant_p"]) <= 1
    assert "caveat" not in err  # real ratings, pretrained backbone


def test_a_song_is_heard_at_a_few_patches_spread_over_it():
    from mer_utils.phase3.embeddings import spread_indices

    assert spread_indices(10, 4).tolist() == [1, 3, 6, 8]
    assert spread_indices(80, 4).tolist() == [10, 30, 50, 70]
    assert spread_indices(3, 4).tolist() == [0, 1, 2] and spread_indices(7, None).tolist() == list(range(7))
    with pytest.raises(MerError, match="at_most=0"):
        spread_indices(5, 0)


def test_songs_heard_at_spread_patches_average_those_patches_only(tmp_path):
    from mer_utils.phase3.embeddings import EmbeddingSet

    rng = np.random.default_rng(0)
    patches = {7: rng.standard_normal((10, 3)), 9: rng.standard_normal((2, 3))}
    files = {}
    for song_id, values in patches.items():
        files[song_id] = tmp_path / f"{song_id}.npy"
        np.save(files[song_id], values.astype(np.float32))
    embedded = EmbeddingSet(folder=tmp_path, song_ids=[7, 9], files=files, skipped=pd.DataFrame(), settings={},
                            backbone={}, songs=np.vstack([v.mean(axis=0) for v in patches.values()]).astype(np.float32),
                            n_segments=pd.Series({7: 10, 9: 2}))
    heard = embedded.songs_heard_at(4)
    assert np.allclose(heard[0], patches[7][[1, 3, 6, 8]].mean(axis=0), atol=1e-6)
    assert np.allclose(heard[1], patches[9].mean(axis=0), atol=1e-6)  # two patches: both heard
    assert np.array_equal(embedded.songs_heard_at(None), embedded.songs)
    assert np.allclose(embedded.frame(4).loc[7].to_numpy(), heard[0])


def test_predict_embeds_only_the_patches_a_song_is_heard_at_and_segments_do_not_change_the_song(musicnn_predictor):
    if not FOURQ.is_dir():
        pytest.skip(f"the 4Q sample is not at {FOURQ}")
    from mer_utils.phase3.embeddings import spread_indices

    bundle = bundles.load_bundle(musicnn_predictor)
    model = song_models.song_model(bundle, threads=1)
    assert model.song_units == fusion.PATCHES_PER_SONG == bundle.embedding["patches_per_song"]
    units = model.decode(sorted((FOURQ / "Q1").glob("*.mp3"))[0])
    embed, embedded_rows = model.embed, []
    model.embed = lambda batch: (embedded_rows.append(len(batch)), embed(batch))[1]
    song, per_patch = model.predict(units, every_unit=False)
    assert per_patch is None and embedded_rows == [fusion.PATCHES_PER_SONG] < [len(units)]
    song_with_rows, per_patch = model.predict(units, every_unit=True)
    assert embedded_rows[-1] == len(units) == len(per_patch)
    assert np.allclose(song, song_with_rows, atol=1e-3)
    heard = embed(units[spread_indices(len(units), fusion.PATCHES_PER_SONG)]).mean(axis=0, keepdims=True)
    assert np.allclose(song, bundle.predict(heard)[0], atol=1e-4)


def test_quadrant_probabilities_follow_the_fit_and_a_model_without_one_says_which_has_it(musicnn_predictor):
    saved = bundles.load_bundle(musicnn_predictor)
    assert set(saved.raw["quadrants"]) == {"valence", "arousal", "clips", "learned_from"}
    fit = {"valence": {"intercept": -5.0, "slope": 1.0}, "arousal": {"intercept": -10.0, "slope": 2.0}}
    bundle = bundles.Bundle(**{**vars(saved), "raw": {**saved.raw, "quadrants": fit}})  # midpoints 5 and 5
    values = np.array([[9.0, 9.0], [1.0, 9.0], [1.0, 1.0], [9.0, 1.0], [5.0, 9.0]])
    columns = song_models.quadrant_columns(bundle, values)
    assert columns["quadrant"][:4] == ["Q1", "Q2", "Q3", "Q4"] and min(columns["quadrant_p"][:4]) > 0.95
    assert columns["quadrant_p"][4] == pytest.approx(0.5, abs=1e-3)  # on the valence midpoint: a coin between Q1 and Q2
    plain = bundles.Bundle(**{**vars(bundle), "raw": {k: v for k, v in bundle.raw.items() if k != "quadrants"}})
    with pytest.raises(MerError, match="--data soundtracks"):
        song_models.quadrant_columns(plain, values)
    assert saved.raw["out_of_fold"]["4q"]["item"] == sorted(saved.raw["out_of_fold"]["4q"]["item"])


def test_a_rated_corpus_with_one_split_joins_every_run_and_its_test_songs_are_scored_once():
    from mer_utils.corpus.split import song_split

    rated, clips = toy_corpora()
    rated.folds = fold_splits(song_split(rated.ids, seed=0))  # DEAM's one train / validation / test split
    plan = fusion.runs_plan(rated, clips, seed=1)
    assert len(plan) == fusion.SIGN_FOLDS and [scored for *_, scored in plan] == [True] + [False] * 4
    runs = fusion.fold_runs(rated, clips, settings=SETTINGS, seed=1)
    test_songs = set(rated.ids[plan[0][1]["test"]])
    for variant, part in runs[runs["corpus"] == "soundtracks"].groupby("variant"):
        assert set(part["item"]) == test_songs and part["item"].is_unique
    assert (runs[runs["corpus"] == "4q"].groupby("variant")["item"].nunique() == len(clips.names)).all()


def test_the_speed_run_joins_clips_into_full_length_stand_ins(tmp_path):
    import soundfile as sf
    from conftest import write_tone

    from mer_utils.predict import peers

    paths = []
    for k in range(5):
        paths.append(tmp_path / "clips" / f"clip{k}.wav")
        write_tone(paths[-1], 2.0 + k, 220.0 + 50 * k, sr=16000)
    songs = pd.DataFrame({"audio_path": [str(p) for p in paths]})
    folder, seconds = peers.joined_songs(songs, 2, tmp_path / "joined")
    files = sorted(folder.glob("*.mp3"))
    assert len(files) == 2  # 5 clips, 2 a file: the fifth is left out
    durations = [sf.info(str(f)).duration for f in files]
    assert seconds == pytest.approx(sum(durations), abs=0.2) and all(5.0 <= d <= 11.1 for d in durations)


def test_hearing_fewer_patches_is_scored_pair_by_pair_against_hearing_every_patch():
    rated, clips = toy_corpora()
    runs = fusion.fold_runs(rated, clips, settings=SETTINGS, seed=1)
    same = fusion.hearing_differences(runs, runs, rated.name, clips.name)
    assert list(same["corpus"]) == ["soundtracks"] * 2 + ["4q"] * 2
    assert np.allclose(same[["difference", "low", "high"]].to_numpy(dtype=float), 0.0)
    shifted = runs.copy()
    shifted.loc[shifted["corpus"] == "4q", "valence_mean"] *= -1  # the other model ranks valence backwards
    worse = fusion.hearing_differences(runs, shifted, rated.name, clips.name).set_index(["corpus", "target"])
    assert worse.loc[("4q", "valence_mean"), "low"] > 0
    table = predictor_sentences.difference_table(worse.reset_index(), "4 patches", "every patch")
    assert "4 patches − every patch [95% CI]" in table.columns and "4 patches better" in set(table["verdict"])
    alone = fusion.fold_runs(rated, None, settings=SETTINGS, seed=1)
    assert set(fusion.hearing_differences(alone, alone, rated.name, None)["corpus"]) == {"soundtracks"}


def test_signed_clips_keep_their_every_patch_embeddings_for_the_hearing_comparison():
    rated, clips = toy_corpora()
    names = list(clips.names)
    frame = pd.DataFrame(clips.x, index=names)
    songs = pd.DataFrame({"valence_positive": clips.signs[:, 0], "arousal_high": clips.signs[:, 1],
                          "artist_group": clips.groups, "quadrant": clips.quadrants.to_numpy()}, index=names)
    both = fusion.signed_clips("4q", frame, songs, every_patch=frame * 2)
    every = fusion.heard_at_every_patch(both)
    assert np.allclose(every.x, 2 * both.x) and np.array_equal(every.names, both.names)
    assert fusion.heard_at_every_patch(None) is None
    with pytest.raises(MerError, match="every-patch"):
        fusion.heard_at_every_patch(clips)
