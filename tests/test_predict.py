"""mer_utils.predict: the saved bundle and the `mer predict` command on real and generated audio."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import REPO

from mer_utils.phase3 import predict
from mer_utils.phase3.cnn14 import random_backbone
from mer_utils.phase3.embeddings import EMBEDDING_DIM, Embedder
from mer_utils.training.loop import fit_target_scaler
from mer_utils.training.mlp import MlpResult
from mer_utils.training.modelfile import build_model


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    """A bundle with a random CNN14 (seed 0) and an untrained EmotionMLP: enough to exercise every path."""
    from sklearn.preprocessing import StandardScaler

    backbone = random_backbone(seed=0)
    embedder = Embedder(backbone, n_threads=1, precision="float32")
    rng = np.random.default_rng(0)
    mlp = MlpResult(
        model=build_model("EmotionMLP", seed=0).eval(),
        feature_scaler=StandardScaler().fit(rng.random((20, EMBEDDING_DIM))),
        target_scaler=fit_target_scaler(rng.uniform(2, 8, size=(20, 2))),
        target_names=["valence_mean", "arousal_mean"],
        history=pd.DataFrame(),
        settings={"in_features": EMBEDDING_DIM, "outputs": 2},
    )
    path = tmp_path_factory.mktemp("bundle") / "models" / "emotion_mlp.pt"
    predict.save_bundle(path, mlp, backbone.info(), embedder.settings, extra={"data": "synthdeam"})
    return path


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Generated clips: stereo WAV, mono OGG, mono FLAC, plus a corrupt MP3 and a clip that is too short."""
    folder = tmp_path_factory.mktemp("songs")
    rng = np.random.default_rng(1)

    def tone(seconds, sr, freq, channels=1):
        t = np.arange(int(seconds * sr)) / sr
        mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.size)
        return np.stack([mono, np.roll(mono, 50)], axis=1) if channels == 2 else mono

    paths = {
        "wav": folder / "stereo.wav",
        "ogg": folder / "mono.ogg",
        "flac": folder / "mono.flac",
        "corrupt": folder / "broken.mp3",
        "short": folder / "short.wav",
    }
    sf.write(paths["wav"], tone(7.0, 44100, 220, channels=2).astype(np.float32), 44100)
    sf.write(paths["ogg"], tone(4.0, 22050, 330).astype(np.float32), 22050, format="OGG", subtype="VORBIS")
    sf.write(paths["flac"], tone(6.5, 48000, 440).astype(np.float32), 48000)
    paths["corrupt"].write_bytes(b"\xff\xfb not really an mp3 " * 50)
    sf.write(paths["short"], tone(2.0, 32000, 550).astype(np.float32), 32000)
    return paths


def run(argv, capsys):
    code = predict.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bundle_round_trip(bundle_path):
    bundle = predict.load_bundle(bundle_path)
    assert bundle.targets == ["valence_mean", "arousal_mean"]
    assert bundle.backbone["kind"] == "random" and bundle.backbone["seed"] == 0
    assert bundle.embedding["segment_seconds"] == 3.0 and bundle.embedding["precision"] == "float32"
    values = bundle.predict(np.zeros((3, EMBEDDING_DIM), dtype=np.float32))
    assert values.shape == (3, 2) and np.isfinite(values).all()


def test_good_files_are_predicted_and_bad_ones_reported(bundle_path, songs, capsys):
    files = [songs["wav"], songs["corrupt"], songs["ogg"], songs["short"], songs["flac"]]
    code, out, err = run([*files, "--model", bundle_path, "--threads", "1"], capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert "valence (1-9)" in lines[0] and "arousal (1-9)" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == [str(songs[k]) for k in ("wav", "ogg", "flac")]
    for line in lines[1:]:
        valence, arousal = map(float, line.split()[-2:])
        assert np.isfinite([valence, arousal]).all()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert str(songs["corrupt"]) in errors[0] and "corrupt" in errors[0]
    assert str(songs["short"]) in errors[1] and "shorter than one 3-second segment" in errors[1]
    assert "random weights" in err  # the note that this is no PANNs model


def test_csv_with_segments_parses(bundle_path, songs, capsys):
    code, out, err = run(
        [songs["wav"], songs["flac"], "--segments", "--format", "csv", "--model", bundle_path, "--threads", "1"], capsys
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["file", "level", "start_s", "end_s", "valence", "arousal"]
    wav = [r for r in rows if r["file"] == str(songs["wav"])]
    assert [r["level"] for r in wav] == ["song", "segment", "segment"]  # 7 s -> two 3-second segments
    assert [float(r["start_s"]) for r in wav[1:]] == [0.0, 3.0]
    assert float(wav[0]["end_s"]) == 6.0
    assert all(np.isfinite([float(r["valence"]), float(r["arousal"])]).all() for r in rows)


def test_json_parses_and_matches_the_table(bundle_path, songs, capsys):
    code, out, _ = run(
        [songs["ogg"], "--format", "json", "--segments", "--model", bundle_path, "--threads", "1"], capsys
    )
    assert code == 0
    results = json.loads(out)
    assert len(results) == 1 and results[0]["file"] == str(songs["ogg"])
    assert results[0]["segments"] == 1 and len(results[0]["curve"]) == 1
    assert set(results[0]["curve"][0]) == {"start_s", "end_s", "valence", "arousal"}
    code, table, _ = run([songs["ogg"], "--model", bundle_path, "--threads", "1"], capsys)
    valence, arousal = map(float, table.strip().splitlines()[1].split()[-2:])
    assert valence == pytest.approx(results[0]["valence"], abs=0.006)
    assert arousal == pytest.approx(results[0]["arousal"], abs=0.006)


def test_real_deam_clips(bundle_path, deam_sample, capsys):
    clips = sorted((deam_sample / "MEMD_audio").glob("*.mp3"))[:2]
    code, out, err = run([*clips, "--format", "csv", "--model", bundle_path, "--threads", "1"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"] for r in rows] == [str(c) for c in clips]
    assert all(float(r["end_s"]) >= 30 for r in rows)  # DEAM excerpts are 45 s: many segments each


def test_missing_model_says_to_build_the_book(tmp_path, songs, capsys):
    code, _, err = run([songs["wav"], "--model", tmp_path / "none.pt"], capsys)
    assert code == 1 and "make book" in err and "none.pt" in err


def test_usage_errors_exit_2(capsys):
    assert run([], capsys)[0] == 2
    assert run(["x.wav", "--format", "xml"], capsys)[0] == 2
    assert run(["--help"], capsys)[0] == 0


def test_command_line_exit_code(bundle_path, songs):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mer_utils",
            "predict",
            str(songs["flac"]),
            str(songs["corrupt"]),
            "--model",
            str(bundle_path),
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=300,
    )
    assert done.returncode == 1
    assert str(songs["flac"]) in done.stdout and str(songs["corrupt"]) in done.stderr
