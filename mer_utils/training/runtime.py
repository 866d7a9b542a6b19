"""Where and how torch runs: seeds, threads, device and numeric precision.

Used by: ``notebooks/phase2_train.py`` and ``notebooks/phase3_panns.py`` (through
the training loop and the embedders), and by ``mer predict``.

One place for each of these, because every trainer and embedder needs them:
:func:`set_seeds` makes a run repeatable (Python, NumPy and torch seeded, torch
asked for deterministic kernels), :func:`torch_threads` runs a block with a given
number of CPU threads and restores the previous number (a Phase 2 run takes
:data:`DEFAULT_TRAINING_THREADS`), :func:`pick_device` picks
CUDA when present and the CPU otherwise, :func:`resolve_precision` turns
``"auto"`` into bfloat16 where the device computes it natively (CPUs with
AVX512-BF16 or AMX, CUDA GPUs that support bfloat16) and float32 elsewhere, and
:func:`autocast` runs a block in the chosen precision, and
:func:`keep_freed_memory` stops the C allocator from handing freed memory back
to the system between batches.

Precision.  ``"bfloat16"`` means automatic mixed precision (``torch.autocast``):
the weights, the optimiser state, the loss and the metrics stay float32, and
only the operations autocast lists (convolutions, matrix products, the GRU) run
in bfloat16.  :data:`DEFAULT_PRECISION` is the package default, used wherever a
caller passes ``None``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import random
import sys

import numpy as np

from ..errors import MerError

PRECISIONS = ("auto", "float32", "bfloat16")
DEFAULT_PRECISION = "auto"  # of the Phase 2 training loop (mer_utils.training.loop); None anywhere means this
DEFAULT_JOBS = 2  # worker processes for decoding and features: the 2 cores of the machines the book is built on
# torch threads of one Phase 2 training run.  The Makefile runs two pages side by side (PAGE_JOBS), and on 2 cores
# two single-thread trainings do more than one training on both: 1.25x in float32 (AVX2), 1.1-1.27x with bfloat16
# (benchmarks/bench_phase2.py --side-by-side).  One thread also gives the same numbers on any number of cores.
DEFAULT_TRAINING_THREADS = 1
KEEP_FREED_MEMORY_ENV = "MER_KEEP_FREED_MEMORY"  # set to 0 to leave the C allocator as it is (benchmarks compare both)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt options (malloc.h)
_MALLOC_LIMITS = {M_MMAP_THRESHOLD: 64 * 1024 * 1024, M_TRIM_THRESHOLD: 2**31 - 1}  # bytes
_kept = None


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


@contextlib.contextmanager
def one_thread_per_operation():
    """Run a block with NumPy's BLAS and torch's operations on one thread each, restoring both after.

    For work that is already parallel across items (``mer predict``: files
    decoded in threads, patches embedded in workers): a library's own thread
    pool inside a small operation (the mel filter bank's matrix product, the
    MLP head on one row) gains nothing there, and its idle threads spin after
    each call on the cores the other threads need.  Measured with
    ``mer predict`` on 100 4Q clips on 2 cores: 10.5 s of wall time and 17.6 s
    of CPU time with the pools, 8.4 s and 12.6 s without.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), torch_threads(1):
        yield


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A context that holds NumPy's BLAS to one thread, restoring it after, for workers that run NumPy's matrix
    products in parallel (musicnn's timbral layers, :class:`mer_utils.phase3.musicnn.MusicnnEmbedder`).

    The libraries are looked up once per process (``threadpool_limits`` looks them up on every call: 0.6 ms,
    per song in ``mer predict``); idle OpenBLAS threads otherwise spin on the cores the workers need.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def pick_device(device=None):
    """``device`` if given, else CUDA when available, else the CPU."""
    import torch

    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_precision(precision: str | None = "auto", device=None) -> str:
    """``"float32"`` or ``"bfloat16"``: ``precision`` itself, or what ``"auto"`` means on ``device``.

    ``None`` means :data:`DEFAULT_PRECISION`.  ``"auto"`` gives ``"bfloat16"`` on a
    CPU that computes it natively (AVX512-BF16, AMX) and on a CUDA device that
    supports it, ``"float32"`` elsewhere (other CPUs, other devices).
    ``device``: a ``torch.device`` or its name; ``None`` means the CPU.
    """
    import torch

    precision = DEFAULT_PRECISION if precision is None else precision
    if precision not in PRECISIONS:
        raise MerError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}.")
    if precision != "auto":
        return precision
    kind = torch.device(device).type if device is not None else "cpu"
    try:
        if kind == "cpu":
            native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        elif kind == "cuda":
            native = bool(torch.cuda.is_bf16_supported())
        else:
            native = False
    except Exception:  # an old or unusual build: stay with float32
        native = False
    return "bfloat16" if native else "float32"


def autocast(device, precision: str):
    """A context that runs a block in ``precision`` on ``device``: bfloat16 autocast, or nothing for float32.

    ``precision`` is a resolved one (``"float32"`` or ``"bfloat16"``, see
    :func:`resolve_precision`); ``device`` a ``torch.device`` or its name.
    """
    import torch

    if precision == "float32":
        return contextlib.nullcontext()
    if precision != "bfloat16":
        raise MerError(f"precision '{precision}' is not resolved: pass it through resolve_precision() first.")
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for the next batch instead of returning it to the system.

    Training and inference allocate and free the same activation buffers (a few
    MB to tens of MB) on every batch.  By default glibc gives such buffers back
    to the kernel when they are freed (``munmap``, or trimming the top of the
    heap), so every batch faults the same pages in again and the kernel zeroes
    each 4 KB page: millions of page faults per epoch, a third of the time of
    a Phase 2 training step on 2 cores.  Raising the mmap threshold to 64 MB
    and the trim threshold to 2 GB keeps the buffers in the heap for reuse;
    the arithmetic is untouched and peak memory barely moves (the same buffers
    are reused).  benchmarks/bench_phase2.py measures the speed-up side by side
    (``--compare-allocator``).

    Process-wide and idempotent; a no-op (returning False) where the C library
    is not glibc or when the environment variable ``MER_KEEP_FREED_MEMORY`` is
    ``0``.  Returns whether the setting is in force.
    """
    global _kept
    if _kept is None:
        _kept = False
        if os.environ.get(KEEP_FREED_MEMORY_ENV, "1").strip() not in ("0", "false", "no"):
            try:
                mallopt = ctypes.CDLL("libc.so.6").mallopt
                _kept = all(mallopt(option, value) == 1 for option, value in _MALLOC_LIMITS.items())
            except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): leave the allocator alone
                _kept = False
    return _kept
