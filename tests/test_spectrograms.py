"""Smoke tests of mer_utils.spectrograms: the log-mel chunk cache of Phase 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils.corpus.deam import load_corpus
from mer_utils.corpus.split import song_split
from mer_utils.phase2 import logmel as spectrograms
from mer_utils.phase2 import narrative
from mer_utils.phase2.datasets import ChunkDataset, split_datasets
from mer_utils.phase2.logmel import build_chunk_cache, logmel_chunks

SR = 22050
STATIC = "annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv"
GOOD = list(range(2, 11))  # nine songs of 7 s: two chunks each
SHORT, CORRUPT = 11, 12


def write_tiny_deam(root, seconds: float = 7.0):
    """A DEAM-layout tree: nine 7-second clips (one as MP3), one 2-second clip and one corrupt MP3."""
    audio_dir = root / "MEMD_audio"
    audio_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for song_id in GOOD + [SHORT]:
        length = 2.0 if song_id == SHORT else seconds
        t = np.arange(int(length * SR)) / SR
        audio = 0.3 * np.sin(2 * np.pi * (110 * song_id) * t) + 0.01 * rng.standard_normal(t.size)
        suffix = ".mp3" if song_id == 2 else ".wav"
        sf.write(audio_dir / f"{song_id}{suffix}", audio.astype(np.float32), SR)
        rows.append((song_id, 3 + song_id / 4, 1.0, 6 - song_id / 5, 1.2))
    (audio_dir / f"{CORRUPT}.mp3").write_bytes(b"this is not an mp3 file at all " * 40)
    rows.append((CORRUPT, 5.0, 1.0, 5.0, 1.0))
    static = root / STATIC
    static.parent.mkdir(parents=True)
    lines = ["song_id, valence_mean, valence_std, arousal_mean, arousal_std"]
    lines += [f"{i}, {v}, {vs}, {a}, {as_}" for i, v, vs, a, as_ in rows]
    static.write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = write_tiny_deam(tmp_path_factory.mktemp("deam"))
    corpus = load_corpus(root)
    cache_dir = tmp_path_factory.mktemp("cache")
    cache = build_chunk_cache(corpus, cache_dir, n_jobs=1, progress=False)
    return corpus, cache, cache_dir


def test_logmel_chunks_shape_and_dropped_tail():
    audio = np.random.default_rng(1).standard_normal(int(6.5 * SR)).astype(np.float32) * 0.1
    chunks = logmel_chunks(audio)
    assert chunks.shape == (2, 128, 128)  # 6.5 s -> two 3 s chunks, the last 0.5 s dropped
    assert chunks.dtype == np.float16
    assert np.isfinite(chunks.astype(np.float32)).all()
    assert logmel_chunks(audio[: 3 * SR - 1]).shape == (0, 128, 128)


def test_louder_chunk_has_higher_decibels():
    """A fixed dB reference keeps absolute level (ref=np.max would not)."""
    audio = np.random.default_rng(2).standard_normal(3 * SR).astype(np.float32) * 0.05
    quiet, loud = logmel_chunks(audio)[0], logmel_chunks(audio * 10)[0]
    assert float(loud.astype(np.float32).mean() - quiet.astype(np.float32).mean()) == pytest.approx(20, abs=0.5)


def test_cache_array_and_index(built):
    corpus, cache, _ = built
    array = cache.array()
    assert isinstance(array, np.memmap)
    assert array.shape == (2 * len(GOOD), 128, 128)
    assert list(cache.index.columns) == ["row", "song_id", "chunk", "start_s"]
    assert sorted(cache.index["song_id"].unique()) == GOOD
    assert (cache.index.groupby("song_id")["chunk"].apply(list) == pd.Series({i: [0, 1] for i in GOOD})).all()
    assert cache.index["start_s"].tolist()[:2] == [0.0, 3.0]
    assert cache.index["row"].tolist() == list(range(len(cache.index)))


def test_short_and_corrupt_clips_are_reported_not_chunked(built):
    _, cache, _ = built
    assert cache.too_short_ids == [SHORT]
    assert cache.corrupt_ids == [CORRUPT]
    assert SHORT not in set(cache.index["song_id"]) and CORRUPT not in set(cache.index["song_id"])
    assert "2.00 s" in cache.skipped.set_index("song_id").loc[SHORT, "reason"]


def test_second_call_reuses_the_cache(built):
    corpus, cache, cache_dir = built
    mtime = cache.array_path.stat().st_mtime_ns
    again = build_chunk_cache(corpus, cache_dir, n_jobs=1, progress=False)
    assert again.reused and again.folder == cache.folder
    assert again.array_path.stat().st_mtime_ns == mtime
    assert again.corrupt_ids == [CORRUPT] and again.too_short_ids == [SHORT]
    pd.testing.assert_frame_equal(again.index, cache.index)


def test_other_settings_get_another_folder(built):
    corpus, cache, cache_dir = built
    assert spectrograms.cache_folder(corpus, cache_dir, {"top_db": 60.0}) != cache.folder


def test_interrupted_build_resumes(tmp_path, monkeypatch):
    corpus = load_corpus(write_tiny_deam(tmp_path / "deam"))
    folder = spectrograms.cache_folder(corpus, tmp_path / "cache")
    settings = dict(spectrograms.DEFAULT_SETTINGS)
    spectrograms._song_job(
        3, corpus.songs.loc[3, "audio_path"], str(folder / "parts"), settings
    )  # done before the "crash"
    called = []
    real = spectrograms._song_job
    monkeypatch.setattr(spectrograms, "_song_job", lambda i, *a: called.append(i) or real(i, *a))
    cache = build_chunk_cache(corpus, tmp_path / "cache", n_jobs=1, progress=False)
    assert 3 not in called and len(called) == len(corpus.songs) - 1
    assert 3 in set(cache.index["song_id"])
    assert not (folder / "parts").exists()


def test_datasets_keep_songs_on_one_side(built):
    corpus, cache, _ = built
    split = song_split(corpus.song_ids, seed=3)
    datasets, scaler, stats = split_datasets(cache, corpus, split, "valence_mean", seed=3)
    sides = {part: set(ds.frame["song_id"]) for part, ds in datasets.items()}
    assert not (sides["train"] & sides["validation"]) and not (sides["train"] & sides["test"])
    assert not (sides["validation"] & sides["test"])
    x, y = datasets["train"][0]
    assert tuple(x.shape) == (1, 128, 128) and str(x.dtype) == "torch.float32"
    assert tuple(y.shape) == (1,)
    # the label scaler is fit on training chunks only: they average to zero
    assert np.mean(datasets["train"].y) == pytest.approx(0, abs=1e-6)
    assert stats[1] > 0


def test_dataset_reads_lazily_and_caps_chunks(built):
    corpus, cache, _ = built
    labels = corpus.songs[["valence_mean"]]
    from mer_utils.training.loop import fit_target_scaler

    scaler = fit_target_scaler(labels.to_numpy())
    dataset = ChunkDataset(cache, GOOD, labels, scaler, (0.0, 1.0), max_chunks=5, seed=0)
    assert len(dataset) == 5 and dataset._array is None  # nothing read before the first item
    x, _ = dataset[4]
    assert isinstance(dataset._array, np.memmap)
    row = dataset.frame["row"].iloc[4]
    assert np.allclose(x[0].numpy(), cache.array()[row].astype(np.float32))


def test_a_corpus_heard_at_a_few_chunks_per_song_keeps_them_spread_over_each_song_in_every_part(built):
    import dataclasses

    from mer_utils.phase3.embeddings import spread_indices

    corpus, cache, _ = built
    sparse = dataclasses.replace(corpus, chunks_per_song=1)  # the clips hold 2 chunks each
    split = song_split(corpus.song_ids, seed=3)
    datasets, _, _ = split_datasets(cache, sparse, split, "valence_mean", seed=3)
    every, _, _ = split_datasets(cache, corpus, split, "valence_mean", seed=3)
    assert max(len(ds) for ds in every.values()) > max(len(ds) for ds in datasets.values()), "some songs were thinned"
    for part, dataset in datasets.items():
        for song, chunks in dataset.frame.groupby("song_id")["chunk"]:
            all_chunks = every[part].frame.loc[every[part].frame["song_id"] == song, "chunk"].to_numpy()
            assert list(chunks) == list(all_chunks[spread_indices(len(all_chunks), 1)]), (part, song)


# --------------------------------------------------------------------------- the Phase 2 pages' sentences


def test_the_cache_note_names_the_skipped_clips_and_the_best_epoch_note_says_whether_training_stopped_early(built):
    _, cache, _ = built
    note = narrative.chunk_cache_note(cache)
    assert f"1 corrupt clip(s) skipped: [{CORRUPT}]" in note and f"shorter than 3 s skipped: [{SHORT}]" in note
    history = pd.DataFrame({"epoch": [1, 2, 3]})
    history.attrs.update(best_epoch=2, epochs_run=3, stopped_early=True)
    assert narrative.best_epoch_note(history) == "Best epoch 2 of 3 run (stopped early)."
    history.attrs["stopped_early"] = False
    assert narrative.best_epoch_note(history) == "Best epoch 2 of 3 run."
