"""Resumable, verified downloads: the DEAM archives, the PANNs Cnn14 checkpoint, musicnn's weights, the 4Q zip.

Used by ``make data-deam`` (:func:`main_deam`, :func:`fetch_deam`), ``make weights`` (:func:`main_weights`,
:func:`fetch_panns_weights`), ``make data-4q`` (:func:`mer_utils.corpus.fourq.fetch_fourq`) and ``make real-book``,
which runs all three.

:data:`PUBLISHED` lists every file the book downloads, where its publisher puts it and the size and checksums
the publisher gives (DEAM's and 4Q's publishers give none).  A *downloads manifest* (``DOWNLOADS=<file.json>``,
:func:`read_manifest`) points any of them elsewhere, a mirror or a local server, with the size and checksums of
the files there: a mirror's archive need not be byte for byte the published one.  ``python -m mer_utils
downloads`` prints the published table in the manifest's format, as a start for one.

:func:`download` writes to ``<dest>.part``, resumes it with an HTTP ``Range``
request, checks the size and any checksums given, and only then renames it to
``<dest>``: an interrupted or corrupt download never sits under the final name.
Before any transfer the host is probed with a short connect timeout, so an
offline machine fails at once with a message that says which URL to fetch by
hand and where to put the file.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from ..cache import write_json_atomic
from ..errors import MerError
from ..phase3.cnn14 import CHECKPOINT_NAME, DEFAULT_CHECKPOINT
from ..phase3.musicnn import H5_WEIGHTS as DEFAULT_MUSICNN_WEIGHTS
from ..phase3.musicnn import MSD_MUSICNN_SHA256, MSD_MUSICNN_URL
from ..pipeline import REPO_ROOT
from .audio import file_digest
from .fourq import FOURQ_URL

CONNECT_TIMEOUT = 10  # seconds for the reachability probe (DNS + TCP connect)
CHUNK = 1 << 20
USER_AGENT = "mer-utils-download/1.0 (python urllib)"

DEAM_BASE_URL = "https://cvml.unige.ch/databases/DEAM/"
# One row per official archive: its file name under DEAM_BASE_URL, the top-level folder it unpacks to and its
# row of PUBLISHED.  Add rows here (and to PUBLISHED) to fetch more (e.g. metadata.zip).
DEAM_ARCHIVES = [
    {"name": "DEAM_audio.zip", "provides": "MEMD_audio", "key": "deam_audio"},
    {"name": "DEAM_Annotations.zip", "provides": "annotations", "key": "deam_annotations"},
]
DEAM_RECORD = "downloads.json"
UNPACK_PREFIX = ".partial-unpack-"

ZENODO_RECORD_API = "https://zenodo.org/api/records/3987831"
PANNS_FILE = CHECKPOINT_NAME
# Used when the records API cannot be read but zenodo.org answers.
PANNS_FALLBACK_URL = "https://zenodo.org/records/3987831/files/Cnn14_mAP%3D0.431.pth?download=1"
PANNS_FALLBACK_SIZE = 327_428_481
PANNS_FALLBACK_MD5 = "541141fa2ee191a88f24a3219fff024e"
DEFAULT_WEIGHTS = REPO_ROOT / DEFAULT_CHECKPOINT


@dataclass(frozen=True)
class Published:
    """One file the book downloads: its address, and its size and checksums where known (None: not checked)."""

    url: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


# Every download, as its publisher gives it: the defaults, written once.  The PANNs row is what is used when
# Zenodo's records API (which gives the same size and md5) cannot be read.
PUBLISHED = {
    "deam_audio": Published(DEAM_BASE_URL + "DEAM_audio.zip"),
    "deam_annotations": Published(DEAM_BASE_URL + "DEAM_Annotations.zip"),
    "panns": Published(PANNS_FALLBACK_URL, size=PANNS_FALLBACK_SIZE, md5=PANNS_FALLBACK_MD5),
    "musicnn": Published(MSD_MUSICNN_URL, sha256=MSD_MUSICNN_SHA256),
    "fourq": Published(FOURQ_URL),
}


def read_manifest(path) -> dict[str, Published]:
    """The entries of a downloads manifest (JSON), each laid over its published values.

    The manifest maps keys of :data:`PUBLISHED` to objects with any of ``url``, ``size``, ``sha256`` and ``md5``::

        {"deam_audio": {"url": "http://mirror.example/DEAM_audio.zip", "sha256": "..."},
         "panns": {"url": "http://mirror.example/Cnn14_mAP=0.431.pth"}}

    A field left out keeps the published value (the same file on a mirror keeps its checksums); ``null``
    drops a check.  Keys the manifest does not name are not in the result: their callers use the published
    entry.  ``None`` or ``""`` for ``path``: no manifest, an empty dict.
    """
    if not path:
        return {}
    path = Path(path).expanduser()
    try:
        given = json.loads(path.read_text())
    except OSError as exc:
        raise MerError(f"cannot read the downloads manifest {path} ({exc}): check DOWNLOADS=<file.json>.") from exc
    except json.JSONDecodeError as exc:
        raise MerError(f"the downloads manifest {path} is not JSON ({exc}).") from exc
    allowed = {f.name for f in fields(Published)}
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        raise MerError(f"the downloads manifest {path} must map each download to an object of {sorted(allowed)}.")
    entries = {}
    for key, values in given.items():
        if key not in PUBLISHED:
            raise MerError(f"the downloads manifest {path} names '{key}', which is not a download of the book: "
                           f"use {', '.join(PUBLISHED)}.")
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise MerError(f"the downloads manifest {path}, entry '{key}', has unknown field(s) {', '.join(unknown)}: "
                           f"use {', '.join(sorted(allowed))}.")
        entries[key] = Published(**{**asdict(PUBLISHED[key]), **values})
    return entries


def main_downloads(argv=None) -> int:
    """``python -m mer_utils downloads``: the published table, as a downloads manifest (JSON) to edit."""
    argparse.ArgumentParser(prog="python -m mer_utils downloads", description=main_downloads.__doc__).parse_args(argv)
    print(json.dumps({key: asdict(entry) for key, entry in PUBLISHED.items()}, indent=2))
    return 0


# --------------------------------------------------------------------------- helpers


def _problems(path: Path, size, sha256, md5) -> list[str]:
    """What is wrong with ``path`` given the expected size and checksums (empty: all good)."""
    found = path.stat().st_size
    if size is not None and found != size:
        return [f"expected {size:,} bytes, found {found:,}"]
    out = []
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected:
            actual = file_digest(path, algorithm)
            if actual.lower() != expected.lower():
                out.append(f"expected {algorithm} {expected.lower()}, found {actual}")
    return out


def _probe(host: str, port: int, timeout: float):
    """None if a TCP connection to host:port opens within ``timeout`` s, else the reason."""
    result = {}

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:  # DNS failure, refused, unreachable, timeout
            result["error"] = exc

    thread = threading.Thread(target=attempt, daemon=True)  # bounds DNS lookups too
    thread.start()
    thread.join(timeout + 1)
    if thread.is_alive():
        return f"no answer within {timeout} s"
    error = result.get("error")
    return None if error is None else (str(error) or type(error).__name__)


def check_reachable(url: str, wanted, *, timeout: float = CONNECT_TIMEOUT, alternative: str = "") -> None:
    """Fail fast with :class:`MerError` when the host of ``url`` (or its proxy) does not answer.

    ``wanted`` lists ``(url, path)`` pairs for the message: what to fetch by hand and where to put it.
    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host or ""):
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        host, port = proxy_parts.hostname, proxy_parts.port or 80
    reason = _probe(host, port, timeout)
    if reason is None:
        return
    by_hand = "; ".join(f"{src} -> {dest}" for src, dest in wanted)
    raise MerError(
        f"cannot reach {host}:{port} ({reason}): this machine seems to be offline. "
        f"Download on a machine with internet access and put the file(s) here by hand: {by_hand}"
        f"{'; ' + alternative if alternative else ''}. Then run the same command again."
    )


def _open(url: str, headers: dict, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    return urllib.request.urlopen(request, timeout=timeout)


# --------------------------------------------------------------------------- download


def download(
    url, dest, *, size=None, sha256=None, md5=None, timeout=30, progress=True, connect_timeout=CONNECT_TIMEOUT
) -> Path:
    """Download ``url`` to ``dest`` through ``<dest>.part``, resuming and verifying.

    The size is checked against ``size`` if given, else against the server's
    Content-Length (or the total of Content-Range); ``sha256``/``md5`` are checked
    when given.  A mismatch deletes the ``.part`` and raises :class:`MerError`.
    An existing ``dest`` that verifies is returned without network access.
    ``timeout`` applies to each read; ``connect_timeout`` to the reachability probe.
    """
    dest = Path(dest)
    if dest.exists():
        problems = _problems(dest, size, sha256, md5)
        if not problems:
            return dest
        raise MerError(f"{dest} exists but does not match {url}: {'; '.join(problems)}. Delete it and run again.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    check_reachable(url, [(url, dest)], timeout=connect_timeout)
    for _attempt in range(2):  # a second pass only after a refused or mismatched resume
        start = part.stat().st_size if part.exists() else 0
        try:
            response = _open(url, {"Range": f"bytes={start}-"} if start else {}, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and start:  # nothing left to send: complete, or not this file
                if exc.headers.get("Content-Range", "").rpartition("/")[2] == str(start):
                    expected = size if size is not None else start
                    break
                part.unlink()
                continue
            raise MerError(
                f"download of {url} failed: HTTP {exc.code} {exc.reason}. Check the URL or try again later, or fetch it by hand to {dest}."
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise MerError(
                f"download of {url} failed ({exc}). Run again to resume, or fetch it by hand to {dest}."
            ) from exc
        with response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            if start and response.status == 206:
                first, _, whole = response.headers.get("Content-Range", "").partition(" ")[2].partition("/")
                if not first.startswith(f"{start}-"):
                    part.unlink()
                    continue
                total = int(whole) if whole.isdigit() else None
                mode = "ab"
            else:  # 200: the server sends the whole file, so start again from zero
                start, mode = 0, "wb"
            expected = size if size is not None else total
            if size is not None and total is not None and total != size:
                if part.exists():
                    part.unlink()
                raise MerError(
                    f"{url}: the server offers {total:,} bytes, expected {size:,}. The file on the server changed; nothing was kept."
                )
            _stream(response, part, mode, start, expected, dest.name, progress, url)
        break
    problems = _problems(part, expected, sha256, md5)
    if problems:
        part.unlink()
        raise MerError(
            f"download of {url} is corrupt: {'; '.join(problems)}. The partial file was deleted; run again to re-download."
        )
    os.replace(part, dest)
    return dest


def _stream(response, part: Path, mode: str, start: int, expected, name: str, progress: bool, url: str) -> None:
    from tqdm import tqdm

    done = start
    with (
        open(part, mode) as handle,
        tqdm(
            total=expected, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=not progress
        ) as bar,
    ):
        try:
            for block in iter(lambda: response.read(CHUNK), b""):
                handle.write(block)
                done += len(block)
                bar.update(len(block))
        except (OSError, http.client.HTTPException) as exc:
            raise MerError(
                f"download of {url} was interrupted after {done:,} bytes ({exc}); "
                f"{part} is kept: run the same command again to resume."
            ) from exc
    if expected is not None and done < expected:
        raise MerError(
            f"download of {url} was interrupted after {done:,} of {expected:,} bytes; "
            f"{part} is kept: run the same command again to resume."
        )


# --------------------------------------------------------------------------- DEAM


def fetch_deam(deam_dir, *, base_url=None, manifest=None, progress=True) -> Path:
    """Download and unpack the official DEAM archives (:data:`DEAM_ARCHIVES`) into ``deam_dir``.

    Each archive comes from its :data:`PUBLISHED` address, or from ``manifest``'s entry
    (:func:`read_manifest`), or from ``base_url`` + its name when ``base_url`` is given.
    The publisher gives no checksums, so each archive is checked against the
    server's Content-Length (and against a manifest's size and checksums, where it gives
    them) and with :meth:`zipfile.ZipFile.testzip` before it is
    unpacked, and the sha256 of what was fetched is recorded in
    ``<deam_dir>/downloads.json``: compare it with another download or another user's
    to be sure you have the same data.  Each archive is unpacked into a hidden
    temporary folder inside ``deam_dir`` and moved into place only when complete,
    then deleted.  Archives already unpacked are skipped; an archive already placed
    in ``deam_dir`` by hand is used without network access.
    """
    deam_dir = Path(deam_dir).expanduser()
    deam_dir.mkdir(parents=True, exist_ok=True)
    for stale in deam_dir.glob(UNPACK_PREFIX + "*"):  # left by an interrupted unpack
        shutil.rmtree(stale, ignore_errors=True)
    record_path = deam_dir / DEAM_RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    entries = {a["name"]: (manifest or {}).get(a["key"], PUBLISHED[a["key"]]) for a in DEAM_ARCHIVES}
    if base_url:
        base_url = base_url if base_url.endswith("/") else base_url + "/"
        entries = {name: Published(base_url + name, entry.size, entry.sha256, entry.md5)
                   for name, entry in entries.items()}
    todo = [a for a in DEAM_ARCHIVES if a["name"] not in record and not (deam_dir / a["provides"]).exists()]
    missing = [(entries[a["name"]].url, deam_dir / a["name"]) for a in todo if not (deam_dir / a["name"]).exists()]
    if missing:
        check_reachable(missing[0][0], missing, alternative=f"or unpack the archives into {deam_dir} yourself")
    for archive in todo:
        entry, path = entries[archive["name"]], deam_dir / archive["name"]
        url = entry.url
        download(url, path, size=entry.size, sha256=entry.sha256, md5=entry.md5, progress=progress)
        _test_zip(path, url)
        record[archive["name"]] = {
            "url": url,
            "bytes": path.stat().st_size,
            "sha256": file_digest(path, "sha256"),
            "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        _unpack(path, deam_dir)
        write_json_atomic(record_path, record)
        path.unlink()
    check_deam_tree(deam_dir)
    return deam_dir


def _test_zip(path: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        bad = bad and f"member {bad} fails its CRC check"
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        bad = f"not a readable zip: {exc}"
    if bad:
        path.unlink()
        raise MerError(f"{path} is corrupt ({bad}); it was deleted. Run again to re-download it from {url}.")


def _unpack(path: Path, deam_dir: Path) -> None:
    """Unpack into a temporary folder inside ``deam_dir``, then move each top-level entry into place."""
    tmp = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX, dir=deam_dir))
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)
        for entry in sorted(tmp.iterdir()):
            target = deam_dir / entry.name
            if entry.name == "__MACOSX" or target.exists():
                continue  # never overwrite what is already there
            os.replace(entry, target)
    except OSError as exc:
        raise MerError(
            f"unpacking {path} into {deam_dir} failed ({exc}); nothing was moved into place. "
            "Free disk space or fix the folder's permissions, then run again."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_deam_tree(deam_dir) -> dict:
    """Check ``deam_dir`` has ``MEMD_audio`` with mp3 files and both static annotation files."""
    from .deam import STATIC_FILES, find_file

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


# --------------------------------------------------------------------------- PANNs


def fetch_panns_weights(dest=DEFAULT_WEIGHTS, *, record_url=ZENODO_RECORD_API, mirror: Published | None = None,
                        progress=True) -> Path:
    """Download ``Cnn14_mAP=0.431.pth`` (Zenodo record 3987831) to ``dest``.

    The size and md5 come from Zenodo's records API; if it cannot be read while
    the host answers, the direct URL and the known size/md5 constants are used.
    ``mirror`` (a manifest's ``panns`` entry) replaces all that: that address, that size and checksums.
    """
    dest = Path(dest).expanduser()
    if mirror is not None:
        return download(mirror.url, dest, size=mirror.size, sha256=mirror.sha256, md5=mirror.md5, progress=progress)
    if dest.exists() and not _problems(dest, PANNS_FALLBACK_SIZE, None, PANNS_FALLBACK_MD5):
        return dest
    check_reachable(record_url, [(PANNS_FALLBACK_URL, dest)])
    url, size, md5 = PANNS_FALLBACK_URL, PANNS_FALLBACK_SIZE, PANNS_FALLBACK_MD5
    try:
        with _open(record_url, {"Accept": "application/json"}, CONNECT_TIMEOUT) as response:
            files = json.load(response)["files"]
        files = files.get("entries", {}).values() if isinstance(files, dict) else files
        entry = next(f for f in files if f["key"] == PANNS_FILE)
        algorithm, _, md5 = entry["checksum"].partition(":")
        if algorithm != "md5":
            raise ValueError(f"unexpected checksum {entry['checksum']}")
        url, size = entry["links"]["self"], int(entry["size"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        print(f"could not read {PANNS_FILE} from {record_url} ({exc!r}); using {PANNS_FALLBACK_URL}")
        url, size, md5 = PANNS_FALLBACK_URL, PANNS_FALLBACK_SIZE, PANNS_FALLBACK_MD5
    return download(url, dest, size=size, md5=md5, progress=progress)


def fetch_musicnn_weights(dest=DEFAULT_MUSICNN_WEIGHTS, *, url=MSD_MUSICNN_URL, sha256=MSD_MUSICNN_SHA256,
                          size=None, md5=None, progress=True) -> Path:
    """Download musicnn's MSD weights (``MSD_musicnn.h5``, ISC licence, 3 MB) to ``dest``, checking the sha256."""
    return download(url, Path(dest).expanduser(), size=size, sha256=sha256, md5=md5, progress=progress)


# --------------------------------------------------------------------------- command line


MANIFEST_HELP = "a downloads manifest (JSON, DOWNLOADS=<file>): other addresses, sizes and checksums"


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


def main_weights(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mer_utils weights", description=f"Download {PANNS_FILE} and MSD_musicnn.h5.")
    parser.add_argument(
        "--dest", default=str(DEFAULT_WEIGHTS), help=f"where to put the checkpoint (default {DEFAULT_WEIGHTS})"
    )
    parser.add_argument(
        "--record-url", default=ZENODO_RECORD_API, help=f"Zenodo records API URL (default {ZENODO_RECORD_API})"
    )
    parser.add_argument("--musicnn-dest", default=str(DEFAULT_MUSICNN_WEIGHTS),
                        help=f"where to put musicnn's MSD_musicnn.h5 (default {DEFAULT_MUSICNN_WEIGHTS})")
    parser.add_argument("--musicnn-url", help=f"its address (default {MSD_MUSICNN_URL}, or the manifest's)")
    parser.add_argument("--manifest", help=MANIFEST_HELP)
    args = parser.parse_args(argv)
    manifest = read_manifest(args.manifest)
    musicnn = manifest.get("musicnn", PUBLISHED["musicnn"])
    problems = []  # one failure does not stop the other download; both are reported
    try:
        path = fetch_panns_weights(args.dest, record_url=args.record_url, mirror=manifest.get("panns"))
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
