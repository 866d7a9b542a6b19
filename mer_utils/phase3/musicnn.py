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

The front end (:func:`log_mel`, :func:`cut_patches`).  As musicnn computes it:
mono audio at 16 kHz, a 512-point STFT (Hann window, centred frames, hop 256),
power spectrum, librosa's 96 Slaney mel filters, then ``log10(1 + 10000 x)``;
the spectrogram is cut into patches of 187 frames (about 3 s), one after the
other without overlap unless asked.  musicnn itself casts the mel power to
float16 before the logarithm; we keep float32, as the reference patches do
(the float16 cast overflows to infinity on loud frames and rounds the rest).
A clip shorter than one patch raises :class:`AudioReadError`; it is never
padded, because a padded patch would be an embedding of silence.

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

Keras conventions handled on loading (:func:`read_keras_weights`): kernels are
stored (height, width, in, out) and become PyTorch's (out, in, height, width);
dense kernels are (in, out) and become (out, in); batch norms use the epsilon
of each layer in ``model_config`` (1e-3 in the released files).

Speed (``benchmarks/bench_musicnn.py``).  A patch costs 1.3 GMAC, 85 % of
it in the two timbral convolutions.  What makes it fast on a CPU:

* a batch norm after a ReLU, followed by a max over frequency, equals the
  batch norm of the ReLU of the max (scale >= 0) or of the min (scale < 0) of
  the raw convolution output (170 of the 204 scales of the first timbral layer
  are negative); the weights of channels with a negative scale are stored
  negated (``FrequencyMaxBlock.signs`` undoes it), so one max serves every
  channel and ReLU and batch norm touch a 30 to 96 times smaller array;
* the front-end convolutions have one input channel.  In float32 the timbral
  ones go through the discrete Fourier transform of the 96 mel bands, where a
  correlation is a product per frequency bin: a few matrix products per patch,
  381 million multiply-adds instead of 1,136 (:meth:`TimbralBlock.conv_max_spectral`,
  2.4x faster, float32 rounding below the direct product's); the temporal ones
  are a matrix product over overlapping strided views of the patch, with no
  im2col copy (:class:`TemporalBlock`);
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
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..corpus.audio import file_digest, load_audio
from ..training.runtime import keep_freed_memory, one_blas_thread, resolve_precision, torch_threads
from ..errors import AudioReadError, MerError

# --------------------------------------------------------------------------- constants

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s) + 1, musicnn's default input length
EMBEDDING_DIM = 200
N_TAGS = 50

MSD_MUSICNN_SHA256 = "412a832c8527a813e084ba6f2cc7d068ecbbf1b68bda8c1de2e7de0d1f5fe7d1"
MTT_MUSICNN_SHA256 = "1a66a2e58e862e894c088bd7789b05874becf994f275c54d9575dab83fab4ebe"
KNOWN_SHA256 = {"MSD_musicnn.h5": MSD_MUSICNN_SHA256, "MTT_musicnn.h5": MTT_MUSICNN_SHA256}
MSD_MUSICNN_URL = "https://github.com/Quint-e/musicnn_keras/raw/master/musicnn_keras/keras_checkpoints/MSD_musicnn.h5"
WEIGHTS_ENV = "MUSICNN_WEIGHTS"
H5_WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "MSD_musicnn.h5"  # where 'make weights' puts the .h5
HOW_TO_GET_WEIGHTS = (
    "run 'make venv' or 'python -m mer_utils fetch-musicnn' (pip fetches the musicnn wheel from the package index and "
    f"its MSD and MTT checkpoints are unpacked into the cache folder), or point {WEIGHTS_ENV}=<file> at a copy of "
    f"MSD_musicnn.h5 (from {MSD_MUSICNN_URL}, or 'make weights')"
)

# The tag vocabularies of musicnn's configuration.py, in output order.
MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
            "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
            "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock",
            "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
            "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb",
            "indie pop", "sad", "House", "happy")
MTT_TAGS = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
            "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
            "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
            "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
            "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral")

# The Keras layers of each front-end branch: (convolution, its batch norm, kernel size in frames x bands).
TIMBRAL = (("conv2d", "batch_normalization_1", (7, 38)), ("conv2d_1", "batch_normalization_2", (7, 67)))
TEMPORAL = (("conv2d_2", "batch_normalization_3", 128), ("conv2d_3", "batch_normalization_4", 64),
            ("conv2d_4", "batch_normalization_5", 32))
TIMBRAL_FILTERS, TEMPORAL_FILTERS, MID_FILTERS = 204, 51, 64
FRONT_FEATURES = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS  # 561
POOLED_FEATURES = FRONT_FEATURES + 3 * MID_FILTERS  # 753


def _expected_shapes() -> dict[str, dict[str, tuple]]:
    """Layer -> weight name -> shape, for every layer :class:`Musicnn` reads from the file."""
    shapes = {}

    def norm(name, n):
        shapes[name] = {k: (n,) for k in ("gamma", "beta", "moving_mean", "moving_variance")}

    norm("batch_normalization", 1)
    for conv, bn, (height, width) in TIMBRAL:
        shapes[conv] = {"kernel": (height, width, 1, TIMBRAL_FILTERS), "bias": (TIMBRAL_FILTERS,)}
        norm(bn, TIMBRAL_FILTERS)
    for conv, bn, length in TEMPORAL:
        shapes[conv] = {"kernel": (length, 1, 1, TEMPORAL_FILTERS), "bias": (TEMPORAL_FILTERS,)}
        norm(bn, TEMPORAL_FILTERS)
    for i, width in ((1, FRONT_FEATURES), (2, MID_FILTERS), (3, MID_FILTERS)):
        shapes[f"midend_conv{i}"] = {"kernel": (7, width, 1, MID_FILTERS), "bias": (MID_FILTERS,)}
        norm(f"bn_midend_conv{i}", MID_FILTERS)
    norm("bn_flatpool", 2 * POOLED_FEATURES)
    shapes["dense"] = {"kernel": (2 * POOLED_FEATURES, EMBEDDING_DIM), "bias": (EMBEDDING_DIM,)}
    norm("bn_dense", EMBEDDING_DIM)
    shapes["dense_1"] = {"kernel": (EMBEDDING_DIM, N_TAGS), "bias": (N_TAGS,)}
    return shapes


EXPECTED_SHAPES = _expected_shapes()


# --------------------------------------------------------------------------- front end


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa's (96, 257) Slaney mel filter bank for 16 kHz and a 512-point FFT, as musicnn uses it.

    ``librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)`` (librosa 0.11's
    arithmetic, step for step: the same float32 array, ``tests/test_musicnn.py``),
    written out here because importing librosa (scipy.signal, numba, joblib)
    took 1 s of every ``mer predict`` start, for a table of 96 x 257 numbers.
    """
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0  # the Slaney mel scale
    min_log_mel = min_log_hz / f_sp

    def hz_to_mel(hz: float) -> float:
        return min_log_mel + np.log(hz / min_log_hz) / logstep if hz >= min_log_hz else hz / f_sp

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2), N_MELS + 2)
    mel_f = f_sp * mels
    log_t = mels >= min_log_mel
    mel_f[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, np.fft.rfftfreq(n=N_FFT, d=1.0 / SR))
    weights = np.zeros((N_MELS, 1 + N_FFT // 2), dtype=np.float32)
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, np.newaxis]
    return weights


def log_mel(audio: np.ndarray, rows=None) -> np.ndarray:
    """musicnn's input representation of a mono 16 kHz clip: ``(frames, 96)`` float32, ``log10(1 + 10000 mel)``.

    ``rows``: only these frames (indices into the ``1 + len(audio) // 256``), as
    :class:`SongPatches` asks for them: the same numbers to float rounding (the
    mel filter bank's matrix product rounds a row by where it falls among
    OpenBLAS's blocks of rows: at most 5e-7 here, in values up to about 5).

    The same numbers as ``librosa.feature.melspectrogram(y, sr=16000,
    n_fft=512, hop_length=256, n_mels=96)`` (centred frames, zero padding at
    the ends, a periodic Hann window; ``1 + len(audio) // 256`` frames; to
    float rounding, ``tests/test_musicnn.py``), with the filter bank computed
    once.  The short-time Fourier transform is NumPy's over strided frames:
    librosa's loads ``scipy.signal`` on first use, 1.4 s of every ``mer predict``
    start, and is no faster here.
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, N_FFT // 2), N_FFT)[::HOP]
    if rows is not None:
        frames = frames[rows]
    spectrum = np.fft.rfft(frames * hann_window(), axis=1)  # (frames, 257) complex64
    power = spectrum.real**2 + spectrum.imag**2
    mel = power @ mel_filters().T
    return np.ascontiguousarray(np.log10(1.0 + 10000.0 * mel), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def hann_window() -> np.ndarray:
    """The periodic Hann window of :data:`N_FFT` points (scipy's ``get_window("hann", N_FFT)``, librosa's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def cut_patches(spectrogram: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Cut a ``(frames, 96)`` log-mel spectrogram into ``(n, 187, 96)`` patches starting every ``hop_frames`` frames.

    The default hop makes the patches consecutive and non-overlapping (as
    musicnn's extractor by default); the frames after the last whole patch are
    dropped.  Fewer frames than one patch raise :class:`AudioReadError` naming
    the clip: it is not padded.
    """
    frames = spectrogram.shape[0]
    _check_patches(frames, name, hop_frames)
    starts = range(0, frames - PATCH_FRAMES + 1, int(hop_frames))
    return np.stack([spectrogram[s : s + PATCH_FRAMES] for s in starts]).astype(np.float32, copy=False)


def _check_patches(frames: int, name: str, hop_frames: int) -> int:
    """The number of patches of ``frames`` spectrogram frames; :class:`AudioReadError` for fewer than one patch."""
    if int(hop_frames) < 1:
        raise MerError(f"hop_frames={hop_frames} must be 1 or more.")
    if frames < PATCH_FRAMES:
        raise AudioReadError(
            f"{name}: about {frames * HOP / SR:.2f} s of audio ({frames} spectrogram frames), shorter than one musicnn "
            f"patch ({PATCH_FRAMES} frames, {(PATCH_FRAMES - 1) * HOP / SR:.2f} s at {SR} Hz); nothing to embed "
            "(clips are not padded)")
    return (frames - PATCH_FRAMES) // int(hop_frames) + 1


def audio_patches(audio: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Mono 16 kHz audio -> ``(n, 187, 96)`` input patches (:func:`log_mel`, then :func:`cut_patches`)."""
    return cut_patches(log_mel(audio), name=name, hop_frames=hop_frames)


class SongPatches:
    """The ``(n, 187, 96)`` patches of :func:`audio_patches`, each computed only when it is asked for.

    ``len()`` is their number; indexing (an index, a slice or an index array)
    computes those patches alone (:func:`log_mel` of their frames, to float
    rounding the same numbers); ``np.asarray`` computes them all, exactly as
    :func:`audio_patches`.  ``mer predict`` hears a song at 4 patches
    (:mod:`mer_utils.predict.songs`): its log-mel was a fifth of decoding a
    30 s clip, and of a 4-minute song it took longer than the network.  Too
    short a clip raises :class:`AudioReadError` here, as :func:`cut_patches`.
    """

    def __init__(self, audio: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES):
        self.audio = np.ascontiguousarray(audio, dtype=np.float32)
        self.name, self.hop_frames = name, int(hop_frames)
        self.count = _check_patches(1 + len(self.audio) // HOP, name, self.hop_frames)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index) -> np.ndarray:
        starts = np.arange(self.count)[index] * self.hop_frames
        rows = np.atleast_1d(starts)[:, None] + np.arange(PATCH_FRAMES)
        patches = log_mel(self.audio, rows=rows.ravel()).reshape(*rows.shape, N_MELS)
        return patches if np.ndim(starts) else patches[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        patches = audio_patches(self.audio, name=self.name, hop_frames=self.hop_frames)
        return patches if dtype is None else patches.astype(dtype, copy=False)


# --------------------------------------------------------------------------- reading the Keras file


def weights_path(path=None) -> Path:
    """The weights to use: ``path`` if given, else ``$MUSICNN_WEIGHTS``, else the wheel's ``MSD_musicnn`` checkpoint
    in the cache folder (:func:`mer_utils.phase3.musicnn_wheel.checkpoint_dir`).

    ``path`` may be a musicnn_keras ``.h5``, a checkpoint folder as the wheel
    lays it out, or a network's name (``MSD_musicnn``, ``MTT_musicnn``: its
    folder in the cache).
    """
    from .musicnn_wheel import NETWORKS, checkpoint_dir

    chosen = str(path) if path not in (None, "") else os.environ.get(WEIGHTS_ENV) or "MSD_musicnn"
    return checkpoint_dir(chosen) if chosen in NETWORKS else Path(chosen)


def verify_sha256(path, expected: str | None = None) -> str:
    """Check a weights file (or a checkpoint folder's data file) against its published sha256 and return the digest.

    ``expected`` defaults to the digest of the file of that name in
    :data:`KNOWN_SHA256` (or of the network in
    :data:`mer_utils.phase3.musicnn_wheel.DATA_SHA256`); a file of another name
    with no ``expected`` is only hashed.  A mismatch raises :class:`MerError`
    (a truncated or different download).
    """
    from .musicnn_wheel import DATA_FILE, DATA_SHA256, is_checkpoint

    path = Path(path)
    if is_checkpoint(path):
        expected, path = expected or DATA_SHA256.get(path.name), path / DATA_FILE
    if not path.is_file():
        raise MerError(f"{path}: no musicnn weights there; {HOW_TO_GET_WEIGHTS}.")
    digest = file_digest(path, "sha256")
    expected = expected or KNOWN_SHA256.get(path.name)
    if expected and digest != expected:
        raise MerError(f"{path}: sha256 {digest} differs from the published {expected} (a truncated or different "
                       f"file); delete it and {HOW_TO_GET_WEIGHTS}.")
    return digest


def read_weights(path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """``(layers, epsilons)`` as :func:`read_keras_weights` gives them, from an ``.h5`` or a wheel checkpoint folder."""
    from .musicnn_wheel import CHECKPOINT_FILES, is_checkpoint

    path = Path(path)
    if not is_checkpoint(path):
        return read_keras_weights(path)
    from .tf_checkpoint import musicnn_layers_from_checkpoint, read_checkpoint

    index, data = ((path / name).read_bytes() for name in CHECKPOINT_FILES)
    return musicnn_layers_from_checkpoint(read_checkpoint(index, data, name=str(path)), name=str(path))


def read_keras_weights(path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """The weights musicnn needs from a whole-model tf.keras ``.h5``, and each batch norm's epsilon, via h5py.

    Returns ``(layers, epsilons)``: ``layers[layer][name]`` is a float32 array
    in the Keras layout (names without the ``_1:0`` suffixes TF adds), checked
    against :data:`EXPECTED_SHAPES`.  A missing, unreadable or foreign file
    raises :class:`MerError` naming the file and how to get the right one.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise MerError(f"{path}: no musicnn weights file there; {HOW_TO_GET_WEIGHTS}.")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise MerError(f"{path}: not a readable HDF5 file ({exc}); the download is corrupt or truncated: delete it "
                       f"and {HOW_TO_GET_WEIGHTS}.") from exc
    with handle:
        try:
            config = json.loads(handle.attrs["model_config"])
            group = handle["model_weights"] if "model_weights" in handle else handle
            layers = {}
            for layer, shapes in EXPECTED_SHAPES.items():
                stored = group[layer]
                arrays = {}
                for full_name in stored.attrs["weight_names"]:
                    full_name = full_name.decode() if isinstance(full_name, bytes) else str(full_name)
                    short = full_name.rsplit("/", 1)[-1].split(":")[0].removesuffix("_1")
                    arrays[short] = np.asarray(stored[full_name], dtype=np.float32)
                found = {k: v.shape for k, v in arrays.items()}
                if found != shapes:
                    raise ValueError(f"layer {layer} holds {found}, musicnn expects {shapes}")
                layers[layer] = arrays
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise MerError(f"{path}: not a musicnn Keras model as musicnn_keras saves it ({exc}); use MSD_musicnn.h5: "
                           f"{HOW_TO_GET_WEIGHTS}.") from exc
    epsilons = {}
    for layer in config.get("config", {}).get("layers", []):
        if layer.get("class_name") == "BatchNormalization":
            epsilons[layer.get("name") or layer["config"]["name"]] = float(layer["config"].get("epsilon", 1e-3))
    return layers, epsilons


def tag_names(path) -> tuple[str, ...]:
    """The 50 tag names of a checkpoint: MagnaTagATune's for a file named ``MTT_*``, else the Million Song Dataset's."""
    return MTT_TAGS if Path(path).name.upper().startswith("MTT") else MSD_TAGS


# --------------------------------------------------------------------------- the network


class MusicnnOutput(NamedTuple):
    embedding: torch.Tensor  # (batch, 200): the penultimate dense layer before its ReLU
    tags: torch.Tensor  # (batch, 50): tag probabilities


class FrozenBatchNorm(nn.Module):
    """A Keras batch norm at inference, as ``x * scale + shift`` over one axis (``dim``)."""

    def __init__(self, size: int, dim: int = 1):
        super().__init__()
        self.dim = dim
        self.register_buffer("scale", torch.ones(size))
        self.register_buffer("shift", torch.zeros(size))

    def set_from_keras(self, weights: dict[str, np.ndarray], eps: float):
        scale = weights["gamma"] / np.sqrt(weights["moving_variance"] + np.float32(eps))
        self.scale.copy_(torch.from_numpy(scale))
        self.shift.copy_(torch.from_numpy(weights["beta"] - weights["moving_mean"] * scale))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[self.dim] = -1
        return x * self.scale.view(shape) + self.shift.view(shape)


class FrequencyMaxBlock(nn.Module):
    """A front-end branch: conv over (time, mel) -> ReLU -> batch norm -> max over frequency, ``(B, C, frames)``.

    Computed as ``norm(relu(signs * (max_f(conv'(x)) + bias')))`` where
    ``conv'`` and ``bias'`` are the convolution's weights and bias with the
    channels of a negative batch-norm scale negated (``signs`` = -1 there): the
    max of the negated output is minus the min, which is what the batch norm's
    max picks for those channels.  Exact, the large (B, C, frames, positions)
    output is read once, and ReLU and batch norm touch the pooled array only.
    The bias is constant over frequency, so it is added after the max.
    Subclasses compute ``max_f(conv'(x))`` (:meth:`conv_max`).
    """

    def __init__(self, filters: int, kernel: tuple[int, int], time_padding: tuple[int, int]):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(filters, 1, *kernel), requires_grad=False)  # (out, in, time, mel)
        self.bias = nn.Parameter(torch.zeros(filters), requires_grad=False)
        self.norm = FrozenBatchNorm(filters)
        self.time_padding = time_padding
        self.register_buffer("signs", torch.ones(filters))

    compute_dtype = torch.float32  # of the convolution (see Musicnn.precision); ReLU and batch norm are float32

    def set_from_keras(self, conv: dict[str, np.ndarray], norm: dict[str, np.ndarray], eps: float):
        self.norm.set_from_keras(norm, eps)
        signs = torch.where(self.norm.scale < 0, -1.0, 1.0)
        self.signs.copy_(signs)
        kernel = torch.from_numpy(conv["kernel"]).permute(3, 2, 0, 1)  # (time, mel, in, out) -> (out, in, time, mel)
        self.weight.copy_(kernel * signs[:, None, None, None])
        self.bias.copy_(torch.from_numpy(conv["bias"]) * signs)

    def conv_max(self, x):
        raise NotImplementedError

    def conv_max_direct(self, x):
        """``max_f(conv'(x))`` by the library's 2-D convolution: on a GPU, and when the weights train.

        The strided products of :meth:`conv_max` are made for inference on a
        CPU; autograd through their overlapping views is slow, and a GPU runs
        cuDNN's convolution faster than a loop over patches.  The same numbers
        (to float rounding).
        """
        return F.conv2d(x[:, None], self.weight).amax(dim=3)

    def forward(self, x):
        """``(B, frames, 96)`` normalised patches -> ``(B, filters, frames)`` float32."""
        x = F.pad(x, (0, 0, *self.time_padding)).contiguous()  # conv_max takes strided views of each patch
        direct = x.device.type != "cpu" or (torch.is_grad_enabled() and self.weight.requires_grad)
        peak = (self.conv_max_direct(x) if direct else self.conv_max(x)).float() + self.bias[:, None]
        return self.norm(F.relu(peak * self.signs[:, None]))


def _inverse_dft(points: int, outputs: np.ndarray, scale: int) -> np.ndarray:
    """``(len(outputs), 2 * (points // 2 + 1))``: the inverse real DFT over ``points`` at ``outputs``, divided by
    ``scale``, on the real parts of the half spectrum, then its imaginary parts (float64)."""
    k = np.arange(points // 2 + 1)
    weight = np.where((k == 0) | (2 * k == points), 1.0, 2.0)  # the other bins stand for their conjugates too
    angle = 2 * np.pi * np.outer(outputs, k) / points
    return np.concatenate([weight * np.cos(angle), -weight * np.sin(angle)], axis=1) / scale


class TimbralBlock(FrequencyMaxBlock):
    """Filters spanning 7 frames and part of the mel axis (38 or 67 bands), max over the mel positions.

    ``compute_dtype`` float32 (:meth:`conv_max_spectral`): the correlation
    along the mel axis goes through the discrete Fourier transform of the 96
    bands, where it is a product per frequency bin; a patch then costs two
    rounds of matrix products (the 7 taps of each bin, then the inverse
    transform at the valid mel positions only), 217 and 164 million
    multiply-adds for the two layers instead of 599 and 537, with float32
    rounding below the direct product's (max error 4e-7 of the largest output
    against float64, direct 7e-7).  2x and 2.8x faster than the strided
    product below on the 2-core EPYC held to AVX2.  A patch whose input needs
    gradients takes the strided product (:meth:`conv_max_strided`): the patch
    is unfolded along the mel axis only (``U[t, j, p] = x[t, p + j]``); the 7
    time taps then need no copy, because in ``U`` the pair (tap, band offset)
    of frame ``t`` is one index with a constant stride.
    bfloat16: an im2col per patch and one matrix product, the fastest way
    measured for bfloat16 (AVX512-BF16), 1.5 to 2.5x faster than the strided
    float32 product, 1.5 to 1.8x faster than the spectral one.
    """

    def conv_max(self, x):
        taps, width = self.weight.shape[2:]
        frames, positions = x.shape[1] - taps + 1, x.shape[2] - width + 1
        if self.compute_dtype == torch.bfloat16:
            weight = self.weight[:, 0].flatten(1).bfloat16().t()  # (7 * width, filters)
            peaks = []
            for patch in x.bfloat16():
                columns = patch.unfold(0, taps, 1).unfold(1, width, 1).reshape(frames, positions, taps * width)
                peaks.append((columns @ weight).amax(dim=1))  # (frames, filters)
            return torch.stack(peaks).transpose(1, 2)
        if x.requires_grad:
            return self.conv_max_strided(x)
        return self.conv_max_spectral(x)

    SPECTRAL_CHUNK = 32  # frames per round of products: the intermediate (32, 98, 204) array stays in the L2 cache

    def spectral_plan(self, bands: int) -> list[tuple[np.ndarray, ...]]:
        """The products of :meth:`conv_max_spectral` for patches of ``bands`` mel bands: a list of groups
        ``(bins, W_re, W_im, inverse)``, float32, computed in float64 from the current weights once per change.

        For bin ``k`` of the real DFT over ``bands`` points, the correlation of
        a frame with filter ``f``'s band profile at tap ``i`` is ``X[k] *
        conj(F[f, i, k])``; with real numbers, ``(frames, 2 * taps) @ W`` gives
        the real and imaginary parts of the sum over taps, the columns of the
        input being the taps' real parts, then their imaginary parts.  One
        group: every bin alone (``bins`` ``(49, 1)``), then ``inverse``
        ``(positions, 98)``, the inverse real DFT at the valid positions (real
        parts' columns first).  Where more than half the bands are valid
        positions (the 38-band filters: 59 of 96) the even and the odd
        positions are two groups instead, each the inverse DFT over ``bands /
        2`` points of ``O[k] + conj(O[bands/2 - k])`` and of ``(O[k] -
        conj(O[bands/2 - k])) * exp(2 pi i k / bands)`` (``bins`` ``(25, 2)``:
        bins ``k`` and ``bands/2 - k`` together): twice the work in the first
        product and half in the second, 217 instead of 272 million multiply-adds
        a patch, 1.15x faster.
        """
        key = (self.weight.data_ptr(), self.weight._version, int(bands))
        cached = self.__dict__.get("_spectral")
        if cached is not None and cached[0] == key:
            return cached[1]
        kernel = self.weight.detach()[:, 0].double().cpu().numpy()  # (filters, taps, width)
        positions = bands - kernel.shape[2] + 1
        spectrum = np.conj(np.fft.rfft(kernel, n=bands, axis=2)).transpose(2, 1, 0)  # (bins, taps, filters)
        w_re = np.concatenate([spectrum.real, -spectrum.imag], axis=1)  # (bins, 2 * taps, filters): real part of O[k]
        w_im = np.concatenate([spectrum.imag, spectrum.real], axis=1)  # its imaginary part
        if 2 * positions <= bands or bands % 4:
            groups = [(np.arange(len(spectrum))[:, None], w_re, w_im, _inverse_dft(bands, np.arange(positions), bands))]
        else:
            half = bands // 2
            k = np.arange(half // 2 + 1)
            pairs = np.stack([k, half - k], axis=1)
            even_re = np.concatenate([w_re[k], w_re[half - k]], axis=1)  # O[k] + conj(O[half - k])
            even_im = np.concatenate([w_im[k], -w_im[half - k]], axis=1)
            odd_re = np.concatenate([w_re[k], -w_re[half - k]], axis=1)  # O[k] - conj(O[half - k]) ...
            odd_im = np.concatenate([w_im[k], w_im[half - k]], axis=1)
            cos, sin = (f(2 * np.pi * k / bands)[:, None, None] for f in (np.cos, np.sin))  # ... exp(2 pi i k / N)
            groups = [(pairs, even_re, even_im, _inverse_dft(half, np.arange((positions + 1) // 2), bands)),
                      (pairs, odd_re * cos - odd_im * sin, odd_re * sin + odd_im * cos,
                       _inverse_dft(half, np.arange(positions // 2), bands))]
        plan = [(bins, *(np.ascontiguousarray(a, dtype=np.float32) for a in arrays)) for bins, *arrays in groups]
        self.__dict__["_spectral"] = (key, plan)
        return plan

    def conv_max_spectral(self, x):
        """``max_f(conv'(x))`` in float32 through the DFT over the mel axis (see the class docstring).

        Per patch: the real DFT of every frame (49 bins for 96 bands); for each
        bin (or pair of bins) of a group of :meth:`spectral_plan`, the 7 time
        taps as one matrix product ``(frames, 14) @ (14, filters)`` (28 for a
        pair), written straight into a ``(frames, 2, bins, filters)`` layout;
        then, for each frame, the group's inverse DFT at its valid mel positions
        as one product ``(positions, 2 * bins) @ (2 * bins, filters)``, and the
        max over all positions.  A DFT of the whole 96 bands is exact for the
        valid positions (the circular wrap only reaches positions a valid
        correlation does not have).  The products are NumPy's (OpenBLAS, 1.25x
        MKL's for these shapes here); callers that run patches in parallel hold
        BLAS to one thread (:class:`MusicnnEmbedder`).
        """
        taps = self.weight.shape[2]
        patches = x.detach().cpu().numpy()
        n, frames_in, bands = patches.shape
        frames = frames_in - taps + 1
        plan = self.spectral_plan(bands)
        filters, positions = self.weight.shape[0], sum(len(group[3]) for group in plan)
        chunk = min(self.SPECTRAL_CHUNK, frames)
        spectra = np.fft.rfft(patches, axis=2).astype(np.complex64, copy=False)  # (n, frames_in, 49)
        parts = [np.empty((chunk, 2, len(bins), filters), dtype=np.float32) for bins, *_ in plan]
        values = np.empty((chunk, positions, filters), dtype=np.float32)
        peaks = torch.empty((n, frames, filters))
        windows = np.lib.stride_tricks.sliding_window_view
        for at, spectrum in enumerate(spectra):
            by_bin = spectrum.T  # (49, frames_in)
            taps_of = np.concatenate([windows(by_bin.real, taps, axis=1), windows(by_bin.imag, taps, axis=1)], axis=2)
            inputs = [taps_of[bins].transpose(0, 2, 1, 3).reshape(len(bins), frames, -1) for bins, *_ in plan]
            for start in range(0, frames, chunk):
                m, row = min(chunk, frames - start), 0
                for (bins, w_re, w_im, inverse), part, a in zip(plan, parts, inputs):
                    np.matmul(a[:, start : start + m], w_re, out=part[:m, 0].transpose(1, 0, 2))
                    np.matmul(a[:, start : start + m], w_im, out=part[:m, 1].transpose(1, 0, 2))
                    rows = slice(row, row + len(inverse))
                    np.matmul(inverse, part[:m].reshape(m, 2 * len(bins), filters), out=values[:m, rows])
                    row = rows.stop
                torch.amax(torch.from_numpy(values[:m]), dim=1, out=peaks[at, start : start + m])
        return peaks.transpose(1, 2)

    def conv_max_strided(self, x):
        """``max_f(conv'(x))`` in float32 by strided batched matrix products (differentiable; see the class
        docstring)."""
        weight = self.weight[:, 0].flatten(1)  # (filters, 7 * width): index tap * width + offset
        taps, width = self.weight.shape[2:]
        frames, positions = x.shape[1] - taps + 1, x.shape[2] - width + 1
        peaks = []
        for patch in x:
            unfolded = patch.unfold(1, width, 1).transpose(1, 2).contiguous()  # (frames + 6, width, positions)
            windows = unfolded.as_strided((frames, positions, taps * width), (width * positions, 1, positions))
            peaks.append(torch.matmul(windows, weight.t()).amax(dim=1))  # (frames, filters)
        return torch.stack(peaks).transpose(1, 2)


class TemporalBlock(FrequencyMaxBlock):
    """Filters spanning many frames (128, 64 or 32) and one mel band, max over the 96 bands.

    With one input channel and a kernel one band wide, the output at frame t is
    ``W (filters, k) @ x[t : t + k, :] (k, 96)``, and ``x[t : t + k]`` is a
    contiguous slice of the patch: one strided batched matrix product per patch
    over overlapping views, without the copy an im2col would make.  Several
    times faster than the 2-D convolution for these shapes.
    """

    def conv_max(self, x):
        weight = self.weight[:, 0, :, 0]  # (filters, k)
        k, bands = weight.shape[1], x.shape[2]
        frames = x.shape[1] - k + 1
        peaks = []
        for patch in x:
            windows = patch.as_strided((frames, k, bands), (bands, bands, 1))
            peaks.append(torch.matmul(weight, windows).amax(dim=2))  # (frames, filters)
        return torch.stack(peaks).transpose(1, 2)


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
