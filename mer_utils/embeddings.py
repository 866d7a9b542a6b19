"""Phase 3: PANNs CNN14 embeddings of 3-second segments, cached per song, and the EmotionMLP on top.

Used by ``notebooks/phase3_panns.py`` (embeddings, t-SNE, the MLP) and by
:mod:`mer_utils.predict` (new songs); measured by ``benchmarks/bench_embeddings.py``.

The backbone.  CNN14 of PANNs (Kong et al. 2020), built from the ``Cnn14``
class of the ``panns-inference`` package with the settings of the released
checkpoint (:data:`CNN14_ARGS`), loaded from ``Cnn14_mAP=0.431.pth`` (Zenodo
record 3987831) by :func:`load_checkpoint`.  Importing ``panns_inference``
itself runs its ``config.py``, which calls ``wget`` through ``os.system`` to
fetch an AudioSet label list into ``~/panns_data``.  We never import the
package: :func:`cnn14_class` registers an empty stand-in package whose search
path is the installed ``panns_inference`` folder and imports only its
``models.py`` (and the ``pytorch_utils.py`` beside it) through it, so
``__init__.py`` and ``config.py`` never run.  ``models.py`` also imports
``matplotlib.pyplot``, unused, which on a cold font cache runs ``fc-list``; a
placeholder stands in for it during that import.  ``tests/test_embeddings.py``
proves, in a fresh process with process creation and sockets disabled and an
empty ``$HOME``, that no process is started and nothing is written there.

Without the checkpoint, :func:`load_backbone` can build a CNN14 with random
weights from a seed (deterministic).  Its embeddings are random projections of
the log-mel spectrogram, a baseline rather than PANNs, and every page that uses
them says so (:meth:`Backbone.banner`).  :func:`backbone_for` holds the policy:
on SynthDEAM the random backbone replaces a missing checkpoint; on DEAM a
missing checkpoint is an error unless the random backbone is asked for.

The embedding.  A clip is decoded to mono at 32 kHz and cut into
non-overlapping 3-second segments; the trailing partial segment is dropped and
a clip shorter than one segment is skipped and reported.  Each segment goes
through CNN14 to its 2048-dimensional ``embedding`` output (the ReLU of
``fc1`` after global max + mean pooling of the last conv block); a song's
embedding is the mean of its segments' embeddings.

Speed.  :class:`FastCnn14` computes exactly the ``embedding`` output of
``Cnn14.forward`` in eval mode, arranged for CPUs: the STFT by FFT instead of
a convolution with DFT matrices, batch norms folded into the convolutions, the
AudioSet classifier skipped, the first four conv blocks run on a few segments
at a time (their activations stay in cache) and the last two on the whole batch
(their large weights are read once per batch), and, where the CPU supports
bfloat16 (``precision="auto"``), the convolutions under bfloat16 autocast
(embeddings agree with float32 to a relative error of about 0.4 %).  The
precision is part of the cache key and of the saved model.

The cache.  One ``.npy`` per song, ``(n_segments, 2048)`` float32, named by
song id and the audio file's size and modification time, in a folder keyed by
the corpus, the segment settings and the backbone's identity (the checkpoint's
sha256, or the random seed and a hash of the weights).  Files are written
atomically, so an interrupted run resumes; clips that cannot be decoded or are
too short get a ``.skip.json`` with the reason.
"""
from __future__ import annotations

import contextlib
import hashlib
import html
import importlib
import importlib.util
import json
import logging
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .cache import save_npy_atomic, settings_key, write_csv_atomic, write_json_atomic
from .data import load_audio
from .errors import AudioReadError, MerError

log = logging.getLogger(__name__)

# The settings of the released checkpoint Cnn14_mAP=0.431.pth.
CNN14_ARGS = {"sample_rate": 32000, "window_size": 1024, "hop_size": 320, "mel_bins": 64, "fmin": 50,
              "fmax": 14000, "classes_num": 527}
EMBEDDING_DIM = 2048
SEGMENT_SETTINGS = {"sr": 32000, "segment_seconds": 3.0}
CACHE_VERSION = 1
CHECKPOINT_NAME = "Cnn14_mAP=0.431.pth"
DEFAULT_CHECKPOINT = "weights/" + CHECKPOINT_NAME
HOW_TO_GET_WEIGHTS = (
    f"run 'make weights' on a machine with internet access, or download {CHECKPOINT_NAME} from Zenodo record "
    "3987831 (https://zenodo.org/records/3987831) and put it at that path (or pass PANNS_CHECKPOINT=<file>)"
)
PRECISIONS = ("auto", "float32", "bfloat16")
_STANDIN_PACKAGE = "_mer_panns_models"  # the stand-in package that hosts panns_inference/models.py


# --------------------------------------------------------------------------- building CNN14


def cnn14_class():
    """The ``Cnn14`` class of ``panns_inference/models.py``, imported without running the package's ``__init__``.

    ``importlib.util.find_spec`` locates a top-level package without executing
    it.  A bare module object with that folder as its ``__path__`` stands in
    for the package, so ``models.py`` and its relative import of
    ``pytorch_utils.py`` load as ``_mer_panns_models.models`` and
    ``_mer_panns_models.pytorch_utils``; ``panns_inference/__init__.py`` (which
    imports ``config.py``, the module that calls wget) is never executed.
    """
    module = sys.modules.get(f"{_STANDIN_PACKAGE}.models")
    if module is None:
        spec = importlib.util.find_spec("panns_inference")
        if spec is None or not spec.submodule_search_locations:
            raise MerError("the package panns-inference is not installed in this environment: run 'make test' "
                           "(it installs the pinned dependencies) or 'pip install panns-inference==0.1.1'.")
        folder = list(spec.submodule_search_locations)
        if not any((Path(f) / "models.py").is_file() for f in folder):
            raise MerError(f"panns_inference at {folder} has no models.py: reinstall panns-inference==0.1.1.")
        package = types.ModuleType(_STANDIN_PACKAGE, "panns_inference's folder, without its __init__")
        package.__path__ = folder
        package.__package__ = _STANDIN_PACKAGE
        sys.modules.setdefault(_STANDIN_PACKAGE, package)
        # models.py imports matplotlib.pyplot but never uses it; on a cold matplotlib cache that import
        # runs fc-list in a subprocess.  Unless pyplot is loaded already, an empty placeholder stands in
        # for it during this one import and is removed afterwards.
        placeholder = "matplotlib.pyplot" not in sys.modules
        if placeholder:
            sys.modules["matplotlib.pyplot"] = types.ModuleType("matplotlib.pyplot", "placeholder while loading CNN14")
        try:
            module = importlib.import_module(f"{_STANDIN_PACKAGE}.models")
        finally:
            if placeholder:
                del sys.modules["matplotlib.pyplot"]
    return module.Cnn14


def build_cnn14(seed: int | None = None):
    """A CNN14 with the checkpoint's settings, in eval mode; with ``seed``, its random weights are reproducible.

    The global torch random state is left as it was.
    """
    cls = cnn14_class()
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        model = cls(**CNN14_ARGS)
    return model.eval()


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_fingerprint(model) -> str:
    """A short hash of every tensor in ``model.state_dict()`` (names, shapes and values)."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def load_checkpoint(model, path) -> dict:
    """Load a PANNs checkpoint (``{'model': state_dict, ...}``) into ``model``, checking every key and shape.

    Reads with ``torch.load(map_location='cpu', weights_only=True)``.  Returns
    ``{"checkpoint": path, "sha256": ..., "bytes": ...}``.  A missing, truncated,
    corrupt or foreign file raises :class:`MerError` naming the path and the fix.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MerError(f"PANNs checkpoint {path} not found: {HOW_TO_GET_WEIGHTS}.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, random bytes, an HTML error page, a pickle with foreign objects
        raise MerError(
            f"PANNs checkpoint {path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}); "
            f"the file is corrupt or incomplete. Delete it and {HOW_TO_GET_WEIGHTS}."
        ) from None
    state = saved.get("model", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise MerError(f"PANNs checkpoint {path} holds no state dict under 'model': it is not {CHECKPOINT_NAME}. "
                       f"Delete it and {HOW_TO_GET_WEIGHTS}.")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        details = "; ".join(
            f"{what}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)) if keys
        )
        raise MerError(f"PANNs checkpoint {path} does not fit CNN14 with {CNN14_ARGS} ({details}): it is not "
                       f"{CHECKPOINT_NAME}. Delete it and {HOW_TO_GET_WEIGHTS}.")
    model.load_state_dict(state, strict=True)
    return {"checkpoint": str(path), "sha256": file_sha256(path), "bytes": path.stat().st_size}


@dataclass
class Backbone:
    """A CNN14 ready for embedding, and where its weights came from.

    ``kind`` is ``"pretrained"`` (loaded from ``checkpoint``) or ``"random"``
    (built from ``seed``).  ``identity`` names the weights in cache keys and
    saved models.  ``reason`` says why a random backbone is used.
    """

    model: object
    kind: str
    identity: str
    checkpoint: str | None = None
    sha256: str | None = None
    seed: int | None = None
    fingerprint: str | None = None
    reason: str = ""

    @property
    def is_random(self) -> bool:
        return self.kind == "random"

    def info(self) -> dict:
        """Plain values that rebuild this backbone (saved with the model for ``mer predict``)."""
        checkpoint_abs = str(Path(self.checkpoint).resolve()) if self.checkpoint else None
        return {"kind": self.kind, "identity": self.identity, "checkpoint": self.checkpoint,
                "checkpoint_abs": checkpoint_abs, "sha256": self.sha256, "seed": self.seed,
                "fingerprint": self.fingerprint, "cnn14": dict(CNN14_ARGS)}

    def describe(self) -> str:
        if self.is_random:
            return f"CNN14 with random weights (seed {self.seed}, weights hash {self.fingerprint}): a random-feature baseline, not PANNs"
        return f"PANNs CNN14 from {self.checkpoint} (sha256 {self.sha256[:12]}...)"

    def banner_text(self) -> str:
        """The HTML body of the backbone note shown on every Phase 3 page."""
        if not self.is_random:
            return (f"Embeddings from the pretrained PANNs CNN14, checkpoint <code>{html.escape(str(self.checkpoint))}</code> "
                    f"(sha256 {self.sha256[:12]}...).")
        return (
            "<b>A random-feature baseline, not PANNs.</b> "
            f"{html.escape(self.reason)} The embeddings on this page come from a CNN14 with <b>random weights</b> "
            f"(seed {self.seed}): random projections of the log-mel spectrogram, not the pretrained representation "
            "the report used, so they say nothing about what PANNs embeddings can do. For PANNs, run "
            f"<code>make weights</code> (or put {CHECKPOINT_NAME} from Zenodo record 3987831 at the checkpoint path "
            "by hand) and rebuild."
        )

    def banner(self):
        """An HTML admonition for the notebook: a warning for a random backbone, a note otherwise."""
        from IPython.display import HTML

        kind, title = ("warning", "Random CNN14, not PANNs") if self.is_random else ("note", "Backbone")
        return HTML(f'<div class="admonition {kind}"><p class="admonition-title">{title}</p><p>{self.banner_text()}</p></div>')


def random_backbone(seed: int = 42, reason: str = "") -> Backbone:
    """A CNN14 with seeded random weights (the same weights for the same seed and torch version)."""
    model = build_cnn14(seed=seed)
    fingerprint = weights_fingerprint(model)
    return Backbone(model=model, kind="random", identity=f"random-seed-{int(seed)}-{fingerprint}", seed=int(seed),
                    fingerprint=fingerprint, reason=reason)


def load_backbone(checkpoint_path, allow_random: bool = False, seed: int = 42, force_random: bool = False) -> Backbone:
    """The pretrained CNN14 from ``checkpoint_path``, or a seeded random one.

    * ``force_random``: the random backbone, whatever is on disk.
    * the checkpoint exists: it is loaded (a corrupt file is an error, never
      silently replaced).
    * it is missing and ``allow_random``: the random backbone, with a warning;
      check :attr:`Backbone.is_random` and show :meth:`Backbone.banner`.
    * it is missing otherwise: :class:`MerError` saying how to get it.
    """
    path = Path(str(checkpoint_path)).expanduser() if checkpoint_path not in (None, "") else None
    if force_random:
        return random_backbone(seed, reason="The random backbone was asked for (random_backbone=True, PANNS_RANDOM=1).")
    if path is not None and path.exists():
        model = build_cnn14(seed=seed)
        info = load_checkpoint(model, path)
        return Backbone(model=model, kind="pretrained", identity=f"sha256-{info['sha256']}", checkpoint=str(checkpoint_path),
                        sha256=info["sha256"])
    if allow_random:
        reason = f"The PANNs checkpoint {path} was not found."
        log.warning("%s Using a CNN14 with random weights (seed %s) instead: a baseline, not PANNs.", reason, seed)
        return random_backbone(seed, reason=reason)
    raise MerError(
        f"PANNs checkpoint {path} not found: {HOW_TO_GET_WEIGHTS}. To run Phase 3 without it, on a CNN14 with random "
        "weights (a baseline, not PANNs), ask for it explicitly: PANNS_RANDOM=1 (notebook parameter random_backbone=True)."
    )


def backbone_for(data: str, checkpoint_path, random_backbone: bool = False, seed: int = 42) -> Backbone:
    """The backbone policy of the book: a missing checkpoint falls back to random weights on SynthDEAM only.

    With ``data="deam"`` a missing checkpoint raises :class:`MerError` unless
    ``random_backbone`` is true, which selects the random backbone explicitly.
    """
    return load_backbone(checkpoint_path, allow_random=(data == "synth"), seed=seed, force_random=bool(random_backbone))


# --------------------------------------------------------------------------- fast inference


def _fold_batch_norm(conv, bn):
    """A Conv2d with bias equal to ``bn(conv(x))`` for a batch norm in eval mode."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
    with torch.no_grad():
        fused.weight.copy_(conv.weight.detach() * scale[:, None, None, None])
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(scale)
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias.detach())
    return fused


class FastCnn14(nn.Module):
    """The ``embedding`` output of a CNN14 in eval mode, computed faster on CPU (see the module docstring).

    ``forward(x)`` takes ``(batch, 96000)`` float32 waveforms at 32 kHz and
    returns ``(batch, 2048)``.  Stage one (STFT, log-mel, conv blocks 1-4)
    runs ``stage_one_batch`` segments at a time; stage two (blocks 5-6 and the
    pooling head) runs on the whole batch.  The log-mel filter bank and ``fc1``
    are the loaded CNN14's own modules; batch norms are folded into copies of
    its convolutions.
    """

    def __init__(self, cnn14, precision: str = "float32", stage_one_batch: int = 4):
        super().__init__()
        self.n_fft = CNN14_ARGS["window_size"]
        self.hop = CNN14_ARGS["hop_size"]
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True))  # librosa's 'hann', fftbins=True
        self.logmel = cnn14.logmel_extractor
        bn0 = cnn14.bn0
        scale = bn0.weight.detach() / torch.sqrt(bn0.running_var + bn0.eps)
        self.register_buffer("mel_scale", scale.clone())
        self.register_buffer("mel_shift", (bn0.bias.detach() - bn0.running_mean * scale).clone())
        self.convs = nn.ModuleList()
        for i in range(1, 7):
            block = getattr(cnn14, f"conv_block{i}")
            self.convs.append(nn.ModuleList([_fold_batch_norm(block.conv1, block.bn1), _fold_batch_norm(block.conv2, block.bn2)]))
        self.fc1 = cnn14.fc1
        self.precision = precision
        self.stage_one_batch = int(stage_one_batch)
        self.eval()

    def front(self, x):
        """Log-mel spectrogram ``(B, 1, frames, 64)`` after ``bn0``, in float32."""
        spec = torch.stft(x, self.n_fft, self.hop, self.n_fft, self.window, center=True, pad_mode="reflect",
                          return_complex=True)
        power = (spec.real**2 + spec.imag**2).transpose(1, 2)[:, None]
        return self.logmel(power) * self.mel_scale + self.mel_shift

    def blocks(self, x, first: int, last: int):
        for i in range(first, last):
            conv1, conv2 = self.convs[i]
            x = F.relu_(conv2(F.relu_(conv1(x))))
            if i < 5:  # block 6 pools with a (1, 1) window, i.e. not at all
                x = F.avg_pool2d(x, kernel_size=2)
        return x

    def head(self, x):
        x = x.float().mean(dim=3)
        x = x.max(dim=2).values + x.mean(dim=2)
        return F.relu_(self.fc1(x))

    def forward(self, x):
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16"
                    else contextlib.nullcontext())
        parts = []
        for at in range(0, x.shape[0], self.stage_one_batch):
            mel = self.front(x[at : at + self.stage_one_batch])
            with autocast:
                parts.append(self.blocks(mel, 0, 4))
        with autocast:
            deep = self.blocks(torch.cat(parts), 4, 6)
        return self.head(deep)


def resolve_precision(precision: str = "auto") -> str:
    """``"auto"`` -> ``"bfloat16"`` where the CPU computes it natively (AVX512-BF16, AMX), else ``"float32"``."""
    if precision not in PRECISIONS:
        raise MerError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # an old or unusual build: stay with float32
        native = False
    return "bfloat16" if native else "float32"


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Run a block with ``torch.set_num_threads(n_threads)``, restoring the previous value after."""
    before = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def segment_audio(audio: np.ndarray, sr: int = SEGMENT_SETTINGS["sr"], seconds: float = SEGMENT_SETTINGS["segment_seconds"],
                  name: str = "clip") -> np.ndarray:
    """Cut a mono clip into non-overlapping ``seconds``-long segments ``(n, samples)``; the tail is dropped.

    A clip shorter than one segment raises :class:`AudioReadError` (the caller
    reports and skips it; it is never padded).
    """
    length = int(round(seconds * sr))
    count = len(audio) // length
    if count == 0:
        raise AudioReadError(f"{name}: {len(audio) / sr:.2f} s long, shorter than one {seconds:g}-second segment; "
                             "nothing to embed (clips are not padded)")
    return np.ascontiguousarray(np.asarray(audio[: count * length], dtype=np.float32).reshape(count, length))


class Embedder:
    """Batched CPU embedding of segments with a :class:`Backbone`.

    ``batch_size``: segments per forward pass (stage two of
    :class:`FastCnn14`); ``n_threads``: torch threads during inference;
    ``precision``: ``"auto"``, ``"float32"`` or ``"bfloat16"``.
    """

    def __init__(self, backbone: Backbone, batch_size: int = 32, n_threads: int | None = 2, precision: str = "auto",
                 stage_one_batch: int = 4):
        if int(batch_size) < 1:
            raise MerError(f"batch_size={batch_size} must be 1 or more.")
        self.backbone = backbone
        self.batch_size = int(batch_size)
        self.n_threads = n_threads
        self.precision = resolve_precision(precision)
        self.fast = FastCnn14(backbone.model, precision=self.precision, stage_one_batch=stage_one_batch)

    @property
    def settings(self) -> dict:
        """What the embeddings depend on (the cache key and the saved model carry it)."""
        return {**SEGMENT_SETTINGS, "precision": self.precision, "output": "embedding"}

    def embed_segments(self, segments: np.ndarray) -> np.ndarray:
        """``(n, 96000)`` waveforms -> ``(n, 2048)`` float32 embeddings."""
        segments = np.asarray(segments, dtype=np.float32)
        if segments.ndim != 2 or segments.shape[0] == 0:
            raise MerError(f"expected a non-empty (n_segments, samples) array, got shape {segments.shape}.")
        out = []
        with torch_threads(self.n_threads), torch.inference_mode():
            for at in range(0, len(segments), self.batch_size):
                batch = torch.from_numpy(segments[at : at + self.batch_size])
                out.append(self.fast(batch).float().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    def embed_audio(self, audio: np.ndarray, name: str = "clip") -> np.ndarray:
        """Embeddings ``(n_segments, 2048)`` of a mono clip at 32 kHz."""
        return self.embed_segments(segment_audio(audio, name=name))

    def embed_file(self, path) -> np.ndarray:
        """Decode any file librosa reads (mono or stereo, any rate) and embed its segments."""
        return self.embed_audio(load_audio(path, sr=SEGMENT_SETTINGS["sr"]), name=str(path))


# --------------------------------------------------------------------------- the corpus cache


def _audio_fingerprint(path) -> str:
    stat = Path(path).stat()
    return hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]


def cache_folder(corpus, cache_dir, embedder: Embedder) -> Path:
    """``<cache_dir>/panns/<key>``: the key covers the corpus, the segment settings and the backbone."""
    key = settings_key(version=CACHE_VERSION, data=corpus.name, root=str(Path(corpus.root).resolve()),
                       settings=embedder.settings, backbone=embedder.backbone.identity)
    return Path(cache_dir) / "panns" / key


@dataclass
class EmbeddingSet:
    """Song embeddings of a corpus (``songs``: rows in ``song_ids`` order) and what was skipped.

    ``skipped`` has columns ``song_id``, ``kind`` ("corrupt" or "too short") and
    ``reason``.  Segment embeddings stay on disk: :meth:`segments` reads one song's.
    """

    folder: Path
    song_ids: list[int]
    songs: np.ndarray
    n_segments: pd.Series
    skipped: pd.DataFrame
    settings: dict
    backbone: dict
    compute_seconds: float = 0.0
    computed_audio_seconds: float = 0.0
    reused_songs: int = 0
    files: dict = field(default_factory=dict, repr=False)

    def segments(self, song_id: int) -> np.ndarray:
        """The ``(n_segments, 2048)`` embeddings of one song."""
        return np.load(self.files[int(song_id)])

    def frame(self) -> pd.DataFrame:
        """Song embeddings as a DataFrame indexed by ``song_id`` (columns ``emb_0`` ... ``emb_2047``)."""
        columns = [f"emb_{i}" for i in range(self.songs.shape[1])]
        return pd.DataFrame(self.songs, index=pd.Index(self.song_ids, name="song_id"), columns=columns)

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio embedded per second of computing, in this call (NaN when all came from the cache)."""
        return self.computed_audio_seconds / self.compute_seconds if self.compute_seconds > 0 and self.computed_audio_seconds else float("nan")

    def describe(self) -> str:
        text = (f"{len(self.song_ids)} song embeddings ({int(self.n_segments.sum())} segments of "
                f"{self.settings['segment_seconds']:g} s) in {self.folder}")
        if self.reused_songs:
            text += f"; {self.reused_songs} songs from the cache"
        if self.computed_audio_seconds:
            text += (f"; {self.computed_audio_seconds / 60:.1f} min of audio embedded in {self.compute_seconds:.1f} s "
                     f"({self.realtime_factor:.0f}x real time, decoding included)")
        if len(self.skipped):
            text += f"; {len(self.skipped)} clip(s) skipped"
        return text


def embed_corpus(corpus, cache_dir, backbone: Backbone, batch_size: int = 32, n_threads: int | None = 2,
                 precision: str = "auto", progress: bool = True, embedder: Embedder | None = None) -> EmbeddingSet:
    """Embed every song of ``corpus`` (from the cache where possible).

    Segments of several songs share a forward pass (``batch_size`` segments);
    the next clips are decoded in a background thread while the network runs.
    Clips that cannot be decoded or are shorter than one segment are skipped,
    logged and listed in ``EmbeddingSet.skipped``.
    """
    from tqdm import tqdm

    embedder = embedder or Embedder(backbone, batch_size=batch_size, n_threads=n_threads, precision=precision)
    folder = cache_folder(corpus, cache_dir, embedder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"version": CACHE_VERSION, "data": corpus.name, "root": str(corpus.root), "settings": embedder.settings,
            "backbone": embedder.backbone.info()}
    write_json_atomic(folder / "settings.json", meta)

    songs = [(int(i), Path(p)) for i, p in zip(corpus.songs.index, corpus.songs["audio_path"])]
    stems, todo = {}, []
    for song_id, path in songs:
        try:
            stems[song_id] = f"{song_id}_{_audio_fingerprint(path)}"
        except OSError:
            stems[song_id] = f"{song_id}_missing"
        if not (folder / f"{stems[song_id]}.npy").exists() and not (folder / f"{stems[song_id]}.skip.json").exists():
            todo.append((song_id, path))
    reused = len(songs) - len(todo)
    if reused:
        log.info("embeddings: %d of %d songs found in the cache %s", reused, len(songs), folder)

    start = time.perf_counter()
    audio_seconds = 0.0
    sr, seconds = SEGMENT_SETTINGS["sr"], SEGMENT_SETTINGS["segment_seconds"]

    def decode(item):
        song_id, path = item
        try:
            return song_id, segment_audio(load_audio(path, sr=sr), sr=sr, seconds=seconds, name=str(path)), None
        except AudioReadError as exc:
            kind = "too short" if "shorter than one" in str(exc) else "corrupt"
            return song_id, None, (kind, str(exc))

    pending: list[tuple[int, np.ndarray]] = []

    def flush():
        nonlocal audio_seconds
        if not pending:
            return
        values = embedder.embed_segments(np.concatenate([segs for _, segs in pending]))
        at = 0
        for song_id, segs in pending:
            save_npy_atomic(folder / f"{stems[song_id]}.npy", values[at : at + len(segs)])
            at += len(segs)
            audio_seconds += len(segs) * seconds
        pending.clear()

    bar = tqdm(total=len(songs), initial=reused, desc="PANNs embeddings", unit="song", disable=not progress, mininterval=1.0)
    with ThreadPoolExecutor(max_workers=1) as pool:  # decoding overlaps inference (soundfile and soxr release the GIL)
        for song_id, segs, problem in pool.map(decode, todo):
            if problem:
                kind, reason = problem
                write_json_atomic(folder / f"{stems[song_id]}.skip.json", {"song_id": song_id, "kind": kind, "reason": reason})
            else:
                pending.append((song_id, segs))
                if sum(len(s) for _, s in pending) >= embedder.batch_size:
                    flush()
            bar.update()
        flush()
    bar.close()
    compute_seconds = time.perf_counter() - start if todo else 0.0

    ids, rows, counts, skipped, files = [], [], [], [], {}
    for song_id, _ in songs:
        skip = folder / f"{stems[song_id]}.skip.json"
        if skip.exists():
            record = json.loads(skip.read_text())
            skipped.append({"song_id": song_id, "kind": record["kind"], "reason": record["reason"]})
            continue
        file = folder / f"{stems[song_id]}.npy"
        try:
            values = np.load(file)
        except (OSError, ValueError) as exc:
            raise MerError(f"cached embedding {file} cannot be read ({exc}): delete it and run again.") from None
        if values.ndim != 2 or values.shape[1] != EMBEDDING_DIM or not np.isfinite(values).all():
            raise MerError(f"cached embedding {file} is malformed (shape {values.shape}): delete it and run again.")
        ids.append(song_id)
        rows.append(values.mean(axis=0))
        counts.append(len(values))
        files[song_id] = file
    skipped = pd.DataFrame(skipped, columns=["song_id", "kind", "reason"])
    write_csv_atomic(folder / "skipped.csv", skipped)
    if not ids:
        raise MerError(f"no song of the corpus at {corpus.root} could be embedded ({len(skipped)} clips skipped as corrupt or "
                       f"shorter than {seconds:g} s). Check the audio files under {corpus.root}.")
    for kind in ("corrupt", "too short"):
        bad = skipped.loc[skipped["kind"] == kind, "song_id"].tolist()
        if bad:
            log.warning("%d clip(s) skipped as %s: %s", len(bad), kind, ", ".join(map(str, bad[:20])))
    result = EmbeddingSet(folder=folder, song_ids=ids, songs=np.vstack(rows).astype(np.float32),
                          n_segments=pd.Series(counts, index=pd.Index(ids, name="song_id"), name="segments"),
                          skipped=skipped, settings=embedder.settings, backbone=embedder.backbone.info(),
                          compute_seconds=compute_seconds, computed_audio_seconds=audio_seconds, reused_songs=reused, files=files)
    log.info(result.describe())
    return result


# --------------------------------------------------------------------------- reading the embedding space


def tsne_map(embeddings: np.ndarray, seed: int = 42, perplexity: float | None = None) -> tuple[np.ndarray, float]:
    """2-D t-SNE coordinates of the rows of ``embeddings`` (scikit-learn, PCA start, seeded).

    The perplexity defaults to 30, lowered to ``(n - 1) / 3`` for small sets
    (t-SNE needs it below the number of points).  Returns ``(coords, perplexity)``.
    """
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    embeddings = np.asarray(embeddings, dtype=np.float64)
    n = len(embeddings)
    if n < 5:
        raise MerError(f"t-SNE needs at least 5 songs, got {n}.")
    if perplexity is None:
        perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    from threadpoolctl import threadpool_limits

    scaled = StandardScaler().fit_transform(embeddings)
    with threadpool_limits(limits=1):  # a few hundred points: one thread is quick and never stalls on a busy machine
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                      random_state=int(seed)).fit_transform(scaled)
    return coords, perplexity


def neighbour_agreement(points: np.ndarray, values, k: int = 10) -> float:
    """Pearson r between each point's value and the mean value of its ``k`` nearest neighbours.

    Near 0: the map (or space) does not order songs by that value; near 1: it
    does so smoothly.  A number to go with the t-SNE pictures.
    """
    from sklearn.neighbors import NearestNeighbors

    points, values = np.asarray(points, dtype=float), np.asarray(values, dtype=float)
    k = int(min(k, len(points) - 1))
    if k < 1:
        return float("nan")
    _, index = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    neighbour_mean = values[index[:, 1:]].mean(axis=1)
    return float(np.corrcoef(values, neighbour_mean)[0, 1])


# --------------------------------------------------------------------------- the EmotionMLP


@dataclass
class MlpResult:
    """A trained EmotionMLP with the scalers it needs and its per-epoch history."""

    model: object
    feature_scaler: object
    target_scaler: object
    target_names: list[str]
    history: pd.DataFrame
    settings: dict

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 2048)`` song (or segment) embeddings -> ``(n, n_targets)`` on the 1..9 scale."""
        return predict_mlp(self.model, self.feature_scaler, self.target_scaler, embeddings)


def fit_emotion_mlp(x_train, y_train, x_val, y_val, *, target_names, epochs: int = 30, patience: int | None = 10,
                    batch_size: int = 32, lr: float = 1e-3, seed: int = 42, progress: bool = True,
                    n_threads: int = 1) -> MlpResult:
    """Train an EmotionMLP on embeddings, jointly on all targets (columns of ``y_*``, 1..9 scale).

    The feature scaler and the label scaler are fit on the training rows only;
    :func:`mer_utils.train.fit` runs Adam on the summed per-target MSE, scores
    every epoch on the validation rows and keeps the best epoch (early stopping
    on the validation loss).  ``n_threads``: torch threads while training; the
    default 1 is as fast as 2 for a model this small, and does not slow down
    by an order of magnitude when another process keeps a core busy.
    """
    from sklearn.preprocessing import StandardScaler

    from .models import build_model
    from .train import array_loader, fit, fit_target_scaler

    x_train, x_val = np.asarray(x_train, dtype=np.float32), np.asarray(x_val, dtype=np.float32)
    y_train, y_val = np.asarray(y_train, dtype=float), np.asarray(y_val, dtype=float)
    if len(x_train) < 2 or len(x_val) < 1:
        raise MerError(f"the EmotionMLP needs at least 2 training and 1 validation songs, got {len(x_train)} and {len(x_val)}.")
    feature_scaler = StandardScaler().fit(x_train)
    target_scaler = fit_target_scaler(y_train)
    train_loader = array_loader(feature_scaler.transform(x_train), y_train, target_scaler, batch_size, shuffle=True, seed=seed)
    val_loader = array_loader(feature_scaler.transform(x_val), y_val, target_scaler, batch_size)
    outputs = 1 if y_train.ndim == 1 else y_train.shape[1]
    model = build_model("EmotionMLP", seed=seed, in_features=x_train.shape[1], outputs=outputs)
    with torch_threads(n_threads):
        model, history = fit(model, train_loader, val_loader, epochs=int(epochs), patience=patience, lr=float(lr),
                             device="cpu", seed=seed, target_scaler=target_scaler, target_names=list(target_names),
                             progress=progress)
    settings = {"epochs": int(epochs), "patience": patience, "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed),
                "in_features": int(x_train.shape[1]), "outputs": int(outputs)}
    return MlpResult(model=model.eval(), feature_scaler=feature_scaler, target_scaler=target_scaler,
                     target_names=list(target_names), history=history, settings=settings)


def predict_mlp(model, feature_scaler, target_scaler, embeddings) -> np.ndarray:
    """Predictions on the 1..9 scale of a trained EmotionMLP for rows of ``embeddings``."""
    x = torch.as_tensor(feature_scaler.transform(np.asarray(embeddings, dtype=np.float32)).astype(np.float32))
    model.eval()
    with torch.inference_mode():
        scaled = model(x).float().numpy()
    return target_scaler.inverse_transform(scaled)


def mlp_epoch_table(history: pd.DataFrame, target_names) -> pd.DataFrame:
    """The per-epoch table of the Phase 3 page: losses, validation R², RMSE and MAE per target (1..9 scale)."""
    columns = {"epoch": "epoch", "train_loss": "train loss (MSE, std. units)", "val_loss": "val loss (MSE, std. units)"}
    for target in target_names:
        name = target.split("_")[0]
        columns.update({f"val_r2_{target}": f"{name} val R²", f"val_rmse_{target}": f"{name} val RMSE (1–9)",
                        f"val_mae_{target}": f"{name} val MAE (1–9)"})
    columns["seconds"] = "seconds"
    table = history[[c for c in columns if c in history.columns]].rename(columns=columns)
    table["best"] = history["best"].map({True: "◀ best", False: ""}).to_numpy()
    return table
