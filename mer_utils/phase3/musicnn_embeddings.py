"""musicnn song embeddings of a corpus: patches embedded in batches, cached per song like CNN14's.

Used by: ``notebooks/real_music.py`` (through :mod:`mer_utils.realmusic.representations`); Phase 3
can call it the same way for a second backbone.

:class:`mer_utils.phase3.musicnn.MusicnnEmbedder` embeds one clip; this module
does it for every song of a corpus, with the same cache and the same report of
skipped clips as :func:`mer_utils.phase3.embeddings.embed_corpus`.  A clip is
decoded to mono at 16 kHz, turned into musicnn's log-mel patches (187 frames,
about 3 s, consecutive and without overlap) and each patch into the 200-d
output of the penultimate dense layer before its ReLU (the layer Essentia's
DEAM models read); a song's embedding is the mean of its patches.  A clip
shorter than one patch, or one that cannot be decoded, gets a skip record with
the reason and is left out.

The cache is a :class:`mer_utils.cache.SongCache` under
``<cache_dir>/musicnn/<key>``, one ``(n_patches, 200)`` float32 ``.npy`` per
song; the key covers the corpus, the front-end settings, the precision and the
weights file's sha256, so other weights never reuse these vectors.  The result
is an :class:`mer_utils.phase3.embeddings.EmbeddingSet`, as for CNN14.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import SongCache, settings_key, write_csv_atomic
from ..corpus.audio import decoded_ahead, load_audio
from ..errors import AudioReadError, MerError
from ..training.runtime import DEFAULT_JOBS
from .embeddings import FRAMES_PER_SEGMENT, EmbeddingSet, plan_embedding, read_cached_songs, save_song, todo_songs
from .musicnn import EMBEDDING_DIM, HOP, PATCH_FRAMES, SR, MusicnnEmbedder, audio_patches, load_musicnn, weights_path

log = logging.getLogger(__name__)

CACHE_VERSION = 1
DEFAULT_BATCH = 16  # patches per forward pass of one worker
PATCH_SECONDS = (PATCH_FRAMES - 1) * HOP / SR  # 2.99 s of audio per patch


def musicnn_settings(precision: str) -> dict:
    """What the embeddings depend on besides the weights (part of the cache key)."""
    return {"sr": SR, "patch_frames": PATCH_FRAMES, "hop_frames": PATCH_FRAMES, "segment_seconds": PATCH_SECONDS,
            "precision": precision, "output": "dense (before ReLU), mean over patches"}


def embed_corpus_musicnn(corpus, cache_dir, weights=None, batch_size: int | None = None, n_threads: int | None = None,
                         precision: str | None = None, progress: bool = True, keep_frames: bool = False) -> EmbeddingSet:
    """musicnn embeddings of every song of ``corpus`` (``songs`` indexed by integer id, with ``audio_path``).

    ``weights``: the ``.h5`` file (``None``: :func:`mer_utils.phase3.musicnn.weights_path`);
    a missing or foreign file raises :class:`MerError` saying how to get it.
    ``precision``: ``"float32"`` (default, the reference), ``"bfloat16"`` or ``"auto"``.
    The next clips are decoded in a background thread while the network runs.
    ``keep_frames``: also keep each song's 0.5 s frame embeddings, from the same forward passes, as CNN14's
    (:func:`mer_utils.phase3.embeddings.embed_corpus`; the song embeddings do not change).
    """
    from tqdm import tqdm

    path = weights_path(weights)
    model = load_musicnn(path, precision=precision or "float32")
    embedder = MusicnnEmbedder(model, batch_size=batch_size or DEFAULT_BATCH, n_threads=n_threads or DEFAULT_JOBS)
    settings = musicnn_settings(model.precision)
    identity = {"weights": path.name, "sha256": model.sha256}
    key = settings_key(version=CACHE_VERSION, data=corpus.name, root=str(Path(corpus.root).resolve()),
                       settings=settings, backbone=identity)
    folder = Path(cache_dir) / "musicnn" / key
    store = SongCache(folder, {"version": CACHE_VERSION, "data": corpus.name, "root": str(corpus.root),
                               "settings": settings, "backbone": {**identity, "path": str(path)}})
    songs = [(int(i), str(p)) for i, p in zip(corpus.songs.index, corpus.songs["audio_path"])]
    paths = dict(songs)
    todo = todo_songs(store, corpus.songs, keep_frames)
    reused = len(songs) - len(todo)
    ahead = plan_embedding("musicnn embeddings", "musicnn", todo, len(songs), folder, SR)

    def decode(item):
        song_id, audio_path = item
        try:
            return song_id, audio_patches(load_audio(audio_path, sr=SR), name=audio_path), None
        except AudioReadError as exc:
            return song_id, None, ("too short" if "shorter than one" in str(exc) else "corrupt", str(exc))

    start, audio_seconds = time.perf_counter(), 0.0
    bar = tqdm(total=len(songs), initial=reused, desc="musicnn embeddings", unit="song", disable=not progress,
               mininterval=1.0)
    for _, decoded in decoded_ahead(decode, todo, ahead=ahead):  # decoding overlaps inference, within a budget
        song_id, patches, problem = decoded.result()
        if problem:
            store.skip(song_id, paths[song_id], *problem)
        else:
            if keep_frames:
                values, _, frames = embedder.run_patches_with_frames(patches, FRAMES_PER_SEGMENT)
            else:
                values, frames = embedder.run_patches(patches)[0], None
            save_song(store, song_id, paths[song_id], values, frames)
            audio_seconds += len(patches) * PATCH_SECONDS
        bar.update()
    bar.close()
    compute_seconds = time.perf_counter() - start if todo else 0.0

    skipped = store.skipped(corpus.songs)
    ids, rows, counts, files = read_cached_songs(store, songs, set(skipped["song_id"]), EMBEDDING_DIM,
                                                 "musicnn embedding")
    write_csv_atomic(folder / "skipped.csv", skipped)
    if not ids:
        raise MerError(f"no song of the corpus at {corpus.root} could be embedded by musicnn ({len(skipped)} clips "
                       f"skipped as corrupt or shorter than {PATCH_SECONDS:.2f} s). Check the audio files.")
    result = EmbeddingSet(
        folder=folder, song_ids=ids, songs=np.vstack(rows).astype(np.float32),
        n_segments=pd.Series(counts, index=pd.Index(ids, name="song_id"), name="segments"), skipped=skipped,
        settings=settings, backbone={"kind": "pretrained", "identity": f"musicnn-{model.sha256}", **identity},
        compute_seconds=compute_seconds, computed_audio_seconds=audio_seconds, reused_songs=reused, files=files,
        frame_seconds=PATCH_SECONDS / FRAMES_PER_SEGMENT if keep_frames else None,
    )
    log.info(result.describe())
    return result
