"""musicnn (Pons and Serra, 2019) in PyTorch, with the authors' pretrained weights, as an embedder.
Used by: ``notebooks/real_music.py`` (through :mod:`mer_utils.phase3.musicnn_embeddings`) and
``benchmarks/bench_musicnn.py``; the Phase 3 page can call it the same way.

Why this module.  Essentia's DEAM emotion models read the 200-dimensional
penultimate layer of musicnn trained on the Million Song Dataset (Essentia's
``msd-musicnn-1``, output ``model/dense/BiasAdd``: the dense layer *before* its
ReLU).  To compare with them, the book needs that embedding without TensorFlow
or Essentia, so the network is rebuilt here in PyTorch.  Its weights come, by
default, from the authors' own TensorFlow checkpoints in the ``musicnn`` wheel on
the package index (``MSD_musicnn`` and ``MTT_musicnn``, ISC licence; fetched by
:mod:`mer_utils.phase3.musicnn_wheel`, read by :mod:`mer_utils.phase3.tf_checkpoint`),
or from the tf.keras files of the musicnn_keras project (``MSD_musicnn.h5``) read
with h5py: the arrays are bit-identical (``tests/test_tf_checkpoint.py``).  ``tests/test_musicnn.py`` checks the port against
outputs of Essentia's frozen graph (to 1e-4; the measured error is about 1e-5).

The front end is :mod:`mer_utils.phase3.musicnn_frontend`, the weight files and tags
:mod:`mer_utils.phase3.musicnn_weights`, the front-end layers
:mod:`mer_utils.phase3.musicnn_blocks`; every name of theirs is importable from here too.

The network (:class:`Musicnn`), mirroring the Keras graph stored in the file
(its ``model_config``), with time as the first axis of a patch:

* an input batch norm (one scalar scale and shift);
* timbral filters: 204 filters of 7 frames x 38 mel bands and 204 of 7 x 67
  (the input is zero-padded by 3 frames on both sides in time, nothing in
  frequency); temporal filters: 51 filters each of 128, 64 and 32 frames x 1
  band (Keras ``"same"`` padding: for an even kernel k it pads (k-1)//2 frames
  before and k//2 after, the extra one at the end).  Each is followed by ReLU,
  a batch norm and a max over all frequency positions, giving 204 + 204 +
  3 x 51 = 561 features per frame;
* the mid-end: three 1-D convolutions over time (7 frames, 64 filters, zero
  padding 3), each with ReLU and batch norm; the second and third add their
  input (residual connections).  The front-end output and the three mid-end
  outputs are concatenated (dense connections): 753 features per frame;
* the back end: max and mean over time, interleaved feature by feature as
  Keras flattens a (753, 2) array, a batch norm, the 200-unit dense layer (the
  embedding is its output before the ReLU), ReLU, a batch norm and the 50-tag
  dense layer with a sigmoid.  Dropout layers are inactive at inference.

Speed (``benchmarks/bench_musicnn.py``).  A patch costs 1.3 GMAC, 85 % of
it in the two timbral convolutions.  What makes it fast on a CPU:

* the timbral and temporal convolutions (:mod:`mer_utils.phase3.musicnn_blocks`);
* :class:`MusicnnEmbedder` runs whole patches in parallel, one torch thread
  (and one BLAS thread) per worker, instead of splitting every small product
  across threads;
* ``precision="bfloat16"`` (or ``"auto"`` where the CPU has AVX512-BF16 or
  AMX) runs the timbral convolutions in bfloat16, everything else in float32:
  about 1.8x faster than their direct product in float32 (1.5x faster than the
  Fourier way), for a relative error of about 0.5 % on the embedding
  (max abs 0.06 for values of standard deviation 2.2; tag probabilities within
  0.01).  float32 is the default and the one checked against the reference.

Frames for Phase 4 (:meth:`Musicnn.forward_with_frames`): the same back end applied
to six stretches of about 0.5 s of a patch's mid-end features (max and mean over
each stretch, the batch norm, the 200-unit dense layer before its ReLU), computed
from the forward pass that gives the patch's embedding.

Measured on the 2-core AMD EPYC (Zen 4) development machine, otherwise idle,
two workers: from a decoded waveform to embeddings, 110-120x real time in
float32 and 170-200x in bfloat16 (the network alone 125-145x and 230-275x,
the front end alone over 5000x).  On a busy machine the figures drop with the
share of the cores the process gets.
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..corpus.audio import load_audio
from ..errors import MerError
from ..training.runtime import keep_freed_memory, one_blas_thread, resolve_precision, torch_threads
from .musicnn_blocks import FrequencyMaxBlock, FrozenBatchNorm, TemporalBlock, TimbralBlock, _inverse_dft  # noqa: F401
from .musicnn_frontend import (  # noqa: F401  (re-exported: the module's names before the split)
    HOP, N_FFT, N_MELS, PATCH_FRAMES, SR, SongPatches, _check_patches, audio_patches, cut_patches, hann_window,
    log_mel, mel_filters,
)
from .musicnn_weights import (  # noqa: F401  (re-exported: the module's names before the split)
    EMBEDDING_DIM, EXPECTED_SHAPES, FRONT_FEATURES, H5_WEIGHTS, HOW_TO_GET_WEIGHTS, KNOWN_SHA256, MID_FILTERS,
    MSD_MUSICNN_SHA256, MSD_MUSICNN_URL, MSD_TAGS, MTT_MUSICNN_SHA256, MTT_TAGS, N_TAGS, POOLED_FEATURES, TEMPORAL,
    TEMPORAL_FILTERS, TIMBRAL, TIMBRAL_FILTERS, WEIGHTS_ENV, _expected_shapes, read_keras_weights,
    tag_names, verify_sha256, weights_path,
)

# --------------------------------------------------------------------------- reading the weights


def read_weights(path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """``(layers, epsilons)`` as :func:`read_keras_weights` gives them, from an ``.h5`` or a wheel checkpoint folder."""
    from .musicnn_wheel import CHECKPOINT_FILES, is_checkpoint

    path = Path(path)
    if not is_checkpoint(path):
        return read_keras_weights(path)
    from .tf_checkpoint import musicnn_layers_from_checkpoint, read_checkpoint

    index, data = ((path / name).read_bytes() for name in CHECKPOINT_FILES)
    return musicnn_layers_from_checkpoint(read_checkpoint(index, data, name=str(path)), name=str(path))


# --------------------------------------------------------------------------- the network


class MusicnnOutput(NamedTuple):
    embedding: torch.Tensor  # (batch, 200): the penultimate dense layer before its ReLU
    tags: torch.Tensor  # (batch, 50): tag probabilities



class Musicnn(nn.Module):
    """musicnn (front end, mid-end, back end; see the module docstring) at inference.

    ``forward(patches)`` takes ``(batch, 187, 96)`` log-mel patches
    (:func:`audio_patches`) and returns :class:`MusicnnOutput` ``(embedding,
    tags)``.  Build it with :func:`load_musicnn`.  ``precision`` is
    ``"float32"`` or ``"bfloat16"`` (the timbral convolutions in bfloat16).
    """

    def __init__(self, precision: str = "float32"):
        super().__init__()
        self.input_norm = FrozenBatchNorm(1, dim=2)
        self.timbral = nn.ModuleList([TimbralBlock(TIMBRAL_FILTERS, kernel, (3, 3)) for _, _, kernel in TIMBRAL])
        self.temporal = nn.ModuleList([TemporalBlock(TEMPORAL_FILTERS, (length, 1), ((length - 1) // 2, length // 2))
                                       for _, _, length in TEMPORAL])
        self.mid = nn.ModuleList([nn.Conv1d(width, MID_FILTERS, 7, padding=3)
                                  for width in (FRONT_FEATURES, MID_FILTERS, MID_FILTERS)])
        self.mid_norms = nn.ModuleList([FrozenBatchNorm(MID_FILTERS) for _ in range(3)])
        self.pool_norm = FrozenBatchNorm(2 * POOLED_FEATURES)
        self.dense = nn.Linear(2 * POOLED_FEATURES, EMBEDDING_DIM)
        self.dense_norm = FrozenBatchNorm(EMBEDDING_DIM)
        self.tagger = nn.Linear(EMBEDDING_DIM, N_TAGS)
        self.precision = precision
        self.tag_names: tuple[str, ...] = MSD_TAGS
        self.sha256 = ""
        self.eval()

    @torch.no_grad()
    def set_from_keras(self, layers: dict[str, dict[str, np.ndarray]], epsilons: dict[str, float]):
        """Copy weights read by :func:`read_keras_weights` into the modules, converting the Keras layouts."""
        eps = lambda name: epsilons.get(name, 1e-3)  # noqa: E731
        self.input_norm.set_from_keras(layers["batch_normalization"], eps("batch_normalization"))
        for block, (conv, bn, _) in zip([*self.timbral, *self.temporal], TIMBRAL + TEMPORAL):
            block.set_from_keras(layers[conv], layers[bn], eps(bn))
        for i, (conv, norm) in enumerate(zip(self.mid, self.mid_norms), start=1):
            kernel = torch.from_numpy(layers[f"midend_conv{i}"]["kernel"])[:, :, 0, :]  # (time, features, out)
            conv.weight.copy_(kernel.permute(2, 1, 0))  # -> (out, features, time)
            conv.bias.copy_(torch.from_numpy(layers[f"midend_conv{i}"]["bias"]))
            norm.set_from_keras(layers[f"bn_midend_conv{i}"], eps(f"bn_midend_conv{i}"))
        self.pool_norm.set_from_keras(layers["bn_flatpool"], eps("bn_flatpool"))
        for linear, name in ((self.dense, "dense"), (self.tagger, "dense_1")):
            linear.weight.copy_(torch.from_numpy(layers[name]["kernel"]).t())
            linear.bias.copy_(torch.from_numpy(layers[name]["bias"]))
        self.dense_norm.set_from_keras(layers["bn_dense"], eps("bn_dense"))
        return self

    @property
    def precision(self) -> str:
        """``"float32"`` or ``"bfloat16"``: the dtype of the timbral convolutions (everything else is float32).

        Only the timbral ones: they are 85 % of the work and gain 2x in
        bfloat16; the temporal ones gained nothing measurable and lost accuracy.
        """
        return "bfloat16" if self.timbral[0].compute_dtype == torch.bfloat16 else "float32"

    @precision.setter
    def precision(self, value: str):
        if value not in ("float32", "bfloat16"):
            raise MerError(f"unknown musicnn precision '{value}': use float32 or bfloat16 ('auto' in load_musicnn).")
        for block in self.timbral:
            block.compute_dtype = torch.bfloat16 if value == "bfloat16" else torch.float32

    def front_end(self, patches):
        """``(B, 187, 96)`` -> ``(B, 561, 187)``: timbral and temporal features per frame."""
        x = self.input_norm(patches.float())  # one scale and shift for the whole patch
        return torch.cat([block(x) for block in [*self.timbral, *self.temporal]], dim=1)

    def mid_layers(self, front):
        """``(B, 561, frames)`` -> ``(B, 192, frames)``: the three mid-end layers' outputs, concatenated."""
        outputs = []
        x = front
        for i, (conv, norm) in enumerate(zip(self.mid, self.mid_norms)):
            y = norm(F.relu(conv(x)))
            x = y if i == 0 else y + x
            outputs.append(x)
        return torch.cat(outputs, dim=1)

    def mid_end(self, front):
        """``(B, 561, frames)`` -> ``(B, 753, frames)``: front end and the three mid-end layers, concatenated."""
        return torch.cat([front, self.mid_layers(front)], dim=1)

    @staticmethod
    def pool(features):
        """``(B, C, frames)`` -> ``(B, 2C)``: max and mean over time, interleaved as Keras flattens (C, 2).

        Pooling is per channel, so the pooled concatenation of two parts is the
        concatenation of their pooled parts.  The max takes ``max`` (with its
        indices) rather than ``amax``: the same values, and a backward pass that
        scatters to one frame instead of building masks over the whole input,
        which made the pooling 40 % of a fine-tuning step.
        """
        return torch.stack([features.max(dim=2).values, features.mean(dim=2)], dim=2).flatten(1)

    def back_end(self, features) -> MusicnnOutput:
        """``(B, 753, frames)`` -> embedding and tags (:meth:`pool`, batch norm, the dense layer, the tagger)."""
        embedding = self.dense(self.pool_norm(self.pool(features)))
        tags = torch.sigmoid(self.tagger(self.dense_norm(F.relu(embedding))))
        return MusicnnOutput(embedding, tags)

    def frame_embeddings(self, features, frames: int):
        """``(B, 753, frames_in)`` -> ``(B, frames, 200)``: the back end's embedding (dense, before its ReLU) of
        ``frames`` equal stretches of the patch (adaptive max and mean pooling, interleaved as in :meth:`back_end`)."""
        pooled = torch.stack([F.adaptive_max_pool1d(features, frames), F.adaptive_avg_pool1d(features, frames)], dim=3)
        pooled = pooled.permute(0, 2, 1, 3).flatten(2)  # (B, frames, 753 * 2), max and mean of a feature side by side
        return self.dense(self.pool_norm(pooled.reshape(-1, pooled.shape[-1]))).reshape(len(features), frames, -1)

    def forward(self, patches) -> MusicnnOutput:
        return self.back_end(self.mid_end(self.front_end(patches)))

    def forward_with_frames(self, patches, frames: int) -> tuple[MusicnnOutput, torch.Tensor]:
        """``forward(patches)`` and, from the same mid-end features, :meth:`frame_embeddings` ``(B, frames, 200)``."""
        features = self.mid_end(self.front_end(patches))
        return self.back_end(features), self.frame_embeddings(features, frames)


def load_musicnn(path=None, precision: str = "float32") -> Musicnn:
    """A :class:`Musicnn` in eval mode with the weights of a musicnn_keras ``.h5`` or of a wheel checkpoint folder
    (default: :func:`weights_path`, the wheel's MSD network, fetched into the cache when it is not there yet).

    Reads either without TensorFlow (h5py, :mod:`mer_utils.phase3.tf_checkpoint`).
    ``precision``: ``"float32"`` (default, the reference), ``"bfloat16"`` or
    ``"auto"`` (bfloat16 where the CPU computes it natively).  The model records
    the weights' sha256 (``model.sha256``: the ``.h5`` file's, or the checkpoint's
    data file's) and its tag names (``model.tag_names``).
    """
    from .musicnn_wheel import NETWORKS, checkpoint_dir, ensure_networks

    path = weights_path(path)
    if any(path == checkpoint_dir(network) for network in NETWORKS) and not path.is_dir():
        ensure_networks()  # the cache's own networks are fetched on first use (mer predict outside a checkout)
    layers, epsilons = read_weights(path)
    model = Musicnn(precision=resolve_precision(precision)).set_from_keras(layers, epsilons)
    model.tag_names = tag_names(path)
    model.sha256 = verify_sha256(path)
    return model.eval()


# --------------------------------------------------------------------------- embedding audio


def _one_torch_thread():
    torch.set_num_threads(1)


def patch_chunks(n_patches: int, batch_size: int, n_workers: int) -> list[slice]:
    """Consecutive slices of at most ``batch_size`` patches, at least one per worker when there are enough."""
    size = max(1, min(batch_size, -(-n_patches // max(1, n_workers))))
    return [slice(at, min(at + size, n_patches)) for at in range(0, n_patches, size)]


class MusicnnEmbedder:
    """Batched CPU inference of a :class:`Musicnn`: audio -> patches -> per-patch embeddings and tags.

    ``n_threads`` workers each run whole chunks of at most ``batch_size``
    patches with one torch thread (None: one chunk at a time in the calling
    thread, with torch's own thread setting).  Why patches in parallel rather
    than torch's threads inside each operation: the per-patch matrix products
    of :class:`TimbralBlock` and :class:`TemporalBlock` are small, so threads
    inside them meet at a barrier every few milliseconds, and on a shared
    machine a thread waiting there spins; measured under load, torch's two
    threads used 2.5 times the CPU time of two single-threaded workers for the
    same patches.  While it runs, torch's global thread count is 1 (restored
    after), so the workers do not start threads of their own.
    """

    def __init__(self, model: Musicnn, batch_size: int = 16, n_threads: int | None = 2):
        if int(batch_size) < 1:
            raise MerError(f"batch_size={batch_size} must be 1 or more.")
        if n_threads is not None and int(n_threads) < 1:
            raise MerError(f"n_threads={n_threads} must be 1 or more (or None for torch's setting).")
        self.model = model.eval()
        self.batch_size = int(batch_size)
        self.n_threads = None if n_threads is None else int(n_threads)

    def _forward(self, patches: np.ndarray, frames: int = 0) -> tuple[np.ndarray, ...]:
        with torch.inference_mode():
            if not frames:
                out = self.model(torch.from_numpy(patches))
                return out.embedding.float().numpy(), out.tags.float().numpy()
            out, framed = self.model.forward_with_frames(torch.from_numpy(patches), frames)
        return out.embedding.float().numpy(), out.tags.float().numpy(), framed.float().numpy()

    def _front_end(self, patches: np.ndarray) -> tuple[np.ndarray]:
        with torch.inference_mode():
            return (self.model.front_end(torch.from_numpy(patches)).float().numpy(),)

    def _map(self, forward, patches: np.ndarray) -> list[np.ndarray]:
        """``forward`` on chunks of the patches in the workers; each of its outputs concatenated in patch order."""
        patches = np.ascontiguousarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (PATCH_FRAMES, N_MELS) or patches.shape[0] == 0:
            raise MerError(f"expected a non-empty (n, {PATCH_FRAMES}, {N_MELS}) patch array, "
                           f"got shape {patches.shape}.")
        keep_freed_memory()
        workers = self.n_threads or 1
        chunks = [patches[part] for part in patch_chunks(len(patches), self.batch_size, workers)]
        if self.n_threads is None:
            outputs = [forward(chunk) for chunk in chunks]
        elif workers == 1 or len(chunks) == 1:
            with torch_threads(1), one_blas_thread():  # NumPy's products too (TimbralBlock.conv_max_spectral)
                outputs = [forward(chunk) for chunk in chunks]
        else:
            with (torch_threads(1), one_blas_thread(),
                  ThreadPoolExecutor(min(workers, len(chunks)), initializer=_one_torch_thread) as pool):
                outputs = list(pool.map(forward, chunks))
        return [np.concatenate(parts) for parts in zip(*outputs)]

    def run_patches(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, 187, 96)`` patches -> ``(n, 200)`` embeddings and ``(n, 50)`` tag probabilities, float32."""
        embeddings, tags = self._map(self._forward, patches)
        return embeddings, tags

    def run_patches_with_frames(self, patches: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`run_patches` and, from the same forward passes, ``(n * frames, 200)`` frame embeddings in time
        order (``frames`` per patch, :meth:`Musicnn.frame_embeddings`)."""
        embeddings, tags, framed = self._map(functools.partial(self._forward, frames=int(frames)), patches)
        return embeddings, tags, framed.reshape(-1, framed.shape[-1])

    def run_front_end(self, patches: np.ndarray) -> np.ndarray:
        """``(n, 187, 96)`` patches -> ``(n, 561, 187)`` front-end features, float32 (what fine-tuning caches)."""
        return self._map(self._front_end, patches)[0]

    def embed_audio(self, audio: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES) -> np.ndarray:
        """Per-patch embeddings ``(n_patches, 200)`` of mono 16 kHz audio."""
        return self.run_patches(audio_patches(audio, name=name, hop_frames=hop_frames))[0]

    def embed_file(self, path, hop_frames: int = PATCH_FRAMES) -> np.ndarray:
        """Decode any audio file (any rate, mono or stereo) to 16 kHz mono and embed its patches."""
        return self.embed_audio(load_audio(path, sr=SR), name=str(path), hop_frames=hop_frames)


def song_embedding(patch_embeddings: np.ndarray) -> np.ndarray:
    """A song's embedding: the mean of its patches' embeddings, ``(200,)``."""
    patch_embeddings = np.asarray(patch_embeddings, dtype=np.float32)
    if patch_embeddings.ndim != 2 or patch_embeddings.shape[0] == 0:
        raise MerError(f"expected a non-empty (n_patches, dim) array, got shape {patch_embeddings.shape}.")
    return patch_embeddings.mean(axis=0)
