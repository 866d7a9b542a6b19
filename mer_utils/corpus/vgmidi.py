"""VGMIDI (Ferreira and Whitehead, ISMIR 2019): piano MIDI of video game music, annotated over time by listeners.

Used by: every notebook with ``DATA=vgmidi`` (through :func:`load_vgmidi`, which
:data:`mer_utils.corpus.sources.SOURCES` names), Phase 4 (the corpus's ``curves``, read by
:func:`mer_utils.phase4.curves.load_curves`), its human reference (:mod:`mer_utils.phase4.reference`, fed by
:func:`read_annotations`) and ``make data-vgmidi`` (:mod:`mer_utils.corpus.vgmidi_fetch`).

The labelled part of github.com/lucasnfe/vgmidi: 200 piano arrangements as MIDI, each annotated by about 30
crowd listeners who moved a point on the valence-arousal circle while they heard the piece, one value per
measure and dimension in [-1, 1].  Found by name anywhere under ``VGMIDI_DIR``::

    labelled/annotations/vgmidi_raw_1.json   round 1: pieces (piece<N> -> name, midi, duration, measures) and
    labelled/annotations/vgmidi_raw_2.json   round 2   annotations (piece<N>_<listener> -> valence, arousal, ...)
    labelled/midi/<series>_<console>_<game>_<piece>.mid

Traps this loader handles, each tested:

* piece ids restart in each round (``piece3`` of round 1 is not ``piece3`` of round 2): a piece's ``song_id``
  is ``round * 1000 + N`` (1003 and 2003), and its ``piece`` column spells it ``r1-piece3``;
* values come one per "measure", and the annotation tool filled measure ``k`` while it played the ``k``-th of
  ``measures`` equal slots of the piece's ``duration`` (its index was ``floor(t / duration * measures)``), so
  each trace is placed in time by those slots (:func:`mer_utils.corpus.vgmidi_render.slot_spans`, the default
  :data:`DEFAULT_MAPPING`) and resampled to 2 Hz, the value at ``t`` being the trace's mean over the half second
  before ``t`` (:func:`frames_of`).  The MIDI's own tempo map (VGMIDI's measure is four quarter notes,
  :func:`mer_utils.corpus.vgmidi_render.measure_spans`, ``mapping="tempo"``) places measures differently where
  the tempo changes (a median boundary 0.9 s away on the sample, up to 22 s): the data page reports the shift;
* a trace whose length differs from the piece's ``measures`` cannot be placed in time: it is reported (count
  and which) and left out;
* there is no audio: the MIDI is rendered as piano by a SoundFont synthesizer and cached
  (:func:`mer_utils.corpus.vgmidi_render.render_pieces`);
* pieces of one series share composers and style: ``group`` is the series, and the game within "Other", so
  folds and bootstraps keep a group whole.

Targets: ``valence_mean`` and ``arousal_mean``, a piece's mean over time and listeners of the 2 Hz curves, on
the annotation's scale [-1, 1] (:data:`SCALE`); ``*_std`` is the spread of the listeners' own means.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MerError
from .base import TARGETS, Corpus, check_folder, id_list

log = logging.getLogger(__name__)

ROUNDS = {1: "vgmidi_raw_1.json", 2: "vgmidi_raw_2.json"}  # annotation round -> file
REPOSITORY = "github.com/lucasnfe/vgmidi"
COMMIT = "1e62f0af8c866ded8e665cefad06dc02c35cb739"  # 2022-08-17, the tree the book was written on
PUBLISHED_SHA256 = {  # the full, unfiltered annotation files of COMMIT
    1: "d3e87b3501d83526432e77b420631c59095b53ffcc3f14f941fde9332a1b6987",
    2: "0bdce923e83e3a8a07fab75322ed27ce942ad0d544bca342d020f9608939cb1a",
}
VGMIDI_URL = f"https://{REPOSITORY}/archive/{COMMIT}.zip"  # GitHub's zip of that commit, made on request
CITATION = "Ferreira and Whitehead, Learning to Generate Music with Sentiment, ISMIR 2019"
SCALE = "[-1, 1] (VGMIDI's valence-arousal circle; a piece's label is its mean over time and listeners)"
DIMENSIONS = ("valence", "arousal")
STEP_SECONDS = 0.5
ID_BASE = 1000  # song_id = round * ID_BASE + piece number
OTHER = "Other"  # the series of games that are alone in the dataset: grouped by game instead
SUBSETS = ("all", "round1", "round2")
MAPPINGS = ("tempo", "slots")  # measures through the tempo map, or the annotation tool's equal time slots
# The annotation tool (the authors' web player) stored a listener's value at index floor(t / duration * measures) of
# the playback time t: equal slots of the piece's duration, whatever the tempo.  So the default places measure k at
# the k-th slot, where the listener gave it; "tempo" (the MIDI's tempo map, four quarters a measure) is kept to compare.
DEFAULT_MAPPING = "slots"
RENDER_JOBS = 2
PHASE2_CHUNKS = 6  # Phase 2 hears a piece at 6 of its 3-s chunks, spread over it (mer_utils.training.defaults)
HOW_TO_GET = (
    f"run 'make data-vgmidi VGMIDI_DIR=<dir>' (it downloads {REPOSITORY} at commit {COMMIT[:12]} and checks "
    f"the annotation files), or unzip that commit of the repository into <dir> yourself"
)


def song_id(round_: int, piece: str) -> int:
    """``(2, "piece3")`` -> 2003: one integer id per piece across both rounds."""
    match = re.fullmatch(r"piece(\d+)", str(piece))
    if not match or int(match.group(1)) >= ID_BASE:
        raise MerError(f"unexpected piece id '{piece}' in annotation round {round_}: expected piece<N>, N < {ID_BASE}.")
    return int(round_) * ID_BASE + int(match.group(1))


def piece_label(song: int) -> str:
    """2003 -> ``"r2-piece3"``, the dataset's own name for a piece, made unique across rounds."""
    return f"r{int(song) // ID_BASE}-piece{int(song) % ID_BASE}"


def parse_midi_name(name: str) -> dict:
    """``<series>_<console>_<game>_<piece>.mid`` -> series, console, game, title and the grouping key."""
    stem = Path(name).stem
    parts = stem.split("_", 3)
    if len(parts) < 4:  # not the dataset's pattern: a game of its own
        parts = [OTHER, "", stem, stem]
    series, console, game, title = (p.strip() for p in parts)
    return {"series": series, "console": console, "game": game, "title": title, "group": group_of(series, game)}


def group_of(series: str, game: str) -> str:
    """The series; for a game of the "Other" series, ``"Other: <game>"`` (unrelated games share nothing)."""
    return f"{OTHER}: {game}" if series.strip().lower() == OTHER.lower() else series.strip()


# --------------------------------------------------------------------------- files


def find_annotation_files(root: Path, rounds=tuple(ROUNDS)) -> dict[int, Path]:
    """Each round's JSON, found by name anywhere under ``root``; a :class:`MerError` naming a missing one."""
    from .deam import find_file

    return {r: find_file(root, ROUNDS[r], f"VGMIDI annotation round {r}", fix=f"To get it, {HOW_TO_GET}.")
            for r in rounds}


def read_round(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MerError(f"cannot read the VGMIDI annotation file {path} ({exc}); {HOW_TO_GET}.") from exc
    if not isinstance(data, dict) or not {"pieces", "annotations"} <= set(data):
        raise MerError(f"{path} is not a VGMIDI annotation file (no 'pieces' and 'annotations'); {HOW_TO_GET}.")
    return data


def midi_index(root: Path, annotation_file: Path, wanted=()) -> dict[str, Path]:
    """MIDI files by name: ``labelled/midi`` beside the annotations first; anywhere under ``root`` for the names
    of ``wanted`` not found there."""
    from .deam import visible_files

    found = {p.name: p for p in sorted((annotation_file.parent.parent / "midi").glob("*.mid*"))}
    if any(str(name) not in found for name in wanted):
        for path in sorted(p for p in visible_files(root) if p.suffix.lower() in (".mid", ".midi")):
            found.setdefault(path.name, path)
    return found


# --------------------------------------------------------------------------- traces to 2 Hz


def frames_of(values: np.ndarray, spans: np.ndarray, step: float = STEP_SECONDS) -> tuple[np.ndarray, np.ndarray]:
    """Per-measure values (``(listeners, measures)``) as 2 Hz frames: ``(times, (listeners, frames))``.

    The frame at ``t`` (``step``, ``2 step``, ... up to the end of the last measure) holds the mean of the
    piecewise-constant trace over ``(t - step, t]``, weighting each measure by its overlap: a measure shorter
    than a frame still counts for its share.
    """
    end = float(spans[:, 1].max()) if len(spans) else 0.0
    times = np.arange(1, int(np.floor(end / step + 1e-9)) + 1) * step
    lo = np.maximum(spans[None, :, 0], times[:, None] - step)
    hi = np.minimum(spans[None, :, 1], times[:, None])
    overlap = np.clip(hi - lo, 0.0, None)  # (frames, measures) seconds
    return times, np.asarray(values, dtype=float) @ overlap.T / step


@dataclass
class Annotations:
    """VGMIDI's pieces and every kept listener trace at 2 Hz.

    ``pieces``: indexed by ``song_id``; ``piece`` (``r1-piece3``), ``round``, ``name``, ``midi``, ``midi_path``
    (None when missing), ``duration`` (the JSON's seconds), ``midi_seconds``, ``measures``, ``series``,
    ``console``, ``game``, ``group``, ``listeners`` (traces kept).  ``traces``: ``song_id``, ``listener``,
    ``time_s``, ``valence``, ``arousal``.  ``wrong_length``: the traces left out (``song_id``, ``piece``,
    ``listener``, ``valence`` and ``arousal`` lengths, ``measures``).
    """

    pieces: pd.DataFrame
    traces: pd.DataFrame
    wrong_length: pd.DataFrame
    missing_midi: list[int] = field(default_factory=list)
    mapping: str = DEFAULT_MAPPING
    notes: list[str] = field(default_factory=list)


def read_annotations(root, subset: str = "all", mapping: str = DEFAULT_MAPPING,
                     step: float = STEP_SECONDS) -> Annotations:
    """Every piece of ``subset`` and its listeners' traces at 2 Hz (see :class:`Annotations`).

    ``mapping="tempo"``: measure ``k`` spans quarters ``4k .. 4k + 4`` of the MIDI through its tempo map;
    ``"slots"``: the annotation tool's equal slots of the JSON's ``duration`` (compare the two on a page).
    """
    from .vgmidi_render import measure_spans, midi_timing, slot_spans

    root = check_folder(root, "VGMIDI_DIR", "the VGMIDI repository was unzipped into", HOW_TO_GET,
                        usage="DATA=vgmidi VGMIDI_DIR=<dir>")
    if subset not in SUBSETS:
        raise MerError(f"unknown VGMIDI subset '{subset}': use one of {', '.join(SUBSETS)} (all: both rounds).")
    if mapping not in MAPPINGS:
        raise MerError(f"unknown measure mapping '{mapping}': use one of {', '.join(MAPPINGS)}.")
    rounds = [r for r in ROUNDS if subset in ("all", f"round{r}")]
    files = find_annotation_files(root, rounds)
    pieces, traces, wrong, missing = [], [], [], []
    for r in rounds:
        data = read_round(files[r])
        midis = midi_index(root, files[r], [info.get("midi") for info in data["pieces"].values()])
        by_piece: dict[str, list] = {}
        for key, trace in data["annotations"].items():
            piece, _, listener = str(key).rpartition("_")
            by_piece.setdefault(piece, []).append((listener, trace))
        for piece, info in data["pieces"].items():
            sid, measures = song_id(r, piece), int(info["measures"])
            path = midis.get(str(info["midi"]))
            row = {"song_id": sid, "piece": piece_label(sid), "round": r, "name": info.get("name", piece),
                   "midi": info["midi"], "midi_path": str(path) if path else None,
                   "duration": float(info["duration"]), "measures": measures, **parse_midi_name(info["midi"])}
            kept, names = [], []
            for listener, trace in sorted(by_piece.get(piece, []), key=lambda t: (len(t[0]), t[0])):
                lengths = {d: len(trace.get(d) or []) for d in DIMENSIONS}
                if set(lengths.values()) != {measures}:
                    wrong.append({"song_id": sid, "piece": row["piece"], "listener": listener, **lengths,
                                  "measures": measures})
                    continue
                kept.append([trace[d] for d in DIMENSIONS])
                names.append(listener)
            row["listeners"] = len(kept)
            if path is None:
                missing.append(sid)
                row["midi_seconds"] = np.nan
                pieces.append(row)
                continue
            timing = midi_timing(path)
            row["midi_seconds"] = timing.end_seconds
            pieces.append(row)
            if not kept:
                continue
            tempo, slots = measure_spans(timing, measures), slot_spans(row["duration"], measures)
            row["mapping_shift_s"] = float(np.abs(np.asarray(tempo) - np.asarray(slots)).max())
            spans = tempo if mapping == "tempo" else slots
            values = np.asarray(kept, dtype=float)  # (listeners, dimensions, measures)
            times, valence = frames_of(values[:, 0], spans, step)
            _, arousal = frames_of(values[:, 1], spans, step)
            traces.append(pd.DataFrame({"song_id": sid, "listener": np.repeat(names, len(times)),
                                        "time_s": np.tile(times, len(names)), "valence": valence.ravel(),
                                        "arousal": arousal.ravel()}))
    table = pd.DataFrame(pieces).set_index("song_id").sort_index()
    columns = ["song_id", "listener", "time_s", *DIMENSIONS]
    traces = pd.concat(traces, ignore_index=True) if traces else pd.DataFrame(columns=columns)
    wrong = pd.DataFrame(wrong, columns=["song_id", "piece", "listener", *DIMENSIONS, "measures"])
    notes = annotation_notes(table, wrong, missing, mapping)
    return Annotations(pieces=table, traces=traces, wrong_length=wrong, missing_midi=sorted(missing),
                       mapping=mapping, notes=notes)


def wrong_length_text(wrong: pd.DataFrame) -> str:
    """``"1 trace ... (r2-piece43 listener 1: 59 values for 58 measures)"``: the traces left out, for pages."""
    if wrong.empty:
        return "every listener's trace has one value per measure of its piece"
    which = "; ".join(f"{w.piece} listener {w.listener}: {w.valence} valence and {w.arousal} arousal values for "
                      f"{w.measures} measures" for w in wrong.itertuples())
    return (f"{len(wrong)} listener trace{'s' if len(wrong) != 1 else ''} of a length other than the piece's "
            f"measures {'were' if len(wrong) != 1 else 'was'} left out ({which})")


def annotation_notes(pieces: pd.DataFrame, wrong: pd.DataFrame, missing: list, mapping: str) -> list[str]:
    """The findings worth a sentence on the data page."""
    notes = [wrong_length_text(wrong) + "."]
    if missing:
        notes.append(f"{len(missing)} annotated pieces have no MIDI file and are left out: "
                     f"{', '.join(piece_label(i) for i in missing)}.")
    off = pieces[(pieces["midi_seconds"] - pieces["duration"]).abs() > 2]
    if len(off):
        which = ", ".join(f"{p.piece}: {p.midi_seconds:.0f} s against {p.duration:.0f} s" for p in off.itertuples())
        notes.append(f"{len(off)} MIDI files last more than 2 s longer or shorter than the duration the annotation "
                     f"tool played ({which})" + ("; their labels follow the MIDI's tempo map." if mapping == "tempo"
                                                 else "."))
    if "mapping_shift_s" in pieces and pieces["mapping_shift_s"].notna().any():
        shift = pieces["mapping_shift_s"].dropna()
        used, other = (("the annotation tool's equal slots of each piece's duration, where the listeners gave them",
                        "The MIDI's tempo map (four quarter notes a measure)") if mapping == "slots" else
                       ("the MIDI's tempo map, four quarter notes a measure", "The annotation tool's equal slots"))
        notes.append(f"Each listener's values are placed in time by {used}. {other} would move a piece's measure "
                     f"boundaries by up to {shift.median():.1f} s in the median piece and {shift.max():.0f} s in the "
                     f"worst ({(shift > 2).sum()} of {len(shift)} pieces by more than 2 s).")
    return notes


# --------------------------------------------------------------------------- curves and piece labels


def average_curves(traces: pd.DataFrame) -> pd.DataFrame:
    """The listeners' mean 2 Hz curve of each piece with their spread: ``song_id``, ``time_s``, ``valence``,
    ``arousal``, ``valence_std``, ``arousal_std`` (population sd over listeners) and ``listeners``."""
    grouped = traces.groupby(["song_id", "time_s"], sort=True)
    mean, spread = grouped[list(DIMENSIONS)].mean(), grouped[list(DIMENSIONS)].std(ddof=0)
    table = mean.join(spread.add_suffix("_std")).join(grouped.size().rename("listeners")).reset_index()
    table["song_id"] = table["song_id"].astype(int)
    return table


def piece_labels(traces: pd.DataFrame) -> pd.DataFrame:
    """Per piece: ``<d>_mean``, the mean over time and listeners, and ``<d>_std``, the sd of the listeners' own
    means over time (population); indexed by ``song_id``."""
    per_listener = traces.groupby(["song_id", "listener"])[list(DIMENSIONS)].mean()
    grouped = per_listener.groupby(level="song_id")
    labels = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    return labels[["valence_mean", "valence_std", "arousal_mean", "arousal_std"]]


# --------------------------------------------------------------------------- the corpus


def load_vgmidi(root, subset: str = "all", name: str = "vgmidi", render_dir=None, soundfont=None,
                n_jobs: int = RENDER_JOBS, progress: bool = True, mapping: str = DEFAULT_MAPPING) -> Corpus:
    """VGMIDI's annotated pieces with their piece labels, 2 Hz curves and rendered audio.

    The renderer is checked first (a :class:`MerError` naming what is missing and the command that installs it,
    before anything is read); then the annotations are read and mapped (:func:`read_annotations`), and the MIDI
    files the cache lacks are rendered (:func:`mer_utils.corpus.vgmidi_render.render_pieces`; ``render_dir``
    defaults to ``<user cache>/vgmidi-audio``).  Wrong-length traces and pieces without MIDI are logged and
    kept in ``notes``; ``missing_audio`` lists the pieces without MIDI.
    """
    from .vgmidi_render import check_renderer, provenance, render_pieces

    check_renderer(soundfont)
    found = read_annotations(root, subset=subset, mapping=mapping)
    labels = piece_labels(found.traces)
    pieces = found.pieces.join(labels, how="inner")
    pieces = pieces[pieces["midi_path"].notna()]
    audio = render_pieces({int(i): p for i, p in pieces["midi_path"].items()}, render_dir=render_dir,
                          soundfont=soundfont, n_jobs=n_jobs, progress=progress)
    songs = pieces[[*TARGETS, "valence_std", "arousal_std", "piece", "round", "name", "series", "console", "game",
                    "group", "listeners", "measures", "duration", "midi_seconds", "midi_path"]].copy()
    songs["audio_path"] = [str(audio[int(i)]) for i in songs.index]
    untraced = sorted(set(found.pieces.index[found.pieces["midi_path"].notna()]) - set(songs.index))
    made = provenance(soundfont)
    notes = [f"The listeners heard the MIDI played as piano; the book renders it the same way: {made['renderer_label']}"
             f", with {made['soundfont_label']} (sha256 {made['soundfont_sha256'][:12]}...), General MIDI program "
             f"{made['program']} (piano) on every channel, {made['sample_rate']:,} Hz mono, cached per piece.",
             *found.notes]
    if untraced:
        notes.append(f"{len(untraced)} pieces have no trace of the right length and are left out: "
                     f"{', '.join(piece_label(i) for i in untraced)}.")
    curves = average_curves(found.traces)
    corpus = Corpus(name=name, root=Path(root).expanduser(), subset=subset, songs=songs,
                    missing_audio=found.missing_midi, kind="VGMIDI", scale=SCALE, group_column="group", notes=notes,
                    curves=curves[curves["song_id"].isin(songs.index)].reset_index(drop=True),
                    chunks_per_song=PHASE2_CHUNKS,
                    listener_traces=found.traces[found.traces["song_id"].isin(songs.index)].reset_index(drop=True))
    log.info(corpus.describe())
    if not found.wrong_length.empty:
        log.warning("%s.", wrong_length_text(found.wrong_length), extra={"on_page": True})
    if found.missing_midi:
        log.warning("%d annotated pieces have no MIDI file and are skipped: %s", len(found.missing_midi),
                    id_list(found.missing_midi), extra={"on_page": True})
    return corpus
