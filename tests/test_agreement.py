"""DEAM's static labels against its 2 Hz curves, per dimension: crossed files are found, reported with their
correlations and file names, and keep Phase 4's baseline off the static labels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DEAM_SAMPLE, STATIC_HEADER

from mer_utils.phase4.agreement import MIN_SONGS, static_curve_agreement

DYNAMIC = "annotations/annotations averaged per song/dynamic (per second annotations)"


def tree_with_curves(root, n_songs: int, crossed: bool):
    """A DEAM-layout tree (no audio: the check reads labels only) whose curves follow the static labels, or each
    other's."""
    rng = np.random.default_rng(1)
    static = pd.DataFrame({"song_id": range(2, 2 + n_songs), "valence": rng.uniform(2, 8, n_songs),
                           "arousal": rng.uniform(2, 8, n_songs)})
    folder = root / "annotations/annotations averaged per song/song_level"
    folder.mkdir(parents=True)
    lines = [STATIC_HEADER] + [f"{r.song_id}, {r.valence:.2f}, 1.2, {r.arousal:.2f}, 1.4" for r in static.itertuples()]
    (folder / "static_annotations_averaged_songs_1_2000.csv").write_text("\n".join(lines) + "\n")
    (root / DYNAMIC).mkdir(parents=True)
    for dimension in ("valence", "arousal"):
        source = {"valence": "arousal", "arousal": "valence"}[dimension] if crossed else dimension
        rows = ["song_id,sample_15000ms,sample_15500ms,sample_16000ms"]
        for r in static.itertuples():
            level = (getattr(r, source) - 5) / 4
            rows.append(f"{r.song_id}," + ",".join(f"{level + rng.normal(0, 0.05):.3f}" for _ in range(3)))
        (root / DYNAMIC / f"{dimension}.csv").write_text("\n".join(rows) + "\n")
    return root


def test_curves_that_follow_their_own_static_dimension_agree(tmp_path):
    agreement = static_curve_agreement(tree_with_curves(tmp_path, 40, crossed=False))
    assert agreement.songs == 40 and not agreement.crossed
    assert agreement.r("valence", "valence") > 0.9 and "name the same dimensions" in agreement.sentence()


def test_crossed_files_are_found_and_reported_with_their_correlations_and_file_names(tmp_path):
    agreement = static_curve_agreement(tree_with_curves(tmp_path, 40, crossed=True))
    assert agreement.crossed and agreement.r("valence", "arousal") > 0.9
    sentence = agreement.sentence()
    assert "crossed dimensions" in sentence and "static_annotations_averaged_songs_1_2000.csv" in sentence
    assert "valence.csv" in sentence and "refit on the curves' own song means" in sentence


def test_too_few_songs_with_both_labels_give_no_verdict(tmp_path):
    agreement = static_curve_agreement(tree_with_curves(tmp_path, MIN_SONGS - 1, crossed=True))
    assert not agreement.crossed and "too few to check" in agreement.sentence()


def test_the_real_format_deam_sample_has_its_dimensions_crossed_as_its_readme_measured():
    if not (DEAM_SAMPLE / "annotations").is_dir():
        pytest.skip(f"the real-format DEAM sample is not at {DEAM_SAMPLE}")
    agreement = static_curve_agreement(DEAM_SAMPLE)
    assert agreement.songs == 744 and agreement.crossed
    assert round(agreement.r("valence", "arousal"), 3) == 0.956 and round(agreement.r("arousal", "valence"), 2) == 0.95
    assert round(agreement.r("valence", "valence"), 3) == 0.575
