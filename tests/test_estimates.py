"""The log line before each long step: what it will do and about how long it takes."""

from __future__ import annotations

import logging

import pytest
from conftest import write_tone

from mer_utils import estimates


def test_durations_read_in_the_unit_a_reader_expects():
    assert estimates.duration(40) == "about 40 s"
    assert estimates.duration(12 * 60) == "about 12 min"
    assert estimates.duration(2.3 * 3600) == "about 2.3 h"


def test_the_training_line_names_model_chunks_epochs_and_precision(caplog):
    with caplog.at_level(logging.INFO, logger="mer_utils.estimates"):
        line = estimates.announce_training("EmotionCNN", 15690, 15, "bfloat16", patience=10)
    assert line.startswith("Phase 2 training: EmotionCNN, 15,690 training chunks x at most 15 epochs; about ")
    mlp = estimates.announce_training("EmotionMLP", 320, 3, "float32")
    assert mlp.startswith("Training: EmotionMLP, 320 training rows x 3 epochs; about "), "an MLP is not Phase 2"
    assert line.endswith("on 2 CPU cores in bfloat16") and line in caplog.text
    minutes = 15690 * 15 / estimates.RATES["training"]["EmotionCNN"] / 60
    assert f"about {minutes:.0f} min" in line


def test_float32_is_estimated_slower_than_bfloat16():
    fast = estimates.announce_training("EmotionCNN_GRU", 60000, 50, "bfloat16")
    slow = estimates.announce_training("EmotionCNN_GRU", 60000, 50, "float32")
    hours = [float(line.split("about ")[1].split(" h")[0]) for line in (fast, slow)]
    assert hours[1] == pytest.approx(hours[0] * estimates.FLOAT32_SLOWDOWN, abs=0.1)
    assert "at most" not in fast, "without early stopping every epoch runs"


def test_a_one_thread_run_says_so_and_is_estimated_slower():
    both = estimates.announce_training("EmotionCNN", 60000, 50, "float32")
    one = estimates.announce_training("EmotionCNN", 60000, 50, "float32", threads=1)
    assert one.endswith("on 1 CPU thread in float32") and both.endswith("on 2 CPU cores in float32")
    hours = [float(line.split("about ")[1].split(" h")[0]) for line in (both, one)]
    assert hours[1] == pytest.approx(hours[0] / estimates.ONE_THREAD_SHARE, abs=0.1)


def test_audio_steps_state_songs_and_hours_of_audio():
    line = estimates.announce_audio("CNN14 embeddings", "cnn14", 1744, 1744 * 45.0)
    assert line.startswith("CNN14 embeddings: 1,744 songs, 21.8 h of audio; about ")


def test_clip_seconds_read_the_headers(tmp_path):
    paths = []
    for k, seconds in enumerate((3.0, 5.0)):
        paths.append(tmp_path / f"{k}.wav")
        write_tone(paths[-1], seconds, 220.0)
    assert estimates.clip_seconds(paths) == pytest.approx(8.0, abs=0.01)
    (tmp_path / "broken.mp3").write_bytes(b"not audio")
    assert estimates.clip_seconds([tmp_path / "broken.mp3"] * 3) == 3 * estimates.DEFAULT_CLIP_SECONDS
