"""The fine-tunable backbones: musicnn and CNN14 with a valence-arousal head, their model files, and prediction.

Used by: ``notebooks/phase3_finetune.py`` (through :mod:`mer_utils.phase3.finetune`), ``mer predict``
(:func:`predict_clip` on a saved model) and ``benchmarks/bench_finetune.py``.

Phase 3 freezes its backbone: the network embeds every 3-second patch once and an
MLP learns on the song means.  Fine-tuning trains the backbone itself on the
labels.  Each network here is the pretrained one with its tagging layer replaced
by a new linear layer with two outputs (valence and arousal, standardised by the
training songs' scaler), trained on patches that carry their song's label:

* :class:`MusicnnRegressor`: musicnn's front end (input batch norm, timbral and
  temporal convolutions), mid-end (three 1-D convolutions) and back end (pooling,
  batch norm, dropout 0.5, the 200-unit dense layer, ReLU, batch norm, dropout
  0.5) as :class:`mer_utils.phase3.musicnn.Musicnn` computes them, then
  ``Linear(200, 2)`` where the 50 tags were;
* :class:`Cnn14Regressor`: CNN14's spectrogram and six conv blocks as
  :class:`mer_utils.phase3.inference.FastCnn14` computes them (batch norms folded
  into the convolutions), dropout 0.2, the pooling and ``fc1`` with its ReLU,
  dropout 0.5, then ``Linear(2048, 2)`` where the 527 AudioSet classes were.

Which layers train (:meth:`trainable_parameters`).  The batch norms stay at
their pretrained statistics: batches of a few dozen patches from a few films are
too few to re-estimate them, and musicnn's are folded into its fast front end.
The **front end** (musicnn's timbral and temporal convolutions, 85 % of its
compute; CNN14's spectrogram and blocks 1-4) is frozen by default, so its output
is computed once per patch and cached (:meth:`front_end`), and only the layers
after it train (:meth:`upper`): musicnn's mid-end, dense layer and head; CNN14's
blocks 5-6, ``fc1`` and head.  ``train_front_end=True`` trains the whole network
end to end from the patches (no cache), where the device or the budget allows.
:func:`parameter_groups` gives the pretrained layers a lower learning rate than
the new head, so the head's first, random gradients do not wash out what the
backbone learnt.

"From random weights" (:func:`random_musicnn`, CNN14's seeded random build) is the
same network with the same trainable layers and schedule, started from seeded
random weights everywhere, front end included, and batch norms at their
initial state (the identity): only the starting weights differ.

A model file (:func:`save_finetuned`) holds every weight the network needs, so
``mer predict`` never needs the ``.h5`` or the checkpoint again, plus where the
starting weights came from (``backbone``: name, kind, sha256, file name), the
input settings (``embedding``), the corpus (``data``) and its rating scale
(``scale``).  :func:`predict_clip` runs one decoded clip through it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MerError

BACK_END_DROPOUT = 0.5  # musicnn's own, before its dense layer and its output layer; CNN14's on its embedding
BLOCK_DROPOUT = 0.2  # CNN14's after each conv block
NETWORKS = {"musicnn": "MusicnnRegressor", "cnn14": "Cnn14Regressor"}  # backbone name -> model-file name
KINDS = ("finetuned", "scratch")  # started from the pretrained weights, or from seeded random ones


# --------------------------------------------------------------------------- the networks


class UpperLayers(nn.Module):
    """The layers after a frozen front end, as a module whose input is the cached front-end output.

    The training loop takes a module and its inputs; with the front end frozen,
    the inputs are the cached front-end features and the module is this view of
    the network (sharing its parameters): ``forward`` is ``network.upper``.
    """

    def __init__(self, network):
        super().__init__()
        self.network = network

    @property
    def name(self) -> str:
        """The network's class name (what the training loop's log and estimate call it)."""
        return type(self.network).__name__

    def forward(self, front):
        return self.network.upper(front)


class _Regressor(nn.Module):
    """What both regressors share: the parameters that train, and the full forward pass."""

    backbone: nn.Module
    head: nn.Linear

    def __init__(self, train_front_end: bool):
        super().__init__()
        self.train_front_end = bool(train_front_end)

    def front_end_parameters(self) -> list:
        raise NotImplementedError

    def upper_pretrained_parameters(self) -> list:
        raise NotImplementedError

    def pretrained_parameters(self) -> list:
        """The backbone's layers that train: after the front end, and the front end too with ``train_front_end``."""
        front = self.front_end_parameters() if self.train_front_end else []
        return [*front, *self.upper_pretrained_parameters()]

    def trainable_parameters(self) -> list:
        return [*self.pretrained_parameters(), *self.head.parameters()]

    def set_trainable(self):
        """Only :meth:`trainable_parameters` compute gradients (everything else is frozen)."""
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        for parameter in self.trainable_parameters():
            parameter.requires_grad_(True)
        return self

    def for_training(self) -> nn.Module:
        """The module to train: the whole network on patches, or :class:`UpperLayers` on cached front-end features."""
        return self if self.train_front_end else UpperLayers(self)

    def forward(self, x):
        return self.upper(self.front_end(x))


class MusicnnRegressor(_Regressor):
    """musicnn with a ``Linear(200, outputs)`` head in place of its tagger.

    ``(B, 187, 96)`` log-mel patches -> ``(B, outputs)`` standardised labels.
    """

    def __init__(self, outputs: int = 2, train_front_end: bool = False):
        super().__init__(train_front_end)
        from .musicnn import EMBEDDING_DIM, Musicnn

        self.backbone = Musicnn()
        self.dropout = nn.Dropout(BACK_END_DROPOUT)
        self.head = nn.Linear(EMBEDDING_DIM, int(outputs))
        self.set_trainable()

    def front_end_parameters(self) -> list:
        return [p for block in [*self.backbone.timbral, *self.backbone.temporal] for p in (block.weight, block.bias)]

    def upper_pretrained_parameters(self) -> list:
        return [*self.backbone.mid.parameters(), *self.backbone.dense.parameters()]

    def front_end(self, patches):
        """``(B, 187, 96)`` log-mel patches -> ``(B, 561, 187)``."""
        return self.backbone.front_end(patches)

    def upper(self, front):
        """``(B, 561, frames)`` -> ``(B, outputs)``: mid-end, musicnn's back end up to its last batch norm, the head."""
        backbone, front = self.backbone, front.float()
        # pooled as Musicnn.back_end pools mid_end's concatenation; the frozen front end's part needs no gradient
        pooled = torch.cat([backbone.pool(front), backbone.pool(backbone.mid_layers(front))], dim=1)
        embedding = backbone.dense(self.dropout(backbone.pool_norm(pooled)))
        return self.head(self.dropout(backbone.dense_norm(F.relu(embedding))))


class Cnn14Regressor(_Regressor):
    """CNN14 with a ``Linear(2048, outputs)`` head: ``(B, 96000)`` 32 kHz waveforms -> ``(B, outputs)``.

    ``cnn14``: a built ``Cnn14`` (its checkpoint loaded); ``None`` builds one with
    random weights (``seed``), which :meth:`load_state_dict` of a saved model replaces.
    """

    def __init__(self, outputs: int = 2, train_front_end: bool = False, cnn14=None, seed: int = 0):
        super().__init__(train_front_end)
        from .cnn14 import build_cnn14
        from .embeddings import EMBEDDING_DIM
        from .inference import FastCnn14

        self.backbone = FastCnn14(cnn14 if cnn14 is not None else build_cnn14(seed=seed), precision="float32")
        self.block_dropout = nn.Dropout(BLOCK_DROPOUT)
        self.dropout = nn.Dropout(BACK_END_DROPOUT)
        self.head = nn.Linear(EMBEDDING_DIM, int(outputs))
        self.set_trainable()

    def front_end_parameters(self) -> list:
        return [p for pair in self.backbone.convs[:4] for p in pair.parameters()]

    def upper_pretrained_parameters(self) -> list:
        return [*self.backbone.convs[4:].parameters(), *self.backbone.fc1.parameters()]

    def front_end(self, segments):
        """``(B, 96000)`` waveforms -> ``(B, 512, 18, 4)``: log-mel spectrogram and conv blocks 1-4."""
        return self.backbone.blocks(self.backbone.front(segments), 0, 4)

    def upper(self, front):
        """``(B, 512, 18, 4)`` -> ``(B, outputs)``: blocks 5-6, pooling, ``fc1``, the head."""
        deep = self.block_dropout(self.backbone.blocks(front.float(), 4, 6))
        return self.head(self.dropout(self.backbone.head(deep)))


def model_classes() -> dict:
    """The fine-tunable networks by model-file name (the ``networks`` their readers pass to
    :func:`mer_utils.training.modelfile.read_model_file`)."""
    return {"MusicnnRegressor": MusicnnRegressor, "Cnn14Regressor": Cnn14Regressor}


def parameter_groups(network: _Regressor, lr: float, backbone_lr: float) -> list[dict]:
    """Adam's groups: the pretrained layers that train at ``backbone_lr``, the new head at ``lr``."""
    return [{"params": network.pretrained_parameters(), "lr": float(backbone_lr)},
            {"params": list(network.head.parameters()), "lr": float(lr)}]


# --------------------------------------------------------------------------- building them


def random_musicnn(seed: int):
    """A :class:`~mer_utils.phase3.musicnn.Musicnn` with seeded random weights (PyTorch's default initialisation of
    each layer's kind, the front-end convolutions as ``nn.Conv2d`` would be) and batch norms at the identity.
    The global random state is left as it was."""
    from .musicnn import Musicnn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = Musicnn()
        for block in [*model.timbral, *model.temporal]:
            nn.init.kaiming_uniform_(block.weight, a=math.sqrt(5))  # what nn.Conv2d.reset_parameters does
            bound = 1 / math.sqrt(block.weight[0].numel())
            nn.init.uniform_(block.bias, -bound, bound)
    return model


def musicnn_regressor(kind: str, weights=None, seed: int = 42, outputs: int = 2,
                      train_front_end: bool = False) -> tuple[MusicnnRegressor, dict]:
    """A :class:`MusicnnRegressor` started from musicnn's weights file (``kind="finetuned"``) or from random weights
    (``"scratch"``, ``seed``); the head is seeded by ``seed`` either way.  Returns ``(network, start)``, ``start``
    saying where the starting weights came from (the model file's ``backbone`` entry)."""
    from .musicnn import load_musicnn, weights_path

    _check_kind(kind)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        network = MusicnnRegressor(outputs=outputs, train_front_end=train_front_end)
    if kind == "finetuned":
        path = weights_path(weights)
        pretrained = load_musicnn(path)
        network.backbone.load_state_dict(pretrained.state_dict())
        start = {"name": "musicnn", "kind": kind, "sha256": pretrained.sha256, "weights": path.name}
    else:
        network.backbone.load_state_dict(random_musicnn(seed).state_dict())
        start = {"name": "musicnn", "kind": kind, "seed": int(seed), "sha256": None, "weights": None}
    return network.set_trainable(), start


def cnn14_regressor(kind: str, checkpoint=None, seed: int = 42, outputs: int = 2,
                    train_front_end: bool = False) -> tuple[Cnn14Regressor, dict]:
    """A :class:`Cnn14Regressor` from a PANNs checkpoint (``kind="finetuned"``) or from seeded random weights
    (``"scratch"``); ``(network, start)`` as :func:`musicnn_regressor`."""
    from .cnn14 import build_cnn14, load_checkpoint

    _check_kind(kind)
    cnn14 = build_cnn14(seed=seed)
    if kind == "finetuned":
        if checkpoint is None:
            raise MerError("fine-tuning CNN14 needs its PANNs checkpoint (PANNS_CHECKPOINT); none was given.")
        info = load_checkpoint(cnn14, checkpoint)
        start = {"name": "cnn14", "kind": kind, "sha256": info["sha256"], "weights": Path(str(checkpoint)).name}
    else:
        start = {"name": "cnn14", "kind": kind, "seed": int(seed), "sha256": None, "weights": None}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        network = Cnn14Regressor(outputs=outputs, train_front_end=train_front_end, cnn14=cnn14)
    return network, start


def build_regressor(name: str, kind: str, weights=None, seed: int = 42, outputs: int = 2,
                    train_front_end: bool = False):
    """:func:`musicnn_regressor` or :func:`cnn14_regressor` by backbone name (``weights``: .h5 or checkpoint)."""
    if name not in NETWORKS:
        raise MerError(f"cannot fine-tune backbone '{name}': use {' or '.join(NETWORKS)}.")
    build = musicnn_regressor if name == "musicnn" else cnn14_regressor
    return build(kind, weights, seed=seed, outputs=outputs, train_front_end=train_front_end)


def _check_kind(kind: str):
    if kind not in KINDS:
        raise MerError(f"unknown start '{kind}': use 'finetuned' (the pretrained weights) or 'scratch' (random ones).")


# --------------------------------------------------------------------------- inputs


def input_settings(name: str, precision: str) -> dict:
    """What a network's input depends on (the model file's ``embedding`` entry): rate, patch length, precision."""
    if name == "musicnn":
        from .musicnn_embeddings import musicnn_settings

        return {**musicnn_settings(precision), "output": "valence and arousal per patch, mean over patches"}
    from .embeddings import SEGMENT_SETTINGS

    return {**SEGMENT_SETTINGS, "precision": precision, "output": "valence and arousal per segment, mean over segments"}


def clip_inputs(name: str, audio: np.ndarray, clip: str = "clip") -> np.ndarray:
    """A decoded mono clip at the network's rate -> its inputs: musicnn's log-mel patches or CNN14's 3 s segments.

    The same functions as the embedders (:func:`mer_utils.phase3.musicnn.audio_patches`,
    :func:`mer_utils.phase3.embeddings.segment_audio`); a clip shorter than one
    patch raises :class:`~mer_utils.errors.AudioReadError` naming ``clip``.
    """
    if name == "musicnn":
        from .musicnn import audio_patches

        return audio_patches(audio, name=clip)
    from .embeddings import segment_audio

    return segment_audio(audio, name=clip)


def sample_rate(name: str) -> int:
    """The rate a network's input clip must have: 16 kHz for musicnn, 32 kHz for CNN14."""
    if name == "musicnn":
        from .musicnn import SR

        return SR
    from .embeddings import SEGMENT_SETTINGS

    return int(SEGMENT_SETTINGS["sr"])


# --------------------------------------------------------------------------- model files and prediction


def save_finetuned(path, network: _Regressor, *, start: dict, target_scaler, targets, settings: dict, precision: str,
                   data: str, scale: str, extra: dict | None = None) -> Path:
    """Save a fine-tuned network in the book's model-file format, with every weight it needs, atomically.

    ``start`` is the second value of :func:`build_regressor`; ``settings`` how it
    was trained; ``scale`` a short description of the rating scale it predicts
    (``"1..9 (Soundtracks, first panel)"``).  The file's ``backbone`` entry is
    ``start`` (name, kind, sha256 and file name of the starting weights),
    ``embedding`` the input settings (:func:`input_settings`).
    """
    from ..training.modelfile import write_model_file

    name = start["name"]
    return write_model_file(
        path, network, NETWORKS[name], target_scaler=target_scaler, targets=targets, settings=settings,
        model_kwargs={"outputs": int(network.head.out_features), "train_front_end": bool(network.train_front_end)},
        extra={"backbone": dict(start), "embedding": input_settings(name, precision), "data": data, "scale": scale,
               **(extra or {})})


def load_finetuned(path, device=None) -> tuple[_Regressor, dict]:
    """Read a file of :func:`save_finetuned`: ``(network in eval mode, the file's contents)``; another model's
    file is a :class:`MerError` naming it."""
    from ..training.modelfile import read_model_file

    return read_model_file(path, device, networks=model_classes(),
                           wanted=f"a fine-tuned backbone ({', '.join(model_classes())})")


def predict_clip(model_file, audio: np.ndarray, device=None, batch_size: int = 32,
                 clip: str = "clip") -> tuple[np.ndarray, np.ndarray]:
    """Valence and arousal of one decoded mono clip: ``(per_patch (n, 2), song (2,))`` on the model's rating scale.

    ``model_file``: a path, or what :func:`load_finetuned` (or
    :func:`mer_utils.training.modelfile.read_model_file`) returned.  ``audio``
    must be at the model's rate (``contents["embedding"]["sr"]``: 16 kHz for
    musicnn, 32 kHz for CNN14).  Each patch (musicnn: 187 log-mel frames,
    2.99 s; CNN14: 3 s) is predicted on its own; the song's prediction is the
    mean of its patches', as in training.  Columns in the order of
    ``contents["target_scaler"]["targets"]``.
    """
    loaded = load_finetuned(model_file, device) if isinstance(model_file, (str, Path)) else model_file
    per_patch = predict_inputs(loaded, clip_inputs(loaded[1]["backbone"]["name"], audio, clip), device, batch_size)
    return per_patch, per_patch.mean(axis=0)


def predict_inputs(loaded, inputs: np.ndarray, device=None, batch_size: int = 32) -> np.ndarray:
    """``(n, 2)`` values on the model's rating scale of a clip's inputs (:func:`clip_inputs`), one row per patch.

    ``loaded``: what :func:`load_finetuned` returned.  Used by :func:`predict_clip` and by ``mer predict``
    (:func:`mer_utils.predict.songs.song_model`), which cuts the clip itself.
    """
    from ..training.modelfile import scaler_from_dict
    from ..training.runtime import autocast, pick_device

    network, contents = loaded
    device = next(network.parameters()).device if device is None else pick_device(device)
    network = network.to(device).eval()
    outputs = []
    with torch.inference_mode(), autocast(device, contents["embedding"].get("precision", "float32")):
        for at in range(0, len(inputs), int(batch_size)):
            batch = torch.from_numpy(np.ascontiguousarray(inputs[at : at + int(batch_size)])).to(device)
            outputs.append(network(batch).float().cpu().numpy())
    return scaler_from_dict(contents["target_scaler"]).inverse_transform(np.concatenate(outputs))
