"""Phase 4's saved model, and the 2 Hz curve of any audio file: what ``mer predict --curve`` runs.

Used by: ``notebooks/phase4_dynamic.py`` (:func:`save_curve_model`) and ``mer predict --curve``
(:func:`load_curve_model`, :func:`predict_file_curve`).

The bundle is a file in the book's one model-file format (:mod:`mer_utils.training.modelfile`):
the trained :class:`~mer_utils.phase4.sequence.DynamicGRU`, both scalers, and what rebuilds its input and
says where it came from:

* ``backbone``: the backbone's name (``cnn14`` or ``musicnn``), kind (pretrained or random), and its weights
  (the PANNs checkpoint or musicnn's ``.h5`` with their sha256, or the seed and weights hash of a random CNN14);
* ``frames``: the frame embeddings it reads (``frame_seconds``, frames per segment, precision);
* ``data``, ``subset`` and ``scale`` (``"[-1, 1] (DEAM dynamic annotations)"``), plus the run's details.

:func:`predict_file_curve` decodes one file, embeds its segments with the same backbone, keeps the frame
embeddings of the same forward passes and runs the GRU over the whole song: one row per 0.5 s frame, its
``time_s`` the end of the frame (DEAM's label at ``t`` rates the half second heard up to ``t``), and
``valence`` and ``arousal`` on the annotations' -1..1 scale.  The whole clip is predicted, including its first
seconds, which DEAM leaves unlabelled (15 s) and SynthDEAM too (2 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MerError
from .curves import DIMENSIONS, SCALE

CURVE_FILE = Path("models") / "dynamic_gru.pt"  # under results/<data>/, beside Phase 3's emotion_mlp.pt
CURVE_COLUMNS = ("time_s", "valence", "arousal")


def save_curve_model(results_dir, gru, backbone, embedded, extra: dict | None = None) -> Path:
    """Save the trained GRU (a :class:`~mer_utils.phase4.sequence.GruResult`) and its provenance to
    ``<results_dir>/models/dynamic_gru.pt``.  ``backbone``: the
    :class:`~mer_utils.phase3.backbones.Phase3Backbone` whose frames it read; ``embedded``: their EmbeddingSet."""
    from ..phase3.embeddings import FRAMES_PER_SEGMENT
    from ..training.modelfile import write_model_file

    return write_model_file(
        Path(results_dir) / CURVE_FILE, gru.model, "DynamicGRU", target_scaler=gru.target_scaler,
        targets=list(DIMENSIONS), settings=dict(gru.settings), model_kwargs=gru.settings["model_kwargs"],
        feature_scaler=gru.feature_scaler,
        extra={"backbone": {**backbone.info(), "name": backbone.name},
               "frames": {"frame_seconds": float(embedded.frame_seconds), "per_segment": FRAMES_PER_SEGMENT,
                          **{k: v for k, v in embedded.settings.items() if k != "output"}},
               "scale": SCALE, **(extra or {})})


@dataclass
class CurveModel:
    """A loaded Phase 4 bundle: the GRU in eval mode, its scalers, and how to rebuild its frame embedder."""

    path: Path
    model: object
    feature_scaler: object
    target_scaler: object
    backbone: dict
    frames: dict
    raw: dict

    value_range = "-1..1"  # the dynamic annotations' scale

    @property
    def name(self) -> str:
        """The backbone's name: ``cnn14`` or ``musicnn``."""
        return str(self.backbone.get("name") or "cnn14")

    @property
    def data(self) -> str:
        return str(self.raw.get("data") or "unknown")

    @property
    def learned_from(self) -> dict:
        return {self.data: "2 Hz curves"}

    @property
    def scale(self) -> str:
        return str(self.raw.get("scale") or SCALE)

    def provenance(self) -> dict:
        """What every output row says about the model (:func:`mer_utils.predict.bundles.provenance`)."""
        from ..predict.bundles import provenance

        return provenance(self)


def load_curve_model(path) -> CurveModel:
    """Read a file of :func:`save_curve_model`; a missing or foreign file raises :class:`MerError` naming the fix."""
    from ..training.modelfile import read_model_file, scaler_from_dict

    path = Path(path)
    if not path.is_file():
        raise MerError(f"Phase 4 model {path} not found: run 'make book' first (the Phase 4 page saves it there), or "
                       "pass another path.")
    from .sequence import DynamicGRU

    model, raw = read_model_file(path, device="cpu", networks={"DynamicGRU": DynamicGRU},
                                 wanted=f"a Phase 4 curve model (the {CURVE_FILE.name} 'make book' writes)")
    if raw["model"] != "DynamicGRU" or "frames" not in raw or "backbone" not in raw:
        raise MerError(f"{path} is not a Phase 4 curve model: pass the {CURVE_FILE.name} that 'make book' writes "
                       "under results/<data>/models/.")
    return CurveModel(path=path, model=model, feature_scaler=scaler_from_dict(raw["feature_scaler"]),
                      target_scaler=scaler_from_dict(raw["target_scaler"]), backbone=dict(raw["backbone"]),
                      frames=dict(raw["frames"]), raw=raw)


def frame_embedder(bundle: CurveModel, checkpoint=None):
    """A function from an audio file to its ``(frames, dim)`` frame embeddings, with the bundle's backbone rebuilt
    (the same checkpoint, musicnn weights or seeded random CNN14, each checked against the bundle)."""
    from ..phase3.embeddings import FRAMES_PER_SEGMENT

    info, precision = bundle.backbone, bundle.frames.get("precision", "float32")
    if info.get("name", "cnn14") == "musicnn":
        from ..corpus.audio import load_audio
        from ..phase3.musicnn import SR, MusicnnEmbedder, audio_patches, load_musicnn

        weights = Path(info["weights"])
        if not weights.exists():
            raise MerError(f"the musicnn weights this model was trained with ({weights}) are not there: put them "
                           "back (make venv fetches the wheel's checkpoints; make weights the .h5).")
        model = load_musicnn(weights, precision=precision)
        if model.sha256 != info.get("sha256"):
            raise MerError(f"{weights} (sha256 {model.sha256[:12]}...) is not the file this model was trained with "
                           f"(sha256 {str(info.get('sha256'))[:12]}...).")
        embedder = MusicnnEmbedder(model)
        return lambda path: embedder.run_patches_with_frames(audio_patches(load_audio(path, sr=SR), name=str(path)),
                                                             FRAMES_PER_SEGMENT)[2]
    from ..phase3.embeddings import Embedder
    from ..predict.songs import rebuild_cnn14

    embedder = Embedder(rebuild_cnn14(info, checkpoint), precision=precision)
    return embedder.embed_file_frames


def curve_from_frames(bundle: CurveModel, frames: np.ndarray) -> pd.DataFrame:
    """The 2 Hz curve of one song's frame embeddings: ``time_s`` (each frame's end), ``valence``, ``arousal``."""
    from .sequence import predict_curve

    values = predict_curve(bundle.model, bundle.feature_scaler, bundle.target_scaler, frames)
    hop = float(bundle.frames["frame_seconds"])
    return pd.DataFrame({"time_s": np.round(hop * np.arange(1, len(values) + 1), 3),
                         **{d: values[:, k] for k, d in enumerate(DIMENSIONS)}}, columns=list(CURVE_COLUMNS))


def predict_file_curve(bundle: CurveModel, path, embed=None) -> pd.DataFrame:
    """The 2 Hz curve of one audio file (see the module docstring); ``embed``: a :func:`frame_embedder` to reuse
    across files (built from the bundle when ``None``).  A file that cannot be decoded or is shorter than one
    3-second segment raises :class:`~mer_utils.errors.AudioReadError`."""
    embed = embed or frame_embedder(bundle)
    return curve_from_frames(bundle, embed(path))
