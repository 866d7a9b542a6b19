"""The DEAM loader: the real sample files, unpacked variants and bad input."""

import numpy as np
import pytest
from conftest import STATIC_HEADER, make_tree

from mer_utils.corpus.audio import load_audio
from mer_utils.corpus.sources import corpus_for
from mer_utils.corpus.deam import find_audio, load_corpus, load_dynamic_annotations, load_static_annotations
from mer_utils.errors import AudioReadError, MerError


def test_real_sample_static_labels_match_published_statistics(deam_sample):
    labels = load_static_annotations(deam_sample)
    assert len(labels) == 1744
    assert list(labels.columns[:4]) == ["valence_mean", "valence_std", "arousal_mean", "arousal_std"]
    assert labels["valence_mean"].mean() == pytest.approx(4.90, abs=0.01)
    assert labels["arousal_mean"].std() == pytest.approx(1.29, abs=0.01)
    assert np.corrcoef(labels["valence_mean"], labels["arousal_mean"])[0, 1] == pytest.approx(0.59, abs=0.01)


def test_real_sample_reports_songs_without_audio(deam_sample, caplog):
    corpus = load_corpus(deam_sample)
    assert sorted(corpus.song_ids) == [2, 3, 4, 5, 7, 8, 10, 12, 13, 17]
    assert len(corpus.missing_audio) == 1744 - 10
    assert "1734 annotated songs have no audio" in caplog.text
    assert not corpus.is_synthetic


def test_real_sample_full_length_subset_has_stray_header_space(deam_sample):
    labels = load_static_annotations(deam_sample, "2000_2058")
    assert len(labels) == 58 and labels.index.min() == 2001
    both = load_static_annotations(deam_sample, "all")
    assert len(both) == 1744 + 58


def test_real_clip_decodes_to_45_seconds(deam_sample):
    audio = load_audio(deam_sample / "MEMD_audio" / "2.mp3", sr=22050)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size / 22050 == pytest.approx(45.0, abs=0.2)


def test_unpacked_variant_with_underscores_and_extra_level(tmp_path):
    root = make_tree(
        tmp_path / "DEAM",
        audio_dir="DEAM_audio/MEMD_audio",
        annotations_dir="DEAM_Annotations/annotations/annotations_averaged_per_song/song_level",
        suffix=".wav",
    )
    corpus = load_corpus(root)
    assert len(corpus.songs) == 6 and corpus.missing_audio == []


def test_dynamic_annotations_are_read_as_times(tmp_path):
    root = make_tree(tmp_path / "deam")
    folder = root / "annotations" / "annotations averaged per song" / "dynamic (per second annotations)"
    folder.mkdir(parents=True)
    (folder / "valence.csv").write_text(
        "song_id,sample_15000ms,sample_15500ms,sample_16000ms\n2,0.1,0.2,\n3,-0.5,-0.4,-0.3\n"
    )
    frame = load_dynamic_annotations(root, "valence")
    assert list(frame.columns) == [15.0, 15.5, 16.0]
    assert np.isnan(frame.loc[2, 16.0]) and frame.loc[3, 16.0] == pytest.approx(-0.3)


def test_missing_deam_dir_names_the_folder_and_the_fix(tmp_path):
    with pytest.raises(MerError, match="not a folder.*make data-deam"):
        load_corpus(tmp_path / "nowhere")
    with pytest.raises(MerError, match="DEAM_DIR is not set"):
        corpus_for("deam", "")


def test_missing_annotation_file_is_named(tmp_path):
    root = make_tree(tmp_path / "deam")
    next(root.rglob("static_annotations_averaged_songs_1_2000.csv")).unlink()
    with pytest.raises(MerError, match="static_annotations_averaged_songs_1_2000.csv"):
        load_corpus(root)


def test_nan_labels_name_file_and_song(tmp_path):
    root = make_tree(tmp_path / "deam")
    path = next(root.rglob("static_annotations_averaged_songs_1_2000.csv"))
    path.write_text(path.read_text().replace("\n4,", "\n4,,"), encoding="utf-8")
    path.write_text(STATIC_HEADER + "\n2,5.0,1.0,NaN,1.0\n3,4.0,1.0,4.0,1.0\n")
    with pytest.raises(MerError, match=r"static_annotations_averaged_songs_1_2000.csv.*song\(s\) 2"):
        load_corpus(root)


def test_labels_outside_scale_are_rejected(tmp_path):
    root = make_tree(tmp_path / "deam")
    path = next(root.rglob("static_annotations_averaged_songs_1_2000.csv"))
    path.write_text(STATIC_HEADER + "\n2,12.0,1.0,4.0,1.0\n")
    with pytest.raises(MerError, match="outside the 1..9 scale"):
        load_corpus(root)


def test_unknown_data_value_is_named():
    with pytest.raises(MerError, match="unknown DATA value 'dem'.*DATA=synth"):
        corpus_for("dem", ".")


def test_corrupt_and_empty_audio_raise_audio_errors(tmp_path):
    empty = tmp_path / "2.mp3"
    empty.write_bytes(b"")
    with pytest.raises(AudioReadError, match="empty"):
        load_audio(empty, 22050)
    garbage = tmp_path / "3.mp3"
    garbage.write_bytes(b"this is not audio" * 100)
    with pytest.raises(AudioReadError, match="3.mp3"):
        load_audio(garbage, 22050)


def test_audio_without_labels_is_reported(tmp_path):
    root = make_tree(tmp_path / "deam")
    from conftest import write_tone

    write_tone(root / "MEMD_audio" / "99.mp3", 2.0, 440.0)
    corpus = load_corpus(root)
    assert corpus.unlabelled_audio == [99]
    assert 99 not in corpus.song_ids
    assert sorted(find_audio(root)) == [2, 3, 4, 5, 6, 7, 99]


def test_resampling_gives_librosas_numbers_without_loading_librosas_resampler():
    import librosa

    from mer_utils.corpus.audio import resample

    rng = np.random.default_rng(0)
    for native, target, n in ((44100, 16000, 44100 * 3 + 17), (32000, 16000, 32001), (16000, 32000, 999)):
        audio = rng.standard_normal(n).astype(np.float32)
        ours = resample(audio, native, target)
        theirs = librosa.resample(audio, orig_sr=native, target_sr=target, res_type="soxr_hq")
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_the_downmix_is_numpys_mean_over_channels_bit_for_bit():
    from mer_utils.corpus.audio import downmix

    rng = np.random.default_rng(0)
    for channels in range(1, 12):
        frames = (rng.standard_normal((4099, channels)) * rng.uniform(1e-3, 10)).astype(np.float32)
        assert np.array_equal(downmix(frames), frames.mean(axis=1))
