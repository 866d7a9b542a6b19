"""SynthDEAM's audio: a clip rendered from a song's cues, with chords, melody, bass and drums.

Used by: ``notebooks/data_corpus.py`` (through ``make book``, which runs :mod:`mer_utils.corpus.synth`, whose
clips every chapter hears) and ``tests/test_synth.py``.

Why a module of its own: the synthesiser is the largest single piece of SynthDEAM and
changes for other reasons than the label function (:mod:`.synth_labels`): a new timbre
changes what the models hear, not what the listeners were simulated to feel.

The audio renders the cues (:func:`render_song`): a chord progression, a melody, a bass
line and drums, in additive, FM and plucked timbres.  Each cue has an audible form
(:func:`mer_utils.corpus.synth_labels.audible`): tempo in beats per minute, mode as the
scale and chord qualities, dynamics as level, articulation as note length, register as the
melody's centre, brightness as spectral tilt, dissonance as clashing and detuned chord tones,
density as melody notes per beat.  The drifting cues move along the clip, so a clip's
tempo, level and brightness change as its 2 Hz labels do.
"""

from __future__ import annotations

import functools

import numpy as np

from .synth_labels import AUDIO_STREAM, audible, cues_at, draw_cues

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
