"""``make data-4q``: the 4Q zip downloaded (resumable, verified), unpacked and recorded.

Used by: ``make data-4q`` (``python -m mer_utils download-4q``, :func:`main_fourq`), ``make real-book`` and
``tests/test_fourq.py``.

Why a module of its own: reading the 4Q tree (:mod:`mer_utils.corpus.fourq`) is what the Real music chapter
needs on every machine; fetching it needs the download machinery (:mod:`mer_utils.corpus.download`), which
lists the zip's address among every file the book downloads.  Kept apart, the reader never imports the
downloader and the downloader never imports the reader's fetch code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MerError
from .download import (
    add_source_arguments,
    add_to_record,
    check_reachable,
    clear_stale_unpacks,
    download,
    fetch_record,
    source,
    unpack,
)
from .fourq import ANNOTATIONS_FILE, FOURQ_RECORD, FOURQ_URL, METADATA_FILE, _scan, load_fourq


def _has_csvs(root: Path) -> bool:
    csvs, _, _ = _scan(root)
    return all(csvs.values())


def fetch_fourq(fourq_dir, *, url: str = FOURQ_URL, size: int | None = None, sha256: str | None = None,
                md5: str | None = None, progress: bool = True) -> Path:
    """Download and unpack MER_audio_taffc_dataset.zip into ``fourq_dir``; return ``fourq_dir``.

    The authors publish no checksum, so the zip is checked against the server's
    Content-Length (and ``size``, ``sha256``, ``md5`` where given: a downloads manifest's),
    its members' CRCs are checked as it is unzipped, and the sha256 of what was fetched is
    recorded in ``<fourq_dir>/downloads.json``: compare it with another download to be sure
    you have the same data.  The transfer resumes after an interruption (``<zip>.part``)
    and fails at once on an offline machine, saying which URL to fetch by hand and where to
    put it.  The zip is unpacked into a hidden temporary folder and moved into place only
    when complete, then deleted.  A tree already there (both CSVs found) is left alone; a
    zip placed in ``fourq_dir`` by hand is used without network access.
    """
    fourq_dir = Path(fourq_dir).expanduser()
    if fourq_dir.exists() and not fourq_dir.is_dir():
        raise MerError(f"FOURQ_DIR '{fourq_dir}' is not a folder: pass the folder to unpack 4Q into.")
    fourq_dir.mkdir(parents=True, exist_ok=True)
    clear_stale_unpacks(fourq_dir)
    if _has_csvs(fourq_dir):
        return fourq_dir
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "MER_audio_taffc_dataset.zip"
    path = fourq_dir / name
    if not path.exists():
        check_reachable(url, [(url, path)], alternative=f"or unpack it into {fourq_dir} yourself")
    download(url, path, size=size, sha256=sha256, md5=md5, progress=progress)
    fetched = fetch_record(path, url)
    unpack(path, fourq_dir, url)
    add_to_record(fourq_dir / FOURQ_RECORD, name, fetched)
    path.unlink()
    if not _has_csvs(fourq_dir):
        raise MerError(f"{name} from {url} was unpacked into {fourq_dir} but {ANNOTATIONS_FILE} and {METADATA_FILE} "
                       "are not both there: a folder of the same name already in the way is never overwritten. "
                       "Move it away and run again.")
    return fourq_dir


def main_fourq(argv=None) -> int:
    """``python -m mer_utils download-4q --fourq-dir <dir>`` (``make data-4q FOURQ_DIR=<dir>``)."""
    parser = argparse.ArgumentParser(prog="python -m mer_utils download-4q",
                                     description="Download and unpack the 4Q audio emotion dataset.")
    parser.add_argument("--fourq-dir", required=True, help="folder to unpack MER_audio_taffc_dataset.zip into")
    args = add_source_arguments(parser, "fourq").parse_args(argv)
    found = source(args, "fourq")
    fourq_dir = fetch_fourq(args.fourq_dir, url=found.url, size=found.size, sha256=found.sha256, md5=found.md5)
    fourq = load_fourq(fourq_dir)
    recorded = fourq_dir / FOURQ_RECORD
    print(f"4Q is ready: {fourq.describe()}"
          + (f"; zip size and sha256 recorded in {recorded}" if recorded.exists() else ""))
    return 0
