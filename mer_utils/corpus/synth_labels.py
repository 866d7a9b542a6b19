"""SynthDEAM's musical cues and its known label function: static labels, 2 Hz curves, the expected ceiling.

Used by: ``notebooks/data_corpus.py`` (through :mod:`mer_utils.corpus.synth`, which writes what this module
draws, and :func:`mer_utils.corpus.synth.cue_weight_table`) and ``notebooks/phase4_dynamic.py`` (the 2 Hz
curves and their noise-free ceiling, read back from the corpus); ``tests/test_synth.py`` and
``tests/test_phase4.py`` check its calibration and its curves.

Why a module of its own: the label function is the part of SynthDEAM the book's
claims rest on (the weights are printed on the data page, the ceilings beside every
figure), so it is read and tested apart from the audio (:mod:`.synth_audio`) and
from writing the corpus (:mod:`.synth`).

Each song draws eight musical cues (:data:`CUES`) as standardised values
(mean 0, sd 1; mode is +1 major or -1 minor).  As in real music the cues co-vary:
each loads on a shared "song character" factor (:data:`CUE_LOADINGS`), so cheerful
songs tend to be major, fast, bright and staccato.  Tempo, dynamics, brightness and
density drift linearly over the clip.

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

Every draw is seeded from (seed, song_id, stream), one stream per purpose (:data:`CUE_STREAM` ...),
so a song's cues, labels and audio never depend on the corpus size or on parallel order.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.stats import norm

from .base import ceiling_r2

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
CALIBRATION_SEED, N_REFERENCE = 20130487, 4000
CUE_STREAM, LABEL_STREAM, AUDIO_STREAM, CEILING_STREAM, DYNAMIC_CEILING_STREAM = 0, 1, 2, 3, 4
DIMENSIONS = ("valence", "arousal")

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
