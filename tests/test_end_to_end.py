"""The whole pipeline on a tiny corpus: `make book` in a copy of the repository.

The session's tiny book (conftest.py's ``tiny_book``: SynthDEAM of 24 songs x 8 s,
every notebook with quick settings, the site built with warnings as errors) is
checked page by page in a copy of its own; then the test checks that a
second `make book` does no notebook work, that a re-run gives identical
tables, and that the checkout moved elsewhere keeps its book (its summary pages,
re-run there, find every record and give the same tables).  A second test runs
`make real-book` against a local mirror of every download (tests/mirror.py: the
real-format DEAM sample, a random-weight checkpoint in the PANNs format, musicnn's
weights, a few whole artists of 4Q), and a third builds a tiny Soundtracks book
(four films of the shared sample) under film-grouped cross-validation.  Minutes,
not seconds: these are the slow tests.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import mirror
import pandas as pd
import pytest
from books import QUICK, REAL_QUICK, copy_book, copy_repo, html, make, notebooks_run, page_tables
from conftest import MUSICNN_WEIGHTS, REPO
from test_download import FakeServer

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
    assert_phase4_page(repo)

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


def assert_real_format_deam_pages(repo: Path, deam_dir: Path) -> None:
    """What the pages of a book built on the real-format DEAM sample (10 clips, the full annotation files) show.

    The one place for per-page checks of that book: :func:`test_make_real_book_against_a_local_mirror` builds it.
    """
    corpus = json.loads((repo / "results" / "deam" / "corpus.json").read_text())
    assert corpus["songs"] == 10 and len(corpus["missing_audio"]) == 1734
    page = (repo / "book" / "data" / "corpus.ipynb").read_text()
    assert "1734" in page and "Synthetic data" not in page
    assert_phase4_on_deam_sample(repo, deam_dir)


def assert_phase4_page(repo: Path) -> None:
    """The tiny synthetic book's Phase 4: the page with its tables, figures and anchors, its results and model."""
    from mer_utils.phase4.bundle import load_curve_model

    page = html(repo, "book/phase4/dynamic.html")
    for text in ("Synthetic data", "mean per-song RMSE", "BiGRU", "constant: best static model",
                 "generating function (ceiling)", "Paired comparisons on the same test songs", "Coutinho et al. 2015",
                 "Malik et al. 2017", "raters", "SUBSET=all"):
        assert text in page, text
    assert page.count("<img") >= 3, "learning curves, example curves, per-song scores"
    summary = json.loads((repo / "results" / "synthdeam" / "phase4" / "book_split.json").read_text())
    assert summary["scale"] == "[-1, 1] (DEAM dynamic annotations)"
    # musicnn's frames: make venv fetched its pretrained weights, so the default book runs musicnn and Phase 4 reads it
    assert {row["model"] for row in summary["summary"]} >= {"BiGRU, musicnn (MSD) frames",
                                                            "constant: best static model"}
    bundle = load_curve_model(repo / "results" / "synthdeam" / "models" / "dynamic_gru.pt")
    assert bundle.provenance()["data"] == "synthdeam" and bundle.backbone["kind"] == "pretrained"


def assert_phase4_on_deam_sample(repo: Path, sample: Path) -> None:
    """Phase 4 on the real-format DEAM sample: on its 2 Hz annotations where the sample has them; where it has
    none (the sample in ../shared has only the static files), the build leaves Phase 4 out and says why."""
    from mer_utils.phase4.curves import has_dynamic_annotations

    built = repo / "book" / "phase4" / "dynamic.ipynb"
    if has_dynamic_annotations(sample):
        text = built.read_text()
        assert "Synthetic data" not in text and "DEAM" in text and "BiGRU" in text
        assert (repo / "results" / "deam" / "phase4" / "book_split.json").is_file()
    else:
        assert not built.exists(), "no 2 Hz annotations, no Phase 4 page"
        assert "this build has no Phase 4" in (repo / "book" / "data" / "corpus.ipynb").read_text()


@pytest.mark.slow
def test_make_real_book_against_a_local_mirror(tmp_path):
    """`make real-book` end to end: every download from a local server (DEAM's zips, the PANNs checkpoint,
    musicnn's weights, the 4Q zip, in their real formats: tests/mirror.py), the book on DEAM with both
    pretrained backbones and the Real music chapter, the browser check of every page and button."""
    from test_browser import check_book

    reason = mirror.missing_samples() or check_book.browser_missing()  # real-book ends with the browser check
    if reason:
        pytest.skip(reason)
    served = tmp_path / "served"
    files = mirror.deam_archives(served / "DEAM")
    files["panns"] = mirror.panns_checkpoint(served / "zenodo" / "Cnn14_mAP=0.431.pth")
    files["musicnn"] = served / "musicnn" / "MSD_musicnn.h5"
    files["musicnn"].parent.mkdir(parents=True)
    shutil.copy(mirror.MUSICNN_WEIGHTS, files["musicnn"])
    artists = mirror.fourq_artists()
    files["fourq"] = mirror.fourq_archive(served / "4q", artists)
    server = FakeServer(served)
    try:
        manifest = mirror.write_manifest(tmp_path / "downloads.json", server.url, files, served)
        repo = copy_repo(tmp_path / "repo")
        deam_dir = tmp_path / "DEAM with spaces"  # a DEAM_DIR with spaces works end to end
        run = make(repo, "real-book", f"DOWNLOADS={manifest}", f"DEAM_DIR={deam_dir}", *REAL_QUICK, timeout=1500)
    finally:
        server.close()

    # Every file came from the mirror, once, and was verified on its way in.
    assert sorted(e["path"] for e in server.log if e["status"] == 200) == sorted(
        p.relative_to(served).as_posix() for p in files.values())
    assert (repo / "weights" / "Cnn14_mAP=0.431.pth").stat().st_size == files["panns"].stat().st_size
    record = json.loads((deam_dir / "downloads.json").read_text())
    assert record["DEAM_audio.zip"]["sha256"] == json.loads(manifest.read_text())["deam_audio"]["sha256"]
    assert_real_format_deam_pages(repo, deam_dir)

    # The book on DEAM with the pretrained backbones (the checkpoint read from the mirror) and the Real music chapter.
    for page in ("book/phase3/panns.html", "book/phase3/musicnn.html", "book/realmusic/fourq.html"):
        assert "Synthetic data" not in html(repo, page), page
    panns = html(repo, "book/phase3/panns.html")
    assert "random weights" not in panns.lower() and "Cnn14_mAP=0.431.pth" in panns
    fourq = html(repo, "book/realmusic/fourq.html")
    assert "4 quadrants" in fourq and "musicnn (MSD)" in fourq
    clips = [n for n in zipfile.ZipFile(files["fourq"]).namelist() if n.endswith(".mp3")]
    assert 16 <= len(clips) <= 24 and {n.split("/")[1] for n in clips} == {"Q1", "Q2", "Q3", "Q4"}
    assert pd.read_csv(repo / "results" / "4q" / "crossval_predictions.csv")["song"].nunique() == len(clips)

    # The browser check ran, and every launch button names a notebook on the executed branch that is there.
    assert "problem(s)" in run.stdout and " 0 problem(s)" in run.stdout, run.stdout[-3000:]
    executed = repo / "build" / "executed"
    assert (executed / "book" / "realmusic" / "fourq.ipynb").is_file() and (executed / "README.md").is_file()
    assert "colab.research.google.com/github/OWNER/mer-book/blob/executed/book/phase3/musicnn.ipynb" in html(
        repo, "book/phase3/musicnn.html")


@pytest.mark.slow
def test_tiny_soundtracks_book_is_cross_validated_by_film(tmp_path):
    sample = REPO.parent / "shared" / "soundtracks-sample"
    weights = MUSICNN_WEIGHTS
    if not (sample / "set1").is_dir() or not weights.exists():
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
    # Two of the four CNNs (the plain one and one with temporal layers) exercise Phase 2 under folds and the lesson
    # that compares them; the tiny synthetic book trains all four.
    make(repo, "book", "DATA=soundtracks", f"SOUNDTRACKS_DIR={tree}", "FOLDS=3", "P1_GRID=small", "P2_EPOCHS=2",
         "P3_EPOCHS=3", "FINETUNE_EPOCHS=1", f"MUSICNN_WEIGHTS={weights}",
         "P2_MODELS=EmotionCNN EmotionCNN_GRU")

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

    # The predictor for real songs: trained on every film, saved for `mer predict --data soundtracks`, which runs it
    # on a folder of real MP3s with a corrupt one among them: that file fails alone, exit 1.
    predictor = " ".join(re.sub(r"<[^>]+>", "", html(repo, "book/predictor/predictor.html")).split())  # the text read
    assert "A predictor for real songs" in predictor and "bootstrap over films" in predictor
    assert "(no FOURQ_DIR)" in predictor and "mer predict --data soundtracks song.mp3" in predictor
    music = tmp_path / "music"
    music.mkdir()
    for clip in sorted((tree / "set1" / "mp3").glob("*.mp3"))[:2]:
        os.symlink(clip.resolve(), music / clip.name)
    (music / "broken.mp3").write_bytes(b"\xff\xfb not an mp3 " * 64)
    done = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-m", "mer_utils", "predict", "-r", str(music),
                           "--data", "soundtracks", "--format", "csv", "--threads", "1"], cwd=repo, capture_output=True,
                          text=True, timeout=300)
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert done.returncode == 1 and len(rows) == 2 and all(r["data"] == "soundtracks" for r in rows), done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.mp3" in errors[0], done.stderr
    assert "predictor.pt" in done.stderr and "caveat" not in done.stderr
