"""The sequence model of Phase 4: a bidirectional GRU over a song's frame embeddings, trained on its 2 Hz curves.

Used by: ``notebooks/phase4_dynamic.py`` (through :mod:`mer_utils.phase4.experiment`),
:mod:`mer_utils.phase4.bundle` (``mer predict --curve``) and ``benchmarks/bench_phase4.py``.

:class:`DynamicGRU` reads a song as a sequence of frame embeddings, one per half second (2048 numbers for
CNN14, 200 for musicnn), and predicts valence and arousal at every frame: a linear projection to
:data:`PROJECTION` units with ReLU and dropout, a one-layer bidirectional GRU of :data:`HIDDEN` units each way
(each frame sees the whole song, before and after it), and a linear map to the two dimensions.  A bidirectional
recurrent network is what the best MediaEval 2015 systems used (LSTMs then).

Training (:func:`fit_dynamic_gru`) goes through the book's one loop (:func:`mer_utils.training.loop.fit`): a
batch holds whole songs, padded to the longest with NaN (the model packs the padding away, and a NaN target
adds nothing to the loss), so the loss is the MSE over labelled frames of each dimension, summed, on labels
standardised with the training frames' scaler; the inputs are standardised per dimension with a scaler fit on
the training songs' frames (with the EmotionMLP's floor under each scale,
:func:`mer_utils.training.mlp.fit_feature_scaler`).  Adam, early stopping on the validation songs' loss, the
best epoch's weights kept; float32 on one thread (the model is small, and two pages run side by side).  Songs
longer than :data:`MAX_TRAIN_FRAMES` frames (DEAM's full-length 2015 songs) are cut into consecutive pieces
for training; prediction always runs on the whole song.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import MerError
from ..training.runtime import torch_threads
from .curves import DIMENSIONS
from .frames import Sequences
from .ridge import predictions_frame

PROJECTION, HIDDEN, DROPOUT = 128, 64, 0.3
MAX_TRAIN_FRAMES = 240  # two minutes: longer songs are cut into pieces for training


class DynamicGRU(nn.Module):
    """``(songs, frames, in_features)`` frame embeddings -> ``(songs, frames, outputs)``; NaN rows are padding."""

    def __init__(self, in_features: int = 2048, outputs: int = 2, projection: int = PROJECTION,
                 hidden: int = HIDDEN, dropout: float = DROPOUT):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(in_features, projection), nn.ReLU(), nn.Dropout(dropout))
        self.gru = nn.GRU(projection, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = ~torch.isnan(x[..., 0])
        hidden = self.project(torch.nan_to_num(x))
        if bool(present.all()):
            sequence, _ = self.gru(hidden)
        else:  # padded songs: the GRU runs over each song's own frames only, both ways
            lengths = present.sum(dim=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(hidden, lengths, batch_first=True, enforce_sorted=False)
            sequence, _ = nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True,
                                                           total_length=x.shape[1])
        return self.out(sequence)


class SongPieces(torch.utils.data.Dataset):
    """Songs (or pieces of at most ``max_frames`` frames) as ``(x, y)``: standardised frames, and standardised
    labels on their frames with NaN elsewhere."""

    def __init__(self, sequences: Sequences, song_ids, feature_scaler, target_scaler, max_frames: int | None = None):
        self.items = []
        mean, scale = feature_scaler.mean_.astype(np.float32), feature_scaler.scale_.astype(np.float32)
        for song_id in song_ids:
            if song_id not in sequences.index:
                continue
            x = (sequences.source.frames(song_id) - mean) / scale
            y = np.full((len(x), len(DIMENSIONS)), np.nan, dtype=np.float32)
            y[sequences.index[song_id]] = target_scaler.transform(sequences.labels[song_id]).astype(np.float32)
            step = max_frames or len(x)
            for at in range(0, len(x), step):
                if np.isfinite(y[at : at + step]).any():
                    self.items.append((torch.from_numpy(x[at : at + step]), torch.from_numpy(y[at : at + step])))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        return self.items[k]


def pad_songs(batch):
    """Stack songs of different lengths, padding at the end with NaN (frames and targets)."""
    x = nn.utils.rnn.pad_sequence([item[0] for item in batch], batch_first=True, padding_value=float("nan"))
    y = nn.utils.rnn.pad_sequence([item[1] for item in batch], batch_first=True, padding_value=float("nan"))
    return x, y


@dataclass
class GruResult:
    """A trained :class:`DynamicGRU` with its scalers, per-epoch history and settings."""

    model: object
    feature_scaler: object
    target_scaler: object
    history: pd.DataFrame
    settings: dict

    def curve(self, frames: np.ndarray) -> np.ndarray:
        """``(frames, dim)`` embeddings of one song -> ``(frames, 2)`` valence and arousal on -1..1."""
        return predict_curve(self.model, self.feature_scaler, self.target_scaler, frames)

    def predict(self, sequences: Sequences, song_ids) -> pd.DataFrame:
        """Predictions at the labelled times of ``song_ids``: ``song_id``, ``time_s``, ``valence``, ``arousal``."""
        keys, values = [], []
        for song_id in song_ids:
            if song_id not in sequences.index:
                continue
            values.append(self.curve(sequences.source.frames(song_id))[sequences.index[song_id]])
            keys += [(song_id, t) for t in sequences.times[song_id]]
        return predictions_frame(keys, np.vstack(values))


def predict_curve(model, feature_scaler, target_scaler, frames: np.ndarray) -> np.ndarray:
    """One song's curve from its frames (the whole song at once, no padding), on the labels' own scale."""
    x = feature_scaler.transform(np.asarray(frames, dtype=np.float32)).astype(np.float32)
    model.eval()
    with torch.inference_mode():
        out = model(torch.from_numpy(x)[None])[0].float().numpy()
    return target_scaler.inverse_transform(out)


def fit_dynamic_gru(sequences: Sequences, train_ids, validation_ids, *, epochs: int, patience: int | None,
                    batch_size: int, lr: float, seed: int, progress: bool = True, n_threads: int = 1) -> GruResult:
    """Train a :class:`DynamicGRU` on the curves of ``train_ids``, choosing the epoch on ``validation_ids``.

    ``epochs``, ``patience``, ``batch_size`` and ``lr``: :func:`mer_utils.training.defaults.training_settings`
    (``"DynamicGRU"``).  See the module docstring.
    """
    from ..training.loop import fit, fit_target_scaler, make_loader
    from ..training.mlp import fit_feature_scaler

    train = [s for s in train_ids if s in sequences.index]
    validation = [s for s in validation_ids if s in sequences.index]
    if len(train) < 2 or not validation:
        raise MerError(f"the sequence model needs at least 2 training and 1 validation songs with curves, got "
                       f"{len(train)} and {len(validation)}.")
    feature_scaler = fit_feature_scaler(np.vstack([sequences.source.frames(s) for s in train]))
    target_scaler = fit_target_scaler(np.vstack([sequences.labels[s] for s in train]))
    train_set = SongPieces(sequences, train, feature_scaler, target_scaler, MAX_TRAIN_FRAMES)
    validation_set = SongPieces(sequences, validation, feature_scaler, target_scaler)
    kwargs = {"in_features": sequences.source.dim, "outputs": len(DIMENSIONS)}
    torch.manual_seed(seed)  # the initial weights, as modelfile.build_model draws them
    model = DynamicGRU(**kwargs)
    with torch_threads(n_threads):
        model, history = fit(model, make_loader(train_set, batch_size, shuffle=True, seed=seed, collate_fn=pad_songs),
                             make_loader(validation_set, batch_size, collate_fn=pad_songs), epochs=int(epochs),
                             patience=patience, lr=float(lr), device="cpu", seed=seed, target_scaler=target_scaler,
                             target_names=list(DIMENSIONS), precision="float32", progress=progress)
    frames = sum(len(x) for x, _ in train_set.items)
    history["frames_per_s"] = history["samples_per_s"] * frames / len(train_set)  # training frames per second
    settings = {"model": "DynamicGRU", "model_kwargs": kwargs, "epochs": int(epochs), "patience": patience,
                "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed), "precision": "float32",
                "train_songs": len(train), "validation_songs": len(validation), "train_frames": int(frames),
                "best_epoch": int(history.attrs["best_epoch"]), "epochs_run": int(history.attrs["epochs_run"])}
    return GruResult(model=model, feature_scaler=feature_scaler, target_scaler=target_scaler, history=history,
                     settings=settings)
