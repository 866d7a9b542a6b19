"""Atomic writes, and the one per-song cache behind features, log-mel chunks and embeddings.

Used by: every notebook that writes to disk, through :mod:`mer_utils.phase1.features`,
:mod:`mer_utils.phase2.logmel`, :mod:`mer_utils.phase3.embeddings` and the result records.

A file is written under a temporary name in the same folder and renamed into
place only when complete, so an interrupted run never leaves a half-written
file under the final name.

:class:`SongCache` is the one mechanism for per-song results: a folder keyed by
the settings (written atomically to ``settings.json``), one ``.npy`` per song
named by its id and audio fingerprint, and a ``.skip.json`` record (kind and
reason) for a song that could not be computed.  A run that is interrupted
resumes with the songs that have neither file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

SKIP_COLUMNS = ["song_id", "kind", "reason"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    The temporary name keeps the final suffix, so writers that add an extension
    (``np.save``) or pick a format from it keep working.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_text(obj) -> str:
    """``obj`` as the indented, key-sorted JSON text every JSON file of the book is written in."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json_text(obj))


def write_csv_atomic(path, frame: pd.DataFrame, index: bool = False) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


def save_npy_atomic(path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)


def settings_key(**settings) -> str:
    """A short, stable hash of keyword settings, used to name cache folders."""
    text = json.dumps(settings, sort_keys=True, default=_json_default)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (Path,)):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class SongCache:
    """One file per song in a folder keyed by settings: resumable, with skip records.

    ``folder`` is usually ``<cache_dir>/<what>-<settings_key(...)>``; ``settings``
    are written to ``settings.json`` (atomically, and only when that file does not
    already say the same: a run that finds its cache leaves it untouched) so a
    reader can tell what the folder holds.  A song's files are named ``<song_id>_<audio fingerprint>``, so
    replacing a clip invalidates only its own entry.
    """

    def __init__(self, folder, settings: dict | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if settings is not None:
            path = self.folder / "settings.json"
            text = json_text(settings)
            if not path.is_file() or path.read_text() != text:
                write_text_atomic(path, text)

    def stem(self, song_id: int, audio_path) -> str:
        from .corpus.audio import audio_fingerprint

        return f"{int(song_id)}_{audio_fingerprint(audio_path)}"

    def array_path(self, song_id: int, audio_path) -> Path:
        return self.folder / f"{self.stem(song_id, audio_path)}.npy"

    def skip_path(self, song_id: int, audio_path) -> Path:
        return self.folder / f"{self.stem(song_id, audio_path)}.skip.json"

    def is_done(self, song_id: int, audio_path) -> bool:
        """True when the song has its array or a skip record."""
        return self.array_path(song_id, audio_path).exists() or self.skip_path(song_id, audio_path).exists()

    def todo(self, songs: pd.DataFrame) -> list[tuple[int, str]]:
        """``(song_id, audio_path)`` of the songs of ``songs`` (indexed by id) that are not done yet."""
        return [(int(i), str(p)) for i, p in zip(songs.index, songs["audio_path"]) if not self.is_done(int(i), p)]

    def save(self, song_id: int, audio_path, array: np.ndarray) -> Path:
        path = self.array_path(song_id, audio_path)
        save_npy_atomic(path, array)
        return path

    def skip(self, song_id: int, audio_path, kind: str, reason: str) -> None:
        """Record why a song has no array: ``kind`` is "corrupt" or "too short"."""
        write_json_atomic(
            self.skip_path(song_id, audio_path), {"song_id": int(song_id), "kind": kind, "reason": reason}
        )

    def load(self, song_id: int, audio_path, mmap_mode=None) -> np.ndarray:
        return np.load(self.array_path(song_id, audio_path), mmap_mode=mmap_mode)

    def skipped(self, songs: pd.DataFrame) -> pd.DataFrame:
        """The skip records of ``songs``, one row each (``song_id``, ``kind``, ``reason``)."""
        rows = []
        for song_id, audio_path in zip(songs.index, songs["audio_path"]):
            path = self.skip_path(int(song_id), audio_path)
            if path.exists():
                record = json.loads(path.read_text())
                rows.append({"song_id": int(song_id), "kind": record["kind"], "reason": record["reason"]})
        return pd.DataFrame(rows, columns=SKIP_COLUMNS)
