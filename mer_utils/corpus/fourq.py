"""The 4Q audio emotion dataset (Panda, Malheiro and Paiva, 2018) as a data source.

Used by: ``notebooks/real_music.py`` (through :mod:`mer_utils.realmusic.corpus`) and ``make data-4q``, whose
fetching is :mod:`mer_utils.corpus.fourq_fetch`; tested on ``../shared/4q-sample``.

4Q is the dataset of "Novel audio features for music emotion recognition", IEEE
Transactions on Affective Computing (2018): 900 real clips of about 30 s from the
AllMusic API, 225 in each of Russell's quadrants, with artist, title, AllMusic mood
tags and genres.  Its authors distribute it for research as one zip,
:data:`FOURQ_URL`; :func:`mer_utils.corpus.fourq_fetch.fetch_fourq` (``make data-4q FOURQ_DIR=<dir>``)
fetches it.

The layout, relative to the folder it is unpacked into (``FOURQ_DIR``)::

    .../Q1/ Q2/ Q3/ Q4/<Song>.mp3          the clips, one folder per quadrant
    panda_dataset_taffc_annotations.csv    Song,Quadrant
    panda_dataset_taffc_metadata.csv       Song, Artist, Title, Quadrant, PQuad, moods, genres, ...
    readme.txt                             the authors' readme (not UTF-8; not read here)

Where the CSVs sit relative to the quadrant folders is not documented, so every
file is found by name anywhere under the root (hidden folders skipped, as the DEAM
loader does).  The quadrants: Q1 positive valence and high arousal, Q2 negative and
high, Q3 negative and low, Q4 positive and low.  The labels are categorical (one
quadrant per clip, from its AllMusic mood tags, checked by the authors), not ratings,
so the book poses three classification tasks (:func:`task_labels`): the quadrant
(4 classes), the valence sign (Q1+Q4 against Q2+Q3) and the arousal sign (Q1+Q2
against Q3+Q4).

661 artists share the 900 clips, some with up to 12, so a clip's neighbours in a
random split are often by the same artist and scores come out optimistic.
:func:`grouped_folds` keeps all clips of an artist on one side of every fold.  Three
songs have an empty artist; each gets its own placeholder, so unknown artists are
never merged into one large group.  A few artists appear under two spellings ("Bob
Marley" and "Bob Marley & the Wailers"); :data:`ARTIST_ALIASES` puts them in one group.

The clips are MP3 of 27 to 30 s, and not all at one rate: of the 400 in the shared
sample, 260 are at 32 kHz, 126 at 22.05 kHz and 14 at 44.1 kHz.  Decode them with
:func:`iter_clips`, which resamples, reports a clip that cannot be decoded and goes on.
"""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pandas as pd

from ..errors import AudioReadError, MerError

log = logging.getLogger(__name__)

FOURQ_URL = "http://mir.dei.uc.pt/resources/MER_audio_taffc_dataset.zip"
ANNOTATIONS_FILE = "panda_dataset_taffc_annotations.csv"
METADATA_FILE = "panda_dataset_taffc_metadata.csv"
FOURQ_RECORD = "downloads.json"
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
POSITIVE_VALENCE = ("Q1", "Q4")
HIGH_AROUSAL = ("Q1", "Q2")
# Each task's classes, in the order of the integer codes task_labels(..., encoded=True) gives.
TASKS = {
    "quadrant": QUADRANTS,
    "valence": ("negative", "positive"),
    "arousal": ("low", "high"),
}
AUDIO_SUFFIX = ".mp3"
UNKNOWN_ARTIST = "unknown artist ({song})"
# Spellings of one performer in the metadata CSV (lower case), mapped to one name for
# grouping: the same band leader or singer on both sides of a fold would leak.
ARTIST_ALIASES = {
    "bob marley & the wailers": "bob marley",
    "charlie poole & the north carolina ramblers": "charlie poole",
    "eddie heywood and his orchestra": "eddie heywood",
    "sizzla kalonji": "sizzla",
    "the sir douglas quintet + 2": "the sir douglas quintet",
    "xavier cugat & his orchestra": "xavier cugat",
}
HOW_TO_GET_4Q = (
    "run 'make data-4q FOURQ_DIR=<dir>' on a machine with internet access, or download "
    f"{FOURQ_URL} and unpack it into <dir>"
)
SONG_COLUMNS = ["quadrant", "artist", "title", "moods", "genres", "audio_path", "valence_positive",
                "arousal_high", "artist_group", "moods_matched", "pquad"]


@dataclass
class FourQ:
    """The 4Q clips found under ``root``, ready for the pipeline.

    ``songs`` is indexed by ``song_id`` (the CSVs' ``Song`` value, e.g.
    ``"MT0000004637"``) and holds only listed songs that have a clip, with the columns
    of :data:`SONG_COLUMNS`.  ``catalogue`` holds all listed songs (the 900 of the full
    dataset) with the same columns; ``audio_path`` is empty for those without a clip.
    An empty artist becomes ``"unknown artist (<song_id>)"``, unique per song, so
    grouping by artist never merges the unknown artists into one group;
    ``artist_group`` is the grouping key (lower case, :data:`ARTIST_ALIASES` merged).
    ``missing_audio`` lists the songs of the CSVs without a clip (sorted), and
    ``skipped`` maps a song id or file path to the reason it was left out (an empty
    or duplicate file, a clip the CSVs do not list; decode failures are added by
    :func:`iter_clips`).  Both are logged with their count and ids, never dropped silently.
    """

    root: Path
    songs: pd.DataFrame
    catalogue: pd.DataFrame
    missing_audio: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def song_ids(self) -> list[str]:
        return [str(i) for i in self.songs.index]

    def counts(self) -> dict[str, int]:
        """Clips with audio per quadrant."""
        counts = self.songs["quadrant"].value_counts()
        return {q: int(counts.get(q, 0)) for q in QUADRANTS}

    def describe(self) -> str:
        per = ", ".join(f"{q} {n}" for q, n in self.counts().items())
        return (
            f"4Q at {self.root}: {len(self.songs)} clips with audio ({per}) by "
            f"{self.songs['artist_group'].nunique()} artists; {len(self.missing_audio)} listed songs without audio; "
            f"{len(self.skipped)} skipped"
        )


class Fold(NamedTuple):
    """One fold of :func:`grouped_folds`: positional row indices into ``songs``."""

    repeat: int
    fold: int
    train: np.ndarray
    test: np.ndarray


# --------------------------------------------------------------------------- files


def ids_text(ids, limit: int = 20) -> str:
    """``"MT01, MT02 and 40 more"``: song ids for messages (4Q ids are strings)."""
    ids = sorted(str(i) for i in ids)
    text = ", ".join(ids[:limit])
    return text + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_fourq_dir(root) -> Path:
    """``root`` as a folder, or :class:`MerError` saying how to point ``FOURQ_DIR`` at 4Q."""
    from .base import check_folder

    return check_folder(root, "FOURQ_DIR", "MER_audio_taffc_dataset.zip was unpacked into", HOW_TO_GET_4Q)


def _scan(root: Path) -> tuple[dict[str, list[Path]], list[Path], dict[str, list[Path]]]:
    """One walk of ``root`` (hidden folders skipped: a half-finished unpack lives in one).

    Returns the CSV hits by file name, the MP3 files, and the quadrant folders found
    (``Q1``.. by upper-cased name), each sorted shallowest first.
    """
    csvs: dict[str, list[Path]] = {ANNOTATIONS_FILE: [], METADATA_FILE: []}
    mp3s: list[Path] = []
    folders: dict[str, list[Path]] = {q: [] for q in QUADRANTS}
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(here)
        if here != root and here.name.upper() in folders:
            folders[here.name.upper()].append(here)
        for name in names:
            if name.startswith("."):
                continue
            if name.lower() in csvs:
                csvs[name.lower()].append(here / name)
            elif name.lower().endswith(AUDIO_SUFFIX):
                mp3s.append(here / name)
    depth = lambda p: (len(p.parts), str(p))  # noqa: E731
    return ({k: sorted(v, key=depth) for k, v in csvs.items()}, sorted(mp3s, key=depth),
            {k: sorted(v, key=depth) for k, v in folders.items()})


def read_fourq_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """Read one 4Q CSV as text (no value turns into NaN), cells and header stripped.

    UTF-8 is tried first; a file that is not UTF-8 (the authors' readme is not, and a
    CSV re-saved by a spreadsheet may not be) is read as Windows-1252 with a warning
    rather than refused.  Raises :class:`MerError` naming the file for an unreadable
    file or missing columns.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("cp1252", errors="replace")
        log.warning("%s is not UTF-8 (byte 0x%02x at offset %d): read as Windows-1252", path, data[exc.start], exc.start)
    try:
        # keep_default_na=False: an empty artist stays "" and a band called "NA" stays "NA".
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise MerError(f"cannot read 4Q file {path}: {str(exc).strip().splitlines()[0]}. Replace it with the file "
                       f"from MER_audio_taffc_dataset.zip ({FOURQ_URL}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MerError(f"4Q file {path} lacks column(s) {missing} (it has {list(frame.columns)}). Replace it with the "
                       f"file from MER_audio_taffc_dataset.zip ({FOURQ_URL}).")
    frame = frame.apply(lambda column: column.str.strip())
    empty = [i + 2 for i in np.flatnonzero(frame["Song"].eq("").to_numpy())]  # +2: header and 1-based lines
    if empty:
        raise MerError(f"4Q file {path} has rows with no Song id (line(s) {ids_text(empty)}). Fix or remove them.")
    dup = frame["Song"][frame["Song"].duplicated()].unique()
    if len(dup):
        raise MerError(f"4Q file {path} lists song(s) {ids_text(dup)} more than once. Replace it with the file from "
                       f"MER_audio_taffc_dataset.zip ({FOURQ_URL}).")
    quadrant = frame["Quadrant"].str.upper()
    bad = ~quadrant.isin(QUADRANTS)
    if bad.any():
        shown = ", ".join(f"{s} '{q}'" for s, q in zip(frame["Song"][bad][:10], frame["Quadrant"][bad][:10]))
        more = f" and {int(bad.sum()) - 10} more" if bad.sum() > 10 else ""
        raise MerError(f"4Q file {path} has a Quadrant outside Q1..Q4 for song(s) {shown}{more}. Fix those rows "
                       "or replace the file with the one from the zip.")
    frame["Quadrant"] = quadrant
    return frame.set_index("Song")


def _split_tags(text: str) -> str:
    """``"Circular; Greasy"``: one separator, no empty tags."""
    return "; ".join(t.strip() for t in str(text).split(";") if t.strip())


def _catalogue(annotations: pd.DataFrame, metadata: pd.DataFrame, paths: dict[str, Path]) -> pd.DataFrame:
    """All listed songs with the labels of the annotations CSV and the metadata CSV's details."""
    only_a = sorted(set(annotations.index) - set(metadata.index))
    only_m = sorted(set(metadata.index) - set(annotations.index))
    if only_a or only_m:
        where = "; ".join(part for part in (
            only_a and f"{len(only_a)} only in {ANNOTATIONS_FILE} ({ids_text(only_a, 5)})",
            only_m and f"{len(only_m)} only in {METADATA_FILE} ({ids_text(only_m, 5)})") if part)
        raise MerError(f"the 4Q CSVs {paths[ANNOTATIONS_FILE]} and {paths[METADATA_FILE]} list different songs: {where}. "
                       f"Replace both with the files from MER_audio_taffc_dataset.zip ({FOURQ_URL}).")
    metadata = metadata.loc[annotations.index]
    differ = annotations["Quadrant"] != metadata["Quadrant"]
    if differ.any():
        shown = ", ".join(f"{s} ({a} in {ANNOTATIONS_FILE}, {m} in {METADATA_FILE})" for s, a, m in
                          zip(annotations.index[differ][:5], annotations["Quadrant"][differ][:5], metadata["Quadrant"][differ][:5]))
        raise MerError(f"the 4Q CSVs disagree on the quadrant of {int(differ.sum())} song(s): {shown}. "
                       f"Replace both with the files from MER_audio_taffc_dataset.zip ({FOURQ_URL}).")
    get = lambda column: metadata[column] if column in metadata.columns else pd.Series("", index=metadata.index)  # noqa: E731
    artist = metadata["Artist"].copy()
    unknown = artist.eq("")
    artist[unknown] = [UNKNOWN_ARTIST.format(song=s) for s in artist.index[unknown]]
    group = artist.str.casefold().map(lambda a: ARTIST_ALIASES.get(a, a))
    moods = get("MoodsStrSplit") if "MoodsStrSplit" in metadata.columns else get("MoodsStr")
    quadrant = annotations["Quadrant"]
    frame = pd.DataFrame({
        "quadrant": quadrant,
        "artist": artist,
        "title": get("Title"),
        "moods": moods.map(_split_tags),
        "genres": get("GenresStr").map(_split_tags),
        "audio_path": "",
        "valence_positive": quadrant.isin(POSITIVE_VALENCE),
        "arousal_high": quadrant.isin(HIGH_AROUSAL),
        "artist_group": group,
        "moods_matched": get("MoodsFoundStr").map(_split_tags),
        "pquad": pd.to_numeric(get("PQuad"), errors="coerce"),
    }, index=annotations.index)
    frame.index.name = "song_id"
    return frame.sort_index()


def find_fourq_files(root) -> dict[str, Path]:
    """The two CSVs under ``root`` (shallowest hit of each name), or :class:`MerError` naming what is missing."""
    root = check_fourq_dir(root)
    csvs, _, folders = _scan(root)
    return _csv_paths(root, csvs, folders)


def _csv_paths(root: Path, csvs, folders) -> dict[str, Path]:
    if not any(csvs.values()) and not any(folders.values()):  # stray MP3s alone (a DEAM tree) do not count
        raise MerError(f"FOURQ_DIR '{root}' holds none of the 4Q files ({ANNOTATIONS_FILE}, {METADATA_FILE}, "
                       f"Q1..Q4/<Song>.mp3): is it the folder the zip was unpacked into? To get 4Q, {HOW_TO_GET_4Q}.")
    for name, hits in csvs.items():
        if not hits:
            raise MerError(f"4Q file not found: no file named '{name}' under {root}. It comes in "
                           f"MER_audio_taffc_dataset.zip: {HOW_TO_GET_4Q}.")
        if len(hits) > 1:
            log.warning("%d files named %s under %s: using %s", len(hits), name, root, hits[0])
    return {name: hits[0] for name, hits in csvs.items()}


def load_fourq(root) -> FourQ:
    """Load the 4Q labels, metadata and clip paths under ``root``; report what is missing.

    Listed songs without a clip go to ``missing_audio`` and clips that cannot be
    used to ``skipped``, both logged with count and ids: the loader goes on with what
    is there, as with the 400-clip sample.  Problems that would make the labels or the
    grouping wrong raise :class:`MerError` naming the file and value: a missing CSV, a
    quadrant outside Q1..Q4, CSVs that disagree, a clip in a quadrant folder other than
    its CSV quadrant, or a quadrant folder without clips (a partial unpack would
    otherwise silently turn the 4-class task into a 3-class one).
    """
    root = check_fourq_dir(root)
    csvs, mp3s, folders = _scan(root)
    paths = _csv_paths(root, csvs, folders)
    annotations = read_fourq_csv(paths[ANNOTATIONS_FILE], ["Song", "Quadrant"])
    metadata = read_fourq_csv(paths[METADATA_FILE], ["Song", "Artist", "Title", "Quadrant"])
    catalogue = _catalogue(annotations, metadata, paths)

    skipped: dict[str, str] = {}
    found: dict[str, Path] = {}
    wrong: list[str] = []
    for path in mp3s:
        song, folder = path.stem.strip(), path.parent.name.upper()
        if folder not in QUADRANTS:
            if song in catalogue.index:
                skipped[str(path)] = f"not in a Q1..Q4 folder ({path.parent}); move it into {catalogue.at[song, 'quadrant']}/"
            continue
        if song not in catalogue.index:
            skipped[str(path)] = f"not listed in {ANNOTATIONS_FILE}"
        elif catalogue.at[song, "quadrant"] != folder:
            wrong.append(f"{path} is in folder {folder} but {ANNOTATIONS_FILE} says {catalogue.at[song, 'quadrant']}")
        elif song in found:
            skipped[str(path)] = f"duplicate of {found[song]}"
        elif path.stat().st_size == 0:
            skipped[song] = f"{path} is empty (0 bytes); re-download 4Q or remove it"
        else:
            found[song] = path
    if wrong:
        more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
        raise MerError(f"4Q clip(s) in the wrong quadrant folder: {'; '.join(wrong[:3])}{more}. Move them, or replace "
                       "the tree with a fresh unpack of MER_audio_taffc_dataset.zip.")
    if not found:
        raise MerError(f"no 4Q clips under {root}: expected Q1..Q4/<Song>.mp3 files beside {paths[ANNOTATIONS_FILE].name} "
                       f"({HOW_TO_GET_4Q}).")
    have = set(found)
    empty = [q for q in QUADRANTS if not any(catalogue.at[s, "quadrant"] == q for s in have)]
    if empty:
        detail = ", ".join(f"{q} ({'folder ' + str(folders[q][0]) + ' has no usable clips' if folders[q] else 'no folder'})"
                           for q in empty)
        raise MerError(f"4Q quadrant folder(s) without clips under {root}: {detail}. The unpack looks incomplete: "
                       f"run 'make data-4q FOURQ_DIR={root}' again after removing the tree, or unpack the zip again.")

    catalogue["audio_path"] = [str(found[s]) if s in found else "" for s in catalogue.index]
    songs = catalogue[catalogue.index.isin(list(have))].copy()
    missing = [str(s) for s in catalogue.index if s not in have and s not in skipped]
    fourq = FourQ(root=root, songs=songs, catalogue=catalogue, missing_audio=missing, skipped=skipped, files=paths)
    log.info(fourq.describe())
    if missing:
        log.warning("%d 4Q songs listed in %s have no clip and are left out: %s", len(missing), ANNOTATIONS_FILE, ids_text(missing))
    if skipped:
        log.warning("%d 4Q files skipped: %s", len(skipped), "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:10]))
    return fourq


# --------------------------------------------------------------------------- audio


def iter_clips(fourq: FourQ, sr: int, *, offset: float = 0.0, duration: float | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(song_id, mono float32 audio at sr)`` for each clip, skipping clips that cannot be decoded.

    A corrupt MP3 only shows itself when decoded, so this is where it is found: the
    clip is added to ``fourq.skipped`` with the reason, logged, and the rest go on.
    One clip is held at a time (900 clips at 22,050 Hz are about 2.4 GB as float32).
    """
    from .audio import load_audio

    failed = []
    for song, path in fourq.songs["audio_path"].items():
        try:
            audio = load_audio(path, sr, offset=offset, duration=duration)
        except AudioReadError as exc:
            fourq.skipped[str(song)] = f"cannot decode: {exc}"
            failed.append(str(song))
            log.warning("4Q clip %s skipped: %s", song, exc)
            continue
        yield str(song), audio
    if failed:
        log.warning("%d 4Q clips could not be decoded and were skipped: %s", len(failed), ids_text(failed))


def load_clips(fourq: FourQ, sr: int, *, offset: float = 0.0, duration: float | None = None) -> dict[str, np.ndarray]:
    """All decodable clips as ``{song_id: audio}`` (see :func:`iter_clips` for the skips)."""
    return dict(iter_clips(fourq, sr, offset=offset, duration=duration))


# --------------------------------------------------------------------------- tasks and folds


def task_labels(songs: pd.DataFrame, task: str, encoded: bool = False) -> pd.Series:
    """The label of every song for ``task``, indexed like ``songs``.

    ``"quadrant"`` gives Q1..Q4, ``"valence"`` positive (Q1, Q4) or negative (Q2, Q3),
    ``"arousal"`` high (Q1, Q2) or low (Q3, Q4).  With ``encoded=True`` the labels are
    integer codes in the order of ``TASKS[task]`` (for models that want class indices).
    """
    if task not in TASKS:
        raise MerError(f"unknown 4Q task '{task}': use one of {', '.join(TASKS)}.")
    quadrant = songs["quadrant"]
    bad = ~quadrant.isin(QUADRANTS)
    if bad.any():
        raise MerError(f"songs {ids_text(songs.index[bad])} have quadrants outside Q1..Q4 "
                       f"({sorted(set(quadrant[bad].astype(str)))}); load them with load_fourq.")
    if task == "quadrant":
        labels = quadrant.astype(str)
    elif task == "valence":
        labels = quadrant.isin(POSITIVE_VALENCE).map({True: "positive", False: "negative"})
    else:
        labels = quadrant.isin(HIGH_AROUSAL).map({True: "high", False: "low"})
    labels = labels.rename(task)
    if encoded:
        return labels.map({c: i for i, c in enumerate(TASKS[task])}).astype(int)
    return labels


def grouped_folds(songs: pd.DataFrame, task: str = "quadrant", n_splits: int = 10, n_repeats: int = 20,
                  seed: int = 42, group_column: str = "artist_group") -> list[Fold]:
    """Repeated, artist-grouped, stratified k-fold splits of ``songs``.

    Each repeat runs scikit-learn's ``StratifiedGroupKFold`` with shuffling and its own
    random state (drawn from ``seed``), so all clips of an artist sit on one side of
    every fold while each fold keeps the task's class proportions as far as the
    groups allow.  Panda et al. used 20 repeats of 10-fold cross-validation without
    grouping by artist; the defaults keep their counts.  Returns ``n_splits *
    n_repeats`` :class:`Fold` s of positional row indices; pass
    ``[(f.train, f.test) for f in folds]`` as ``cv=`` to scikit-learn.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if group_column not in songs.columns:
        raise MerError(f"songs have no '{group_column}' column to group by: load them with load_fourq.")
    if n_splits < 2 or n_repeats < 1:
        raise MerError(f"grouped_folds needs n_splits >= 2 and n_repeats >= 1, got n_splits={n_splits}, n_repeats={n_repeats}.")
    labels = task_labels(songs, task).to_numpy()
    groups = songs[group_column].astype(str).to_numpy()
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise MerError(f"{len(songs)} songs by {n_groups} artists cannot fill {n_splits} artist-grouped folds: "
                       f"use n_splits <= {n_groups}.")
    states = np.random.SeedSequence(seed).generate_state(n_repeats)
    folds = []
    for repeat, state in enumerate(states):
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=int(state))
        for fold, (train, test) in enumerate(splitter.split(np.zeros(len(songs)), labels, groups)):
            if len(test) == 0:
                raise MerError(f"artist-grouped fold {fold} of repeat {repeat} is empty: use fewer than {n_splits} folds.")
            folds.append(Fold(repeat, fold, train, test))
    return folds
