"""``make weights``: the PANNs Cnn14 checkpoint and musicnn's MSD weights, downloaded and verified.

Used by: ``make weights`` (``python -m mer_utils download-weights``, :func:`main_weights`), ``make real-book`` and
``tests/test_download.py``; the checkpoint is what ``notebooks/phase3_panns.py`` loads as CNN14's weights.

Why here: the two files are Phase 3's backbones (:mod:`.cnn14`, :mod:`.musicnn`), so
their fetching sits beside them; the download itself (pooch, resume, checks, the
registry of addresses and checksums) is :mod:`mer_utils.corpus.download`'s.  The PANNs
checkpoint's size and md5 come from Zenodo's records API where it can be read, else from
the registry; a manifest's or mirror's entry (:func:`mer_utils.corpus.download.mirrored`)
replaces both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..corpus.audio import file_digest
from ..corpus.download import (
    CONNECT_TIMEOUT,
    MANIFEST_HELP,
    PANNS_FILE,
    PUBLISHED,
    USER_AGENT,
    ZENODO_RECORD_API,
    Published,
    _problems,
    check_reachable,
    download,
    entry,
    mirrored,
    read_manifest,
)
from ..errors import MerError
from ..pipeline import REPO_ROOT
from .cnn14 import DEFAULT_CHECKPOINT
from .musicnn import H5_WEIGHTS as DEFAULT_MUSICNN_WEIGHTS

DEFAULT_WEIGHTS = REPO_ROOT / DEFAULT_CHECKPOINT


def _zenodo_entry(record_url: str) -> Published:
    """The checkpoint's address, size and md5 from Zenodo's records API (raises on any surprise)."""
    import requests

    response = requests.get(record_url, headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                            timeout=CONNECT_TIMEOUT)
    response.raise_for_status()
    files = response.json()["files"]
    files = files.get("entries", {}).values() if isinstance(files, dict) else files
    found = next(f for f in files if f["key"] == PANNS_FILE)
    algorithm, _, md5 = found["checksum"].partition(":")
    if algorithm != "md5":
        raise ValueError(f"unexpected checksum {found['checksum']}")
    return Published(found["links"]["self"], size=int(found["size"]), md5=md5)


def fetch_panns_weights(dest=DEFAULT_WEIGHTS, *, record_url=ZENODO_RECORD_API, mirror: Published | None = None,
                        progress=True) -> Path:
    """Download ``Cnn14_mAP=0.431.pth`` (Zenodo record 3987831) to ``dest``.

    The size and md5 come from Zenodo's records API; if it cannot be read while
    the host answers, the registry's address, size and md5 are used.
    ``mirror`` (a manifest's ``panns`` entry) replaces all that: that address, that size and checksums.
    """
    import requests

    dest = Path(dest).expanduser()
    if mirror is not None:
        return download(mirror.url, dest, size=mirror.size, sha256=mirror.sha256, md5=mirror.md5, progress=progress)
    published = PUBLISHED["panns"]
    if dest.exists() and not _problems(dest, published.size, None, published.md5):
        return dest
    check_reachable(record_url, [(published.url, dest)])
    try:
        found = _zenodo_entry(record_url)
    except (requests.RequestException, ValueError, KeyError, TypeError, StopIteration) as exc:
        print(f"could not read {PANNS_FILE} from {record_url} ({exc!r}); using {published.url}")
        found = published
    return download(found.url, dest, size=found.size, md5=found.md5, progress=progress)


def fetch_musicnn_weights(dest=DEFAULT_MUSICNN_WEIGHTS, *, url=None, sha256=PUBLISHED["musicnn"].sha256,
                          size=None, md5=None, progress=True) -> Path:
    """Download musicnn's MSD weights (``MSD_musicnn.h5``, ISC licence, 3 MB) to ``dest``, checking the sha256."""
    return download(url or PUBLISHED["musicnn"].url, Path(dest).expanduser(), size=size, sha256=sha256, md5=md5,
                    progress=progress)


def main_weights(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mer_utils weights",
                                     description=f"Download {PANNS_FILE} and MSD_musicnn.h5.")
    parser.add_argument(
        "--dest", default=str(DEFAULT_WEIGHTS), help=f"where to put the checkpoint (default {DEFAULT_WEIGHTS})"
    )
    parser.add_argument(
        "--record-url", default=ZENODO_RECORD_API, help=f"Zenodo records API URL (default {ZENODO_RECORD_API})"
    )
    parser.add_argument("--musicnn-dest", default=str(DEFAULT_MUSICNN_WEIGHTS),
                        help=f"where to put musicnn's MSD_musicnn.h5 (default {DEFAULT_MUSICNN_WEIGHTS})")
    parser.add_argument("--musicnn-url", help=f"its address (default {PUBLISHED['musicnn'].url}, or the manifest's)")
    parser.add_argument("--manifest", help=MANIFEST_HELP)
    args = parser.parse_args(argv)
    manifest = read_manifest(args.manifest)
    musicnn = entry("musicnn", manifest)
    problems = []  # one failure does not stop the other download; both are reported
    try:
        path = fetch_panns_weights(args.dest, record_url=args.record_url, mirror=mirrored("panns", manifest))
        print(f"PANNs checkpoint ready: {path} ({path.stat().st_size:,} bytes, md5 {file_digest(path, 'md5')})")
    except MerError as exc:
        problems.append(f"PANNs checkpoint: {exc}")
    try:
        path = fetch_musicnn_weights(args.musicnn_dest, url=args.musicnn_url or musicnn.url, sha256=musicnn.sha256,
                                     size=musicnn.size, md5=musicnn.md5)
        print(f"musicnn weights ready: {path} ({path.stat().st_size:,} bytes, sha256 {file_digest(path, 'sha256')})")
    except MerError as exc:
        problems.append(f"musicnn weights: {exc}")
    if problems:
        raise MerError("\n".join(problems))
    return 0
