"""PANNs CNN14: built without the package's side effects, loaded from its checkpoint, or random.

Used by: ``notebooks/phase3_panns.py`` (through :func:`backbone_for`) and by
``mer predict`` (:mod:`mer_utils.predict.songs` rebuilds a model's backbone).

CNN14 of PANNs (Kong et al. 2020) is built from the ``Cnn14`` class of the
``panns-inference`` package with the settings of the released checkpoint
(:data:`CNN14_ARGS`), loaded from :data:`CHECKPOINT_NAME` (Zenodo record
3987831) by :func:`load_checkpoint`.  Importing ``panns_inference`` itself runs
its ``config.py``, which calls ``wget`` through ``os.system`` to fetch an
AudioSet label list into ``~/panns_data``.  We never import the package:
:func:`cnn14_class` registers an empty stand-in package whose search path is
the installed ``panns_inference`` folder and imports only its ``models.py``
(and the ``pytorch_utils.py`` beside it) through it, so ``__init__.py`` and
``config.py`` never run.  ``models.py`` also imports ``matplotlib.pyplot``,
unused, which on a cold font cache runs ``fc-list``; a placeholder stands in
for it during that import.  ``tests/test_embeddings.py`` proves, in a fresh
process with process creation and sockets disabled and an empty ``$HOME``,
that no process is started and nothing is written there.

Without the checkpoint, :func:`load_backbone` can build a CNN14 with random
weights from a seed (deterministic).  Its embeddings are random projections of
the log-mel spectrogram, a baseline rather than PANNs, and every page that uses
them says so (:meth:`Backbone.banner`).  :func:`backbone_choice` holds the policy:
on SynthDEAM the random backbone replaces a missing checkpoint; on DEAM a
missing checkpoint is an error unless the random backbone is asked for.  It
decides without torch, so ``make book`` asks it before the first notebook
(:mod:`mer_utils.preflight`); :func:`backbone_for` builds what it chose.

This module imports torch only inside its functions, so the checkpoint's name
and address (:data:`CHECKPOINT_NAME`, :data:`DEFAULT_CHECKPOINT`) can be read
by the downloader and the command line without loading torch.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import importlib.util
import logging
import sys
import types
from dataclasses import dataclass
from pathlib import Path

from ..corpus.audio import file_digest
from ..errors import MerError

log = logging.getLogger(__name__)

# The settings of the released checkpoint Cnn14_mAP=0.431.pth.
CNN14_ARGS = {
    "sample_rate": 32000,
    "window_size": 1024,
    "hop_size": 320,
    "mel_bins": 64,
    "fmin": 50,
    "fmax": 14000,
    "classes_num": 527,
}
CHECKPOINT_NAME = "Cnn14_mAP=0.431.pth"
DEFAULT_CHECKPOINT = "weights/" + CHECKPOINT_NAME  # relative to the repository root (the Makefile's PANNS_CHECKPOINT)
HOW_TO_GET_WEIGHTS = (
    f"run 'make weights' on a machine with internet access, or download {CHECKPOINT_NAME} from Zenodo record "
    "3987831 (https://zenodo.org/records/3987831) and put it at that path (or pass PANNS_CHECKPOINT=<file>)"
)
_STANDIN_PACKAGE = "_mer_panns_models"  # the stand-in package that hosts panns_inference/models.py


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
            raise MerError(
                "the package panns-inference is not installed in this environment: run 'make test' "
                "(it installs the pinned dependencies) or 'pip install panns-inference==0.1.1'."
            )
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
    import torch

    cls = cnn14_class()
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        model = cls(**CNN14_ARGS)
    return model.eval()


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
    import torch

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
        raise MerError(
            f"PANNs checkpoint {path} holds no state dict under 'model': it is not {CHECKPOINT_NAME}. "
            f"Delete it and {HOW_TO_GET_WEIGHTS}."
        )
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        details = "; ".join(
            f"{what}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong))
            if keys
        )
        raise MerError(
            f"PANNs checkpoint {path} does not fit CNN14 with {CNN14_ARGS} ({details}): it is not "
            f"{CHECKPOINT_NAME}. Delete it and {HOW_TO_GET_WEIGHTS}."
        )
    model.load_state_dict(state, strict=True)
    return {"checkpoint": str(path), "sha256": file_digest(path, "sha256"), "bytes": path.stat().st_size}


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
        return {
            "kind": self.kind,
            "identity": self.identity,
            "checkpoint": self.checkpoint,
            "checkpoint_abs": checkpoint_abs,
            "sha256": self.sha256,
            "seed": self.seed,
            "fingerprint": self.fingerprint,
            "cnn14": dict(CNN14_ARGS),
        }

    def describe(self) -> str:
        if self.is_random:
            return f"CNN14 with random weights (seed {self.seed}, weights hash {self.fingerprint}): a random-feature baseline, not PANNs"
        return f"PANNs CNN14 from {self.checkpoint} (sha256 {self.sha256[:12]}...)"

    def banner_text(self) -> str:
        """The HTML body of the backbone note shown on every Phase 3 page."""
        if not self.is_random:
            return (
                f"Embeddings from the pretrained PANNs CNN14, checkpoint <code>{html.escape(str(self.checkpoint))}</code> "
                f"(sha256 {self.sha256[:12]}...)."
            )
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
        return HTML(
            f'<div class="admonition {kind}"><p class="admonition-title">{title}</p><p>{self.banner_text()}</p></div>'
        )


def pretrained_backbone(model, checkpoint, sha256: str) -> Backbone:
    """A :class:`Backbone` for a CNN14 whose weights were loaded from ``checkpoint`` (sha256 given)."""
    return Backbone(model=model, kind="pretrained", identity=f"sha256-{sha256}", checkpoint=str(checkpoint), sha256=sha256)


def random_backbone(seed: int = 42, reason: str = "") -> Backbone:
    """A CNN14 with seeded random weights (the same weights for the same seed and torch version)."""
    model = build_cnn14(seed=seed)
    fingerprint = weights_fingerprint(model)
    return Backbone(
        model=model,
        kind="random",
        identity=f"random-seed-{int(seed)}-{fingerprint}",
        seed=int(seed),
        fingerprint=fingerprint,
        reason=reason,
    )


@dataclass(frozen=True)
class BackboneChoice:
    """Which CNN14 :func:`build_backbone` will build, decided without loading anything.

    ``kind`` is ``"pretrained"`` (from ``checkpoint``, the path as given) or
    ``"random"``; ``reason`` says why random, and ``fallback`` is true when the
    random weights stand in for a missing checkpoint.
    """

    kind: str
    checkpoint: object = None
    reason: str = ""
    fallback: bool = False


def choose_backbone(checkpoint_path, allow_random: bool = False, force_random: bool = False) -> BackboneChoice:
    """The rule of :func:`load_backbone`, without torch.

    * ``force_random``: the random backbone, whatever is on disk.
    * the checkpoint exists: it is loaded (a corrupt file is an error, never
      silently replaced).
    * it is missing and ``allow_random``: the random backbone, with a warning;
      check :attr:`Backbone.is_random` and show :meth:`Backbone.banner`.
    * it is missing otherwise: :class:`MerError` saying how to get it.
    """
    path = Path(str(checkpoint_path)).expanduser() if checkpoint_path not in (None, "") else None
    if force_random:
        reason = "The random backbone was asked for (random_backbone=True, PANNS_RANDOM=1)."
        return BackboneChoice("random", reason=reason)
    if path is not None and path.exists():
        return BackboneChoice("pretrained", checkpoint=checkpoint_path)
    if allow_random:
        return BackboneChoice("random", reason=f"The PANNs checkpoint {path} was not found.", fallback=True)
    raise MerError(
        f"PANNs checkpoint {path} not found: {HOW_TO_GET_WEIGHTS}. To run Phase 3 without it, on a CNN14 with random "
        "weights (a baseline, not PANNs), ask for it explicitly: PANNS_RANDOM=1 (notebook parameter random_backbone=True)."
    )


def build_backbone(choice: BackboneChoice, seed: int = 42) -> Backbone:
    """The CNN14 of a :class:`BackboneChoice`: the checkpoint loaded, or random weights from ``seed``."""
    if choice.kind == "pretrained":
        model = build_cnn14(seed=seed)
        info = load_checkpoint(model, Path(str(choice.checkpoint)).expanduser())
        return pretrained_backbone(model, choice.checkpoint, info["sha256"])
    if choice.fallback:
        warning = "%s Using a CNN14 with random weights (seed %s) instead: a baseline, not PANNs."
        log.warning(warning, choice.reason, seed, extra={"on_page": True})  # the page shows Backbone.banner()
    return random_backbone(seed, reason=choice.reason)


def load_backbone(checkpoint_path, allow_random: bool = False, seed: int = 42, force_random: bool = False) -> Backbone:
    """The pretrained CNN14 from ``checkpoint_path``, or a seeded random one (the rule: :func:`choose_backbone`)."""
    return build_backbone(choose_backbone(checkpoint_path, allow_random=allow_random, force_random=force_random), seed)


def backbone_choice(data: str, checkpoint_path=None, random_backbone: bool = False) -> BackboneChoice:
    """The backbone policy of the book: a missing checkpoint falls back to random weights where the corpus allows it.

    ``checkpoint_path`` ``None`` means :data:`DEFAULT_CHECKPOINT`.  SynthDEAM and
    Soundtracks (whose book runs where the checkpoint cannot be downloaded) fall
    back to the random backbone (:attr:`mer_utils.corpus.sources.Source.random_cnn14_ok`);
    with ``data="deam"`` a missing checkpoint raises :class:`MerError` unless
    ``random_backbone`` is true, which selects the random backbone explicitly.
    """
    from ..corpus.sources import source

    return choose_backbone(checkpoint_path or DEFAULT_CHECKPOINT, allow_random=source(data).random_cnn14_ok,
                           force_random=bool(random_backbone))


def backbone_for(data: str, checkpoint_path=None, random_backbone: bool = False, seed: int = 42) -> Backbone:
    """The backbone of :func:`backbone_choice`, built."""
    return build_backbone(backbone_choice(data, checkpoint_path, random_backbone), seed)
