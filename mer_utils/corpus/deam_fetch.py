"""``make data-deam``: DEAM's two official archives downloaded (resumable, verified), unpacked, checked and recorded.

Used by: ``make data-deam`` (``python -m mer_utils download-deam``, :func:`main_deam`), ``make real-book`` and
``tests/test_download.py``.

Why a module of its own: reading a DEAM tree (:mod:`mer_utils.corpus.deam`) is what
every chapter needs; fetching it needs the download machinery
(:mod:`mer_utils.corpus.download`), which every fetcher shares.  DEAM's publisher gives
no checksums, so each archive is checked against the server's Content-Length (and a
manifest's size and checksums, where it gives them), its members' CRCs are checked as
it is unzipped, and the sha256 of what was fetched is recorded in
``<deam_dir>/downloads.json``: compare it with another download or another user's to be
sure you have the same data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import MerError
from .deam import STATIC_FILES, find_file
from .download import (
    DEAM_BASE_URL,
    MANIFEST_HELP,
    Published,
    add_to_record,
    check_reachable,
    clear_stale_unpacks,
    download,
    entry,
    fetch_record,
    read_manifest,
    read_record,
    unpack,
)

# One row per official archive: its file name, the top-level folder it unpacks to and its key in the registry
# (mer_utils.corpus.download.PUBLISHED).  Add rows there and here to fetch more (e.g. metadata.zip).
DEAM_ARCHIVES = [
    {"name": "DEAM_audio.zip", "provides": "MEMD_audio", "key": "deam_audio"},
    {"name": "DEAM_Annotations.zip", "provides": "annotations", "key": "deam_annotations"},
]
DEAM_RECORD = "downloads.json"


def fetch_deam(deam_dir, *, base_url=None, manifest=None, progress=True) -> Path:
    """Download and unpack the official DEAM archives (:data:`DEAM_ARCHIVES`) into ``deam_dir``.

    Each archive comes from its registry address (:func:`mer_utils.corpus.download.entry`: the published one,
    ``manifest``'s entry or ``$MER_MIRROR``'s), or from ``base_url`` + its name when ``base_url`` is given.  Each
    is unpacked into a hidden temporary folder inside ``deam_dir`` and moved into place only when complete, then
    deleted.  Archives already unpacked are skipped; an archive already placed in ``deam_dir`` by hand is used
    without network access.
    """
    deam_dir = Path(deam_dir).expanduser()
    deam_dir.mkdir(parents=True, exist_ok=True)
    clear_stale_unpacks(deam_dir)
    record_path = deam_dir / DEAM_RECORD
    record = read_record(record_path)
    entries = {a["name"]: entry(a["key"], manifest) for a in DEAM_ARCHIVES}
    if base_url:
        base_url = base_url if base_url.endswith("/") else base_url + "/"
        entries = {name: Published(base_url + name, found.size, found.sha256, found.md5)
                   for name, found in entries.items()}
    todo = [a for a in DEAM_ARCHIVES if a["name"] not in record and not (deam_dir / a["provides"]).exists()]
    missing = [(entries[a["name"]].url, deam_dir / a["name"]) for a in todo if not (deam_dir / a["name"]).exists()]
    if missing:
        check_reachable(missing[0][0], missing, alternative=f"or unpack the archives into {deam_dir} yourself")
    for archive in todo:
        found, path = entries[archive["name"]], deam_dir / archive["name"]
        download(found.url, path, size=found.size, sha256=found.sha256, md5=found.md5, progress=progress)
        fetched = fetch_record(path, found.url)
        unpack(path, deam_dir, found.url)
        add_to_record(record_path, archive["name"], fetched)
        path.unlink()
    check_deam_tree(deam_dir)
    return deam_dir


def check_deam_tree(deam_dir) -> dict:
    """Check ``deam_dir`` has ``MEMD_audio`` with mp3 files and both static annotation files."""
    deam_dir = Path(deam_dir)
    audio_dirs = [p for p in deam_dir.rglob("MEMD_audio") if p.is_dir()]
    mp3s = [f for d in audio_dirs for f in d.glob("*.mp3")]
    if not mp3s:
        raise MerError(
            f"no MEMD_audio folder with mp3 files under {deam_dir}: unpack DEAM_audio.zip "
            f"({DEAM_BASE_URL}DEAM_audio.zip) there, or delete {deam_dir / DEAM_RECORD} and run again."
        )
    static = {key: find_file(deam_dir, name, f"static annotation file ({key})") for key, name in STATIC_FILES.items()}
    return {"audio_dir": audio_dirs[0], "mp3_files": len(mp3s), "static": static}


def main_deam(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mer_utils data-deam", description="Download and unpack DEAM.")
    parser.add_argument("--deam-dir", required=True, help="folder to hold MEMD_audio/ and annotations/")
    parser.add_argument("--base-url", help=f"the folder of both archives (default: their published addresses, "
                                           f"{DEAM_BASE_URL}, or the manifest's)")
    parser.add_argument("--manifest", help=MANIFEST_HELP)
    args = parser.parse_args(argv)
    deam_dir = fetch_deam(args.deam_dir, base_url=args.base_url, manifest=read_manifest(args.manifest))
    tree = check_deam_tree(deam_dir)
    print(
        f"DEAM is ready in {deam_dir}: {tree['mp3_files']} mp3 files in {tree['audio_dir']}; "
        f"static annotations: {', '.join(str(p) for p in tree['static'].values())}; "
        f"archive sizes and sha256 recorded in {deam_dir / DEAM_RECORD}"
    )
    return 0
