"""Where and how torch runs: seeds, threads, device and numeric precision.

Used by: ``notebooks/phase2_train.py`` and ``notebooks/phase3_panns.py`` (through
the training loop and the embedders), and by ``mer predict``.

One place for each of these, because every trainer and embedder needs them:
:func:`set_seeds` makes a run repeatable (Python, NumPy and torch seeded, torch
asked for deterministic kernels), :func:`torch_threads` runs a block with a given
number of CPU threads and restores the previous number, :func:`pick_device` picks
CUDA when present and the CPU otherwise, and :func:`resolve_precision` turns
``"auto"`` into bfloat16 on CPUs that compute it natively (AVX512-BF16, AMX).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys

import numpy as np

from ..errors import MerError

PRECISIONS = ("auto", "float32", "bfloat16")
DEFAULT_JOBS = 2  # worker processes for decoding and features: the 2 cores of the machines the book is built on


def set_seeds(seed: int) -> None:
    """Seed Python, NumPy and (if imported) torch, with deterministic torch kernels."""
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by deterministic cuBLAS
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Run a block with ``torch.set_num_threads(n_threads)`` (``None``: leave it), restoring it after.

    Pass 1 when other processes share the cores (``make -j``): threads that
    wait for each other on a busy machine can make a small model many times slower.
    """
    import torch

    if n_threads is not None and int(n_threads) < 1:
        raise MerError(f"threads={n_threads} must be 1 or more (or None for torch's default).")
    before = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pick_device(device=None):
    """``device`` if given, else CUDA when available, else the CPU."""
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_precision(precision: str = "auto") -> str:
    """``"auto"`` -> ``"bfloat16"`` where the CPU computes it natively (AVX512-BF16, AMX), else ``"float32"``."""
    import torch

    if precision not in PRECISIONS:
        raise MerError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # an old or unusual build: stay with float32
        native = False
    return "bfloat16" if native else "float32"
