"""The book's networks by name, and the one file format every trained model is saved in.

Used by: ``notebooks/phase2_train.py`` (each Phase 2 run saves its model),
``notebooks/phase3_panns.py`` (the EmotionMLP that ``mer predict`` loads),
``notebooks/phase3_finetune.py`` (a fine-tuned backbone, with every weight it needs),
``notebooks/phase4_dynamic.py`` (the DynamicGRU behind ``mer predict --curve``) and
``mer predict``.

A model file is one ``torch.save`` dict of tensors and plain values, read back
with ``weights_only=True`` (no pickled code runs on load)::

    format, version          "mer-utils/model", 2
    model, model_kwargs      a name of :data:`MODELS` and its constructor arguments
    state_dict               the trained weights (CPU tensors)
    target_scaler            {"mean", "scale", "targets"}: the label scaler, fit on training songs
    feature_scaler           {"mean", "scale"} (models on embeddings): the input scaler, fit on training songs
    settings                 how it was trained (epochs, seed, spectrogram settings, ...)
    ...                      anything else the caller adds (the backbone and data of a Phase 3 model)

Scalers are stored as their mean and scale only; :func:`scaler_from_dict`
rebuilds one that transforms as scikit-learn's ``StandardScaler`` does
(:class:`SavedScaler`, without importing scikit-learn: that import alone was a
third of ``mer predict``'s start).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..cache import atomic_path
from ..errors import MerError

FORMAT = "mer-utils/model"
VERSION = 2


def model_classes() -> dict:
    """The networks this floor knows by name: the four Phase 2 CNNs and the EmotionMLP.

    The networks of later chapters (the fine-tuned backbones of Phase 3, Phase 4's
    DynamicGRU) are built by their own modules, which pass their classes to
    :func:`read_model_file` (``networks``): this module never imports a later chapter.
    """
    from ..phase2.models import CNN_CLASSES
    from .mlp import EmotionMLP

    return {**CNN_CLASSES, "EmotionMLP": EmotionMLP}


def build_model(name: str, seed: int | None = None, **kwargs):
    """A fresh model by class name (:func:`model_classes`); with ``seed``, its initial weights are reproducible."""
    import torch

    classes = model_classes()
    if name not in classes:
        raise MerError(f"unknown model '{name}': use one of {', '.join(classes)}.")
    if seed is not None:
        torch.manual_seed(seed)
    return classes[name](**kwargs)


def scaler_to_dict(scaler) -> dict:
    """A fitted ``StandardScaler`` as plain lists (``mean``, ``scale``)."""
    return {"mean": [float(v) for v in scaler.mean_], "scale": [float(v) for v in scaler.scale_]}


class SavedScaler:
    """A fitted ``StandardScaler``'s numbers (``mean_``, ``scale_``, ``var_``), applied as scikit-learn applies them.

    ``transform`` and ``inverse_transform`` work on a copy in the input's float
    dtype (float64 for other inputs), with the numbers cast to it, as ``StandardScaler`` does, so
    a saved model predicts the same numbers it predicted when it was trained
    (``tests/test_predict.py`` compares the two).
    """

    def __init__(self, mean, scale):
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.scale_ = np.asarray(scale, dtype=np.float64)
        self.var_ = self.scale_**2
        self.n_features_in_ = len(self.mean_)

    def _copy(self, x) -> np.ndarray:
        x = np.asarray(x)
        x = np.array(x, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64, copy=True, ndmin=2)
        if x.shape[1] != self.n_features_in_:
            raise MerError(f"expected {self.n_features_in_} features per row, got {x.shape[1]}.")
        return x

    def transform(self, x) -> np.ndarray:
        x = self._copy(x)
        x -= self.mean_.astype(x.dtype)
        x /= self.scale_.astype(x.dtype)
        return x

    def inverse_transform(self, x) -> np.ndarray:
        x = self._copy(x)
        x *= self.scale_.astype(x.dtype)
        x += self.mean_.astype(x.dtype)
        return x


def scaler_from_dict(values: dict) -> SavedScaler:
    """A working scaler (:class:`SavedScaler`) from :func:`scaler_to_dict` values."""
    return SavedScaler(values["mean"], values["scale"])


def write_model_file(
    path,
    model,
    model_name: str,
    *,
    target_scaler,
    targets,
    settings: dict,
    model_kwargs: dict | None = None,
    feature_scaler=None,
    extra: dict | None = None,
) -> Path:
    """Save ``model`` and what it needs to predict to ``path``, atomically (see the module docstring).

    Args:
        path: the ``.pt`` file to write.
        model: the trained network; its ``state_dict`` is saved on the CPU.
        model_name: its name, a key of the reader's ``networks`` (:func:`read_model_file`).
        target_scaler: the label scaler fit on the training songs.
        targets: the target names, in the model's output order.
        settings: plain values describing the run (numbers, strings, lists).
        model_kwargs: constructor arguments (e.g. ``in_features``).
        feature_scaler: the input scaler of a model on embeddings.
        extra: further plain top-level entries (backbone, data, ...).
    """
    import torch

    contents = {
        "format": FORMAT,
        "version": VERSION,
        "model": model_name,
        "model_kwargs": dict(model_kwargs or {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "target_scaler": {**scaler_to_dict(target_scaler), "targets": list(targets)},
        "settings": dict(settings),
        **({"feature_scaler": scaler_to_dict(feature_scaler)} if feature_scaler is not None else {}),
        **(extra or {}),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(contents, tmp)
    return path


def read_model_file(path, device=None, networks: dict | None = None, wanted: str = "") -> tuple[object, dict]:
    """Read a file of :func:`write_model_file`: ``(model in eval mode, the file's contents)``.

    ``networks`` maps the model names the caller accepts to their classes (default :func:`model_classes`);
    ``wanted`` says what the caller expected, for the message when the file holds another network.
    A missing, unreadable or foreign file raises :class:`MerError` naming it and the fix.
    """
    import torch

    from .runtime import pick_device

    path = Path(path)
    if not path.is_file():
        raise MerError(
            f"model file {path} not found: run 'make book' first (the notebook that trains it saves it "
            "there), or pass another path."
        )
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise MerError(
            f"model file {path} cannot be read ({type(exc).__name__}); it is corrupt: delete it and run "
            "'make book' again."
        ) from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise MerError(
            f"{path} is not a model file saved by the book (no format '{FORMAT}'): pass a .pt file that "
            "'make book' writes under results/<data>/models/."
        )
    if int(contents.get("version", 0)) > VERSION:
        raise MerError(
            f"{path} was saved by a newer version of mer_utils (model file version {contents['version']}): "
            "update the code."
        )
    classes = model_classes() if networks is None else networks
    if contents["model"] not in classes:
        raise MerError(f"{path} holds a {contents['model']}, not {wanted or 'one of ' + ', '.join(classes)}.")
    model = classes[contents["model"]](**contents.get("model_kwargs", {}))
    model.load_state_dict(contents["state_dict"])
    return model.to(pick_device(device)).eval(), contents


def save_model(results_dir, run_name: str, model, settings: dict, target_scaler, target_names) -> Path:
    """Save a trained network to ``<results_dir>/models/<run_name>.pt`` (Phase 2 runs).

    ``settings`` must name the model under ``model`` and may hold ``model_kwargs``.
    """
    if "model" not in settings:
        raise ValueError("settings must name the model class under 'model'")
    return write_model_file(
        Path(results_dir) / "models" / f"{run_name}.pt",
        model,
        settings["model"],
        target_scaler=target_scaler,
        targets=target_names,
        settings=settings,
        model_kwargs=settings.get("model_kwargs"),
    )


def load_model(path, device=None):
    """Read a file of :func:`save_model`: ``(model, settings, target_scaler, target_names)``, model in eval mode."""
    model, contents = read_model_file(path, device)
    scaler = contents["target_scaler"]
    return model, contents["settings"], scaler_from_dict(scaler), list(scaler["targets"])
