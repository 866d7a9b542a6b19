"""SynthDEAM: a synthetic corpus in the official DEAM layout, with a known label function.

Used by: ``notebooks/data_corpus.py`` (the data chapter shows :data:`CUE_WEIGHTS`
and the expected ceiling) and, through ``python -m mer_utils synth``, by ``make book``,
which runs every chapter on SynthDEAM unless ``DATA=deam``.

Design.  Each song draws eight musical cues (:data:`CUES`) as standardised values
(mean 0, sd 1; mode is +1 major or -1 minor).  As in real music the cues co-vary:
each loads on a shared "song character" factor (:data:`CUE_LOADINGS`), so cheerful
songs tend to be major, fast, bright and staccato.  Tempo, dynamics, brightness and
density drift linearly over the clip.  The audio renders the cues: a chord
progression, a melody, a bass line and drums, in additive, FM and plucked timbres.

Labels follow music psychology: the latent valence and arousal of a song are weighted
sums of its clip-average cues (:data:`CUE_WEIGHTS`) plus correlated song-level
unexplained variation.  A linear map puts them on the 1..9 scale; ten simulated
raters add noise and round to the 9-point scale, so ``*_mean`` is the raters' mean
and ``*_std`` their real spread.  The map, the rater noise and the correlation of the
unexplained parts are calibrated once, on 4,000 reference songs, to the real DEAM
statistics (:data:`TARGETS`), so a song's labels do not depend on the corpus size.
Each song's expected label given its cues (:func:`expected_labels`, by simulation
over the unexplained variation and the raters) is written to ``synthdeam_cues.csv``.
The R² of those expectations against the published means on a set of songs
(:func:`mer_utils.corpus.base.ceiling_r2`) is the ceiling beside every figure computed on those songs;
over the whole corpus it is the "expected ceiling" in ``synthdeam.json``.  It is an
expected upper bound, not a hard one: it assumes a model reads the cues off the
audio exactly, and on a few dozen songs it moves by several hundredths.

Dynamic labels (:func:`dynamic_labels`), 2 Hz from :data:`DYNAMIC_START` (2 s) to the
clip's end, as DEAM's start at 15 s: the first seconds carry no label, and a 12 s
clip has 20 labelled half seconds.  At each time the song's latent value is its
cue part *at that moment* (the drifting cues, :func:`cues_at`) plus its song-level
unexplained part, on the 1..9 scale; each of :data:`N_RATERS` simulated raters
adds a level of its own for the song (sd :data:`DYNAMIC_RATER_OFFSET_SD`) and a
slow wandering around it (AR(1), sd :data:`DYNAMIC_RATER_SD`), and
(value - 5) / 4, clipped to [-1, 1], puts a rating on DEAM's dynamic scale.  The
files hold the raters' mean (``valence.csv``, ``arousal.csv``, DEAM's layout) and
their spread (``valence_std.csv``, ``arousal_std.csv``).  The noise-free curve,
the expected mean rating given the cues at each time (by simulation over the
unexplained part and the raters, like :func:`expected_labels`), goes to
``synthdeam_dynamic_expected.csv``: it is the ceiling curve of Phase 4, what a
model that read every cue off the audio as it changes would predict.  The
dynamic labels draw their noise after the static labels', so the audio and the
static labels do not depend on them.

Songs are seeded from (seed, song_id), so parallel order does not matter.  Every
file is written atomically; clips already written with the same settings are kept
(a marker per clip records the settings hash), so an interrupted run resumes; and
``synthdeam.json`` is written last, so its presence means the corpus is complete.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.stats import norm

from ..cache import atomic_path, settings_key, write_csv_atomic, write_json_atomic, write_text_atomic
from ..errors import MerError
from .base import ceiling_r2
from .deam import DYNAMIC_FILES, DYNAMIC_SPREAD_FILES, STATIC_FILES, SYNTH_CUES_FILE, SYNTH_META_FILE

VERSION = 3  # 2: each song's expected label is recorded in synthdeam_cues.csv; 3: dynamic labels from 2 s, with raters
AUDIO_VERSION = 2  # of the clips (their markers' key): version 3 changed only the dynamic labels, so clips are kept
CUES = {  # cue: what the listener hears as its standardised value z rises
    "tempo": "beats per minute, 100 * 2**(0.33 z)",
    "mode": "major (+1) or minor (-1) key: scale and chord qualities",
    "dynamics": "overall level, -6 + 3 z dB (the clip peaks at 0.9 times the level)",
    "articulation": "staccato (+) .. legato (-): notes last 0.6 - 0.22 z of their inter-onset interval",
    "register": "pitch height: melody centred on MIDI note 72 + 5 z, chords and bass follow",
    "brightness": "spectral tilt: harmonic h has amplitude h**-(1.8 - 0.5 z); brighter FM and hats",
    "dissonance": "share Phi(z) of bars with a clashing chord tone, and detuned chord voices",
    "density": "melody notes per beat, 2**(0.6 + 0.7 z); hats in 16ths from 2 notes per beat",
}
# Weights of the standardised cues in latent valence and arousal, after Gabrielsson &
# Lindstroem (2001, "The influence of musical structure on emotional expression", in
# Juslin & Sloboda, Music and Emotion) and Eerola, Friberg & Bresin (2013, Frontiers in
# Psychology 4:487): mode weighs most on valence; tempo, dynamics and articulation on
# arousal; high register and brightness raise both; dissonance lowers valence and
# raises arousal a little; rhythmic density raises arousal.
CUE_WEIGHTS = {
    "tempo": {"valence": 0.20, "arousal": 0.45},
    "mode": {"valence": 0.55, "arousal": 0.10},
    "dynamics": {"valence": 0.05, "arousal": 0.40},
    "articulation": {"valence": 0.10, "arousal": 0.30},
    "register": {"valence": 0.20, "arousal": 0.15},
    "brightness": {"valence": 0.20, "arousal": 0.20},
    "dissonance": {"valence": -0.25, "arousal": 0.15},
    "density": {"valence": 0.10, "arousal": 0.25},
}
CUE_LOADINGS = {
    "tempo": 0.6,
    "mode": 0.6,
    "dynamics": 0.5,
    "articulation": 0.4,
    "register": 0.4,
    "brightness": 0.5,
    "dissonance": -0.2,
    "density": 0.5,
}
DRIFTING_CUES = ("tempo", "dynamics", "brightness", "density")
DRIFT_SD = 1.0  # sd of a drifting cue's change from the clip's start to its end
TARGETS = {
    "valence_mean": 4.90,
    "valence_sd": 1.17,
    "arousal_mean": 4.81,
    "arousal_sd": 1.29,
    "r_valence_arousal": 0.59,
    "valence_rater_sd": 1.52,
    "arousal_rater_sd": 1.47,
}  # DEAM 1_2000
N_RATERS = 10
UNEXPLAINED_RATIO = 0.45  # sd of the song-level unexplained variation / sd of the cue part
DYNAMIC_START, DYNAMIC_STEP = 2.0, 0.5  # SynthDEAM's 2 Hz labels; DEAM's start at 15 s
DYNAMIC_RATER_OFFSET_SD = 0.8  # sd of a rater's own level over a whole song (1..9 scale): 0.2 on the -1..1 scale
DYNAMIC_RATER_SD = 0.4  # sd of a rater's wandering around it (1..9 scale): 0.1 on the -1..1 scale
DYNAMIC_AR = 0.9  # autocorrelation of the wandering from one half second to the next
DYNAMIC_EXPECTED_FILE = "synthdeam_dynamic_expected.csv"  # the noise-free curves (Phase 4's ceiling)
SAMPLE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
CALIBRATION_SEED, N_REFERENCE = 20130487, 4000
CUE_STREAM, LABEL_STREAM, AUDIO_STREAM, CEILING_STREAM, DYNAMIC_CEILING_STREAM = 0, 1, 2, 3, 4
DIMENSIONS = ("valence", "arousal")
HEADER_1_2000 = "song_id, valence_mean, valence_std, arousal_mean, arousal_std"
HEADER_2000_2058 = (
    "song_id, valence_mean, valence_std, valence_ max_mean, valence_max_std, valence_min_mean, "
    "valence_min_std, arousal_mean, arousal_std, arousal_max_mean, arousal_max_std, "
    "arousal_min_mean, arousal_min_std"
)

# ----------------------------------------------------------------------------- cues


def draw_cues(seed: int, song_id: int) -> dict:
    """A song's standardised cues (clip averages) and ``<cue>_drift`` for the drifting cues."""
    rng = np.random.default_rng([seed, song_id, CUE_STREAM])
    character = rng.standard_normal()
    cues = {}
    for cue, loading in CUE_LOADINGS.items():
        value = loading * character + np.sqrt(1 - loading**2) * rng.standard_normal()
        cues[cue] = (1.0 if value > 0 else -1.0) if cue == "mode" else float(np.clip(value, -2.5, 2.5))
    return cues | {f"{cue}_drift": DRIFT_SD * rng.standard_normal() for cue in DRIFTING_CUES}


def cues_at(cues, fraction) -> dict:
    """Standardised cues at ``fraction`` (0..1, scalar or array) of the clip."""
    return {c: np.clip(cues[c] + cues.get(f"{c}_drift", 0.0) * (np.asarray(fraction) - 0.5), -3, 3) for c in CUES}


def audible(z) -> dict:
    """The physical values (see :data:`CUES`) of standardised cues ``z``."""
    return {
        "bpm": np.clip(100 * 2 ** (0.33 * z["tempo"]), 50, 200),
        "major": np.asarray(z["mode"]) > 0,
        "level_db": np.clip(-6 + 3 * z["dynamics"], -18, 0),
        "note_fraction": np.clip(0.6 - 0.22 * z["articulation"], 0.12, 1.2),
        "melody_midi": np.clip(72 + 5 * z["register"], 52, 90),
        "tilt": np.clip(1.8 - 0.5 * z["brightness"], 0.4, 3.5),
        "clash": norm.cdf(z["dissonance"]),
        "notes_per_beat": np.clip(2 ** (0.6 + 0.7 * z["density"]), 0.4, 4),
    }


def cue_part(z, dimension: str) -> np.ndarray:
    """The cue-determined latent of ``dimension``: the weighted sum of the standardised cues."""
    return sum(CUE_WEIGHTS[c][dimension] * np.asarray(z[c], dtype=float) for c in CUES)


# ----------------------------------------------------------------------------- labels


def _label_noise(seed: int, song_id: int, n_dynamic: int = 0):
    """The song's unexplained shocks (2), its static raters' noise (raters, 2) and, drawn after them, the
    dynamic raters' wandering (times, raters, 2) and offsets (raters, 2): the static labels never depend on the
    number of dynamic samples."""
    rng = np.random.default_rng([seed, song_id, LABEL_STREAM])
    shocks, raters = rng.standard_normal(2), rng.standard_normal((N_RATERS, 2))
    if not n_dynamic:
        return shocks, raters, np.zeros((0, N_RATERS, 2))
    wandering = rng.standard_normal((n_dynamic, N_RATERS, 2))
    return shocks, raters, wandering, rng.standard_normal((N_RATERS, 2))


def _true_values(parts: dict, unexplained, cal: dict) -> dict:
    """Song values on the 1..9 scale: calibrated cue part plus correlated unexplained variation."""
    rho = cal["rho_unexplained"]
    shocks = {
        "valence": unexplained[..., 0],
        "arousal": rho * unexplained[..., 0] + np.sqrt(1 - rho**2) * unexplained[..., 1],
    }
    return {
        d: cal[d]["offset"] + cal[d]["scale"] * (parts[d] + cal[d]["unexplained_sd"] * shocks[d]) for d in DIMENSIONS
    }


def _rate(parts: dict, unexplained, raters, cal: dict) -> dict:
    """The raters' integer ratings (1..9): their mean and population std per song and dimension."""
    true, out = _true_values(parts, unexplained, cal), {}
    for i, d in enumerate(DIMENSIONS):
        ratings = np.clip(np.rint(true[d][..., None] + cal[d]["rater_sd"] * raters[..., i]), 1, 9)
        out[f"{d}_mean"], out[f"{d}_std"] = ratings.mean(-1), ratings.std(-1)
    return out


def label_statistics(labels) -> dict:
    """Mean and sd of the song means, their correlation and the mean rater spread, as in :data:`TARGETS`."""
    stats = {}
    for d in DIMENSIONS:
        means = np.asarray(labels[f"{d}_mean"])
        stats |= {
            f"{d}_mean": float(means.mean()),
            f"{d}_sd": float(means.std()),
            f"{d}_rater_sd": float(np.mean(labels[f"{d}_std"])),
        }
    stats["r_valence_arousal"] = float(np.corrcoef(labels["valence_mean"], labels["arousal_mean"])[0, 1])
    return stats


def _draw_many(song_ids, seed: int):
    cues = pd.DataFrame([draw_cues(seed, i) for i in song_ids], index=pd.Index(song_ids, name="song_id"))
    noise = [_label_noise(seed, i) for i in song_ids]
    parts = {d: cue_part(cues, d) for d in DIMENSIONS}
    return cues, parts, np.array([n[0] for n in noise]), np.array([n[1] for n in noise])


@functools.lru_cache(maxsize=1)
def calibrate() -> tuple[dict, dict]:
    """Fit the label map on reference songs; returns (calibration, statistics achieved there)."""
    _, parts, unexplained, raters = _draw_many(range(2, N_REFERENCE + 2), CALIBRATION_SEED)
    cal = {"rho_unexplained": 0.5}
    for d in DIMENSIONS:
        sd = float(parts[d].std())
        cal[d] = {
            "offset": TARGETS[f"{d}_mean"],
            "scale": TARGETS[f"{d}_sd"] / sd,
            "unexplained_sd": UNEXPLAINED_RATIO * sd,
            "rater_sd": TARGETS[f"{d}_rater_sd"],
        }
    for _ in range(30):  # fixed-point iterations: rounding and clipping to 1..9 make it nonlinear
        stats = label_statistics(_rate(parts, unexplained, raters, cal))
        for d in DIMENSIONS:
            cal[d]["offset"] += TARGETS[f"{d}_mean"] - stats[f"{d}_mean"]
            cal[d]["scale"] *= TARGETS[f"{d}_sd"] / stats[f"{d}_sd"]
            cal[d]["rater_sd"] *= TARGETS[f"{d}_rater_sd"] / stats[f"{d}_rater_sd"]
        step = 3 * (TARGETS["r_valence_arousal"] - stats["r_valence_arousal"])
        cal["rho_unexplained"] = float(np.clip(cal["rho_unexplained"] + step, -0.95, 0.95))
    return cal, label_statistics(_rate(parts, unexplained, raters, cal))


def draw_song_cues_and_labels(n_songs: int, seed: int = 1234) -> pd.DataFrame:
    """Cues and static labels of songs 2 .. n_songs + 1, without audio.

    Columns: the standardised cues and drifts, ``valence_cue`` and ``arousal_cue``
    (the cue-determined value on the 1..9 scale) and DEAM's four label columns.
    """
    cal, _ = calibrate()
    cues, parts, unexplained, raters = _draw_many(range(2, n_songs + 2), seed)
    for d in DIMENSIONS:
        cues[f"{d}_cue"] = cal[d]["offset"] + cal[d]["scale"] * parts[d]
    for column, values in _rate(parts, unexplained, raters, cal).items():
        cues[column] = np.round(values, 2)
    return cues


def expected_labels(cues: pd.DataFrame, seed: int, draws: int = 200) -> pd.DataFrame:
    """Each song's noise-free label: the expected published mean given its cues, by simulation.

    The expectation runs over the song-level unexplained variation and the
    raters (``draws`` simulated panels per song); it is what a model that read
    every cue off the audio exactly would predict.  Columns
    ``valence_expected`` and ``arousal_expected`` (1..9 scale), indexed like ``cues``.
    """
    cal, _ = calibrate()
    rng = np.random.default_rng([seed, len(cues), CEILING_STREAM])
    parts = {d: cue_part(cues, d)[:, None] for d in DIMENSIONS}
    expected = _rate(
        parts, rng.standard_normal((len(cues), draws, 2)), rng.standard_normal((len(cues), draws, N_RATERS, 2)), cal
    )
    return pd.DataFrame({f"{d}_expected": expected[f"{d}_mean"].mean(1) for d in DIMENSIONS}, index=cues.index)


def noise_ceiling(labels: pd.DataFrame, seed: int, draws: int = 200) -> dict:
    """The corpus-wide expected ceiling: :func:`ceiling_r2` of :func:`expected_labels` on every song."""
    return ceiling_r2(labels, expected_labels(labels, seed, draws))


def dynamic_times(seconds: float) -> np.ndarray:
    """The 2 Hz label times of a clip of ``seconds``: from :data:`DYNAMIC_START`, strictly before the clip's end."""
    return DYNAMIC_START + DYNAMIC_STEP * np.arange(max(0, int(np.ceil((seconds - DYNAMIC_START) / DYNAMIC_STEP))))


def _dynamic_ratings(true: dict, wandering: np.ndarray, offsets: np.ndarray) -> dict:
    """Each rater's rating on DEAM's -1..1 scale: ``true`` (1..9, per time) plus the rater's own offset and
    wandering (both standard normal, scaled here), rescaled and clipped."""
    return {d: np.clip((true[d][..., None] + DYNAMIC_RATER_OFFSET_SD * offsets[..., i]
                        + DYNAMIC_RATER_SD * wandering[..., i] - 5) / 4, -1, 1) for i, d in enumerate(DIMENSIONS)}


def dynamic_labels(seed: int, song_id: int, seconds: float, draws: int = 200) -> dict:
    """A song's 2 Hz labels on DEAM's -1..1 scale, the raters' spread and the noise-free curve.

    Returns ``{"times": seconds, "<d>": the raters' mean, "<d>_std": their population sd,
    "<d>_expected": the expected mean rating given the cues at each time}`` for ``d`` in
    valence and arousal (see the module docstring).  ``draws``: simulated panels behind the expectation.
    """
    cal, _ = calibrate()
    times = dynamic_times(seconds)
    if not len(times):
        return {"times": times} | {f"{d}{part}": times for d in DIMENSIONS for part in ("", "_std", "_expected")}
    unexplained, _, noise, offsets = _label_noise(seed, song_id, len(times))
    parts = {d: cue_part(cues_at(draw_cues(seed, song_id), times / seconds), d) for d in DIMENSIONS}
    gain = np.sqrt(1 - DYNAMIC_AR**2)  # AR(1) per rater, started in its stationary state: sd 1 from the first sample
    wandering = lfilter([gain], [1, -DYNAMIC_AR], noise, axis=0, zi=(1 - gain) * noise[:1])[0]
    ratings = _dynamic_ratings(_true_values(parts, unexplained, cal), wandering, offsets)
    out = {"times": times}
    for d in DIMENSIONS:
        out[d], out[f"{d}_std"] = ratings[d].mean(-1), ratings[d].std(-1)
    rng = np.random.default_rng([seed, song_id, DYNAMIC_CEILING_STREAM])
    shocks = rng.standard_normal((draws, 1, 2))  # the song's unexplained part, redrawn; raters' noise at each time
    simulated = _dynamic_ratings(_true_values({d: parts[d][None, :] for d in DIMENSIONS}, shocks, cal),
                                 rng.standard_normal((draws, len(times), N_RATERS, 2)),
                                 rng.standard_normal((draws, 1, N_RATERS, 2)))
    return out | {f"{d}_expected": simulated[d].mean(-1).mean(0) for d in DIMENSIONS}


# ----------------------------------------------------------------------------- audio

TABLE_SIZE = 2048
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = {
    True: [(0, 5, 3, 4), (0, 4, 5, 3), (0, 3, 4, 4)],  # scale degrees of the chords, one per bar
    False: [(0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6)],
}


@functools.lru_cache(maxsize=512)
def _wavetable(tilt: float, n_harmonics: int) -> np.ndarray:
    """One period of a tone whose h-th harmonic has amplitude h**-tilt."""
    h = np.arange(1, n_harmonics + 1)[:, None]
    wave = (h**-tilt * np.sin(2 * np.pi * h * np.arange(TABLE_SIZE) / TABLE_SIZE)).sum(0)
    return wave / np.abs(wave).max()


def _note(midi: float, duration: float, sr: int, timbre: str, tilt: float) -> np.ndarray:
    """One note in ``timbre`` 'additive' (a pad), 'fm' or 'pluck'; a short release follows ``duration``."""
    f0 = 440 * 2 ** ((midi - 69) / 12)
    t = np.arange(int((duration + 0.06) * sr)) / sr
    phase = (np.arange(len(t)) * (f0 * TABLE_SIZE / sr)).astype(np.int64) % TABLE_SIZE
    table = lambda tlt: _wavetable(round(float(tlt), 1), max(1, min(16, int(0.45 * sr / f0))))[phase]
    if timbre == "fm":
        wave = np.sin(2 * np.pi * f0 * t + (3 / tilt) * np.exp(-4 * t) * np.sin(4 * np.pi * f0 * t))
    elif timbre == "pluck":  # bright attack decaying into a duller tone
        wave = table(tilt) * np.exp(-12 * t) + 0.6 * table(tilt + 1.5) * np.exp(-3 * t)
    else:
        wave = table(tilt) * np.exp(-0.5 * t)
    attack = 0.03 if timbre == "additive" else 0.004
    return wave * np.minimum(1, t / attack) * np.exp(-np.maximum(t - duration, 0) / 0.015)


def _drums(sr: int, rng) -> dict:
    t = np.arange(int(0.3 * sr)) / sr
    return {
        "kick": np.sin(2 * np.pi * np.cumsum(45 + 90 * np.exp(-t / 0.04)) / sr) * np.exp(-t / 0.12),
        "snare": (
            0.7 * rng.standard_normal(len(t)) * np.exp(-t / 0.05)
            + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04)
        ),
        "hat": np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t / 0.015),
    }


def render_song(seed: int, song_id: int, seconds: float = 30.0, sr: int = 44100) -> np.ndarray:
    """One song's clip, mono float32 at ``sr``: chords, melody, bass and drums that render its cues."""
    cues, rng = draw_cues(seed, song_id), np.random.default_rng([seed, song_id, AUDIO_STREAM])
    n = int(round(seconds * sr))
    mix = np.zeros(n + sr)

    def add(sound, start, gain):
        i = int(start * sr)
        if i < n:
            mix[i : i + len(sound)] += gain * sound[: len(mix) - i]

    grid = np.linspace(0, seconds + 3, 400)  # beat times follow the drifting tempo, to a beat past the end
    along = audible(cues_at(cues, np.minimum(grid / seconds, 1)))
    beats = np.concatenate([[0], np.cumsum(np.diff(grid) * along["bpm"][:-1] / 60)])
    beat_times = np.interp(np.arange(int(np.interp(seconds, grid, beats)) + 2), beats, grid)
    cue = audible(cues_at(cues, np.minimum(beat_times / seconds, 1)))
    major = cues["mode"] > 0
    scale, tonic = MAJOR if major else MINOR, int(rng.integers(0, 12))
    pitch = lambda k: tonic + 12 * (k // 7) + scale[k % 7]  # MIDI note of scale step k
    near = lambda note, centre: note % 12 + 12 * round((centre - note % 12) / 12)  # same pitch class near centre
    progression = PROGRESSIONS[major][rng.integers(0, 3)]
    melody_timbre, chord_timbre = rng.choice(["additive", "fm", "pluck"]), rng.choice(["additive", "pluck"])
    bass_timbre, drums = rng.choice(["additive", "fm"]), _drums(sr, rng)
    centre = float(cue["melody_midi"][0])
    step = min(range(120), key=lambda k: abs(pitch(k) - centre))
    for i, (start, end) in enumerate(zip(beat_times[:-1], beat_times[1:])):
        beat, fraction, tilt = end - start, cue["note_fraction"][i], cue["tilt"][i]
        if i % 4 == 0:  # a new bar: the next chord, with a clashing tone at the dissonance's rate
            degree = progression[(i // 4) % len(progression)]
            chord = [near(pitch(degree + j), centre - 12) for j in (0, 2, 4)]
            if rng.random() < cue["clash"][i]:
                chord.append(chord[0] + int(rng.choice([1, 6, 11])))
        for j, note in enumerate(chord):  # detuned voices beat against each other
            add(_note(note + 0.3 * cue["clash"][i] * (-1) ** j, beat * fraction, sr, chord_timbre, tilt), start, 0.09)
        if i % 2 == 0:
            add(_note(near(chord[0], centre - 30), 2 * beat * fraction, sr, bass_timbre, tilt + 0.5), start, 0.3)
        count = int(cue["notes_per_beat"][i] + rng.random())  # stochastic rounding keeps the mean density
        for j in range(count):
            step += int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
            step += 2 if pitch(step) < centre - 8 else -2 if pitch(step) > centre + 8 else 0
            if rng.random() > 0.1:
                add(_note(pitch(step), beat / count * fraction, sr, melody_timbre, tilt), start + beat * j / count, 0.3)
        if i % 2 == 0:
            add(drums["kick"], start, 0.6)
        else:
            add(drums["snare"], start, 0.35)
        subdivisions = 2 if cue["notes_per_beat"][i] < 2 else 4
        for j in range(subdivisions):
            add(drums["hat"], start + beat * j / subdivisions, 0.25 / tilt * rng.uniform(0.7, 1))
    mix = mix[:n] * np.minimum(1, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * sr))  # 10 ms fades
    level = np.interp(np.arange(n) / sr, grid, 10 ** (along["level_db"] / 20))
    return (0.9 * level * mix / max(np.abs(mix).max(), 1e-9)).astype(np.float32)


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
