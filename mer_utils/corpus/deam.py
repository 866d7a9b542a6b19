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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import MerError

log = logging.getLogger(__name__)

STATIC_FILES = {
    "1_2000": "static_annotations_averaged_songs_1_2000.csv",
    "2000_2058": "static_annotations_averaged_songs_2000_2058.csv",
}
SUBSETS = ("1_2000", "2000_2058", "all")
DYNAMIC_FILES = {"valence": "valence.csv", "arousal": "arousal.csv"}
LABEL_COLUMNS = ["valence_mean", "valence_std", "arousal_mean", "arousal_std"]
TARGETS = ["valence_mean", "arousal_mean"]
TARGET_NAMES = {"valence_mean": "valence", "arousal_mean": "arousal"}
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg")
DATA_CHOICES = ("synth", "deam")
SYNTH_META_FILE = "synthdeam.json"
SYNTH_CUES_FILE = "synthdeam_cues.csv"
HOW_TO_GET_DEAM = (
    "run 'make data-deam DEAM_DIR=<dir>' on a machine with internet access, or download "
    "DEAM_audio.zip and DEAM_Annotations.zip from https://cvml.unige.ch/databases/DEAM/ "
    "and unpack both into <dir>"
)


@dataclass
class Corpus:
    """A corpus ready for the pipeline.

    ``songs`` is indexed by ``song_id`` with the static labels (1..9 scale) and
    ``audio_path``; it holds only songs that have both labels and an audio file.
    ``missing_audio`` lists annotated songs without an audio file and
    ``unlabelled_audio`` audio files without labels: both are reported, never
    dropped silently.  ``synthetic`` holds the generator's record (cue weights,
    expected ceiling) for SynthDEAM and is ``None`` for real DEAM; ``expected``
    holds each SynthDEAM song's noise-free expected label (for :meth:`ceiling`).
    """

    name: str
    root: Path
    subset: str
    songs: pd.DataFrame
    missing_audio: list[int] = field(default_factory=list)
    unlabelled_audio: list[int] = field(default_factory=list)
    synthetic: dict | None = None
    expected: pd.DataFrame | None = None

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    @property
    def song_ids(self) -> list[int]:
        return [int(i) for i in self.songs.index]

    def noise_ceiling(self, target: str) -> float | None:
        """The expected ceiling over the whole corpus (SynthDEAM only), else ``None``; see :meth:`ceiling`."""
        if not self.synthetic:
            return None
        return float(self.synthetic["noise_ceiling_r2"][target])

    def ceiling(self, target: str, song_ids) -> float | None:
        """R² of the generating function on ``song_ids`` (SynthDEAM only), else ``None``.

        The score of a model that reads every cue off the audio exactly, on
        these songs: the ceiling to set beside a figure computed on them.  It
        is an expected upper bound, not a hard one.
        """
        if self.expected is None:
            return None
        from .synth import ceiling_r2

        return ceiling_r2(self.songs, self.expected, [int(i) for i in song_ids])[target]

    def describe(self) -> str:
        kind = "SynthDEAM (synthetic)" if self.is_synthetic else "DEAM"
        return (
            f"{kind} at {self.root}, subset {self.subset}: {len(self.songs)} songs with labels and audio; "
            f"{len(self.missing_audio)} annotated songs without audio; "
            f"{len(self.unlabelled_audio)} audio files without labels"
        )


# --------------------------------------------------------------------------- files


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def _visible_files(root: Path):
    """Files under ``root``, skipping hidden folders (a half-finished unpack lives in one)."""
    for path in root.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def find_file(root: Path, filename: str, what: str) -> Path:
    """Find ``filename`` anywhere under ``root`` (spaces and underscores alike).

    Raises :class:`MerError` naming the file and the folder searched.
    """
    wanted = _normalise_name(filename)
    hits = sorted(
        (p for p in _visible_files(root) if _normalise_name(p.name) == wanted),
        key=lambda p: (len(p.parts), str(p)),
    )
    if not hits:
        raise MerError(
            f"{what} not found: no file named '{filename}' under {root}. "
            f"Unpack the DEAM annotations there ({HOW_TO_GET_DEAM})."
        )
    return hits[0]


def check_root(root) -> Path:
    if root is None or str(root).strip() == "":
        raise MerError(f"DEAM_DIR is not set: pass DEAM_DIR=<dir> with DATA=deam; to get DEAM, {HOW_TO_GET_DEAM}.")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MerError(
            f"DEAM_DIR '{root}' is not a folder: point DEAM_DIR at the folder that holds MEMD_audio/ and annotations/ ({HOW_TO_GET_DEAM})."
        )
    return root


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


def load_dynamic_annotations(root, dimension: str) -> pd.DataFrame:
    """The 2 Hz dynamic annotations of one dimension, values in [-1, 1].

    Returns a wide frame indexed by ``song_id`` whose columns are times in
    seconds (15.0, 15.5, ...); cells after a song's end are NaN.
    """
    root = check_root(root)
    if dimension not in DYNAMIC_FILES:
        raise MerError(f"unknown dimension '{dimension}': use 'valence' or 'arousal'.")
    path = find_file(root, DYNAMIC_FILES[dimension], f"dynamic {dimension} annotation file")
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


def find_audio(root) -> dict[int, Path]:
    """Map ``song_id`` to its audio file for every ``<digits>.mp3`` (or wav/flac/ogg) under ``root``."""
    root = check_root(root)
    found: dict[int, Path] = {}
    for path in sorted(_visible_files(root)):
        if path.suffix.lower() in AUDIO_SUFFIXES and path.stem.isdigit():
            found.setdefault(int(path.stem), path)
    return found


def short_name(target: str) -> str:
    """``"valence_mean"`` -> ``"valence"``: the one spelling of a target in tables, figures and output."""
    return TARGET_NAMES.get(target, target)


def id_list(ids, limit: int = 20) -> str:
    """``"2, 3, 5 and 40 more"``: song ids for messages and pages."""
    ids = sorted(int(i) for i in ids)
    text = ", ".join(str(i) for i in ids[:limit])
    return text + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


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
    have = labels.index.isin(list(audio))
    missing = [int(i) for i in labels.index[~have]]
    unlabelled = sorted(set(audio) - set(int(i) for i in labels.index))
    if subset != "all":  # audio of the other subset is expected, not unlabelled
        other = {"1_2000": range(2001, 2059), "2000_2058": range(1, 2001)}[subset]
        unlabelled = [i for i in unlabelled if i not in other]
    songs = labels[have].copy()
    songs["audio_path"] = [str(audio[int(i)]) for i in songs.index]
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


def corpus_for(data: str, data_dir, subset: str = "1_2000") -> Corpus:
    """Load the corpus a ``DATA=`` choice names: ``synth`` or ``deam``."""
    if data not in DATA_CHOICES:
        raise MerError(f"unknown DATA value '{data}': use DATA=synth (the default) or DATA=deam DEAM_DIR=<dir>.")
    return load_corpus(data_dir, subset=subset, name="synthdeam" if data == "synth" else "deam")


def dynamic_annotations(root) -> dict | None:
    """Both dynamic annotation tables (``{"valence": ..., "arousal": ...}``), or ``None`` when the tree has none."""
    try:
        return {dim: load_dynamic_annotations(root, dim) for dim in DYNAMIC_FILES}
    except MerError:
        return None
