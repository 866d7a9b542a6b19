"""Reading musicnn's TF1 checkpoints without TensorFlow: the parser on hand-built indexes, the weights the musicnn
wheel carries against the Keras h5 files, and the port with those weights against Essentia's outputs."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from mer_utils.errors import MerError
from mer_utils.phase3 import tf_checkpoint
from mer_utils.phase3.tf_checkpoint import musicnn_layers_from_checkpoint, read_checkpoint

SHARED_WEIGHTS = Path(__file__).resolve().parents[2] / "shared" / "weights"
REFERENCE = SHARED_WEIGHTS / "musicnn-reference"


# --------------------------------------------------------------------------- a small checkpoint writer


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def message(*fields) -> bytes:
    """A protobuf message from ``(field, value)`` pairs: ints as varints, bytes as length-delimited."""
    out = b""
    for field, value in fields:
        if isinstance(value, bytes):
            out += varint(field << 3 | 2) + varint(len(value)) + value
        else:
            out += varint(field << 3) + varint(value)
    return out


def bundle_entry(shape, offset: int, dtype: int = 1, itemsize: int = 4) -> bytes:
    dims = [(2, message((1, size))) for size in shape]
    crc = varint(6 << 3 | 5) + b"\x00\x00\x00\x00"  # crc32c as fixed32 (not verified by the reader)
    size = itemsize * int(np.prod(shape, dtype=np.int64))
    return message((1, dtype), (2, message(*dims)), (4, offset), (5, size)) + crc


def block(entries, restart_interval: int = 16) -> bytes:
    """A LevelDB block: keys prefix-compressed against the previous one, restarting every ``restart_interval``."""
    out, restarts, previous = b"", [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        previous = key
    return out + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def table(entries, per_block: int = 4, compression: int = 0) -> bytes:
    """A LevelDB table of sorted ``(key, value)`` entries, ``per_block`` entries a data block."""
    out, index_entries = b"", []

    def add(contents: bytes) -> bytes:
        nonlocal out
        handle = varint(len(out)) + varint(len(contents))
        out += contents + bytes([compression]) + b"\x00\x00\x00\x00"  # type + crc (not verified)
        return handle

    for start in range(0, len(entries), per_block):
        chunk = entries[start : start + per_block]
        index_entries.append((chunk[-1][0], add(block(chunk))))
    metaindex = add(block([]))
    index = add(block(index_entries, restart_interval=1))
    footer = (metaindex + index).ljust(40, b"\x00") + struct.pack("<Q", tf_checkpoint.TABLE_MAGIC)
    return out + footer


def tiny_checkpoint(compression: int = 0) -> tuple[bytes, bytes, dict[str, np.ndarray]]:
    """A hand-built checkpoint: a header, float32 variables sharing key prefixes, an Adam slot and an int64 step."""
    arrays = {
        "conv2d/bias": np.arange(3, dtype=np.float32),
        "conv2d/kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 1, 4) / 7,
        "conv2d/kernel/Adam": np.full((2, 3, 1, 4), -1.5, np.float32),
        "dense/kernel": np.array([[1e-30, -2.0], [np.inf, 3.25]], np.float32),
    }
    data, entries = b"", [(b"", message((1, 1), (3, message((1, 1)))))]  # BundleHeaderProto: num_shards, version
    for name in sorted(arrays):
        entries.append((name.encode(), bundle_entry(arrays[name].shape, len(data))))
        data += arrays[name].astype("<f4").tobytes()
    entries.append((b"global_step", bundle_entry((), len(data), dtype=9, itemsize=8)))
    data += struct.pack("<q", 1234)
    return table(sorted(entries), compression=compression), data, arrays


# --------------------------------------------------------------------------- the parser, without the wheel


def test_a_hand_built_checkpoint_is_read_with_its_names_shapes_and_bytes_and_the_int64_step_left_out():
    index, data, arrays = tiny_checkpoint()
    variables = read_checkpoint(index, data)
    assert list(variables) == sorted(arrays)
    for name, array in arrays.items():
        assert variables[name].dtype == np.float32 and variables[name].flags.writeable
        np.testing.assert_array_equal(variables[name], array)


def test_the_protobuf_reader_decodes_varints_fixed_fields_and_nested_messages():
    raw = message((1, 300), (2, b"\x08\x96\x01")) + varint(3 << 3 | 1) + struct.pack("<Q", 2**40 + 5)
    raw += varint(6 << 3 | 5) + struct.pack("<I", 0xDEADBEEF)
    assert list(tf_checkpoint.proto_fields(raw)) == [(1, 300), (2, b"\x08\x96\x01"), (3, 2**40 + 5), (6, 0xDEADBEEF)]
    assert list(tf_checkpoint.proto_fields(b"\x08\x96\x01")) == [(1, 150)]


def test_a_checkpoint_index_with_a_compressed_block_is_refused_with_a_clear_error():
    index, data, _ = tiny_checkpoint(compression=1)
    with pytest.raises(MerError, match=r"MSD_musicnn/\.index: .*block is compressed \(type 1; 1 is snappy\)"):
        read_checkpoint(index, data, name="MSD_musicnn/.index")


def test_a_truncated_index_or_data_file_is_refused_naming_the_file_and_the_fix():
    index, data, _ = tiny_checkpoint()
    with pytest.raises(MerError, match=r"x\.index: .*magic number.*intact musicnn-0\.1\.0 wheel"):
        read_checkpoint(index[:-3], data, name="x.index")
    with pytest.raises(MerError, match=r"x\.data: .*variable dense/kernel .* claims 16 bytes"):
        read_checkpoint(index, data[:-20], name="x.data")
    with pytest.raises(MerError, match="shorter than the 48-byte table footer"):
        read_checkpoint(b"\x00" * 10, data)


def test_a_checkpoint_that_is_not_musicnn_is_refused_naming_the_layers_that_differ():
    index, data, _ = tiny_checkpoint()
    with pytest.raises(MerError, match=r"tiny: not a musicnn checkpoint .*layer batch_normalization is missing"):
        musicnn_layers_from_checkpoint(read_checkpoint(index, data), name="tiny")


def test_only_the_mid_end_and_back_end_layers_are_renamed_from_tf_to_keras():
    renamed = tf_checkpoint.KERAS_NAMES
    assert renamed["conv2d_5"] == "midend_conv1" and renamed["conv2d_7"] == "midend_conv3"
    assert renamed["batch_normalization_6"] == "bn_midend_conv1"
    assert renamed["batch_normalization_8"] == "bn_midend_conv3"
    assert renamed["batch_normalization_9"] == "bn_flatpool" and renamed["batch_normalization_10"] == "bn_dense"
    assert len(renamed) == 8  # conv2d..conv2d_4, batch_normalization..batch_normalization_5, dense, dense_1 keep theirs


# --------------------------------------------------------------------------- the checkpoints of the musicnn wheel


def wheel_checkpoint(model: str) -> dict[str, np.ndarray]:
    """A network of the musicnn wheel as make venv unpacked it into the cache folder (musicnn_wheel.py)."""
    from mer_utils.phase3.musicnn_wheel import CHECKPOINT_FILES, checkpoint_dir, is_checkpoint

    folder = checkpoint_dir(model)
    if not is_checkpoint(folder):
        pytest.skip(f"the musicnn wheel's {model} is not unpacked at {folder}: run 'make venv' (it fetches it)")
    index, data = ((folder / name).read_bytes() for name in CHECKPOINT_FILES)
    return read_checkpoint(index, data, name=str(folder))


def keras_h5(model: str):
    path = SHARED_WEIGHTS / f"{model}.h5"
    if not path.is_file():
        pytest.skip(f"the Keras weights are not at {path} (they live in ../shared/weights beside the repo)")
    from mer_utils.phase3.musicnn import read_keras_weights

    return read_keras_weights(path)


def assert_bit_identical_to_the_h5(model: str):
    layers, epsilons = musicnn_layers_from_checkpoint(wheel_checkpoint(model), name=model)
    keras_layers, keras_epsilons = keras_h5(model)
    assert epsilons == keras_epsilons
    assert {layer: sorted(arrays) for layer, arrays in layers.items()} == \
           {layer: sorted(arrays) for layer, arrays in keras_layers.items()}
    pairs = [(layers[layer][name], keras_layers[layer][name]) for layer in keras_layers for name in keras_layers[layer]]
    assert len(pairs) == 64
    assert all(ours.dtype == theirs.dtype == np.float32 and np.array_equal(ours, theirs) for ours, theirs in pairs)


def test_every_array_of_the_wheels_msd_checkpoint_is_bit_identical_to_the_keras_h5():
    assert_bit_identical_to_the_h5("MSD_musicnn")


def test_every_array_of_the_wheels_mtt_checkpoint_is_bit_identical_to_the_keras_h5():
    assert_bit_identical_to_the_h5("MTT_musicnn")


def test_the_wheels_checkpoints_hold_the_adam_slots_that_the_mapping_leaves_out():
    variables = wheel_checkpoint("MSD_musicnn")
    assert len(variables) == 150  # 64 weights, 2 x 42 Adam slots of the trained ones, beta1_power, beta2_power
    assert {"beta1_power", "beta2_power", "conv2d/kernel/Adam", "conv2d/kernel/Adam_1"} <= set(variables)


def test_the_port_with_the_checkpoints_weights_reproduces_essentias_embedding_to_1e_4():
    names = ("patches.npy", "dense_preactivation.npy")
    if not all((REFERENCE / name).is_file() for name in names):
        pytest.skip(f"the Essentia reference outputs are not in {REFERENCE} (they live in ../shared/weights)")
    import torch

    from mer_utils.phase3.musicnn import Musicnn

    model = Musicnn().set_from_keras(*musicnn_layers_from_checkpoint(wheel_checkpoint("MSD_musicnn")))
    with torch.no_grad():
        embedding = model(torch.from_numpy(np.load(REFERENCE / "patches.npy"))).embedding.numpy()
    assert np.abs(embedding - np.load(REFERENCE / "dense_preactivation.npy")).max() < 1e-4
