"""The 4Q loader, tasks, artist-grouped folds and download: the real sample, generated trees, a local server."""
from __future__ import annotations

import csv
import hashlib
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_tone
from test_download import FakeServer, closed_port, serve, server  # noqa: F401  (server: the fixture)

from mer_utils.corpus import fourq as fq
from mer_utils.corpus import fourq_fetch
from mer_utils.errors import MerError

FOURQ_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "4q-sample"
META_HEADER = ["Song", "Artist", "Title", "Quadrant", "PQuad", "MoodsTotal", "Moods", "MoodsFoundStr", "MoodsStr",
               "MoodsStrSplit", "Genres", "GenresStr", "Sample", "SampleURL"]
TOP = "MER_audio_taffc_dataset"


@pytest.fixture(scope="module")
def sample():
    if not (FOURQ_SAMPLE / TOP / fq.ANNOTATIONS_FILE).is_file():
        pytest.skip(f"the 4Q sample is not at {FOURQ_SAMPLE} (it lives in ../shared beside the repo)")
    return fq.load_fourq(FOURQ_SAMPLE)


# --------------------------------------------------------------------------- generated trees


def default_rows():
    """Three songs per quadrant, two with a clip; one clip has an empty artist, one artist spans quadrants."""
    rows = []
    for qi, q in enumerate(fq.QUADRANTS):
        for k in range(3):
            artist = "" if (qi, k) in ((0, 1), (2, 0)) else ("Shared Band" if k == 0 else f"Artist {qi}{k}")
            rows.append({"Song": f"MT00000{qi}{k:04d}", "Artist": artist, "Title": f"Song {qi}{k}", "Quadrant": q,
                         "audio": k < 2})
    return rows


def write_csvs(folder: Path, rows, encoding="utf-8", annotations=True, metadata=True):
    folder.mkdir(parents=True, exist_ok=True)
    if annotations:
        with open(folder / fq.ANNOTATIONS_FILE, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Song", "Quadrant"])
            writer.writerows([r["Song"], r.get("AQuadrant", r["Quadrant"])] for r in rows)
    if metadata:
        with open(folder / fq.METADATA_FILE, "w", newline="", encoding=encoding) as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
            writer.writerow(META_HEADER)
            for r in rows:
                writer.writerow([r["Song"], r["Artist"], r["Title"], r["Quadrant"], 0.75, 4, 3, "happy; fun",
                                 "Happy; Fun; Nervous/Jittery", "Happy; Fun; Nervous; Jittery", 1, "Pop/Rock", 1,
                                 "http://example.invalid/x.mp3"])


def make_fourq(root: Path, rows=None, csv_dir: str = TOP, audio_dir: str = TOP, seconds: float = 0.3) -> Path:
    """A tiny 4Q tree: short tones as MP3 in Q1..Q4 folders, CSVs in the real format."""
    rows = default_rows() if rows is None else rows
    write_csvs(root / csv_dir, rows)
    for i, r in enumerate(rows):
        if r["audio"]:
            write_tone(root / audio_dir / r.get("folder", r["Quadrant"]) / f"{r['Song']}.mp3", seconds, 200.0 + 40 * i)
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return make_fourq(tmp_path / "4q")


# --------------------------------------------------------------------------- the real sample


def test_real_sample_has_400_clips_and_reports_500_missing(sample, caplog):
    assert len(sample.songs) == 400 and len(sample.catalogue) == 900
    assert sample.counts() == {"Q1": 100, "Q2": 100, "Q3": 100, "Q4": 100}
    assert len(sample.missing_audio) == 500 and sample.skipped == {}
    assert not set(sample.missing_audio) & set(sample.song_ids)
    assert sample.catalogue["quadrant"].value_counts().to_dict() == {q: 225 for q in fq.QUADRANTS}
    assert all(Path(p).parent.name == q for p, q in zip(sample.songs["audio_path"], sample.songs["quadrant"]))
    assert sample.songs.index[0].startswith("MT") and sample.songs.index.name == "song_id"
    caplog.clear()
    with caplog.at_level("WARNING"):
        fq.load_fourq(FOURQ_SAMPLE)
    assert "500 4Q songs listed" in caplog.text and sample.missing_audio[0] in caplog.text


def test_real_sample_metadata_and_unknown_artists(sample):
    cat = sample.catalogue
    assert cat.loc["MT0000004637", "artist"] == "Charlie Poole"
    assert cat.loc["MT0000004637", "moods"] == "Circular; Greasy; Messy"
    assert cat.loc["MT0000011357", "genres"] == "Electronic; International; Pop/Rock"
    unknown = cat[cat["artist"].str.startswith("unknown artist")]
    assert sorted(unknown.index) == ["MT0011413068", "MT0011458668", "MT0013824918"]
    assert unknown["artist_group"].nunique() == 3  # never merged into one group
    assert cat["artist"].nunique() == 661 + 3
    assert cat.loc["MT0000202045", "artist_group"] == cat.loc["MT0000888329", "artist_group"] == "bob marley"


def test_real_sample_task_labels(sample):
    songs = sample.songs
    quadrant = fq.task_labels(songs, "quadrant")
    valence, arousal = fq.task_labels(songs, "valence"), fq.task_labels(songs, "arousal")
    assert quadrant.value_counts().to_dict() == {q: 100 for q in fq.QUADRANTS}
    assert (valence == "positive").sum() == 200 and (arousal == "high").sum() == 200
    assert set(songs.index[valence == "positive"]) == set(songs.index[songs["quadrant"].isin(["Q1", "Q4"])])
    assert set(songs.index[arousal == "high"]) == set(songs.index[songs["quadrant"].isin(["Q1", "Q2"])])
    assert (valence == "positive").equals(songs["valence_positive"].rename("valence"))
    assert (arousal == "high").equals(songs["arousal_high"].rename("arousal"))
    codes = fq.task_labels(songs, "quadrant", encoded=True)
    assert (codes.map(lambda c: fq.QUADRANTS[c]) == songs["quadrant"]).all()


@pytest.mark.parametrize("task", list(fq.TASKS))
def test_real_sample_folds_keep_artists_together_and_stratify(sample, task):
    songs = sample.songs
    folds = fq.grouped_folds(songs, task, n_splits=10, n_repeats=2, seed=7)
    assert len(folds) == 20
    groups = songs["artist_group"].to_numpy()
    labels = fq.task_labels(songs, task).to_numpy()
    for fold in folds:
        assert not set(groups[fold.train]) & set(groups[fold.test])
        assert sorted(np.concatenate([fold.train, fold.test])) == list(range(len(songs)))
        share = pd.Series(labels[fold.test]).value_counts(normalize=True)
        assert (share - 1 / len(fq.TASKS[task])).abs().max() < 0.1
    for repeat in range(2):
        tests = np.concatenate([f.test for f in folds if f.repeat == repeat])
        assert sorted(tests) == list(range(len(songs)))  # each clip tested once per repeat


# --------------------------------------------------------------------------- generated trees: good input


@pytest.mark.parametrize("csv_dir,audio_dir", [(TOP, TOP), ("", "clips/unpacked"), ("meta/csv", "audio")])
def test_generated_tree_found_by_name(tmp_path, csv_dir, audio_dir):
    root = make_fourq(tmp_path / "4q", csv_dir=csv_dir, audio_dir=audio_dir)
    data = fq.load_fourq(root)
    assert len(data.songs) == 8 and data.counts() == {q: 2 for q in fq.QUADRANTS}
    assert data.missing_audio == sorted(f"MT00000{qi}0002" for qi in range(4))
    assert data.files[fq.ANNOTATIONS_FILE] == root / csv_dir / fq.ANNOTATIONS_FILE
    assert list(data.songs.columns[:6]) == ["quadrant", "artist", "title", "moods", "genres", "audio_path"]
    assert data.songs.loc["MT0000000000", "moods"] == "Happy; Fun; Nervous; Jittery"
    assert "8 clips with audio" in data.describe()


def test_empty_artists_get_one_placeholder_each(tree):
    songs = fq.load_fourq(tree).songs
    unknown = songs[songs["artist"].str.startswith("unknown artist")]
    assert list(unknown.index) == ["MT0000000001", "MT0000020000"]
    assert unknown["artist"].nunique() == 2 and unknown["artist_group"].nunique() == 2
    assert "MT0000000001" in unknown.loc["MT0000000001", "artist"]


def test_clips_decode_and_corrupt_clip_is_skipped_with_reason(tree, caplog):
    bad = tree / TOP / "Q2" / "MT0000010001.mp3"
    bad.write_bytes(b"this is not audio at all" * 50)
    data = fq.load_fourq(tree)
    assert len(data.songs) == 8  # found only when decoded
    with caplog.at_level("WARNING"):
        clips = fq.load_clips(data, sr=16000)
    assert len(clips) == 7 and "MT0000010001" not in clips
    assert all(a.dtype == np.float32 and a.size == pytest.approx(0.3 * 16000, abs=1200) for a in clips.values())
    assert "MT0000010001" in data.skipped and "cannot decode" in data.skipped["MT0000010001"]
    assert str(bad) in data.skipped["MT0000010001"]
    assert "1 4Q clips could not be decoded" in caplog.text


def test_empty_unlisted_duplicate_and_stray_files_are_reported(tree, caplog):
    (tree / TOP / "Q3" / "MT0000020001.mp3").write_bytes(b"")
    write_tone(tree / TOP / "Q1" / "MT9999999999.mp3", 0.2, 300.0)
    write_tone(tree / "copy" / "Q4" / "MT0000030000.mp3", 0.2, 300.0)
    write_tone(tree / "MT0000010002.mp3", 0.2, 300.0)  # a listed song outside the quadrant folders
    with caplog.at_level("WARNING"):
        data = fq.load_fourq(tree)
    skipped = data.skipped
    assert "0 bytes" in skipped["MT0000020001"]
    assert "not listed" in skipped[str(tree / TOP / "Q1" / "MT9999999999.mp3")]
    assert "duplicate of" in skipped[str(tree / "copy" / "Q4" / "MT0000030000.mp3")]
    assert "not in a Q1..Q4 folder" in skipped[str(tree / "MT0000010002.mp3")]
    assert "MT0000020001" not in data.songs.index and "MT0000020001" not in data.missing_audio
    assert "4 4Q files skipped" in caplog.text


def test_latin1_metadata_is_read_with_a_warning(tmp_path, caplog):
    rows = default_rows()
    rows[0]["Title"] = "Three Mice in Château Leblanc"
    root = make_fourq(tmp_path / "4q", rows=rows)
    write_csvs(root / TOP, rows, encoding="latin-1", annotations=False)
    with caplog.at_level("WARNING"):
        data = fq.load_fourq(root)
    assert data.songs.loc["MT0000000000", "title"] == "Three Mice in Château Leblanc"
    assert "not UTF-8" in caplog.text and fq.METADATA_FILE in caplog.text


# --------------------------------------------------------------------------- generated trees: bad input


@pytest.mark.parametrize("name", [fq.ANNOTATIONS_FILE, fq.METADATA_FILE])
def test_missing_csv_names_it_and_the_fix(tree, name):
    (tree / TOP / name).unlink()
    with pytest.raises(MerError, match="make data-4q FOURQ_DIR=") as info:
        fq.load_fourq(tree)
    assert name in str(info.value) and fq.FOURQ_URL in str(info.value) and "\n" not in str(info.value)


def test_wrong_fourq_dir(tmp_path):
    with pytest.raises(MerError, match="not set"):
        fq.load_fourq("")
    with pytest.raises(MerError, match="is not a folder.*make data-4q"):
        fq.load_fourq(tmp_path / "nowhere")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(MerError, match="is not a folder"):
        fq.load_fourq(tmp_path / "a_file")
    other = tmp_path / "deam"
    (other / "MEMD_audio").mkdir(parents=True)
    write_tone(other / "MEMD_audio" / "2.mp3", 0.2, 300.0)
    with pytest.raises(MerError, match="holds none of the 4Q files") as info:
        fq.load_fourq(other)
    assert str(other) in str(info.value)


@pytest.mark.parametrize("remove", ["clips", "folder"])
def test_quadrant_folder_without_clips_is_named(tree, remove):
    folder = tree / TOP / "Q3"
    for clip in folder.glob("*.mp3"):
        clip.unlink()
    if remove == "folder":
        folder.rmdir()
    with pytest.raises(MerError, match="without clips") as info:
        fq.load_fourq(tree)
    message = str(info.value)
    assert "Q3" in message and "Q1" not in message.split("without clips")[1].split(".")[0]
    assert (str(folder) in message) == (remove == "clips") and ("no folder" in message) == (remove == "folder")


@pytest.mark.parametrize("which", ["annotations", "metadata"])
def test_quadrant_outside_q1_q4_names_song_and_value(tmp_path, which):
    rows = default_rows()
    root = make_fourq(tmp_path / "4q", rows=rows)
    rows[4] = {**rows[4], "Quadrant": "Q5", "AQuadrant": "Q5"}
    write_csvs(root / TOP, rows, annotations=which == "annotations", metadata=which == "metadata")
    with pytest.raises(MerError, match="outside Q1..Q4") as info:
        fq.load_fourq(root)
    assert "MT0000010001 'Q5'" in str(info.value)


def test_clip_in_wrong_folder_names_both_quadrants(tmp_path):
    rows = default_rows()
    rows[0]["folder"] = "Q2"  # listed as Q1
    root = make_fourq(tmp_path / "4q", rows=rows)
    with pytest.raises(MerError, match="wrong quadrant folder") as info:
        fq.load_fourq(root)
    assert "MT0000000000.mp3 is in folder Q2 but" in str(info.value) and "says Q1" in str(info.value)


def test_csvs_that_disagree_are_an_error(tmp_path):
    rows = default_rows()
    rows[0]["AQuadrant"] = "Q3"
    root = make_fourq(tmp_path / "4q", rows=rows)
    with pytest.raises(MerError, match="disagree.*MT0000000000 \\(Q3 in .*Q1 in"):
        fq.load_fourq(root)
    write_csvs(root / TOP, default_rows()[:-1], annotations=False)
    with pytest.raises(MerError, match="list different songs.*MT0000030002"):
        fq.load_fourq(root)


def test_malformed_csv_is_an_error(tree):
    (tree / TOP / fq.METADATA_FILE).write_text("Song;Artist\nMT1;x\n")
    with pytest.raises(MerError, match="lacks column"):
        fq.load_fourq(tree)
    (tree / TOP / fq.METADATA_FILE).write_text("")
    with pytest.raises(MerError, match="cannot read 4Q file"):
        fq.load_fourq(tree)
    write_csvs(tree / TOP, default_rows() + default_rows()[:1], annotations=False)
    with pytest.raises(MerError, match="MT0000000000 more than once"):
        fq.load_fourq(tree)


# --------------------------------------------------------------------------- tasks and folds


def synthetic_songs(n_artists=60, seed=0) -> pd.DataFrame:
    """Artists with 1..6 songs, each artist mostly in one quadrant (as in 4Q)."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_artists):
        home = fq.QUADRANTS[a % 4]
        for k in range(int(rng.integers(1, 7))):
            q = home if rng.random() < 0.8 else fq.QUADRANTS[int(rng.integers(4))]
            rows.append({"song_id": f"S{a:03d}{k}", "quadrant": q, "artist_group": f"artist {a}"})
    return pd.DataFrame(rows).set_index("song_id")


def test_task_labels_map_quadrants():
    songs = pd.DataFrame({"quadrant": ["Q1", "Q2", "Q3", "Q4"]}, index=list("abcd"))
    assert list(fq.task_labels(songs, "valence")) == ["positive", "negative", "negative", "positive"]
    assert list(fq.task_labels(songs, "arousal")) == ["high", "high", "low", "low"]
    assert list(fq.task_labels(songs, "arousal", encoded=True)) == [1, 1, 0, 0]
    with pytest.raises(MerError, match="unknown 4Q task 'mood'"):
        fq.task_labels(songs, "mood")
    with pytest.raises(MerError, match="outside Q1..Q4"):
        fq.task_labels(pd.DataFrame({"quadrant": ["Q1", "Q9"]}, index=["a", "b"]), "quadrant")


def test_grouped_folds_on_synthetic_songs():
    songs = synthetic_songs()
    folds = fq.grouped_folds(songs, "quadrant", n_splits=5, n_repeats=3, seed=1)
    assert len(folds) == 15 and [(f.repeat, f.fold) for f in folds[:6]] == [(0, i) for i in range(5)] + [(1, 0)]
    groups = songs["artist_group"].to_numpy()
    for fold in folds:
        assert not set(groups[fold.train]) & set(groups[fold.test])
    first = [tuple(f.test) for f in folds if f.repeat == 0]
    second = [tuple(f.test) for f in folds if f.repeat == 1]
    assert first != second  # each repeat shuffles
    again = fq.grouped_folds(songs, "quadrant", n_splits=5, n_repeats=3, seed=1)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again))  # seeded
    with pytest.raises(MerError, match="cannot fill 10 artist-grouped folds"):
        fq.grouped_folds(synthetic_songs(n_artists=6), n_splits=10)


# --------------------------------------------------------------------------- download


def fourq_zip(tmp_path) -> bytes:
    src = make_fourq(tmp_path / "zip-src")
    path = tmp_path / "built.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(src.rglob("*")):
            archive.write(file, file.relative_to(src).as_posix())
        archive.writestr("__MACOSX/._junk", b"x")
    return path.read_bytes()


def leftovers(folder: Path):
    return [p.name for p in folder.iterdir() if p.name.startswith(".partial") or p.suffix in (".zip", ".part")]


def test_fetch_fourq_unpacks_and_records(server, tmp_path, capsys):
    data = fourq_zip(tmp_path)
    url = serve(server, "resources/MER_audio_taffc_dataset.zip", data)
    target = tmp_path / "fourq"
    assert fourq_fetch.fetch_fourq(target, url=url, progress=False) == target
    loaded = fq.load_fourq(target)
    assert len(loaded.songs) == 8 and not (target / "__MACOSX").exists()
    record = json.loads((target / "downloads.json").read_text())["MER_audio_taffc_dataset.zip"]
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["bytes"] == len(data)
    assert leftovers(target) == []
    requests = len(server.log)
    assert fourq_fetch.main_fourq(["--fourq-dir", str(target), "--url", url]) == 0
    assert len(server.log) == requests  # already unpacked: no network
    assert "4Q is ready" in capsys.readouterr().out


def test_fetch_fourq_resumes_an_interrupted_download(server, tmp_path):
    data = fourq_zip(tmp_path)
    url = serve(server, "MER_audio_taffc_dataset.zip", data)
    target = tmp_path / "fourq"
    server.cut["MER_audio_taffc_dataset.zip"] = len(data) // 3
    with pytest.raises(MerError, match="interrupted"):
        fourq_fetch.fetch_fourq(target, url=url, progress=False)
    part = target / "MER_audio_taffc_dataset.zip.part"
    assert part.stat().st_size == len(data) // 3 and not (target / TOP).exists()
    fourq_fetch.fetch_fourq(target, url=url, progress=False)
    assert server.log[-1]["range"] == f"bytes={len(data) // 3}-" and server.log[-1]["status"] == 206
    assert len(fq.load_fourq(target).songs) == 8 and leftovers(target) == []


def test_fetch_fourq_offline_fails_fast_saying_where_to_put_the_zip(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/resources/MER_audio_taffc_dataset.zip"
    target = tmp_path / "fourq"
    began = time.monotonic()
    with pytest.raises(MerError, match="offline") as info:
        fourq_fetch.fetch_fourq(target, url=url, progress=False)
    assert time.monotonic() - began < 5
    message = str(info.value)
    assert url in message and str(target / "MER_audio_taffc_dataset.zip") in message and "unpack it into" in message


def test_fetch_fourq_uses_a_zip_placed_by_hand_offline(tmp_path):
    target = tmp_path / "fourq"
    target.mkdir()
    (target / "MER_audio_taffc_dataset.zip").write_bytes(fourq_zip(tmp_path))
    url = f"http://127.0.0.1:{closed_port()}/MER_audio_taffc_dataset.zip"
    fourq_fetch.fetch_fourq(target, url=url, progress=False)
    assert len(fq.load_fourq(target).songs) == 8


def test_fetch_fourq_corrupt_zip_leaves_no_tree(server, tmp_path):
    url = serve(server, "MER_audio_taffc_dataset.zip", b"not a zip at all" * 100)
    target = tmp_path / "fourq"
    with pytest.raises(MerError, match="corrupt"):
        fourq_fetch.fetch_fourq(target, url=url, progress=False)
    assert not (target / TOP).exists() and leftovers(target) == []
    assert not (target / "downloads.json").exists()
