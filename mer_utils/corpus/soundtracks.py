"""The Soundtracks dataset (Eerola and Vuoskoski 2011): real film-music excerpts with listener ratings.

Used by: every notebook with ``DATA=soundtracks`` (through :func:`load_soundtracks`,
which :data:`mer_utils.corpus.sources.SOURCES` names), ``make data-soundtracks``
(:func:`main_check`) and the data chapter (:func:`mer_utils.corpus.base.human_reference`).

The stimuli of "A comparison of the discrete and dimensional models of emotion in
music", Psychology of Music 39(1), 18-49: excerpts of 10 to 37 s from 46 film
soundtracks, each rated for valence, energy and tension (and five discrete
emotions) on the authors' 1 to 9 scale.  The authors release them for academic
research through a download form at the University of Jyvaskyla; there is no
direct address, so nothing here downloads them.  The files, found by name
anywhere under ``SOUNDTRACKS_DIR``::

    set1/mp3/<NNN>.mp3          Set 1 excerpts, numbered 001..360
    mean_ratings_set1.csv       number, valence, energy, tension, anger, fear, happy, sad, tender, TARGET
    set1_tracklist.csv          Nro, Emotion, Album name, Track, Min:Sec
    mean_ratings_set2.csv       Set 2 (110 excerpts, a second panel): ..., soundtrack, link (a Set 1 number)
    set2_tracklist.csv          the same columns as Set 1's

Traps this loader handles, each tested:

* the rating CSVs start with a UTF-8 byte-order mark and end lines with CR LF;
* rated excerpts may have no audio (the shared sample has 240 of 360): they are
  reported with their count and numbers, and the book goes on;
* a film is spelled several ways ("The Omen " with a trailing space, "The Portait
  of a Lady", "Pride Prejudice" in Set 2): :func:`film_key` is the one grouping key,
  so a film never sits on both sides of a fold;
* a Set 2 ``link`` can be wrong (Set 2 number 17 points at another film's excerpt):
  :func:`panel_links` checks each link against the two tracklists (same film and
  time range) and keeps only the links that agree.

Targets: ``valence_mean`` (valence), ``arousal_mean`` (the dataset's "energy") and,
where a page can take it, ``tension_mean``.  Set 1 is the authors' pilot, rated by a
few listeners per excerpt; Set 2's larger panel re-rated 110 of the excerpts, and
how well its means agree with Set 1's (:func:`mer_utils.corpus.base.human_reference`) is the measured
human reference the book puts beside its models.  No label function is known for
real music, so there is no ceiling.
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MerError
from .base import Corpus, check_folder, id_list, match_audio
from .deam import AUDIO_SUFFIXES, find_file, visible_files

log = logging.getLogger(__name__)

RATINGS_FILE = "mean_ratings_set1.csv"
TRACKLIST_FILE = "set1_tracklist.csv"
SET2_RATINGS_FILE = "mean_ratings_set2.csv"
SET2_TRACKLIST_FILE = "set2_tracklist.csv"
SUBSETS = ("set1",)
# The dataset's rating columns and the book's names for them ("energy" is the dataset's word for arousal).
RATING_COLUMNS = {"valence": "valence_mean", "energy": "arousal_mean", "tension": "tension_mean"}
EMOTIONS = ("anger", "fear", "happy", "sad", "tender")
TARGET_LABELS = {"arousal_mean": "energy"}
SCALE = "1..9 (the authors' scale; Set 1 means span 1.0-7.8)"
# Misspellings of a film in the tracklists (after film_key's normalisation), mapped to one key.
FILM_ALIASES = {"the portait of a lady": "the portrait of a lady", "pride prejudice": "pride and prejudice"}
HOW_TO_GET = (
    "request the stimulus sets from the authors' download form (Eerola and Vuoskoski 2011, University of "
    "Jyvaskyla; search for 'Soundtracks dataset Eerola Vuoskoski'), unpack them into <dir> and run "
    "'make data-soundtracks SOUNDTRACKS_DIR=<dir>' to check the tree"
)


def film_key(name) -> str:
    """The grouping key of a film: lower case, spaces collapsed, known misspellings merged."""
    key = re.sub(r"\s+", " ", str(name).strip().lower())
    return FILM_ALIASES.get(key, key)


def read_table(root: Path, filename: str, what: str, number_column: str) -> pd.DataFrame:
    """One of the dataset's CSVs (byte-order mark and CR LF handled), indexed by its excerpt number."""
    path = find_file(root, filename, what, fix=f"Put the file there ({HOW_TO_GET}).")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={number_column: str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MerError(f"cannot read {what} {path}: {exc}. Replace it with the file from the dataset.") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if number_column not in frame.columns:
        raise MerError(f"{what} {path} has no '{number_column}' column (columns: {list(frame.columns)}). "
                       "Replace it with the file from the dataset.")
    numbers = pd.to_numeric(frame[number_column], errors="coerce")
    if numbers.isna().any():
        rows = [int(i) + 2 for i in np.flatnonzero(numbers.isna())]
        raise MerError(f"{what} {path} has rows without an excerpt number (lines {rows[:10]}). Fix or remove them.")
    frame.index = pd.Index(numbers.astype(int), name="song_id")
    return frame.drop(columns=[number_column])


def set1_ratings(root: Path) -> pd.DataFrame:
    """Set 1's mean ratings, renamed to the book's targets, with the film and the time range of each excerpt."""
    ratings = read_table(root, RATINGS_FILE, "Set 1 ratings file", "number")
    ratings.columns = [c.lower() if c.lower() in (*RATING_COLUMNS, *EMOTIONS) else c for c in ratings.columns]
    missing = [c for c in RATING_COLUMNS if c not in ratings.columns]
    if missing:
        raise MerError(f"Set 1 ratings file under {root} lacks columns {missing}. Replace it with the file from the dataset.")
    values = ratings[list(RATING_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1) | ((values < 1) | (values > 9)).any(axis=1)
    if bad.any():
        raise MerError(f"Set 1 ratings file under {root} has missing or out-of-scale (1..9) ratings for excerpt(s) "
                       f"{id_list(values.index[bad])}. Fix those rows.")
    songs = values.rename(columns=RATING_COLUMNS)
    for emotion in EMOTIONS:
        if emotion in ratings.columns:
            songs[emotion] = pd.to_numeric(ratings[emotion], errors="coerce")
    if "TARGET" in ratings.columns:
        songs["chosen_for"] = ratings["TARGET"].astype(str).str.strip().str.lower()
    tracks = read_table(root, TRACKLIST_FILE, "Set 1 tracklist", "Nro")
    unlisted = sorted(set(songs.index) - set(tracks.index))
    if unlisted:
        raise MerError(f"Set 1 tracklist under {root} does not list excerpt(s) {id_list(unlisted)}, so their films "
                       "are unknown and folds could split a film. Replace the tracklist with the dataset's.")
    songs["film"] = [film_key(tracks.at[i, "Album name"]) for i in songs.index]
    songs["film_title"] = [str(tracks.at[i, "Album name"]).strip() for i in songs.index]
    songs["time_range"] = [str(tracks.at[i, "Min:Sec"]).strip() for i in songs.index]
    return songs.sort_index()


def find_set1_audio(root: Path) -> dict[int, Path]:
    """``<NNN>.mp3`` files of Set 1: under a folder named ``set1`` when the tree has one (Set 2 numbers its own)."""
    files = [p for p in sorted(visible_files(root)) if p.suffix.lower() in AUDIO_SUFFIXES and p.stem.isdigit()]
    folder = [[part.lower().replace(" ", "").replace("_", "") for part in p.relative_to(root).parts[:-1]]
              for p in files]
    in_set1 = [p for p, parts in zip(files, folder) if "set1" in parts]
    chosen = in_set1 or [p for p, parts in zip(files, folder) if "set2" not in parts]
    found: dict[int, Path] = {}
    for path in chosen:
        found.setdefault(int(path.stem), path)
    return found


def panel_links(root: Path, songs: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]] | None:
    """Set 2's ratings of the Set 1 excerpts its ``link`` names, checked; ``None`` when Set 2's files are absent.

    A link agrees when the two tracklists give its Set 2 row and its Set 1 excerpt
    the same film (:func:`film_key`) and time range.  Returns ``(links, disagreeing)``:
    ``links`` has one row per agreeing Set 2 excerpt: ``set2``, ``song_id`` (its Set 1
    number), and each target's means from both panels (``valence_mean_set1``,
    ``valence_mean_set2``, ...; arousal is the dataset's energy);
    ``disagreeing`` describes each link that does not agree.
    """
    try:
        ratings = read_table(root, SET2_RATINGS_FILE, "Set 2 ratings file", "Number")
        tracks = read_table(root, SET2_TRACKLIST_FILE, "Set 2 tracklist", "Nro")
    except MerError:
        return None
    ratings.columns = [c.lower() for c in ratings.columns]
    rows, disagreeing = [], []
    for number, row in ratings.iterrows():
        link = pd.to_numeric(row.get("link"), errors="coerce")
        if not np.isfinite(link) or int(link) not in songs.index or number not in tracks.index:
            disagreeing.append({"set2": int(number), "link": None if not np.isfinite(link) else int(link),
                                "why": "the link or the Set 2 tracklist row is missing"})
            continue
        link = int(link)
        film_2, time_2 = film_key(tracks.at[number, "Album name"]), str(tracks.at[number, "Min:Sec"]).strip()
        film_1, time_1 = songs.at[link, "film"], songs.at[link, "time_range"]
        if (film_2, time_2) != (film_1, time_1):
            disagreeing.append({"set2": int(number), "link": link,
                                "why": f"Set 2 lists {film_2!r} {time_2}, Set 1 excerpt {link} is {film_1!r} {time_1}"})
            continue
        values = {}
        for column, target in RATING_COLUMNS.items():
            values[f"{target}_set1"] = float(songs.at[link, target])
            values[f"{target}_set2"] = float(row[column])
        rows.append({"set2": int(number), "song_id": link, **values})
    return pd.DataFrame(rows), disagreeing


def load_soundtracks(root, subset: str = "set1", name: str = "soundtracks") -> Corpus:
    """Set 1 of Soundtracks: the rated excerpts that have audio, with their films; report what is missing.

    Ratings or tracklist missing: a :class:`MerError` naming the file and where to
    get it.  Rated excerpts without audio are logged (count and numbers) and kept in
    ``missing_audio``; the second panel's checked links go to ``reference``.
    """
    root = check_folder(root, "SOUNDTRACKS_DIR", "the Soundtracks sets were unpacked into", HOW_TO_GET,
                        usage="DATA=soundtracks SOUNDTRACKS_DIR=<dir>")
    if subset not in SUBSETS:
        raise MerError(f"unknown Soundtracks subset '{subset}': the book uses Set 1 ('set1'), whose 360 excerpts "
                       "carry the films; Set 2 serves as the second panel.")
    rated = set1_ratings(root)
    audio = find_set1_audio(root)
    if not audio:
        raise MerError(f"no audio found under {root}: expected set1/mp3/<NNN>.mp3 files ({HOW_TO_GET}).")
    songs, missing, unlabelled = match_audio(rated, audio)
    notes = []
    checked = panel_links(root, rated)  # all rated excerpts: two panels need no audio to be compared
    reference = None
    if checked is None:
        notes.append("Set 2's files are absent, so there is no second panel to compare with.")
    else:
        links, disagreeing = checked
        reference = links
        for bad in disagreeing:
            log.warning("Set 2 excerpt %s links to Set 1 excerpt %s, but %s: that link is left out of the human "
                        "reference", bad["set2"], bad["link"], bad["why"], extra={"on_page": True})
        notes.append(f"Set 2: {len(links)} links to Set 1 agree with both tracklists; "
                     f"{len(disagreeing)} do not ({', '.join(str(b['set2']) for b in disagreeing) or 'none'}) "
                     "and are left out.")
    corpus = Corpus(name=name, root=root, subset=subset, songs=songs, missing_audio=missing,
                    unlabelled_audio=unlabelled, kind="Soundtracks", scale=SCALE, group_column="film",
                    extra_targets=("tension_mean",), target_labels=dict(TARGET_LABELS), reference=reference,
                    notes=notes)
    log.info(corpus.describe())
    if missing:
        log.warning("%d rated excerpts have no audio and are skipped: %s", len(missing), id_list(missing),
                    extra={"on_page": True})  # the data banner gives the count
    if unlabelled:
        log.warning("%d audio files have no Set 1 rating and are skipped: %s", len(unlabelled), id_list(unlabelled))
    return corpus


def main_check(argv=None) -> int:
    """``make data-soundtracks``: say where the dataset comes from and check an unpacked tree."""
    parser = argparse.ArgumentParser(prog="mer check-soundtracks", description=main_check.__doc__)
    parser.add_argument("--soundtracks-dir", default="")
    args = parser.parse_args(argv)
    print("The Soundtracks dataset (Eerola and Vuoskoski 2011) has no direct download address: "
          f"{HOW_TO_GET}.")
    if not args.soundtracks_dir:
        raise MerError("pass SOUNDTRACKS_DIR=<dir>, the folder you unpacked the sets into, to check it.")
    corpus = load_soundtracks(args.soundtracks_dir)
    print(corpus.describe())
    if corpus.missing_audio:
        print(f"{len(corpus.missing_audio)} rated excerpts have no audio (skipped): {id_list(corpus.missing_audio)}")
    for note in corpus.notes:
        print(note)
    print(f"ready: make book DATA=soundtracks SOUNDTRACKS_DIR={args.soundtracks_dir}")
    return 0
