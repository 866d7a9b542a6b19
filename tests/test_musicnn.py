"""musicnn in PyTorch: the port reproduces Essentia's outputs, the front end cuts clips as musicnn does,
and bad inputs fail with errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FETCH_MUSICNN, MUSICNN_WEIGHTS

from mer_utils.errors import AudioReadError, MerError
from mer_utils.phase3 import musicnn

SHARED_WEIGHTS = Path(__file__).resolve().parents[1].parent / "shared" / "weights"
MSD_H5 = SHARED_WEIGHTS / "MSD_musicnn.h5"
REFERENCE = SHARED_WEIGHTS / "musicnn-reference"


@pytest.fixture(scope="module")
def msd_model():
    if not MUSICNN_WEIGHTS.exists():
        pytest.skip(FETCH_MUSICNN)
    return musicnn.load_musicnn(MUSICNN_WEIGHTS, precision="float32")


@pytest.fixture(scope="module")
def reference():
    names = ("patches.npy", "dense_preactivation.npy", "tags_sigmoid.npy")
    if not all((REFERENCE / name).is_file() for name in names):
        pytest.skip(f"the Essentia reference outputs are not in {REFERENCE} (they live in ../shared/weights)")
    return {name.removesuffix(".npy"): np.load(REFERENCE / name) for name in names}


def test_the_port_matches_essentias_embedding_and_tags_to_1e_4_in_float32(msd_model, reference):
    embedder = musicnn.MusicnnEmbedder(msd_model, batch_size=18, n_threads=1)
    embedding, tags = embedder.run_patches(reference["patches"])
    assert embedding.shape == (18, musicnn.EMBEDDING_DIM) and tags.shape == (18, musicnn.N_TAGS)
    assert np.abs(embedding - reference["dense_preactivation"]).max() < 1e-4
    assert np.abs(tags - reference["tags_sigmoid"]).max() < 1e-4


def test_the_loaded_model_knows_its_weights_and_tag_names(msd_model):
    from mer_utils.phase3.musicnn_wheel import DATA_SHA256

    assert msd_model.sha256 == DATA_SHA256["MSD_musicnn"]
    assert msd_model.tag_names[:3] == ("rock", "pop", "alternative") and len(msd_model.tag_names) == musicnn.N_TAGS
    assert not msd_model.training
    if MSD_H5.is_file():  # the same network as musicnn_keras saved it
        assert musicnn.verify_sha256(MSD_H5) == musicnn.MSD_MUSICNN_SHA256
        assert musicnn.load_musicnn(MSD_H5).sha256 == musicnn.MSD_MUSICNN_SHA256


def test_the_front_end_gives_one_frame_per_hop_and_cuts_whole_non_overlapping_patches():
    seconds = 10.0
    audio = 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * musicnn.SR)) / musicnn.SR).astype(np.float32)
    spectrogram = musicnn.log_mel(audio)
    assert spectrogram.shape == (1 + len(audio) // musicnn.HOP, musicnn.N_MELS)  # centred frames
    assert spectrogram.dtype == np.float32 and np.isfinite(spectrogram).all() and spectrogram.min() >= 0
    patches = musicnn.cut_patches(spectrogram)
    assert patches.shape == (spectrogram.shape[0] // musicnn.PATCH_FRAMES, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    np.testing.assert_array_equal(patches[1], spectrogram[musicnn.PATCH_FRAMES : 2 * musicnn.PATCH_FRAMES])
    assert musicnn.cut_patches(spectrogram, hop_frames=93).shape[0] == (spectrogram.shape[0] - 187) // 93 + 1


def test_the_front_end_reproduces_the_reference_patches_from_the_decoded_clip(reference):
    clip = Path(__file__).resolve().parents[1].parent / "shared" / "deam-sample" / "MEMD_audio" / "10.mp3"
    if not clip.is_file():
        pytest.skip(f"the DEAM sample clip {clip} is not there (it lives in ../shared beside the repo)")
    from mer_utils.corpus.audio import load_audio

    spectrogram = musicnn.log_mel(load_audio(clip, sr=musicnn.SR))  # names.txt: patches 0-2 are 10.mp3 @ 0, 400, 1200
    for row, start in enumerate((0, 400, 1200)):
        patch = spectrogram[start : start + musicnn.PATCH_FRAMES]
        assert np.abs(patch - reference["patches"][row]).max() < 1e-4


def test_a_clip_shorter_than_one_patch_is_refused_naming_the_clip():
    too_short = np.zeros((musicnn.PATCH_FRAMES - 2) * musicnn.HOP, dtype=np.float32)
    with pytest.raises(AudioReadError, match="song_42.mp3.*shorter than one musicnn patch"):
        musicnn.audio_patches(too_short, name="song_42.mp3")
    just_enough = np.zeros((musicnn.PATCH_FRAMES - 1) * musicnn.HOP, dtype=np.float32)
    assert musicnn.audio_patches(just_enough).shape == (1, musicnn.PATCH_FRAMES, musicnn.N_MELS)


def test_a_corrupt_weights_file_gives_a_mer_error_naming_the_file_and_the_fix(tmp_path):
    corrupt = tmp_path / "MSD_musicnn.h5"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MerError, match="MSD_musicnn.h5.*make weights") as error:
        musicnn.load_musicnn(corrupt)
    assert str(corrupt) in str(error.value) and musicnn.WEIGHTS_ENV in str(error.value)
    with pytest.raises(MerError, match="sha256"):
        musicnn.verify_sha256(corrupt)


def test_a_missing_weights_file_gives_a_mer_error_naming_the_file_and_the_address(tmp_path):
    missing = tmp_path / "nowhere" / "MSD_musicnn.h5"
    with pytest.raises(MerError, match="no musicnn weights file") as error:
        musicnn.load_musicnn(missing)
    assert str(missing) in str(error.value) and musicnn.MSD_MUSICNN_URL in str(error.value)


def test_an_hdf5_file_that_is_not_musicnn_gives_a_mer_error(tmp_path):
    import h5py

    foreign = tmp_path / "other_model.h5"
    with h5py.File(foreign, "w") as handle:
        handle.attrs["model_config"] = '{"config": {"layers": []}}'
        handle.create_dataset("model_weights/dense/kernel", data=np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(MerError, match="other_model.h5.*not a musicnn Keras model"):
        musicnn.load_musicnn(foreign)


def test_the_musicnn_weights_knob_chooses_the_default_file(monkeypatch, tmp_path):
    from mer_utils.phase3.musicnn_wheel import checkpoint_dir

    monkeypatch.setenv(musicnn.WEIGHTS_ENV, str(tmp_path / "mine.h5"))
    assert musicnn.weights_path() == tmp_path / "mine.h5"
    assert musicnn.weights_path("given.h5") == Path("given.h5")
    monkeypatch.delenv(musicnn.WEIGHTS_ENV)
    assert musicnn.weights_path() == checkpoint_dir("MSD_musicnn")


def test_a_song_embedding_is_the_mean_of_its_patch_embeddings(msd_model):
    embedder = musicnn.MusicnnEmbedder(msd_model, batch_size=4, n_threads=1)
    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal(int(7 * musicnn.SR))).astype(np.float32)  # 7 s -> 2 patches
    patches = embedder.embed_audio(audio, name="noise")
    assert patches.shape == (2, musicnn.EMBEDDING_DIM)
    np.testing.assert_allclose(musicnn.song_embedding(patches), patches.mean(axis=0))


def test_patches_are_shared_among_the_workers_in_order_and_the_callers_thread_count_is_restored(msd_model):
    import torch

    assert musicnn.patch_chunks(15, 16, 2) == [slice(0, 8), slice(8, 15)]
    assert musicnn.patch_chunks(40, 16, 2) == [slice(0, 16), slice(16, 32), slice(32, 40)]
    assert musicnn.patch_chunks(1, 16, 2) == [slice(0, 1)]
    patches = np.random.default_rng(2).uniform(0, 3, size=(5, musicnn.PATCH_FRAMES, musicnn.N_MELS)).astype(np.float32)
    before = torch.get_num_threads()
    parallel, _ = musicnn.MusicnnEmbedder(msd_model, batch_size=2, n_threads=2).run_patches(patches)
    assert torch.get_num_threads() == before
    serial, _ = musicnn.MusicnnEmbedder(msd_model, batch_size=5, n_threads=1).run_patches(patches)
    np.testing.assert_allclose(parallel, serial, rtol=1e-5, atol=1e-5)  # float32 matrix products of other batch shapes


def test_the_log_mel_is_librosas_melspectrogram_to_float_rounding():
    import librosa

    rng = np.random.default_rng(1)
    audio = (0.3 * rng.standard_normal(5 * musicnn.SR + 123)).astype(np.float32)
    theirs = librosa.feature.melspectrogram(y=audio, sr=musicnn.SR, n_fft=musicnn.N_FFT, hop_length=musicnn.HOP,
                                            n_mels=musicnn.N_MELS, pad_mode="constant")
    expected = np.log10(1.0 + 10000.0 * theirs).T
    ours = musicnn.log_mel(audio)
    assert ours.shape == expected.shape and np.abs(ours - expected).max() < 1e-4


def test_the_mel_filter_bank_is_librosas_bit_for_bit():
    import librosa

    theirs = librosa.filters.mel(sr=musicnn.SR, n_fft=musicnn.N_FFT, n_mels=musicnn.N_MELS)
    assert np.array_equal(musicnn.mel_filters(), theirs.astype(np.float32))


def test_the_float32_timbral_layers_through_the_dft_give_the_direct_convolution_to_float_rounding(msd_model):
    import torch
    import torch.nn.functional as F

    patches = np.random.default_rng(3).uniform(0, 4, size=(3, musicnn.PATCH_FRAMES, musicnn.N_MELS)).astype(np.float32)
    with torch.no_grad():
        x = msd_model.input_norm(torch.from_numpy(patches))
        for block in msd_model.timbral:
            padded = F.pad(x, (0, 0, *block.time_padding)).contiguous()
            exact = F.conv2d(padded[:, None].double(), block.weight.double()).amax(dim=3)  # float64, the library's
            scale = float(exact.abs().max())
            spectral = block.conv_max(padded)  # float32 on the CPU: through the DFT of the mel axis
            assert spectral.shape == exact.shape == (3, musicnn.TIMBRAL_FILTERS, musicnn.PATCH_FRAMES)
            assert float((spectral.double() - exact).abs().max()) < 2e-6 * scale
            assert float((block.conv_max_strided(padded).double() - exact).abs().max()) < 2e-6 * scale
            block.weight.mul_(2.0)  # new weights: the transformed ones are computed again
            assert torch.allclose(block.conv_max(padded), 2 * spectral, rtol=1e-5, atol=1e-5 * scale)
            block.weight.div_(2.0)


def test_song_patches_compute_only_the_patches_asked_for_and_all_of_them_as_audio_patches():
    rng = np.random.default_rng(4)
    audio = (0.2 * rng.standard_normal(31 * musicnn.SR)).astype(np.float32)
    every = musicnn.audio_patches(audio, name="noise")
    patches = musicnn.SongPatches(audio, name="noise")
    assert len(patches) == len(every) == 10
    np.testing.assert_array_equal(np.asarray(patches), every)
    heard = np.array([1, 3, 6, 8])
    assert patches[heard].shape == (4, musicnn.PATCH_FRAMES, musicnn.N_MELS) and patches[5].shape == every[5].shape
    assert np.abs(patches[heard] - every[heard]).max() < 1e-5  # the mel product over other rows: float rounding
    with pytest.raises(AudioReadError, match="song_7.mp3.*shorter than one musicnn patch"):
        musicnn.SongPatches(audio[: musicnn.SR], name="song_7.mp3")
