"""Read the TensorFlow 1 checkpoints of musicnn without TensorFlow.

Used by: :func:`mer_utils.phase3.musicnn.read_weights` (every notebook that runs musicnn, and ``mer predict``).

Why this module.  The PyPI wheel ``musicnn-0.1.0`` (Pons and Serra, 2019) carries
the trained networks as TF1 checkpoints (``musicnn/MSD_musicnn/.index`` and
``.data-00000-of-00001``, the same for MTT_musicnn, MSD_vgg and MTT_vgg): the
original weights from which the Keras ``.h5`` files were converted.  The book
does not depend on TensorFlow, so the two files are parsed here by hand;
:mod:`mer_utils.phase3.musicnn` uses this module for the weights the musicnn
wheel carries, and gets from :func:`musicnn_layers_from_checkpoint` the same
``(layers, epsilons)`` as from its h5 reader :func:`read_keras_weights`
(``tests/test_tf_checkpoint.py`` checks all 64 arrays are bit-identical).

The format.  The ``.index`` is a LevelDB table: a 48-byte footer (the block
handles of the metaindex and index blocks, then a magic number), an index block
whose values are the handles of the data blocks, and data blocks of
prefix-compressed ``(key, value)`` entries and restart points, each block
followed by a compression byte (0, none, is all TF writes here) and a CRC.
Keys are variable names (the empty key holds the bundle header); values are
``BundleEntryProto`` messages (dtype, shape, shard, offset, size, crc32c) in the
protobuf wire format.  A tensor is ``size`` bytes at ``offset`` of the ``.data``
file, little-endian, C order.  The CRCs are not verified (zlib has no CRC32C);
offsets, sizes and shapes are.
"""
from __future__ import annotations

import struct

import numpy as np

from ..errors import MerError
from .musicnn_weights import EXPECTED_SHAPES

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # compression type (1 byte) + masked crc32c (4 bytes)
DT_FLOAT = 1
FIX = ("the checkpoint is damaged or not a TF1 checkpoint: take musicnn/<model>/.index and .data-00000-of-00001 from "
       "an intact musicnn-0.1.0 wheel (sha256 f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa)")
# Optimizer slots and training counters, not weights of the network.
TRAINING_ONLY = ("Adam", "/Momentum", "beta1_power", "beta2_power", "global_step")
# musicnn's TF graph names its layers as tf.compat.v1.layers does (conv2d, conv2d_1, ..., batch_normalization_10,
# dense, dense_1), in the order the Keras model builds them; the Keras version renamed the mid-end and back end only.
KERAS_NAMES = {"conv2d_5": "midend_conv1", "conv2d_6": "midend_conv2", "conv2d_7": "midend_conv3",
               "batch_normalization_6": "bn_midend_conv1", "batch_normalization_7": "bn_midend_conv2",
               "batch_normalization_8": "bn_midend_conv3", "batch_normalization_9": "bn_flatpool",
               "batch_normalization_10": "bn_dense"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned LEB128 varint at ``buf[pos:]`` and the position after it."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("a varint runs past the end of its buffer")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def proto_fields(buf: bytes):
    """Yield ``(field, value)`` of a protobuf message: an int (varint, fixed32/64) or bytes (length-delimited)."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 5):  # fixed64, fixed32
            width = 8 if wire == 1 else 4
            value, pos = int.from_bytes(buf[pos : pos + width], "little"), pos + width
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = bytes(buf[pos : pos + length]), pos + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {field})")
        if pos > len(buf):
            raise ValueError(f"protobuf field {field} runs past the end of its message")
        yield field, value


def _block(index: bytes, handle: bytes, what: str) -> bytes:
    """The contents of the block a BlockHandle (offset, size varints) points at, after checking its trailer."""
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    if offset + size + BLOCK_TRAILER_SIZE > len(index):
        raise ValueError(f"the {what} block ({size} bytes at {offset}) runs past the end of the {len(index)}-byte file")
    compression = index[offset + size]
    if compression != 0:
        raise ValueError(f"the {what} block is compressed (type {compression}; 1 is snappy), which this reader does "
                         "not decode; TensorFlow writes checkpoint indexes uncompressed")
    return index[offset : offset + size]


def _block_entries(block: bytes):
    """Yield the ``(key, value)`` entries of a table block (keys prefix-compressed against the previous key)."""
    if len(block) < 4:
        raise ValueError("a block is too short to hold its restart count")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 * (n_restarts + 1)
    if end < 0:
        raise ValueError(f"a block claims {n_restarts} restart points, more than its {len(block)} bytes hold")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_len > end:
            raise ValueError("a block entry runs past the end of its block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield bytes(key), bytes(block[pos : pos + value_len])
        pos += value_len


def table_entries(index: bytes):
    """Yield every ``(key, value)`` of a LevelDB-format table, in key order."""
    if len(index) < FOOTER_SIZE:
        raise ValueError(f"{len(index)} bytes, shorter than the {FOOTER_SIZE}-byte table footer")
    footer = index[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise ValueError(f"the footer's magic number is {magic:#x}, not the table magic {TABLE_MAGIC:#x}")
    _, pos = _varint(footer, 0)  # the metaindex handle: offset, size (the block is empty in checkpoints)
    _, pos = _varint(footer, pos)
    for _, handle in _block_entries(_block(index, footer[pos:], "index")):
        yield from _block_entries(_block(index, handle, "data"))


def _bundle_entry(value: bytes) -> dict:
    """Decode a BundleEntryProto: dtype, shape, shard_id, offset, size (and whether it is sliced)."""
    entry = {"dtype": 0, "shape": [], "shard_id": 0, "offset": 0, "size": 0, "sliced": False}
    for field, item in proto_fields(value):
        if field == 2:  # TensorShapeProto: repeated Dim dim = 2, Dim { int64 size = 1; string name = 2 }
            for shape_field, dim in proto_fields(item):
                if shape_field == 2:
                    entry["shape"].append(dict(proto_fields(dim)).get(1, 0))
        elif field == 7:
            entry["sliced"] = True
        elif field in (1, 3, 4, 5):
            entry[{1: "dtype", 3: "shard_id", 4: "offset", 5: "size"}[field]] = item
    return entry


def read_checkpoint(index: bytes, data: bytes, name: str = "checkpoint") -> dict[str, np.ndarray]:
    """Every float32 variable of a single-shard TF checkpoint, by its stored name, as a C-order float32 array.

    ``index`` and ``data`` are the bytes of the ``.index`` and
    ``.data-00000-of-00001`` files; ``name`` is used in error messages.
    Entries of other dtypes (such as the int64 ``global_step``) are left out.
    A malformed file raises :class:`MerError` naming it and what is wrong.
    """
    variables = {}
    try:
        for key, value in table_entries(index):
            if key == b"":  # the BundleHeaderProto: num_shards = 1, endianness = 2 (0: little), version = 3
                header = dict(proto_fields(value))
                if header.get(1, 1) != 1 or header.get(2, 0) != 0:
                    raise ValueError(f"its header gives {header.get(1, 1)} shards and endianness {header.get(2, 0)}; "
                                     "only single-shard little-endian (0) checkpoints are read")
                continue
            entry, var = _bundle_entry(value), key.decode("utf-8")
            if entry["dtype"] != DT_FLOAT:
                continue
            if entry["sliced"] or entry["shard_id"] != 0:
                raise ValueError(f"variable {var} is partitioned or in another shard, which this reader does not read")
            count = int(np.prod(entry["shape"], dtype=np.int64))
            start, size = entry["offset"], entry["size"]
            if size != 4 * count or start + size > len(data):
                raise ValueError(f"variable {var} of shape {tuple(entry['shape'])} claims {size} bytes at {start} of "
                                 f"the {len(data)}-byte data file")
            array = np.frombuffer(data, dtype="<f4", count=count, offset=start)
            variables[var] = array.astype(np.float32).reshape(entry["shape"])
    except (ValueError, UnicodeDecodeError) as exc:
        raise MerError(f"{name}: not a readable TF checkpoint ({exc}); {FIX}.") from exc
    return variables


def musicnn_layers_from_checkpoint(
    variables: dict[str, np.ndarray], name: str = "checkpoint", expected_shapes: dict | None = None
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float]]:
    """A musicnn checkpoint's variables as ``(layers, epsilons)``, as :func:`musicnn.read_keras_weights` returns them.

    ``layers[keras_layer][short_name]`` are the arrays of :func:`read_checkpoint`
    (the TF layouts are Keras's), checked against ``expected_shapes`` (default
    :data:`musicnn_weights.EXPECTED_SHAPES`); optimizer slots and counters are ignored.
    Every batch norm's epsilon is TF's default, 1e-3, as in the h5 files.
    """
    if expected_shapes is None:
        expected_shapes = EXPECTED_SHAPES
    layers: dict[str, dict[str, np.ndarray]] = {}
    for var, array in variables.items():
        if any(marker in var for marker in TRAINING_ONLY):
            continue
        tf_layer, _, short = var.rpartition("/")
        layers.setdefault(KERAS_NAMES.get(tf_layer, tf_layer), {})[short] = array
    problems = [f"layer {layer} is missing" if layer not in layers else
                f"layer {layer} holds {found}, musicnn expects {shapes}"
                for layer, shapes in expected_shapes.items()
                if (found := {k: v.shape for k, v in layers.get(layer, {}).items()}) != shapes]
    problems += [f"unexpected layer {layer}" for layer in sorted(set(layers) - set(expected_shapes))]
    if problems:
        raise MerError(f"{name}: not a musicnn checkpoint as the musicnn wheel ships it ({'; '.join(problems[:4])}"
                       f"{'; ...' if len(problems) > 4 else ''}); use musicnn/MSD_musicnn or musicnn/MTT_musicnn "
                       "of the musicnn-0.1.0 wheel (the VGG models are other networks).")
    layers = {layer: layers[layer] for layer in expected_shapes}
    epsilons = {layer: 1e-3 for layer in expected_shapes if "gamma" in expected_shapes[layer]}
    return layers, epsilons
