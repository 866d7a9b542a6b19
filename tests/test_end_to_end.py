"""The whole pipeline on a tiny corpus: `make book` in a copy of the repository.

The session's tiny book (conftest.py's ``tiny_book``: SynthDEAM of 24 songs x 8 s,
every notebook with quick settings, the site built with warnings as errors) is
checked page by page in a copy of its own; then the test checks that a
second `make book` does no notebook work, that a re-run gives identical
tables, and that the checkout moved elsewhere keeps its book (its summary pages,
re-run there, find every record and give the same tables).  A second test does
the same on the real-format DEAM sample in ../shared when it is there, and a
third builds a tiny Soundtracks book (four films of the shared sample) under
film-grouped cross-validation.  Minutes, not seconds: these are the slow tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from books import QUICK, copy_book, copy_repo, html, make, notebooks_run, page_tables
from conftest import DEAM_SAMPLE, REPO

from mer_utils.corpus.audio import load_audio
from mer_utils.phase3.finetune_models import predict_clip


@pytest.mark.slow
def test_tiny_synthetic_book(tiny_book, tmp_path):
    repo = copy_book(tiny_book, tmp_path / "repo")

    # Phase 1: figures and tables with the report's figures, the synthetic banner.
    eda = html(repo, "book/phase1/eda.html")
    assert eda.count("<img") >= 2 and "Synthetic data" in eda
    features = html(repo, "book/phase1/features.html")
    assert features.count("<img") >= 4, "Pearson bars and SHAP summaries for both targets"
    assert "PCA" in features
    models = html(repo, "book/phase1/models.html")
    for text in (
        "report R²",
        "test R²",
        "val R²",
        "ceiling R²",
        "test R² [95% CI]",
        "Top-15 Pearson",
        "Union (SHAP + Pearson)",
        "Ridge",
        "Lasso",
        "SVR",
        "Random forest",
        "Gradient boosting",
        "XGBoost",
    ):
        assert text in models, text
    assert "ceiling − test R²" in models
    corpus = html(repo, "book/data/corpus.html")
    assert "Expected ceiling on this corpus" in corpus
    # Phases 2 and 3 and the conclusions were executed and rendered.
    for page in (
        "book/phase2/EmotionCNN_valence.html",
        "book/phase2/EmotionCNN_GRU_Attention_arousal.html",
        "book/phase2/summary.html",
        "book/phase3/panns.html",
        "book/conclusions/comparison.html",
    ):
        assert "Synthetic data" in html(repo, page), page
    assert "random" in html(repo, "book/phase3/panns.html").lower()
    conclusions = html(repo, "book/conclusions/comparison.html")
    assert "test R² [95% CI]" in conclusions and "Paired comparisons on the same test songs" in conclusions
    assert "The report's per-epoch table" in html(repo, "book/phase2/EmotionCNN_valence.html")

    # Nothing changed: no notebook runs again.
    again = make(repo, "book", *QUICK)
    assert "run-notebook" not in again.stdout, again.stdout[-2000:]

    # Re-running a page gives identical tables.
    metrics = repo / "results" / "synthdeam" / "metrics"
    before = {p.name: json.loads(p.read_text()) for p in metrics.glob("1-*.json")}
    assert before
    (repo / "notebooks" / "phase1_models.py").touch()
    rerun = make(repo, "pages", *QUICK)
    assert "phase1_models.py" in rerun.stdout
    assert "phase1_eda.py" not in rerun.stdout, "an unchanged page was re-run"
    after = {p.name: json.loads(p.read_text()) for p in metrics.glob("1-*.json")}
    assert after == before

    # A moved checkout keeps its book: the summary pages re-run there read every record and give the same tables.
    summaries = [Path("book/phase2/summary.ipynb"), Path("book/conclusions/comparison.ipynb")]
    tables = {page: page_tables(repo / page) for page in summaries}
    assert all(tables.values())
    (tmp_path / "moved").mkdir()
    moved = repo.rename(tmp_path / "moved" / "repo")  # a move keeps the files' times, as `mv` does
    assert (moved / ".venv" / "bin" / "python").exists(), "the virtualenv link still resolves"
    for page in summaries:
        (moved / page).unlink()
    there = make(moved, "book", *QUICK)
    assert notebooks_run(there) == {"notebooks/phase2_summary.py", "notebooks/conclusions.py"}, there.stdout[-2000:]
    assert {page: page_tables(moved / page) for page in summaries} == tables


@pytest.mark.slow
def test_real_format_deam_sample_book(tmp_path):
    if not (DEAM_SAMPLE / "MEMD_audio").is_dir():
        pytest.skip(f"the real-format DEAM sample is not at {DEAM_SAMPLE}")
    repo = copy_repo(tmp_path / "repo")
    spaced = tmp_path / "DEAM with spaces"  # a DEAM_DIR with spaces works end to end
    os.symlink(DEAM_SAMPLE, spaced)
    make(
        repo,
        "pages",
        "DATA=deam",
        f"DEAM_DIR={spaced}",
        "PANNS_RANDOM=1",
        "P1_GRID=small",
        "P2_EPOCHS=1",
        "P3_EPOCHS=2",
    )
    corpus = json.loads((repo / "results" / "deam" / "corpus.json").read_text())
    assert corpus["songs"] == 10 and len(corpus["missing_audio"]) == 1734
    page = (repo / "book" / "data" / "corpus.ipynb").read_text()
    assert "1734" in page and "Synthetic data" not in page


@pytest.mark.slow
def test_tiny_soundtracks_book_is_cross_validated_by_film(tmp_path):
    sample = REPO.parent / "shared" / "soundtracks-sample"
    weights = REPO.parent / "shared" / "weights" / "MSD_musicnn.h5"
    if not (sample / "set1").is_dir() or not weights.is_file():
        pytest.skip(f"the Soundtracks sample or musicnn's weights are not in {REPO.parent / 'shared'}")
    from mer_utils.corpus.soundtracks import film_key

    # A few whole films of the shared sample (28 excerpts): all rating files, four films' audio (linked, not copied).
    tracks = pd.read_csv(sample / "set1_tracklist.csv", dtype={"Nro": str})
    have = {p.stem for p in (sample / "set1" / "mp3").glob("*.mp3")}
    tracks = tracks[tracks["Nro"].isin(have)]
    films = tracks.groupby(tracks["Album name"].str.strip()).size().sort_values(kind="stable").index[5:9]
    tree = tmp_path / "soundtracks"
    (tree / "set1" / "mp3").mkdir(parents=True)
    for name in ("mean_ratings_set1.csv", "set1_tracklist.csv", "mean_ratings_set2.csv", "set2_tracklist.csv"):
        os.symlink(sample / name, tree / name)
    for number in tracks.loc[tracks["Album name"].str.strip().isin(films), "Nro"]:
        os.symlink(sample / "set1" / "mp3" / f"{number}.mp3", tree / "set1" / "mp3" / f"{number}.mp3")
    repo = copy_repo(tmp_path / "repo")
    make(repo, "book", "DATA=soundtracks", f"SOUNDTRACKS_DIR={tree}", "FOLDS=3", "P1_GRID=small", "P2_EPOCHS=2",
         "P3_EPOCHS=3", "FINETUNE_EPOCHS=1", f"MUSICNN_WEIGHTS={weights}")

    split = pd.read_csv(repo / "results" / "soundtracks" / "split.csv")
    assert sorted(split["fold"].unique()) == [1, 2, 3]
    assert (split[split["part"] == "test"]["song_id"].value_counts() == 1).all(), "every excerpt tested once"
    corpus = html(repo, "book/data/corpus.html")
    assert "Real music" in corpus and "human reference" in corpus and "rated excerpts without audio" in corpus
    for page in ("book/phase1/models.html", "book/phase2/EmotionCNN_GRU_arousal.html", "book/phase2/summary.html",
                 "book/phase3/musicnn.html", "book/phase3/finetune.html", "book/conclusions/comparison.html"):
        text = html(repo, page)
        assert "Soundtracks" in text and "energy" in text, page
        assert "bootstrap over films" in text, page
    assert "panel 2 r (linked)" in html(repo, "book/phase3/musicnn.html")
    conclusions = html(repo, "book/conclusions/comparison.html")
    assert "predicted once, out of fold" in conclusions and "P3 EmotionMLP on musicnn (MSD)" in conclusions
    assert "What each corpus shows" in conclusions and "Temporal layers beat the plain CNN" in conclusions
    metrics = repo / "results" / "soundtracks" / "metrics"
    record = json.loads(next(metrics.glob("3-EmotionMLP-musicnn-valence*")).read_text())
    assert record["cross_validated"] == 3 and len(record["folds"]) == 3
    assert set(record["test_predictions"]["group"]) == {film_key(f) for f in films}
    tuned = json.loads(next(metrics.glob("3-MusicnnRegressor-musicnn-finetuned-valence*")).read_text())
    assert tuned["cross_validated"] == 3 and tuned["max_epochs"] == 1, "fine-tuned by default on Soundtracks"
    assert "fine-tuned − frozen" in html(repo, "book/phase3/finetune.html")
    assert "Fine-tuning beats the frozen backbone" in conclusions and "P3 musicnn (MSD) fine-tuned" in conclusions
    model = repo / "results" / "soundtracks" / "models" / "musicnn_finetuned.pt"
    clip = load_audio(next((tree / "set1" / "mp3").glob("*.mp3")), sr=16000)
    per_patch, song = predict_clip(model, clip)
    assert per_patch.shape[1] == 2 and 1 <= song.min() and song.max() <= 9
    chunks = json.loads(next(metrics.glob("2-EmotionCNN-valence_mean-chunk*")).read_text())
    songs = json.loads(next(metrics.glob("2-EmotionCNN-valence_mean-song*")).read_text())
    assert chunks["cross_validated"] == 3 and chunks["test"] != songs["test"], "chunks scored as chunks, pooled"
