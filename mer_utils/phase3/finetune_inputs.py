"""Fine-tuning's inputs: a corpus cut into the network's patches, and the frozen front end computed once.

Used by: ``notebooks/phase3_finetune.py`` (through :func:`mer_utils.phase3.finetune.finetune_backbone`);
tested by ``tests/test_finetune.py``.

Why apart from :mod:`.finetune`: what a network reads (every clip decoded at its rate
and cut as its embedder cuts it, :func:`corpus_inputs`; the frozen front end's output
per patch, kept in memory so every epoch and fold reuses it, :func:`front_end_features`)
is computed once per backbone, while the training around it runs once per fold and
kind.  Clips that cannot be decoded or are shorter than one patch are skipped and
listed, as in the embedding caches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..errors import AudioReadError, MerError
from .finetune_models import clip_inputs, sample_rate

FRONT_END_BATCH = 16  # patches per forward pass while caching the front end


@dataclass
class PatchSet:
    """Every patch of a corpus: the network's inputs, the song of each, and the clips that gave none."""

    name: str  # the backbone: musicnn or cnn14
    inputs: np.ndarray  # (patches, 187, 96) log-mel patches, or (patches, 96000) waveforms
    song_of: np.ndarray  # (patches,) song ids
    skipped: pd.DataFrame  # song_id, kind, reason
    seconds: float  # decoding and cutting

    @property
    def song_ids(self) -> list[int]:
        return sorted({int(i) for i in self.song_of})

    def counts(self) -> pd.DataFrame:
        """Patches per song as one row (count, mean, spread, range), as the embedding pages show segments."""
        per_song = pd.Series(self.song_of).value_counts()
        return pd.DataFrame({"patches per song": per_song.describe()}).T.round(1)


def corpus_inputs(corpus, name: str = "musicnn", n_jobs: int = 2, progress: bool = True) -> PatchSet:
    """Decode every clip of ``corpus`` at the network's rate and cut it into the network's inputs (:class:`PatchSet`).

    Decoding runs in ``n_jobs`` threads, a few clips ahead.  A clip that cannot
    be decoded or is shorter than one patch is skipped and listed, as in the
    embedding caches.
    """
    from tqdm import tqdm

    from ..corpus.audio import decoded_ahead, load_audio

    sr = sample_rate(name)
    songs = [(int(i), str(p)) for i, p in zip(corpus.songs.index, corpus.songs["audio_path"])]

    def decode(item):
        song_id, path = item
        try:
            return clip_inputs(name, load_audio(path, sr=sr), clip=path), None
        except AudioReadError as exc:
            return None, ("too short" if "shorter than one" in str(exc) else "corrupt", str(exc))

    start = time.perf_counter()
    inputs, song_of, skipped = [], [], []
    bar = tqdm(total=len(songs), desc=f"{name} patches", unit="song", disable=not progress, mininterval=1.0)
    for (song_id, _), decoded in decoded_ahead(decode, songs, workers=max(1, int(n_jobs)), ahead=8):
        patches, problem = decoded.result()
        if problem:
            skipped.append({"song_id": song_id, "kind": problem[0], "reason": problem[1]})
        else:
            inputs.append(patches)
            song_of.append(np.full(len(patches), song_id))
        bar.update()
    bar.close()
    if not inputs:
        raise MerError(f"no clip of the corpus at {corpus.root} gave a {name} patch ({len(skipped)} skipped as corrupt "
                       "or too short). Check the audio files.")
    return PatchSet(name, np.concatenate(inputs), np.concatenate(song_of),
                    pd.DataFrame(skipped, columns=["song_id", "kind", "reason"]), time.perf_counter() - start)


def front_end_features(network, patches: PatchSet, device=None, precision: str = "float32", n_threads: int = 2,
                       batch_size: int = FRONT_END_BATCH) -> torch.Tensor:
    """The frozen front end's output for every patch, ``(patches, ...)`` float32 on the CPU (the training inputs).

    musicnn on a CPU runs in ``n_threads`` single-thread workers, as its embedder
    does (:meth:`mer_utils.phase3.musicnn.MusicnnEmbedder.run_front_end`), its
    timbral convolutions in ``precision``; otherwise batches run on ``device``
    under ``precision``'s autocast.  Computed under ``torch.no_grad``, so the
    result is an ordinary tensor the training loop can feed to autograd.
    """
    from ..training.runtime import autocast, keep_freed_memory, pick_device, torch_threads

    device = pick_device(device)
    network = network.to(device).eval()
    keep_freed_memory()
    if patches.name == "musicnn" and device.type == "cpu":
        from .musicnn import MusicnnEmbedder

        network.backbone.precision = precision
        try:
            features = MusicnnEmbedder(network.backbone, batch_size=batch_size, n_threads=n_threads).run_front_end(
                patches.inputs)
        finally:
            network.backbone.precision = "float32"
        return torch.from_numpy(features)
    parts = []
    with torch_threads(n_threads if device.type == "cpu" else None), torch.no_grad(), autocast(device, precision):
        for at in range(0, len(patches.inputs), int(batch_size)):
            batch = torch.from_numpy(patches.inputs[at : at + int(batch_size)]).to(device)
            parts.append(network.front_end(batch).float().cpu())
    return torch.cat(parts)


class PatchRows(torch.utils.data.Dataset):
    """Rows ``rows`` of a feature tensor with their standardised labels: what the training loop iterates over."""

    def __init__(self, features: torch.Tensor, targets: np.ndarray, rows: np.ndarray):
        self.features, self.rows = features, np.asarray(rows)
        self.targets = torch.as_tensor(np.asarray(targets, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        return self.features[int(self.rows[i])], self.targets[i]
