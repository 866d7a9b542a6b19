"""A run's preconditions are checked before its first notebook, and every problem is reported at once."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import zipfile

import pytest
from conftest import DEAM_SAMPLE, REPO, make_tree

from mer_utils.errors import MerError
from mer_utils.phase3.cnn14 import CHECKPOINT_NAME
from mer_utils.preflight import (
    EMBEDDING_BYTES_PER_SECOND,
    LOGMEL_BYTES_PER_SECOND,
    SAFETY,
    audio_seconds,
    check_disk,
    check_run,
    checkpoint_problem,
    disk_estimate,
    human_bytes,
    require,
)

PLENTY = 10**15  # bytes free, where the disk is not what a test is about


def run_on(tmp_path, data="deam", data_dir=None, **settings):
    settings.setdefault("free", PLENTY)
    return check_run(data, data_dir, cache_dir=tmp_path / "cache" / data, **settings)


def test_a_complete_deam_tree_with_the_random_backbone_passes(tiny_tree, tmp_path):
    found = run_on(tmp_path, data_dir=tiny_tree, random_backbone=True)
    assert found.ok, found.report()
    assert "6 songs" in found.report() and "random weights" in found.report()


def test_deam_without_a_checkpoint_names_it_and_the_two_ways_out(tiny_tree, tmp_path):
    missing = tmp_path / "weights" / CHECKPOINT_NAME
    found = run_on(tmp_path, data_dir=tiny_tree, checkpoint=missing)
    assert len(found.problems) == 1
    line = found.problems[0]
    assert line.startswith("Phase 3: ") and str(missing) in line
    assert "make weights" in line and "PANNS_RANDOM=1" in line


def test_synthdeam_without_a_checkpoint_falls_back_to_random_weights_as_phase3_does(tmp_path):
    found = run_on(tmp_path, data="synth", data_dir=tmp_path / "synthdeam", checkpoint=tmp_path / "none.pth")
    assert found.ok, found.report()
    assert "random weights" in found.report()


def test_a_deam_dir_that_is_not_a_folder_is_a_data_problem(tmp_path):
    found = run_on(tmp_path, data_dir=tmp_path / "nowhere", random_backbone=True)
    assert found.problems == [found.problems[0]] and found.problems[0].startswith("data: ")
    assert "nowhere" in found.problems[0] and "make data-deam" in found.problems[0]


def test_a_missing_annotation_file_is_named(tmp_path):
    tree = make_tree(tmp_path / "deam")
    next(tree.rglob("static_annotations_averaged_songs_1_2000.csv")).unlink()
    found = run_on(tmp_path, data_dir=tree, random_backbone=True)
    assert len(found.problems) == 1
    assert "static_annotations_averaged_songs_1_2000.csv" in found.problems[0]


def test_a_tree_without_audio_is_reported(tmp_path):
    tree = make_tree(tmp_path / "deam")
    for clip in (tree / "MEMD_audio").iterdir():
        clip.unlink()
    found = run_on(tmp_path, data_dir=tree, random_backbone=True)
    assert len(found.problems) == 1 and "no audio found" in found.problems[0]


def test_every_problem_is_reported_together_one_line_each(tmp_path):
    found = run_on(tmp_path, data_dir=tmp_path / "nowhere", checkpoint=tmp_path / "none.pth")
    assert [line.split(":")[0] for line in found.problems] == ["data", "Phase 3"]
    with pytest.raises(MerError) as info:
        require(data="deam", data_dir=tmp_path / "nowhere", cache_dir=tmp_path / "cache", checkpoint=tmp_path / "x.pth")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("2 preconditions of this run are not met")
    assert [line.strip().split(":")[0] for line in lines[1:]] == ["data", "Phase 3"]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "is empty"),
        (b"<html>404 Not Found</html>", "does not start like"),
        (b"PK\x03\x04 truncated", "truncated zip"),
    ],
)
def test_a_broken_checkpoint_is_found_before_phase3_loads_it(tmp_path, content, words):
    path = tmp_path / CHECKPOINT_NAME
    path.write_bytes(content)
    found = run_on(tmp_path, data="synth", data_dir=tmp_path / "s", checkpoint=path)  # never silently replaced
    assert len(found.problems) == 1 and words in found.problems[0]
    assert "corrupt or incomplete" in found.problems[0] and "make weights" in found.problems[0]


def test_zip_and_legacy_pickle_checkpoints_look_readable(tmp_path):
    archive = tmp_path / "new.pth"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("archive/data.pkl", b"x")
    legacy = tmp_path / "old.pth"
    legacy.write_bytes(pickle.dumps({"model": {}}, protocol=2))
    assert checkpoint_problem(archive) is None and checkpoint_problem(legacy) is None
    found = run_on(tmp_path, data="synth", data_dir=tmp_path / "s", checkpoint=archive)
    assert found.ok and "PANNs CNN14 from" in found.report()


def test_a_folder_where_the_checkpoint_should_be_is_reported(tmp_path):
    folder = tmp_path / CHECKPOINT_NAME
    folder.mkdir()
    found = run_on(tmp_path, data="deam", data_dir=tmp_path / "nowhere", checkpoint=folder)
    assert any(line.startswith("Phase 3: ") and "is not a file" in line for line in found.problems)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file, so permissions cannot fail")
def test_an_unreadable_checkpoint_says_so(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    path.write_bytes(b"PK\x03\x04")
    path.chmod(0)
    try:
        assert "cannot be read" in checkpoint_problem(path)
    finally:
        path.chmod(0o600)


def test_too_little_disk_says_how_much_is_needed_how_much_is_free_and_where(tmp_path):
    cache = tmp_path / "cache" / "deam"
    with pytest.raises(MerError) as info:
        check_disk(cache, songs=1744, seconds=1744 * 45.0, free=10**9)
    message = str(info.value)
    need = SAFETY * sum(disk_estimate(1744, 1744 * 45.0, synthetic=False).values())
    assert f"needs about {human_bytes(need)}" in message and "1.0 GB is free" in message
    assert str(cache) in message and str(tmp_path) in message and "Phase 2 log-mel chunks" in message


def test_the_disk_problem_is_one_line_of_the_run_report(tiny_tree, tmp_path):
    found = run_on(tmp_path, data_dir=tiny_tree, random_backbone=True, free=1000)
    assert len(found.problems) == 1 and found.problems[0].startswith("disk: ")
    assert "\n" not in found.problems[0]


def test_what_the_cache_already_holds_counts_as_written(tmp_path):
    cache = tmp_path / "cache"
    need = SAFETY * sum(disk_estimate(10, 450.0, synthetic=False).values())
    check_disk(cache, 10, 450.0, free=need + 1)
    with pytest.raises(MerError):
        check_disk(cache, 10, 450.0, free=need - 2_000_000)
    cache.mkdir()
    (cache / "chunks.npy").write_bytes(b"\0" * 2_000_001)
    check_disk(cache, 10, 450.0, free=need - 2_000_000)


def test_synthdeam_audio_counts_only_when_the_build_generates_it():
    real = disk_estimate(100, 1000.0, synthetic=False)
    synthetic = disk_estimate(100, 1000.0, synthetic=True)
    assert "SynthDEAM audio" not in real and synthetic["SynthDEAM audio"] > 0
    assert disk_estimate(100, 2000.0, synthetic=False)["Phase 2 log-mel chunks"] == 2 * real["Phase 2 log-mel chunks"]


def test_the_disk_estimate_follows_the_cache_settings():
    import numpy as np

    from mer_utils.phase2.logmel import DEFAULT_SETTINGS
    from mer_utils.phase3.embeddings import EMBEDDING_DIM, SEGMENT_SETTINGS

    s = DEFAULT_SETTINGS
    assert LOGMEL_BYTES_PER_SECOND == s["n_mels"] * s["n_frames"] * np.dtype(s["dtype"]).itemsize / s["chunk_seconds"]
    assert EMBEDDING_BYTES_PER_SECOND == EMBEDDING_DIM * 4 / SEGMENT_SETTINGS["segment_seconds"]


def test_clip_seconds_come_from_the_mp3_headers(deam_sample):
    clips = sorted((deam_sample / "MEMD_audio").glob("*.mp3"))
    assert audio_seconds(clips) == pytest.approx(45.0 * len(clips), rel=0.01)


def test_the_real_format_sample_passes_with_the_random_backbone(deam_sample, tmp_path):
    found = run_on(tmp_path, data_dir=deam_sample, random_backbone=True)
    assert found.ok, found.report()
    assert "10 songs" in found.report()


def test_the_command_exits_non_zero_with_the_problems_on_stderr(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "mer_utils", "preflight", "--data", "deam", "--data-dir", str(tmp_path / "nowhere"),
         "--cache-dir", str(tmp_path / "cache"), "--checkpoint", str(tmp_path / "none.pth")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.startswith("error: 2 preconditions") and "PANNS_RANDOM=1" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 3


# --------------------------------------------------------------------------- the Makefile hook


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    from books import copy_repo

    return copy_repo(tmp_path_factory.mktemp("preflight") / "repo")


def test_make_pages_on_deam_without_a_checkpoint_stops_at_once_running_nothing(repo_copy):
    if not (DEAM_SAMPLE / "MEMD_audio").is_dir():
        pytest.skip(f"the real-format DEAM sample is not at {DEAM_SAMPLE}")
    start = time.monotonic()
    run = subprocess.run(
        ["make", "pages", "DATA=deam", f"DEAM_DIR={DEAM_SAMPLE}"],
        cwd=repo_copy,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert run.returncode != 0
    assert "PANNs checkpoint" in run.stderr and "PANNS_RANDOM=1" in run.stderr, run.stderr[-2000:]
    assert elapsed < 30, f"make took {elapsed:.0f} s to fail"
    assert "run-notebook" not in run.stdout and not list((repo_copy / "book").rglob("*.ipynb"))
    assert not (repo_copy / "build" / "deam" / "data.stamp").exists() and not (repo_copy / "results").exists()


def test_the_check_runs_first_for_book_and_pages_only(repo_copy, tmp_path):
    knobs = ["DATA=deam", f"DEAM_DIR={tmp_path}", "PANNS_RANDOM=1"]
    plan = subprocess.run(["make", "-n", "pages", *knobs], cwd=repo_copy, capture_output=True, text=True, timeout=60)
    lines = plan.stdout.splitlines()
    preflight = next(i for i, line in enumerate(lines) if "mer_utils preflight" in line)
    assert "--random-backbone" in lines[preflight]
    assert preflight < next(i for i, line in enumerate(lines) if "data-stamp" in line)
    assert preflight < next(i for i, line in enumerate(lines) if "run-notebook" in line)
    data = subprocess.run(["make", "-n", "data", *knobs], cwd=repo_copy, capture_output=True, text=True, timeout=60)
    assert "data-stamp" in data.stdout and "mer_utils preflight" not in data.stdout
