"""VGMIDI's MIDI files as time and as sound: the tempo map, the measures, and piano audio from a SoundFont synthesizer.

Used by: :mod:`mer_utils.corpus.vgmidi` (the curves and the audio of ``DATA=vgmidi``), the preflight check
(:func:`renderer_problems`) and the data page (:func:`provenance`).

**Time.**  A MIDI file counts in ticks; its ``set_tempo`` events (in any track) say how many microseconds a
quarter note lasts from their tick on.  :class:`MidiTiming` holds that tempo map and turns ticks into seconds,
and the same map times the notes the synthesizer plays, so the audio and the labels share one clock.

What VGMIDI calls a *measure* is four quarter notes, whatever the time signature: the dataset's builder
(``midi2annotation.py`` of the authors' annotation tool) counts ``ceil(length in quarter notes / 4)``
measures, and a piece in 3/4 of 144 quarter notes has 36 measures in the JSON, not 48 bars.
:func:`measure_spans` gives measure ``k`` the span of quarters ``4k .. 4k + 4`` through the tempo map
(``unit="quarters"``, the dataset's); ``unit="bars"`` follows the time signatures instead, for comparison.  The
annotation tool itself wrote the value at index ``floor(t / duration * measures)`` of the rendered audio, equal
slots of the piece's duration (:func:`slot_spans`): the same spans where the tempo is constant.

**Sound.**  The listeners heard each MIDI played as piano.  :func:`render_midi` plays it with TinySoundFont
(the ``tinysoundfont`` bindings on PyPI, whose wheels carry the synthesizer) and the General MIDI SoundFont
TimGM6mb (Tim Brechbill, GPL-2), which ships inside the ``pretty-midi`` wheel: both come from the package index
with ``make venv``.  Every channel plays General MIDI program 0 (acoustic grand piano); TinySoundFont ignores
the sustain pedal (controller 64), so the note-offs that come while it is down are held until it is released.
Mono float32 at :data:`SAMPLE_RATE` (TimGM6mb's piano samples are 22.05 kHz), the MIDI's length plus
:data:`TAIL_SECONDS` of release.  :func:`render_pieces` keeps each render as FLAC in a folder keyed by the
renderer, its version, the SoundFont's sha256 and these settings, written atomically, one file per MIDI content.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import MerError

RENDERER = "tinysoundfont"  # TinySoundFont (Bernhard Schelling) through Nathan Whitehead's bindings, MIT
RENDERER_VERSION = "0.3.7"
# pip would pull PyAudio (live playback only, no Linux wheel, needs PortAudio headers): install without it
RENDERER_INSTALL = f"pip install --no-deps {RENDERER}=={RENDERER_VERSION}"
SOUNDFONT_PACKAGE, SOUNDFONT_DIST, SOUNDFONT_VERSION = "pretty_midi", "pretty-midi", "0.2.11.post0"
SOUNDFONT_FILE = "TimGM6mb.sf2"
SOUNDFONT_SHA256 = "82475b91a76de15cb28a104707d3247ba932e228bada3f47bba63c6b31aaf7a1"
SOUNDFONT_LICENCE = "TimGM6mb (Tim Brechbill), a General MIDI SoundFont under the GPL-2, shipped in pretty-midi"
SAMPLE_RATE = 22050
TAIL_SECONDS = 1.0  # after the MIDI's last event: the release of the last notes
PROGRAM = 0  # General MIDI acoustic grand piano, on every channel
SUSTAIN = 64  # the sustain pedal's controller number
RENDER_FOLDER = "vgmidi-audio"  # under the user's cache folder (MER_CACHE_DIR moves it)
MEASURE_UNITS = ("quarters", "bars")


# --------------------------------------------------------------------------- time


@dataclass(frozen=True)
class MidiTiming:
    """A MIDI file's tempo map, time signatures and end: ``seconds(ticks)`` is the clock of labels and audio."""

    ticks_per_beat: int
    tempo_ticks: np.ndarray  # where each tempo starts (the first at tick 0)
    tempo_us: np.ndarray  # microseconds per quarter note from there
    time_signatures: tuple  # (tick, numerator, denominator), the first at tick 0
    end_tick: int  # the last event of any track

    def seconds(self, ticks) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=float)
        per_tick = self.tempo_us / 1e6 / self.ticks_per_beat  # seconds per tick from each tempo on
        starts = np.concatenate([[0.0], np.cumsum(np.diff(self.tempo_ticks) * per_tick[:-1])])
        i = np.searchsorted(self.tempo_ticks, ticks, side="right") - 1
        return starts[i] + (ticks - self.tempo_ticks[i]) * per_tick[i]

    @property
    def end_seconds(self) -> float:
        return float(self.seconds(self.end_tick))

    @property
    def quarters(self) -> float:
        return self.end_tick / self.ticks_per_beat


def read_midi(path):
    """``mido.MidiFile`` of ``path``, or a :class:`MerError` naming the file."""
    import mido

    try:
        return mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MerError(f"cannot read the MIDI file {path} ({exc}): replace it with the dataset's copy.") from exc


def _varlen(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i


def _scan_track(data: bytes, tempos: dict, signatures: dict) -> int:
    """Walk one track's events, keeping tempo and time-signature changes by tick; returns its last tick."""
    i, tick, status = 0, 0, 0
    while i < len(data):
        delta, i = _varlen(data, i)
        tick += delta
        if data[i] >= 0x80:
            status, i = data[i], i + 1
        if status == 0xFF:
            kind, (length, i) = data[i], _varlen(data, i + 1)
            if kind == 0x51 and length == 3:
                tempos[tick] = int.from_bytes(data[i:i + 3], "big")  # a later one at the same tick wins
            elif kind == 0x58 and length >= 2:
                signatures[tick] = (data[i], 2 ** data[i + 1])
            i += length
            if kind == 0x2F:
                break
        elif status in (0xF0, 0xF7):
            length, i = _varlen(data, i)
            i += length
        elif status >= 0x80:
            i += 1 if 0xC0 <= status < 0xE0 else 2
        else:
            raise ValueError(f"a data byte without a status at byte {i}")
    return tick


def midi_timing(path) -> MidiTiming:
    """The tempo map (``set_tempo`` of every track; the MIDI default, 120 bpm, before the first), the time
    signatures (4/4 before the first) and the last tick of ``path``.

    Reads only the meta events, walking the file's bytes (ten times faster than parsing every note with mido,
    and the same numbers: ``tests/test_vgmidi.py``)."""
    try:
        data = Path(path).read_bytes()
        if data[:4] != b"MThd" or int.from_bytes(data[12:14], "big") & 0x8000:
            raise ValueError("not a Standard MIDI File with ticks per quarter note")
        tpb, i = int.from_bytes(data[12:14], "big"), 8 + int.from_bytes(data[4:8], "big")
        tempos, signatures, end = {0: 500_000}, {0: (4, 4)}, 0
        while i + 8 <= len(data):
            size = int.from_bytes(data[i + 4:i + 8], "big")
            if data[i:i + 4] == b"MTrk":
                end = max(end, _scan_track(data[i + 8:i + 8 + size], tempos, signatures))
            i += 8 + size
    except (OSError, ValueError, IndexError) as exc:
        raise MerError(f"cannot read the MIDI file {path} ({exc}): replace it with the dataset's copy.") from exc
    ticks = np.array(sorted(tempos), dtype=np.int64)
    return MidiTiming(ticks_per_beat=tpb, tempo_ticks=ticks, tempo_us=np.array([tempos[t] for t in ticks], float),
                      time_signatures=tuple((t, *signatures[t]) for t in sorted(signatures)), end_tick=int(end))


def bar_ticks(timing: MidiTiming) -> np.ndarray:
    """The tick of every bar line under the time signatures, up to the end (a change starts a new bar)."""
    starts, changes = [], list(timing.time_signatures) + [(timing.end_tick, 0, 0)]
    for (tick, numerator, denominator), (following, _, _) in zip(changes, changes[1:]):
        length = numerator * timing.ticks_per_beat * 4 / denominator
        starts.extend(np.arange(tick, following, length) if length > 0 else [])
    return np.array(starts or [0.0])


def measure_spans(timing: MidiTiming, count: int, unit: str = "quarters") -> np.ndarray:
    """``(count, 2)`` start and end seconds of measures ``0 .. count - 1`` through the tempo map.

    ``unit="quarters"``: four quarter notes each (the dataset's measure); ``"bars"``: the bars of the time
    signatures.  Spans end at the MIDI's last event: a measure past it has length 0.
    """
    if unit not in MEASURE_UNITS:
        raise MerError(f"unknown measure unit '{unit}': use one of {MEASURE_UNITS}.")
    if unit == "quarters":
        bounds = np.arange(count + 1, dtype=float) * 4 * timing.ticks_per_beat
    else:
        bounds = np.concatenate([bar_ticks(timing), np.full(count + 1, float(timing.end_tick))])[: count + 1]
    ticks = np.minimum(bounds, timing.end_tick)
    seconds = timing.seconds(ticks)
    return np.column_stack([seconds[:-1], seconds[1:]])


def slot_spans(duration: float, count: int) -> np.ndarray:
    """The annotation tool's own slots: ``count`` equal parts of ``duration`` seconds."""
    edges = np.linspace(0.0, float(duration), int(count) + 1)
    return np.column_stack([edges[:-1], edges[1:]])


def channel_events(path) -> tuple[list, float]:
    """The channel messages of ``path`` merged over tracks, each with its time in seconds; and the end in seconds."""
    import mido

    midi = read_midi(path)
    timing = midi_timing(path)
    messages, ticks, tick = [], [], 0
    for message in mido.merge_tracks(midi.tracks):
        tick += message.time
        if not message.is_meta and message.type != "sysex":
            messages.append(message)
            ticks.append(tick)
    return list(zip(timing.seconds(ticks).tolist(), messages)), timing.end_seconds


# --------------------------------------------------------------------------- the synthesizer and the SoundFont


def soundfont_path() -> Path | None:
    """TimGM6mb.sf2 inside the installed pretty-midi (found without importing it), or ``None``."""
    spec = importlib.util.find_spec(SOUNDFONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SOUNDFONT_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path) -> str:
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def renderer_version() -> str | None:
    try:
        return metadata.version(RENDERER)
    except metadata.PackageNotFoundError:
        return None


def renderer_problems(soundfont=None) -> list[str]:
    """What stops rendering, one line each naming the command that installs it (empty: ready).  Fast: no import
    of the synthesizer, one sha256 of the 6 MB SoundFont."""
    problems = []
    if renderer_version() is None or importlib.util.find_spec(RENDERER) is None:
        problems.append(f"the synthesizer {RENDERER} {RENDERER_VERSION} (TinySoundFont) is not installed: run "
                        f"'make venv', or '.venv/bin/{RENDERER_INSTALL}'")
    if soundfont is not None:
        if not Path(soundfont).is_file():
            problems.append(f"the SoundFont {soundfont} does not exist: give an .sf2 file, or none for TimGM6mb")
    elif soundfont_path() is None:
        problems.append(f"the General MIDI SoundFont {SOUNDFONT_FILE} (in {SOUNDFONT_DIST} {SOUNDFONT_VERSION}) is "
                        f"not installed: run 'make venv', or '.venv/bin/pip install {SOUNDFONT_DIST}=="
                        f"{SOUNDFONT_VERSION}'")
    elif file_sha256(soundfont_path()) != SOUNDFONT_SHA256:
        problems.append(f"{soundfont_path()} is not the pinned {SOUNDFONT_FILE} (sha256 differs): reinstall "
                        f"{SOUNDFONT_DIST}=={SOUNDFONT_VERSION} ('make venv')")
    return problems


def check_renderer(soundfont=None) -> Path:
    """The SoundFont to render with, or a :class:`MerError` listing what is missing and how to install it."""
    problems = renderer_problems(soundfont)
    if problems:
        raise MerError("cannot render VGMIDI's MIDI files to audio: " + "; ".join(problems) + ".")
    return Path(soundfont) if soundfont is not None else soundfont_path()


def render_settings(soundfont=None, sr: int = SAMPLE_RATE, tail: float = TAIL_SECONDS) -> dict:
    """What a render depends on: the synthesizer and its version, the SoundFont and its sha256, the settings."""
    font = check_renderer(soundfont)
    return {"renderer": RENDERER, "renderer_version": renderer_version(), "soundfont": font.name,
            "soundfont_sha256": file_sha256(font), "sample_rate": int(sr), "tail_seconds": float(tail),
            "program": PROGRAM, "sustain": "note-offs held while controller 64 is down", "channels": "mono"}


def provenance(soundfont=None) -> dict:
    """For the data page: the renderer, the SoundFont, their versions, licences and settings."""
    settings = render_settings(soundfont)
    settings["renderer_label"] = f"TinySoundFont via {RENDERER} {settings['renderer_version']} (PyPI, MIT)"
    settings["soundfont_label"] = (SOUNDFONT_LICENCE + f" {SOUNDFONT_VERSION}" if soundfont is None
                                   else f"{settings['soundfont']} (given)")
    return settings


def render_midi(path, soundfont=None, sr: int = SAMPLE_RATE, tail: float = TAIL_SECONDS) -> np.ndarray:
    """``path`` played as piano: mono float32 at ``sr`` Hz, the MIDI's length plus ``tail`` seconds."""
    import tinysoundfont

    font = check_renderer(soundfont)
    events, end = channel_events(path)
    synth = tinysoundfont.Synth(samplerate=int(sr))
    sfid = synth.sfload(str(font))
    for channel in range(16):
        synth.program_select(channel, sfid, 0, PROGRAM)
    total = int(np.ceil((end + tail) * sr))
    out = np.zeros((total, 2), dtype=np.float32)
    view, done = memoryview(out.reshape(-1)).cast("B"), 0
    pedal, held = [False] * 16, [set() for _ in range(16)]
    for seconds, message in events:
        upto = min(total, int(round(seconds * sr)))
        if upto > done:
            synth.generate_simple(upto - done, buffer=view[done * 8: upto * 8])
            done = upto
        channel = getattr(message, "channel", 0)
        if message.type == "note_on" and message.velocity > 0:
            if message.note in held[channel]:  # struck again while the pedal holds it
                synth.noteoff(channel, message.note)
                held[channel].discard(message.note)
            synth.noteon(channel, message.note, message.velocity)
        elif message.type in ("note_on", "note_off"):
            if pedal[channel]:
                held[channel].add(message.note)
            else:
                synth.noteoff(channel, message.note)
        elif message.type == "control_change" and message.control == SUSTAIN:
            pedal[channel] = message.value >= 64
            if not pedal[channel]:
                for note in sorted(held[channel]):
                    synth.noteoff(channel, note)
                held[channel].clear()
        elif message.type == "control_change":
            synth.control_change(channel, message.control, message.value)
        elif message.type == "pitchwheel":
            synth.pitchbend(channel, message.pitch + 8192)
    if total > done:
        synth.generate_simple(total - done, buffer=view[done * 8:])
    return np.clip(out.mean(axis=1), -1.0, 1.0)


# --------------------------------------------------------------------------- the render cache


def render_root(render_dir=None) -> Path:
    """Where renders are kept: ``render_dir``, else ``<user cache>/vgmidi-audio`` (``MER_CACHE_DIR`` moves it)."""
    if render_dir is not None:
        return Path(render_dir).expanduser()
    from ..phase3.musicnn_wheel import cache_root

    return cache_root() / RENDER_FOLDER


def render_folder(render_dir=None, soundfont=None, sr: int = SAMPLE_RATE, tail: float = TAIL_SECONDS) -> tuple:
    """``(folder, settings)``: the cache folder of these settings (``<root>/<key>``) and what it holds."""
    from ..cache import settings_key

    settings = render_settings(soundfont, sr, tail)
    return render_root(render_dir) / f"{RENDERER}-{settings_key(**settings)}", settings


def rendered_path(folder: Path, midi_path) -> Path:
    """One render per MIDI content: ``<sha256 of the MIDI, 16 hex>.flac``."""
    return Path(folder) / f"{file_sha256(midi_path)[:16]}.flac"


def _render_one(midi_path, target, soundfont, sr, tail) -> str:
    import soundfile as sf

    from ..cache import atomic_path

    audio = render_midi(midi_path, soundfont, sr, tail)
    with atomic_path(target) as tmp:
        sf.write(tmp, audio, int(sr), subtype="PCM_16", format="FLAC")
    return str(target)


def render_pieces(midi_paths: dict, render_dir=None, soundfont=None, sr: int = SAMPLE_RATE,
                  tail: float = TAIL_SECONDS, n_jobs: int = 1, progress: bool = True) -> dict:
    """``{song_id: FLAC path}`` for ``{song_id: MIDI path}``, rendering (in ``n_jobs`` processes) what the cache
    folder lacks.  Each file is written under a temporary name and renamed when complete."""
    from ..cache import json_text, write_text_atomic

    folder, settings = render_folder(render_dir, soundfont, sr, tail)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "settings.json").is_file():
        write_text_atomic(folder / "settings.json", json_text(settings))
    paths = {int(i): rendered_path(folder, p) for i, p in midi_paths.items()}
    todo = [(midi_paths[i], paths[i]) for i in sorted(paths) if not paths[i].is_file()]
    if todo:
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        jobs = (delayed(_render_one)(m, t, soundfont, sr, tail) for m, t in todo)
        bar = tqdm(total=len(todo), desc="rendering MIDI (TinySoundFont)", unit="piece", disable=not progress)
        for _ in Parallel(n_jobs=max(1, min(int(n_jobs), len(todo), os.cpu_count() or 1)), return_as="generator")(jobs):
            bar.update()
        bar.close()
    return paths
