"""Shared fixtures: the real-format DEAM sample beside the repo, tiny generated trees, and the tiny book."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from books import QUICK, REPO, copy_repo, make

from mer_utils.phase3.musicnn_wheel import checkpoint_dir

pytest_plugins = ["grouping"]  # the tiny book's tests on one pytest-xdist worker (tests/grouping.py)

DEAM_SAMPLE = REPO.parent / "shared" / "deam-sample"
# musicnn's pretrained MSD network as every machine has it: make venv fetched the musicnn wheel and unpacked it here
MUSICNN_WEIGHTS = checkpoint_dir("MSD_musicnn")
FETCH_MUSICNN = f"musicnn's weights are not at {MUSICNN_WEIGHTS}: run 'make venv' (it fetches them)"
STATIC_HEADER = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"


@pytest.fixture
def deam_sample() -> Path:
    if not (DEAM_SAMPLE / "MEMD_audio").is_dir():
        pytest.skip(f"the real-format DEAM sample is not at {DEAM_SAMPLE} (it lives in ../shared beside the repo)")
    return DEAM_SAMPLE


def write_tone(path: Path, seconds: float, freq: float, sr: int = 22050, fmt: str | None = None) -> None:
    t = np.arange(int(seconds * sr)) / sr
    audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.random.default_rng(int(freq)).standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.astype(np.float32), sr, format=fmt)


def make_tree(
    root: Path,
    song_ids=(2, 3, 4, 5, 6, 7),
    seconds: float = 4.0,
    audio_dir: str = "MEMD_audio",
    annotations_dir: str = "annotations/annotations averaged per song/song_level",
    suffix: str = ".mp3",
) -> Path:
    """A tiny DEAM-layout tree with tones as audio and the real CSV header quirks."""
    rng = np.random.default_rng(0)
    lines = [STATIC_HEADER]
    for song_id in song_ids:
        write_tone(root / audio_dir / f"{song_id}{suffix}", seconds, 110.0 * (1 + song_id % 5))
        v, a = rng.uniform(2, 8, size=2)
        lines.append(f"{song_id},{v:.1f},1.2,{a:.1f},1.4")
    static = root / annotations_dir
    static.mkdir(parents=True, exist_ok=True)
    (static / "static_annotations_averaged_songs_1_2000.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def tiny_tree(tmp_path) -> Path:
    return make_tree(tmp_path / "deam")


@pytest.fixture
def torch_one_thread():
    """Run a test single-threaded: tiny batches gain nothing from a second thread, and on a
    busy machine threads waiting for each other make them many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_book(tmp_path_factory) -> Path:
    """The tiny synthetic book (``make book`` with :data:`books.QUICK` in a copy of the repository), built
    once per session.  A test that changes it works on its own copy (:func:`books.copy_book`)."""
    repo = copy_repo(tmp_path_factory.mktemp("tiny-book") / "repo")
    make(repo, "book", *QUICK)
    return repo
