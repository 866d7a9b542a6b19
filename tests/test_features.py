"""The 386 handcrafted features and their cache."""

import json
import os

import numpy as np
import pandas as pd
from conftest import make_tree

from mer_utils.corpus.audio import load_audio
from mer_utils.corpus.deam import load_corpus
from mer_utils.phase1 import narrative
from mer_utils.phase1.features import FAMILIES, extract_features, feature_family, feature_names, song_features


def test_names_match_the_report():
    names = feature_names()
    assert len(names) == 386 and len(set(names)) == 386
    for name in ("mfcc_1_mean", "mfcc_2_mean", "contrast_2_mean", "chroma_4_mean", "tonnetz_6_std", "mel_100_mean"):
        assert name in names
    assert {feature_family(n) for n in names} == set(FAMILIES)


def test_real_clip_gives_finite_features(deam_sample):
    values = song_features(load_audio(deam_sample / "MEMD_audio" / "3.mp3", 22050))
    assert values.shape == (386,) and np.isfinite(values).all()
    assert values.std() > 0


def test_louder_brighter_tone_moves_the_expected_features():
    sr = 22050
    t = np.arange(3 * sr) / sr
    low = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    high = (0.5 * np.sin(2 * np.pi * 3520 * t)).astype(np.float32)
    names = feature_names()
    f_low, f_high = song_features(low), song_features(high)
    assert f_high[names.index("mfcc_1_mean")] > f_low[names.index("mfcc_1_mean")]  # energy
    assert f_high[names.index("mel_110_mean")] > f_low[names.index("mel_110_mean")]  # a high band


def test_extraction_caches_skips_corrupt_and_resumes(tmp_path):
    root = make_tree(tmp_path / "deam", song_ids=(2, 3, 4, 5))
    (root / "MEMD_audio" / "5.mp3").write_bytes(b"garbage" * 50)
    corpus = load_corpus(root)
    table = extract_features(corpus, tmp_path / "cache", n_jobs=1, progress=False)
    assert list(table.frame.index) == [2, 3, 4]
    assert list(table.skipped["song_id"]) == [5] and "5.mp3" in table.skipped["reason"].iloc[0]
    assert list(table.frame.columns) == feature_names()
    assert (table.folder / "features.csv").exists()
    cached = sorted(table.folder.glob("*.npy"))
    assert len(cached) == 3
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    cached[0].unlink()  # an interrupted run: one song missing
    again = extract_features(corpus, tmp_path / "cache", n_jobs=1, progress=False)
    assert np.allclose(again.frame.to_numpy(), table.frame.to_numpy())
    for path in cached[1:]:
        assert path.stat().st_mtime_ns == stamps[path], "a finished song was recomputed"
    assert not list(table.folder.glob(".*tmp*")), "a temporary file was left behind"


def test_a_song_cache_rewrites_its_settings_file_only_when_they_change(tmp_path):
    from mer_utils.cache import SongCache

    folder = tmp_path / "blocks-abc"
    SongCache(folder, {"sr": 22050, "version": 1})
    settings = folder / "settings.json"
    os.utime(settings, ns=(1_000_000_000, 1_000_000_000))
    SongCache(folder, {"version": 1, "sr": 22050})  # the same settings: a resumed run leaves the file alone
    assert settings.stat().st_mtime_ns == 1_000_000_000
    SongCache(folder, {"sr": 16000, "version": 1})
    assert json.loads(settings.read_text()) == {"sr": 16000, "version": 1}


# --------------------------------------------------------------------------- the Phase 1 pages' sentences


def test_skew_is_symmetric_below_the_threshold_and_names_the_longer_tail_above():
    assert narrative.skew_shape(narrative.SYMMETRIC_SKEW - 0.01) == "close to symmetric"
    assert narrative.skew_shape(-(narrative.SYMMETRIC_SKEW - 0.01)) == "close to symmetric"
    assert narrative.skew_shape(narrative.SYMMETRIC_SKEW).startswith("skewed to the right")
    assert narrative.skew_shape(-narrative.SYMMETRIC_SKEW).startswith("skewed to the left")


def test_phase1_findings_report_the_validation_pick_and_never_a_test_pick():
    table = pd.DataFrame(
        [
            {"model": "Ridge", "target": t, "validation_r2": 0.5, "test_r2": 0.1}
            for t in ("valence_mean", "arousal_mean")
        ]
        + [
            {"model": "SVR", "target": t, "validation_r2": 0.4, "test_r2": 0.6}
            for t in ("valence_mean", "arousal_mean")
        ]
    )
    text = narrative.phase1_model_findings(table)
    assert "the model chosen on validation is **Ridge** (validation R² 0.500, test R² 0.100)" in text
    assert "SVR" not in text and "on test would have been" not in text
