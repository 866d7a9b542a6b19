"""Reading a corpus in the official DEAM layout (the real DEAM or SynthDEAM).

One loader serves both: SynthDEAM (:mod:`mer_utils.synth`) writes its corpus in
exactly the layout of the DEAM download, so everything downstream reads files
the same way.  Used by: every notebook, first by ``notebooks/data_corpus.py``.

The layout, relative to the corpus root (``DEAM_DIR``)::

    MEMD_audio/<song_id>.mp3
    annotations/annotations averaged per song/song_level/
        static_annotations_averaged_songs_1_2000.csv
        static_annotations_averaged_songs_2000_2058.csv
    annotations/annotations averaged per song/dynamic (per second annotations)/
        arousal.csv, valence.csv

People unpack the archives into slightly different trees (underscores for
spaces, one folder level less or more), so files are found by name anywhere
under the root, not by one fixed path.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd

from ..errors import MerError
from .base import TARGETS, Corpus, check_folder, id_list, match_audio

log = logging.getLogger(__name__)

STATIC_FILES = {
    "1_2000": "static_annotations_averaged_songs_1_2000.csv",
    "2000_2058": "static_annotations_averaged_songs_2000_2058.csv",
}
SUBSETS = ("1_2000", "2000_2058", "all")
DYNAMIC_FILES = {"valence": "valence.csv", "arousal": "arousal.csv"}
# The raters' spread per half second, where a tree has it: SynthDEAM writes the first name; the emoMusic release
# of the 2013 songs names it the second way.
DYNAMIC_SPREAD_FILES = {"valence": ("valence_std.csv", "valence_cont_std.csv"),
                        "arousal": ("arousal_std.csv", "arousal_cont_std.csv")}
LABEL_COLUMNS = ["valence_mean", "valence_std", "arousal_mean", "arousal_std"]
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg")
SYNTH_META_FILE = "synthdeam.json"
SYNTH_CUES_FILE = "synthdeam_cues.csv"
HOW_TO_GET_DEAM = (
    "run 'make data-deam DEAM_DIR=<dir>' on a machine with internet access, or download "
    "DEAM_audio.zip and DEAM_Annotations.zip from https://cvml.unige.ch/databases/DEAM/ "
    "and unpack both into <dir>"
)


# --------------------------------------------------------------------------- files


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def visible_files(root: Path):
    """Files under ``root``, skipping hidden folders (a half-finished unpack lives in one)."""
    for path in root.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def find_file(root: Path, filename: str, what: str, fix: str = f"Unpack the DEAM annotations there ({HOW_TO_GET_DEAM}).") -> Path:
    """Find ``filename`` anywhere under ``root`` (spaces and underscores alike).

    Raises :class:`MerError` naming the file, the folder searched and ``fix``.
    """
    wanted = _normalise_name(filename)
    hits = sorted(
        (p for p in visible_files(root) if _normalise_name(p.name) == wanted),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not hits:
        raise MerError(
            f"{what} not found: no file named '{filename}' under {root}. {fix}"
        )
    return hits[0]


def check_root(root) -> Path:
    return check_folder(root, "DEAM_DIR", "that holds MEMD_audio/ and annotations/", HOW_TO_GET_DEAM,
                        usage="DEAM_DIR=<dir> with DATA=deam")


def read_annotation_csv(path: Path) -> pd.DataFrame:
    """Read a DEAM annotation CSV, cleaning the spaces in its header.

    The real files have a space after every comma, and one column name with a
    space inside (``valence_ max_mean``).
    """
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MerError(
            f"cannot read annotation file {path}: {exc}. Replace it with the file from the DEAM archive."
        ) from exc
    frame.columns = [re.sub(r"\s+", "", str(c)) for c in frame.columns]
    if "song_id" not in frame.columns:
        raise MerError(
            f"annotation file {path} has no 'song_id' column (columns: {list(frame.columns)}). Replace it with the file from the DEAM archive."
        )
    frame["song_id"] = pd.to_numeric(frame["song_id"], errors="coerce")
    frame = frame.dropna(subset=["song_id"])
    frame["song_id"] = frame["song_id"].astype(int)
    return frame


def load_static_annotations(root, subset: str = "1_2000") -> pd.DataFrame:
    """Song-level static labels on the 1..9 scale, indexed by ``song_id``.

    ``subset`` is ``"1_2000"`` (the 1,744 songs the report used, default),
    ``"2000_2058"`` (the 58 full-length 2015 songs) or ``"all"``.
    NaN or out-of-range labels raise :class:`MerError` naming the file and songs.
    """
    root = check_root(root)
    if subset not in SUBSETS:
        raise MerError(f"unknown subset '{subset}': use one of {', '.join(SUBSETS)}.")
    keys = ["1_2000", "2000_2058"] if subset == "all" else [subset]
    frames = []
    for key in keys:
        path = find_file(root, STATIC_FILES[key], f"static annotation file ({key})")
        frame = read_annotation_csv(path)
        missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
        if missing:
            raise MerError(
                f"annotation file {path} lacks columns {missing}. Replace it with the file from the DEAM archive."
            )
        frame = frame.set_index("song_id")[LABEL_COLUMNS].apply(pd.to_numeric, errors="coerce")
        bad = frame[TARGETS].isna().any(axis=1)
        if bad.any():
            ids = [int(i) for i in frame.index[bad]]
            raise MerError(
                f"annotation file {path} has missing or non-numeric valence/arousal means for song(s) {id_list(ids)}. "
                "Fix or remove those rows."
            )
        out = (frame[TARGETS] < 1) | (frame[TARGETS] > 9)
        if out.any().any():
            ids = [int(i) for i in frame.index[out.any(axis=1)]]
            raise MerError(
                f"annotation file {path} has means outside the 1..9 scale for song(s) {id_list(ids)}. Fix those rows."
            )
        frame["source_file"] = path.name
        frames.append(frame)
    labels = pd.concat(frames).sort_index()
    labels = labels[~labels.index.duplicated(keep="first")]
    labels.index.name = "song_id"
    return labels


def read_dynamic_table(path: Path) -> pd.DataFrame:
    """A DEAM-format 2 Hz table (``song_id, sample_15000ms, ...``) indexed by ``song_id``, columns in seconds."""
    frame = read_annotation_csv(path).set_index("song_id")
    columns = {}
    for column in frame.columns:
        match = re.fullmatch(r"sample_(\d+)ms", column)
        if match:
            columns[column] = int(match.group(1)) / 1000.0
    if not columns:
        raise MerError(
            f"dynamic annotation file {path} has no 'sample_<ms>ms' columns. Replace it with the file from the DEAM archive."
        )
    frame = frame[list(columns)].rename(columns=columns).apply(pd.to_numeric, errors="coerce")
    frame.columns.name = "time_s"
    return frame.sort_index()


def load_dynamic_annotations(root, dimension: str) -> pd.DataFrame:
    """The 2 Hz dynamic annotations of one dimension, values in [-1, 1].

    Returns a wide frame indexed by ``song_id`` whose columns are times in
    seconds (15.0, 15.5, ...); cells after a song's end are NaN.
    """
    root = check_root(root)
    if dimension not in DYNAMIC_FILES:
        raise MerError(f"unknown dimension '{dimension}': use 'valence' or 'arousal'.")
    return read_dynamic_table(find_file(root, DYNAMIC_FILES[dimension], f"dynamic {dimension} annotation file"))


def load_dynamic_spread(root, dimension: str) -> pd.DataFrame | None:
    """The raters' standard deviation per half second (:data:`DYNAMIC_SPREAD_FILES`), or ``None`` without such a file."""
    root = check_root(root)
    for name in DYNAMIC_SPREAD_FILES[dimension]:
        try:
            path = find_file(root, name, f"dynamic {dimension} spread file")
        except MerError:
            continue
        return read_dynamic_table(path)
    return None


def find_audio(root) -> dict[int, Path]:
    """Map ``song_id`` to its audio file for every ``<digits>.mp3`` (or wav/flac/ogg) under ``root``."""
    root = check_root(root)
    found: dict[int, Path] = {}
    for path in sorted(visible_files(root)):
        if path.suffix.lower() in AUDIO_SUFFIXES and path.stem.isdigit():
            found.setdefault(int(path.stem), path)
    return found


def load_corpus(root, subset: str = "1_2000", name: str | None = None) -> Corpus:
    """Load labels and audio paths of a DEAM-layout corpus; report what is missing.

    Songs with labels but no audio file, and audio files without labels, are
    logged with their count and ids and kept on the returned :class:`Corpus`.
    """
    root = check_root(root)
    labels = load_static_annotations(root, subset)
    audio = find_audio(root)
    if not audio:
        raise MerError(f"no audio found under {root}: expected MEMD_audio/<song_id>.mp3 files ({HOW_TO_GET_DEAM}).")
    songs, missing, unlabelled = match_audio(labels, audio)
    if subset != "all":  # audio of the other subset is expected, not unlabelled
        other = {"1_2000": range(2001, 2059), "2000_2058": range(1, 2001)}[subset]
        unlabelled = [i for i in unlabelled if i not in other]
    if songs.empty:
        raise MerError(
            f"none of the {len(labels)} annotated songs in {root} has an audio file: check that MEMD_audio/ is unpacked there."
        )
    synthetic, expected = None, None
    meta_path = root / SYNTH_META_FILE
    if meta_path.exists():
        synthetic = json.loads(meta_path.read_text())
        cues = pd.read_csv(root / SYNTH_CUES_FILE, index_col="song_id")
        if {"valence_expected", "arousal_expected"} <= set(cues.columns):
            expected = cues[["valence_expected", "arousal_expected"]]
    corpus = Corpus(
        name=name or ("synthdeam" if synthetic else "deam"),
        root=root,
        subset=subset,
        songs=songs,
        missing_audio=missing,
        unlabelled_audio=unlabelled,
        synthetic=synthetic,
        expected=expected,
    )
    log.info(corpus.describe())
    if missing:
        log.warning("%d annotated songs have no audio and are skipped: %s", len(missing), id_list(missing),
                    extra={"on_page": True})  # every page's data banner gives the count
    if unlabelled:
        log.warning("%d audio files have no labels and are skipped: %s", len(unlabelled), id_list(unlabelled))
    return corpus


def dynamic_annotations(root) -> dict | None:
    """Both dynamic annotation tables (``{"valence": ..., "arousal": ...}``), or ``None`` when the tree has none."""
    try:
        return {dim: load_dynamic_annotations(root, dim) for dim in DYNAMIC_FILES}
    except MerError:
        return None
