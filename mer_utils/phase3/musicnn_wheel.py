"""Pretrained musicnn on every machine: the ``musicnn`` wheel from the package index, fetched with pip.

Used by: ``make venv`` (``python -m mer_utils fetch-musicnn``), :mod:`mer_utils.phase3.musicnn`
(its default weights), ``mer predict`` (the shipped predictor's backbone) and the tests.

Why.  The musicnn authors' wheel on PyPI (``musicnn`` 0.1.0, ISC licence, 29 MB)
carries TensorFlow 1 checkpoints of four pretrained networks.  PyPI is the one
source every machine that installs this project can reach, so the book takes
``MSD_musicnn`` and ``MTT_musicnn`` from there instead of from a GitHub address
or a copy in ``../shared``.  pip fetches the wheel (so a user's index, mirror or
proxy settings apply) with ``--require-hashes`` against :data:`WHEEL_SHA256`; it is
never installed (that would pull TensorFlow): the two networks' checkpoint files
are unpacked into the user's cache folder (:func:`cache_root`, the platform's
convention via pooch, or ``$MER_CACHE_DIR``) and read without TensorFlow by
:mod:`mer_utils.phase3.tf_checkpoint`.  The wheel is deleted once unpacked.

A network folder is written under a temporary name and renamed when complete,
so a folder that exists is whole.  Each network is identified by the sha256 of
its checkpoint's data file (:data:`DATA_SHA256`), the digest the book's records
and model files carry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import MerError

REQUIREMENT = "musicnn==0.1.0"
WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
NETWORKS = ("MSD_musicnn", "MTT_musicnn")  # the two the book reads (the VGG pair is not ported)
CHECKPOINT_FILES = (".index", ".data-00000-of-00001")  # a network's files inside the wheel, under musicnn/<network>/
DATA_FILE = CHECKPOINT_FILES[1]
DATA_SHA256 = {  # the sha256 of each network's data file: its identity in records and model files
    "MSD_musicnn": "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6",
    "MTT_musicnn": "041f3935e981a65cea739842d30c188d3a7d2adf4410955c8668eb3de4a5acab",
}
CACHE_ENV = "MER_CACHE_DIR"
FOLDER = "musicnn-0.1.0"  # under the cache root
LICENCE = ("musicnn 0.1.0 (Pons and Serra 2019), ISC licence; MSD_musicnn learned from the Million Song Dataset's "
           "tags, MTT_musicnn from MagnaTagATune's")


def cache_root() -> Path:
    """Where downloaded weights are kept: ``$MER_CACHE_DIR``, else the user's cache folder for ``mer`` (pooch's
    ``os_cache``: ``~/.cache/mer`` on Linux, ``~/Library/Caches/mer`` on macOS, ``%LOCALAPPDATA%`` on Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import pooch

    return Path(pooch.os_cache("mer"))


def checkpoint_dir(network: str = "MSD_musicnn") -> Path:
    """The folder of one network's checkpoint files (``.index`` and ``.data-00000-of-00001``) in the cache."""
    if network not in NETWORKS:
        raise MerError(f"unknown musicnn network '{network}': the book reads {', '.join(NETWORKS)}.")
    return cache_root() / FOLDER / network


def is_checkpoint(path) -> bool:
    """Whether ``path`` is a folder holding a TensorFlow checkpoint as the wheel lays it out."""
    path = Path(path)
    return path.is_dir() and all((path / name).is_file() for name in CHECKPOINT_FILES)


def how_to_fetch() -> str:
    return (f"run 'make venv' (or 'python -m mer_utils fetch-musicnn'): pip fetches the {REQUIREMENT} wheel from the "
            f"package index (29 MB) and its checkpoints are unpacked into {cache_root() / FOLDER}; "
            f"${CACHE_ENV} moves that folder")


def sha256_of(path) -> str:
    from ..corpus.audio import file_digest

    return file_digest(path, "sha256")


def download_wheel(folder, *, pip_args=()) -> Path:
    """Fetch the wheel into ``folder`` with pip, hash-pinned, without installing it or its dependencies.

    ``pip_args`` are passed on (``--index-url`` for a mirror; pip's own
    configuration and ``PIP_INDEX_URL`` apply as well).  A wheel whose sha256
    differs from :data:`WHEEL_SHA256` is refused by pip (and by :func:`unpack_networks`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{REQUIREMENT} --hash=sha256:{WHEEL_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
               "--disable-pip-version-check", "--quiet", "-r", str(requirements), "-d", str(folder), *pip_args]
    run = subprocess.run(command, capture_output=True, text=True)
    wheel = folder / WHEEL
    if run.returncode != 0 or not wheel.is_file():
        reason = " ".join((run.stderr or run.stdout or "pip gave no reason").split())[-600:]
        raise MerError(f"pip could not fetch {REQUIREMENT} from the package index ({reason}). The pretrained musicnn "
                       f"weights come from that wheel: check the network or pip's index settings and retry, or put "
                       f"{WHEEL} (sha256 {WHEEL_SHA256}) in {folder} by hand and run 'python -m mer_utils "
                       f"fetch-musicnn --wheel <file>'.")
    return wheel  # pip checked its hash; unpack_networks checks it again before reading it


def unpack_networks(wheel, root=None, networks=NETWORKS) -> dict[str, Path]:
    """Unpack each network's checkpoint files from ``wheel`` into ``root/<network>/`` (default the cache), atomically.

    The wheel's sha256 is checked first, and each data file's after unpacking
    (:data:`DATA_SHA256`).  Returns ``{network: folder}``.
    """
    wheel = Path(wheel)
    if not wheel.is_file():
        raise MerError(f"{wheel}: no such file; {how_to_fetch()}.")
    if sha256_of(wheel) != WHEEL_SHA256:
        raise MerError(f"{wheel}: not the pinned {WHEEL} (sha256 {WHEEL_SHA256}); {how_to_fetch()}.")
    root = Path(root) if root is not None else cache_root() / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    folders = {}
    with zipfile.ZipFile(wheel) as archive:
        for network in networks:
            final = root / network
            folders[network] = final
            if is_checkpoint(final):
                continue
            partial = Path(tempfile.mkdtemp(prefix=f".{network}.", dir=root))
            try:
                for name in CHECKPOINT_FILES:
                    with archive.open(f"musicnn/{network}/{name}") as source, open(partial / name, "wb") as target:
                        shutil.copyfileobj(source, target)
                found = sha256_of(partial / DATA_FILE)
                if found != DATA_SHA256[network]:
                    raise MerError(f"{wheel}: {network}'s data file has sha256 {found}, expected "
                                   f"{DATA_SHA256[network]}; {how_to_fetch()}.")
                partial.chmod(0o755)  # mkdtemp's folders are private; the weights are not
                os.replace(partial, final)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
    return folders


def ensure_networks(*, pip_args=(), wheel=None, quiet: bool = False) -> dict[str, Path]:
    """Every network of :data:`NETWORKS` in the cache, fetching and unpacking the wheel when one is missing.

    ``wheel``: a copy of the wheel already on disk (no download).  Says on
    stderr what it fetches unless ``quiet``.
    """
    folders = {network: checkpoint_dir(network) for network in NETWORKS}
    if all(is_checkpoint(folder) for folder in folders.values()):
        return folders
    root = cache_root() / FOLDER
    if wheel is not None:
        return unpack_networks(wheel, root)
    if not quiet:
        print(f"fetching {REQUIREMENT} (29 MB, pretrained musicnn weights) with pip into {root}", file=sys.stderr)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wheel.", dir=root) as folder:
        return unpack_networks(download_wheel(folder, pip_args=pip_args), root)


def main(argv=None) -> None:
    """``python -m mer_utils fetch-musicnn [--wheel FILE] [--index-url URL]`` (``make venv``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="mer fetch-musicnn",
        description=f"Fetch the {REQUIREMENT} wheel with pip (hash-pinned, not installed) and unpack its MSD and MTT "
                    f"checkpoints into the cache folder ({CACHE_ENV} moves it).")
    parser.add_argument("--wheel", help="a copy of the wheel already on disk (no download)")
    parser.add_argument("--index-url", help="a package index other than pip's configured one")
    args = parser.parse_args(argv)
    folders = ensure_networks(wheel=args.wheel, pip_args=("--index-url", args.index_url) if args.index_url else ())
    for network, folder in folders.items():
        print(f"{network}: {folder}")
