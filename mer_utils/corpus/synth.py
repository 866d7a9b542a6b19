"""SynthDEAM: a synthetic corpus in the official DEAM layout, with a known label function.

Used by: ``notebooks/data_corpus.py`` (the data chapter shows :data:`CUE_WEIGHTS`
and the expected ceiling) and, through ``python -m mer_utils synth``, by ``make book``,
which runs every chapter on SynthDEAM unless ``DATA=deam``.

Three modules make it: :mod:`.synth_labels` draws each song's eight musical cues and its
labels from them (the known label function, its calibration to DEAM's statistics, the 2 Hz
curves and the expected ceiling), :mod:`.synth_audio` renders the cues as a clip, and this
module writes the corpus in the DEAM layout: the MP3 clips, the static and dynamic
annotation files, ``synthdeam_cues.csv`` (each song's cues and expected labels),
:data:`DYNAMIC_EXPECTED_FILE` (the noise-free curves) and ``synthdeam.json`` (the
settings, the label function's weights and the expected ceiling).

Songs are seeded from (seed, song_id), so parallel order does not matter.  Every
file is written atomically; clips already written with the same settings are kept
(a marker per clip records the settings hash), so an interrupted run resumes; and
``synthdeam.json`` is written last, so its presence means the corpus is complete.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import atomic_path, settings_key, write_csv_atomic, write_json_atomic, write_text_atomic
from ..errors import MerError
from .base import ceiling_r2
from .deam import DYNAMIC_FILES, DYNAMIC_SPREAD_FILES, STATIC_FILES, SYNTH_CUES_FILE, SYNTH_META_FILE
from .synth_audio import render_song
from .synth_labels import (
    CUE_LOADINGS,
    CUE_WEIGHTS,
    CUES,
    DIMENSIONS,
    DRIFT_SD,
    DRIFTING_CUES,
    DYNAMIC_AR,
    DYNAMIC_RATER_OFFSET_SD,
    DYNAMIC_RATER_SD,
    DYNAMIC_START,
    DYNAMIC_STEP,
    N_RATERS,
    TARGETS,
    UNEXPLAINED_RATIO,
    audible,
    calibrate,
    draw_song_cues_and_labels,
    dynamic_labels,
    expected_labels,
    label_statistics,
)

VERSION = 3  # 2: each song's expected label is recorded in synthdeam_cues.csv; 3: dynamic labels from 2 s, with raters
AUDIO_VERSION = 2  # of the clips (their markers' key): version 3 changed only the dynamic labels, so clips are kept
DYNAMIC_EXPECTED_FILE = "synthdeam_dynamic_expected.csv"  # the noise-free curves (Phase 4's ceiling)
SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
HEADER_1_2000 = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
HEADER_2000_2058 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std"
)

# ----------------------------------------------------------------------------- corpus


def _clip_is_done(root: Path, key: str, song_id: int) -> bool:
    mp3, marker = root / "MEMD_audio" / f"{song_id}.mp3", root / ".synthdeam" / key / f"{song_id}.done"
    if not (mp3.is_file() and marker.is_file()):
        return False
    return marker.read_text().split() == [str(mp3.stat().st_size), str(mp3.stat().st_mtime_ns)]


def _write_clip(root: Path, key: str, seed: int, song_id: int, seconds: float, sr: int) -> None:
    import soundfile as sf

    path = root / "MEMD_audio" / f"{song_id}.mp3"
    with atomic_path(path) as tmp:
        sf.write(tmp, render_song(seed, song_id, seconds, sr), sr, format="MP3")
    write_text_atomic(
        root / ".synthdeam" / key / f"{song_id}.done", f"{path.stat().st_size} {path.stat().st_mtime_ns}\n"
    )


def _checked_root(root, n_songs, seconds, sr, seed) -> Path:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MerError(f"seed={seed!r}: the seed must be a whole number of 0 or more; pass e.g. --seed 1234.")
    if isinstance(n_songs, bool) or not isinstance(n_songs, (int, np.integer)) or not 3 <= n_songs <= 1999:
        raise MerError(
            f"n_songs={n_songs!r}: SynthDEAM needs 3 to 1999 songs (ids 2..2000 as in DEAM); pass e.g. --songs 200."
        )
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 600:
        raise MerError(f"seconds={seconds!r}: clips must last more than 0 and at most 600 s; pass e.g. --seconds 30.")
    if sr not in SAMPLE_RATES:
        raise MerError(
            f"sr={sr!r} is not an MP3 sample rate SynthDEAM supports: use one of {', '.join(map(str, SAMPLE_RATES))}."
        )
    root = Path(root).expanduser()
    audio = root / "MEMD_audio"
    if audio.is_dir() and any(audio.glob("*.mp3")) and not (root / ".synthdeam").is_dir():
        raise MerError(
            f"'{root}' holds audio that SynthDEAM did not write (a real DEAM copy?): pass --root an empty folder."
        )
    try:  # leaves no file behind: a complete corpus must stay untouched
        (root / ".synthdeam").mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=root / ".synthdeam").close()
    except OSError as exc:
        raise MerError(
            f"cannot write the SynthDEAM corpus to '{root}' ({exc}): pass --root a writable folder."
        ) from exc
    return root


def _write_annotations(root: Path, labels: pd.DataFrame, seed: int, seconds: float) -> None:
    folder = root / "annotations" / "annotations averaged per song"
    rows = [
        f"{i},{r.valence_mean:g},{r.valence_std:g},{r.arousal_mean:g},{r.arousal_std:g}" for i, r in labels.iterrows()
    ]
    write_text_atomic(folder / "song_level" / STATIC_FILES["1_2000"], "\n".join([HEADER_1_2000, *rows]) + "\n")
    write_text_atomic(folder / "song_level" / STATIC_FILES["2000_2058"], HEADER_2000_2058 + "\n")
    dynamic = [dynamic_labels(seed, i, seconds) for i in labels.index]
    times = dynamic[0]["times"]
    columns = [f"sample_{round(t * 1000)}ms" for t in times]
    for d in DIMENSIONS:
        for name, key in ((DYNAMIC_FILES[d], d), (DYNAMIC_SPREAD_FILES[d][0], f"{d}_std")):
            frame = pd.DataFrame([song[key] for song in dynamic], index=labels.index, columns=columns).round(4)
            write_csv_atomic(folder / "dynamic (per second annotations)" / name, frame, index=True)
    expected = pd.DataFrame({"song_id": np.repeat(labels.index.to_numpy(), len(times)),
                             "time_s": np.tile(times, len(labels)),
                             **{f"{d}_expected": np.concatenate([song[f"{d}_expected"] for song in dynamic])
                                for d in DIMENSIONS}})
    write_csv_atomic(root / DYNAMIC_EXPECTED_FILE, expected.round(4))
    physical = pd.DataFrame(audible(labels), index=labels.index).add_prefix("audible_")
    write_csv_atomic(root / SYNTH_CUES_FILE, pd.concat([labels, physical], axis=1).round(4), index=True)


def generate(
    root,
    n_songs: int = 500,
    seconds: float = 12.0,
    seed: int = 1234,
    sr: int = 44100,
    n_jobs: int = 2,
    progress: bool = True,
) -> dict:
    """Write a SynthDEAM corpus in the DEAM layout under ``root``; returns the ``synthdeam.json`` record.

    Returns at once when a complete corpus with these settings is there, and resumes an interrupted one.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    root = _checked_root(root, n_songs, seconds, sr, seed)
    meta_path, song_ids = root / SYNTH_META_FILE, list(range(2, n_songs + 2))
    settings = {"version": VERSION, "seed": seed, "n_songs": n_songs, "seconds": float(seconds), "sr": sr}
    if meta_path.exists():
        try:
            record = json.loads(meta_path.read_text())
        except json.JSONDecodeError:
            record = {}
        if {k: record.get(k) for k in settings} == settings and all(
            (root / "MEMD_audio" / f"{i}.mp3").is_file() for i in song_ids
        ):
            return record
        meta_path.unlink()  # from here on the corpus is incomplete
    key = settings_key(version=AUDIO_VERSION, seed=seed, seconds=float(seconds), sr=sr)
    todo = [i for i in song_ids if not _clip_is_done(root, key, i)]
    clips = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_write_clip)(root, key, seed, i, float(seconds), sr) for i in todo
    )
    for _ in tqdm(clips, total=len(todo), desc="SynthDEAM clips", unit="song", disable=not progress):
        pass
    for path in (root / "MEMD_audio").glob("*.mp3"):  # clips of a larger corpus, temp files of a killed run
        if path.name.startswith(".") or (path.stem.isdigit() and int(path.stem) not in song_ids):
            path.unlink()
    for folder in (root / ".synthdeam").iterdir():  # markers of other settings
        if folder.is_dir() and folder.name != key:
            shutil.rmtree(folder)

    labels = draw_song_cues_and_labels(n_songs, seed)
    labels = labels.join(expected_labels(labels, seed))
    _write_annotations(root, labels, seed, float(seconds))
    calibration, reference = calibrate()
    record = settings | {
        "description": "SynthDEAM: synthetic music whose cue-to-emotion label function is known (mer_utils.synth)",
        "cues": CUES,
        "cue_weights": CUE_WEIGHTS,
        "cue_loadings": CUE_LOADINGS,
        "drifting_cues": list(DRIFTING_CUES),
        "drift_sd": DRIFT_SD,
        "n_raters": N_RATERS,
        "dynamic": {"start_s": DYNAMIC_START, "step_s": DYNAMIC_STEP, "rater_offset_sd": DYNAMIC_RATER_OFFSET_SD,
                    "rater_sd": DYNAMIC_RATER_SD,
                    "autocorrelation": DYNAMIC_AR, "scale": "(value - 5) / 4, clipped to [-1, 1]",
                    "expected_file": DYNAMIC_EXPECTED_FILE},
        "unexplained_ratio": UNEXPLAINED_RATIO,
        "calibration": calibration,
        "calibration_targets": TARGETS,
        "achieved_on_reference_songs": reference,
        "achieved": label_statistics(labels),
        "noise_ceiling_r2": ceiling_r2(labels, labels),
        "references": [
            "Gabrielsson & Lindstroem (2001), The influence of musical structure on emotional expression",
            "Eerola, Friberg & Bresin (2013), Frontiers in Psychology 4:487",
        ],
    }
    write_json_atomic(meta_path, record)  # last: its presence means the corpus is complete
    return record


def main(argv=None) -> int:
    """``python -m mer_utils synth --root DIR [--songs N --seconds S --seed K --sr HZ --jobs J]``."""
    parser = argparse.ArgumentParser(prog="mer synth", description="Generate the SynthDEAM corpus in the DEAM layout.")
    parser.add_argument("--root", required=True, help="folder to write the corpus to (DEAM_DIR)")
    parser.add_argument("--songs", type=int, dest="n_songs", help="number of songs (default: generate()'s)")
    parser.add_argument("--seconds", type=float, help="clip length in seconds")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--sr", type=int, help="sample rate of the MP3 files")
    parser.add_argument("--jobs", type=int, dest="n_jobs")
    args = parser.parse_args(argv)
    given = {k: v for k, v in vars(args).items() if k != "root" and v is not None}
    started = time.perf_counter()
    record = generate(args.root, **given)
    ceiling = record["noise_ceiling_r2"]
    print(
        f"SynthDEAM: {record['n_songs']} songs x {record['seconds']:g} s at {record['sr']} Hz in {args.root} "
        f"({time.perf_counter() - started:.1f} s); expected ceiling R2 valence {ceiling['valence_mean']:.2f}, "
        f"arousal {ceiling['arousal_mean']:.2f}"
    )
    return 0


def cue_weight_table(record: dict) -> pd.DataFrame:
    """The weight of each standardised cue on latent valence and arousal, from a ``synthdeam.json`` record."""
    return pd.DataFrame(record["cue_weights"]).T
