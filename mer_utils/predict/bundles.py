"""The model files ``mer predict`` runs: what each one says about itself, and which one it picks.

Used by: ``mer predict`` (:mod:`mer_utils.predict.cli`), ``notebooks/phase3_panns.py`` (each
Phase 3 page saves its EmotionMLP), ``notebooks/predictor.py`` (the predictor trained on real
music), the Real music chapter (:mod:`mer_utils.realmusic.transfer` scores saved models on 4Q)
and ``benchmarks/bench_peers.py``.

A bundle is a file in the book's one model-file format
(:mod:`mer_utils.training.modelfile`): an EmotionMLP with both scalers, plus what
turns audio into its input and what its numbers mean:

* ``backbone``: ``name`` (``cnn14`` or ``musicnn``), ``kind`` (``pretrained`` or
  ``random``; a fine-tuned network's ``finetuned``, from the pretrained weights)
  and the weights: the PANNs checkpoint's path and sha256, or the random seed
  and a hash of the weights (CNN14), or the ``.h5`` file's name and sha256
  (musicnn).  A musicnn bundle also carries the network's weights
  (``backbone_state``, 3 MB), so it predicts without the ``.h5`` beside it;
  CNN14's 300 MB checkpoint stays a separate file, found by path and checked
  by sha256.
* ``embedding``: the sample rate, segment length and precision of the embeddings.
* ``data``: the corpus whose ratings it learned (``synthdeam``, ``deam``,
  ``soundtracks``) and ``learned_from``: every corpus it saw, with what it took
  from each (ratings, or the quadrant signs of 4Q); ``scale``: the rating scale
  of its outputs, in words.
* a fine-tuned network (``musicnn_finetuned.pt``, :mod:`mer_utils.phase3.finetune_models`) is
  read the same way: the whole network instead of an MLP, no feature scaler, and
  its song value is the mean of its patches' values, as in its training.
* optionally ``quadrants``: how its two outputs map to the probability of
  positive valence and of high arousal (a logistic fit on 4Q quadrants), and
  ``out_of_fold``: the predictions each clip of a corpus it learned from got
  from a model that never saw that clip's artist or film (what an honest
  score on that corpus must use; see :mod:`mer_utils.predict.fusion`).

:func:`choose_model` is the rule for which bundle runs when the user names
none: one trained on real ratings with a pretrained backbone first, and among
those the best kind of file (:data:`BUNDLE_FILES`' order), the most recent of
those; then the same order for any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..corpus.sources import CORPUS_LABELS
from ..errors import MerError
from ..phase3.backbones import FINETUNED_FILES  # the fine-tuning page's networks (notebooks/phase3_finetune.py)
from ..pipeline import REPO_ROOT

RESULTS_ROOT = REPO_ROOT / "results"  # where 'make book' writes results/<data>/models/
MODELS = Path("models")
BUNDLE_FILE = MODELS / "emotion_mlp.pt"  # the CNN14 page's EmotionMLP
MUSICNN_BUNDLE_FILE = MODELS / "emotion_mlp_musicnn.pt"  # the musicnn page's EmotionMLP
MUSICNN_MTT_BUNDLE_FILE = MODELS / "emotion_mlp_musicnn_mtt.pt"  # the MTT page's, beside it (--model reads it)
PREDICTOR_FILE = MODELS / "predictor.pt"  # the predictor for real music (notebooks/predictor.py)
SHIPPED_FILE = Path(__file__).resolve().parent / "data" / "predictor.pt"  # its copy inside the package (shipping.py)
# what predict looks for in a book, best first: the predictor for real music, the frozen musicnn's MLP, the fine-tuned
# networks (on the Soundtracks sample not detectably better than the frozen musicnn), the CNN14 page's MLP
BUNDLE_FILES = (PREDICTOR_FILE, MUSICNN_BUNDLE_FILE, FINETUNED_FILES["musicnn"], FINETUNED_FILES["cnn14"], BUNDLE_FILE)
FINETUNED_MODELS = ("MusicnnRegressor", "Cnn14Regressor")  # model-file names of a fine-tuned backbone
PRETRAINED_KINDS = ("pretrained", "finetuned")  # a frozen pretrained backbone, or one fine-tuned from its weights
RANDOM_KINDS = ("random", "scratch")  # random weights: frozen (CNN14's baseline), or trained from them
DATA_FOLDERS = {"synth": "synthdeam", "deam": "deam", "soundtracks": "soundtracks",
                "vgmidi": "vgmidi"}  # --data -> results/<folder>
REAL_RATINGS = ("deam", "soundtracks", "vgmidi")  # corpora rated by listeners (results-folder names)
MINUS_ONE_TO_ONE = ("vgmidi",)  # corpora whose song-level labels are on -1..1 (the means of their curves)
SCALES = {  # the rating scale of each corpus's song-level targets, in words
    "synthdeam": "1-9, SynthDEAM's simulated raters (calibrated to DEAM)",
    "deam": "1-9, DEAM's listeners (song means)",
    "soundtracks": "1-9, Soundtracks Set 1 panel (Eerola and Vuoskoski 2011)",
    "vgmidi": "-1..1, VGMIDI's listeners (each piece's mean over time and listeners)",
}
NOTHING_FOR_REAL_MUSIC = "its values test the pipeline and mean nothing for real music"


# --------------------------------------------------------------------------- writing


def backbone_state(backbone) -> dict:
    """The weights a bundle carries for its backbone: musicnn's whole state (3 MB), nothing for CNN14."""
    if getattr(backbone, "name", "cnn14") != "musicnn":
        return {}
    from ..phase3.musicnn import load_musicnn

    model = load_musicnn(backbone.network.weights)
    return {"backbone_state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}


def save_bundle(path, mlp, backbone_info: dict, embedding_settings: dict, *, data: str,
                extra: dict | None = None) -> Path:
    """Save a trained EmotionMLP and everything ``mer predict`` needs to ``path``, atomically.

    ``mlp`` is a :class:`mer_utils.training.mlp.MlpResult`; ``backbone_info`` is the
    backbone's ``info()`` with its ``name``; ``embedding_settings`` the embedder's
    settings; ``data`` the corpus whose ratings it learned (its results-folder name).
    ``extra`` adds entries (``backbone_state``, ``learned_from``, ``quadrants``, ...);
    ``learned_from`` and ``scale`` default to ``data``'s ratings and scale.
    """
    from ..training.modelfile import write_model_file

    entries = {"data": data, "scale": SCALES.get(data, "the training corpus's rating scale"),
               "learned_from": {data: "ratings"}, **(extra or {})}
    return write_model_file(
        path,
        mlp.model,
        "EmotionMLP",
        target_scaler=mlp.target_scaler,
        targets=mlp.target_names,
        settings=dict(mlp.settings),
        feature_scaler=mlp.feature_scaler,
        model_kwargs={"in_features": int(mlp.settings["in_features"]), "outputs": int(mlp.settings["outputs"])},
        extra={"backbone": {"name": "cnn14", **dict(backbone_info)}, "embedding": dict(embedding_settings),
               **entries},
    )


def save_page_model(backbone, results_dir, mlp, embedding_settings: dict, data: str, extra: dict | None = None) -> str:
    """Save a Phase 3 page's MLP where ``mer predict`` and the Real music chapter find it, and say where.

    ``backbone`` is a :class:`mer_utils.phase3.backbones.Phase3Backbone`: CNN14's model goes to
    :data:`BUNDLE_FILE`, musicnn's (with the network's weights inside) to :data:`MUSICNN_BUNDLE_FILE`, and the
    MTT network's to :data:`MUSICNN_MTT_BUNDLE_FILE`, never over MSD's.
    """
    files = {"cnn14": BUNDLE_FILE, "musicnn": MUSICNN_BUNDLE_FILE, "musicnn-mtt": MUSICNN_MTT_BUNDLE_FILE}
    file = files[getattr(backbone, "key", backbone.name)]
    info = {**backbone.info(), "name": backbone.name}
    path = save_bundle(Path(results_dir) / file, mlp, info, embedding_settings, data=data,
                       extra={**backbone_state(backbone), **(extra or {})})
    return f"Saved to `{path}`. Predict new songs with `mer predict SONG.mp3 --model {path}`."


# --------------------------------------------------------------------------- reading


@dataclass
class Bundle:
    """A loaded bundle: the MLP (or the fine-tuned network) in eval mode, its scalers, and what it says about
    itself (a fine-tuned network has no ``feature_scaler``)."""

    path: Path
    model: object
    feature_scaler: object
    target_scaler: object
    targets: list[str]
    backbone: dict
    embedding: dict
    raw: dict = field(repr=False)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Rows of embeddings -> ``(n, n_targets)`` on the bundle's scale (an MLP bundle's)."""
        from ..training.mlp import predict_mlp

        if self.finetuned:
            raise MerError(f"{self.path} is a fine-tuned network: it predicts from audio patches, not embeddings "
                           "(mer_utils.predict.songs.song_model runs it).")
        return predict_mlp(self.model, self.feature_scaler, self.target_scaler, embeddings)

    @property
    def finetuned(self) -> bool:
        """A fine-tuned backbone with its head (the whole network), not an MLP on frozen embeddings."""
        return self.raw.get("model") in FINETUNED_MODELS

    @property
    def name(self) -> str:
        """The backbone's name: ``cnn14`` or ``musicnn``."""
        return str(self.backbone.get("name") or "cnn14")

    @property
    def data(self) -> str:
        return str(self.raw.get("data") or "unknown")

    @property
    def learned_from(self) -> dict:
        """``{corpus: what it took}``: every corpus the model saw, e.g. ``{"soundtracks": "ratings",
        "4q": "quadrant signs"}``."""
        return dict(self.raw.get("learned_from") or {self.data: "ratings"})

    @property
    def scale(self) -> str:
        return str(self.raw.get("scale") or SCALES.get(self.data, "unknown"))

    @property
    def value_range(self) -> str:
        """The song-level labels' range: 1-9, or -1..1 on a corpus labelled on its curves' scale (a Phase 4 curve
        model's is -1..1 too)."""
        return "-1..1" if self.data in MINUS_ONE_TO_ONE else "1-9"

    @property
    def on_real_ratings(self) -> bool:
        return self.data in REAL_RATINGS

    @property
    def pretrained(self) -> bool:
        return self.backbone.get("kind") in PRETRAINED_KINDS


def load_bundle(path) -> Bundle:
    """Read a file written by :func:`save_bundle`; a missing or foreign file raises :class:`MerError`."""
    from ..training.modelfile import read_model_file, scaler_from_dict

    path = Path(path)
    if not path.is_file():
        raise MerError(
            f"model file {path} not found: run 'make book' first (Phase 3 trains the EmotionMLP and saves it "
            "there), or pass --model PATH."
        )
    from ..phase3.finetune_models import model_classes as finetuned_classes
    from ..training.mlp import EmotionMLP

    model, raw = read_model_file(path, device="cpu", networks={"EmotionMLP": EmotionMLP, **finetuned_classes()},
                                 wanted="a model bundle for mer predict (the EmotionMLP or a fine-tuned backbone)")
    mlp = raw["model"] == "EmotionMLP" and "feature_scaler" in raw
    if not (mlp or raw["model"] in FINETUNED_MODELS) or "backbone" not in raw:
        raise MerError(
            f"{path} is not a model bundle for mer predict: pass a .pt file that 'make book' writes under "
            "results/<data>/models/ (emotion_mlp.pt, emotion_mlp_musicnn.pt, musicnn_finetuned.pt or predictor.pt)."
        )
    return Bundle(
        path=path,
        model=model,
        feature_scaler=scaler_from_dict(raw["feature_scaler"]) if mlp else None,
        target_scaler=scaler_from_dict(raw["target_scaler"]),
        targets=list(raw["target_scaler"]["targets"]),
        backbone=dict(raw["backbone"]),
        embedding=dict(raw["embedding"]),
        raw=raw,
    )


# --------------------------------------------------------------------------- what it is


def display_path(path) -> str:
    """``path`` relative to the working folder when it lies inside it, else absolute."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def weights_label(backbone: dict) -> str:
    """The backbone's weights in a few characters: ``pretrained:412a832c8527``, ``finetuned:412a832c8527`` (fine-tuned
    from those weights) or ``random:seed42``."""
    if backbone.get("kind") in RANDOM_KINDS:
        return f"{backbone.get('kind')}:seed{backbone.get('seed')}"
    digest = str(backbone.get("sha256") or "")
    return f"{backbone.get('kind') or 'unknown'}:{digest[:12]}" if digest else str(backbone.get("kind") or "unknown")


def corpus_label(bundle: Bundle) -> str:
    """``soundtracks+4q``: the corpora a model learned from, its rated corpus first."""
    others = [c for c in bundle.learned_from if c != bundle.data]
    return "+".join([bundle.data, *others])


def provenance(bundle) -> dict:
    """What every output row says about its model: ``data``, ``backbone``, ``weights``, ``scale``, ``model``.

    ``bundle`` is a :class:`Bundle` or a Phase 4 curve model (:class:`mer_utils.phase4.bundle.CurveModel`);
    ``scale`` names whose scale the values are on and its range: ``soundtracks:1-9``, ``synthdeam:-1..1``.
    """
    return {
        "data": corpus_label(bundle),
        "backbone": bundle.name,
        "weights": weights_label(bundle.backbone),
        "scale": f"{bundle.data}:{bundle.value_range}",
        "model": display_path(bundle.path),
    }


def describe(bundle: Bundle) -> str:
    """One line for stderr: the backbone and weights, what the model learned from, and its scale."""
    learned = ", ".join(f"{CORPUS_LABELS.get(c, c)} {what}" for c, what in bundle.learned_from.items())
    return (f"{bundle.name} ({weights_label(bundle.backbone)}), learned from {learned}; "
            f"values on the scale {bundle.scale}")


def caveat(bundle: Bundle) -> str | None:
    """The warning for a model that says nothing about real music, naming every reason; ``None`` otherwise.

    A model trained on SynthDEAM, on embeddings of a random-weights CNN14, or
    both: the sentence names both facts when both hold.
    """
    reasons = []
    if bundle.data == "synthdeam":
        reasons.append("on SynthDEAM (synthetic music this project generates)")
    if bundle.backbone.get("kind") == "scratch":
        reasons.append(f"from a {bundle.name} with random weights (seed {bundle.backbone.get('seed')}), not its "
                       "pretrained ones")
    if bundle.backbone.get("kind") == "random":
        reasons.append(
            f"on embeddings of a CNN14 with random weights (seed {bundle.backbone.get('seed')}) instead of the "
            "PANNs checkpoint"
        )
    if not reasons:
        return None
    return f"caveat: this model was trained {' and '.join(reasons)}: {NOTHING_FOR_REAL_MUSIC}."


# --------------------------------------------------------------------------- which model


def _peek(path: Path) -> dict:
    """``data`` and ``backbone`` of a bundle without building its network; ``{}`` for an unreadable file."""
    import torch

    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a corrupt or foreign file: the chooser passes it by, load_bundle reports it when named
        return {}
    return raw if isinstance(raw, dict) else {}


def _rank(path: Path, files=BUNDLE_FILES) -> tuple:
    """Sort key of a candidate: real ratings with a pretrained backbone first, then the kind of file (``files`` is
    best first), then the newest."""
    raw = _peek(path)
    real = raw.get("data") in REAL_RATINGS and (raw.get("backbone") or {}).get("kind") in PRETRAINED_KINDS
    kind = [i for i, file in enumerate(files) if path.name == file.name]
    return (real, -(kind[0] if kind else len(files)), path.stat().st_mtime_ns, str(path))


def choose_model(model=None, data: str | None = None, results_root=None, files=BUNDLE_FILES,
                 shipped=None) -> tuple[Path, str]:
    """The bundle to predict with and why: ``(path, reason)``.

    ``model`` (``--model``) wins.  ``data`` (``--data synth|deam|soundtracks``)
    takes that book's best bundle: its predictor for real music, else its musicnn
    MLP, else its CNN14 MLP.  Without either: a bundle under ``results/`` trained
    on real ratings (DEAM or Soundtracks) with a pretrained (or fine-tuned)
    backbone, the best kind of file in ``files``' order first, the most recently
    written of those (a book the user built); else the predictor shipped inside
    the package (``shipped``, default :data:`SHIPPED_FILE`, which :mod:`mer_utils.predict.shipping` writes).
    A SynthDEAM model, or any model with random weights, runs only when asked for.
    ``files``: the bundle files to look for, best first (``mer predict --curve``:
    Phase 4's curve model; there is no shipped curve model, so the best of those
    found runs, its caveat printed).  Nothing to run raises :class:`MerError`
    naming what was looked for.
    """
    root = Path(results_root or RESULTS_ROOT)
    if model is not None:
        return Path(model), "--model"
    if data is not None:
        candidates = [root / DATA_FOLDERS[data] / file for file in files]
        found = [p for p in candidates if p.is_file()]
        if not found:
            make = "make book" if data == "synth" else f"make book DATA={data} ..."
            raise MerError(
                f"no model trained on {DATA_FOLDERS[data]}: none of {', '.join(str(p) for p in candidates)} "
                f"exists. Run '{make}' first (it saves its models there), or pass --model PATH."
            )
        return found[0], f"--data {data}: the best model that book saved ({found[0].name})"
    ranks = {p: _rank(p, files) for file in files for p in root.glob(f"*/{file.as_posix()}")}
    found = sorted(ranks, key=ranks.get)
    real = [p for p in found if ranks[p][0]]
    others = f"; {len(found) - 1} other(s): pick one with --model or --data" if len(found) > 1 else ""
    if real:
        return real[-1], ("a book you built, trained on real ratings with a pretrained backbone (preferred to the "
                          "shipped predictor), the best kind of model file and the most recently written" + others)
    if files == BUNDLE_FILES:
        shipped = Path(shipped or SHIPPED_FILE)
        if shipped.is_file():
            book = f"; {len(found)} model(s) of the SynthDEAM book: --data synth" if found else ""
            return shipped, ("the shipped predictor: musicnn trained on Soundtracks ratings and 4Q quadrants (no book "
                             "trained on real ratings was found)" + book)
    if not found:
        names = ", ".join(file.name for file in files)
        raise MerError(
            f"no trained model found: looked for {root / '*' / 'models'} ({names}). Run 'make book' first "
            "(it saves its models there), or pass --model PATH."
        )
    return found[-1], ("the best kind of model file under results/, the most recently written (none was trained on "
                       "real ratings with a pretrained backbone)" + others)
