"""musicnn's weight files and tags: where the weights are, their published sha256s, and reading them.
Used by: :mod:`mer_utils.phase3.musicnn` (which re-exports every name here) and
:mod:`mer_utils.phase3.tf_checkpoint` (:data:`EXPECTED_SHAPES`); through them ``notebooks/real_music.py``,
``benchmarks/bench_musicnn.py`` and ``mer predict``.

Why this module: the constants both the network and the TensorFlow checkpoint reader need
live below both, so neither imports the other, and reading files is apart from the network.

Keras conventions handled on loading (:func:`read_keras_weights`): kernels are
stored (height, width, in, out) and become PyTorch's (out, in, height, width);
dense kernels are (in, out) and become (out, in); batch norms use the epsilon
of each layer in ``model_config`` (1e-3 in the released files).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..corpus.audio import file_digest
from ..errors import MerError

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
