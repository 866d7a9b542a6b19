"""``mer predict``'s inputs: the audio files named by files, folders (``-r``: their subfolders too) and glob patterns.
Used by: :mod:`mer_utils.predict.cli` (``mer predict``, which re-exports every name here).

Why this module: turning command-line words into a list of files is apart from predicting
and printing, and keeps :mod:`mer_utils.predict.cli` short enough to read.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ..corpus.deam import AUDIO_SUFFIXES as CORPUS_AUDIO_SUFFIXES

AUDIO_SUFFIXES = (*CORPUS_AUDIO_SUFFIXES, ".m4a")  # taken from folders and patterns: the corpus formats and m4a


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def _audio_in(folder: Path, recursive: bool) -> list[Path]:
    """The audio files of ``folder`` (and of its subfolders with ``recursive``), sorted; hidden files skipped."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in candidates
        if p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )


def expand_inputs(items, recursive: bool = False) -> tuple[list[Path], list[str]]:
    """Files to predict from command-line inputs, in order and without repeats, and one message per empty input.

    A folder gives its audio files (:data:`AUDIO_SUFFIXES`; with
    ``recursive``, those of its subfolders too).  A pattern with ``*``, ``?`` or
    ``[`` that names no existing file is expanded here (``**`` spans folders
    with ``recursive``): the audio files it matches, and the audio files of
    the folders it matches.  Anything else is taken as a file, whatever its
    suffix (a missing one is reported when it is decoded).
    """
    files, problems, seen = [], [], set()
    for item in map(str, items):
        path = Path(item)
        if path.is_dir():
            found = _audio_in(path, recursive)
            if not found:
                hint = "" if recursive else "; add -r to look in its subfolders"
                problems.append(f"{item}: no audio file ({' '.join(AUDIO_SUFFIXES)}) in this folder{hint}")
        elif not path.exists() and _is_pattern(item):
            found = []
            for match in sorted(glob.glob(item, recursive=recursive)):
                match = Path(match)
                if match.is_dir():
                    found += _audio_in(match, recursive)
                elif match.suffix.lower() in AUDIO_SUFFIXES:
                    found.append(match)
            if not found:
                problems.append(f"{item}: no audio file ({' '.join(AUDIO_SUFFIXES)}) matches this pattern")
        else:
            found = [path]
        for file in found:
            key = os.path.normpath(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, problems
