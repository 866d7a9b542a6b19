"""musicnn's front end: audio -> log-mel spectrogram -> 187-frame patches, in NumPy.
Used by: :mod:`mer_utils.phase3.musicnn` (which re-exports every name here), and through it
``notebooks/real_music.py``, ``benchmarks/bench_musicnn.py`` and ``mer predict`` (:mod:`mer_utils.predict.songs`).

Why this module: the input representation is its own concern, computed without torch
or librosa, and it keeps :mod:`mer_utils.phase3.musicnn` short enough to read.

The front end (:func:`log_mel`, :func:`cut_patches`).  As musicnn computes it:
The front end (:func:`log_mel`, :func:`cut_patches`).  As musicnn computes it:
mono audio at 16 kHz, a 512-point STFT (Hann window, centred frames, hop 256),
power spectrum, librosa's 96 Slaney mel filters, then ``log10(1 + 10000 x)``;
the spectrogram is cut into patches of 187 frames (about 3 s), one after the
other without overlap unless asked.  musicnn itself casts the mel power to
float16 before the logarithm; we keep float32, as the reference patches do
(the float16 cast overflows to infinity on loud frames and rounds the rest).
A clip shorter than one patch raises :class:`AudioReadError`; it is never
padded, because a padded patch would be an embedding of silence.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import AudioReadError, MerError

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3 s) + 1, musicnn's default input length


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa's (96, 257) Slaney mel filter bank for 16 kHz and a 512-point FFT, as musicnn uses it.

    ``librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)`` (librosa 0.11's
    arithmetic, step for step: the same float32 array, ``tests/test_musicnn.py``),
    written out here because importing librosa (scipy.signal, numba, joblib)
    took 1 s of every ``mer predict`` start, for a table of 96 x 257 numbers.
    """
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0  # the Slaney mel scale
    min_log_mel = min_log_hz / f_sp

    def hz_to_mel(hz: float) -> float:
        return min_log_mel + np.log(hz / min_log_hz) / logstep if hz >= min_log_hz else hz / f_sp

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2), N_MELS + 2)
    mel_f = f_sp * mels
    log_t = mels >= min_log_mel
    mel_f[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, np.fft.rfftfreq(n=N_FFT, d=1.0 / SR))
    weights = np.zeros((N_MELS, 1 + N_FFT // 2), dtype=np.float32)
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, np.newaxis]
    return weights


def log_mel(audio: np.ndarray, rows=None) -> np.ndarray:
    """musicnn's input representation of a mono 16 kHz clip: ``(frames, 96)`` float32, ``log10(1 + 10000 mel)``.

    ``rows``: only these frames (indices into the ``1 + len(audio) // 256``), as
    :class:`SongPatches` asks for them: the same numbers to float rounding (the
    mel filter bank's matrix product rounds a row by where it falls among
    OpenBLAS's blocks of rows: at most 5e-7 here, in values up to about 5).

    The same numbers as ``librosa.feature.melspectrogram(y, sr=16000,
    n_fft=512, hop_length=256, n_mels=96)`` (centred frames, zero padding at
    the ends, a periodic Hann window; ``1 + len(audio) // 256`` frames; to
    float rounding, ``tests/test_musicnn.py``), with the filter bank computed
    once.  The short-time Fourier transform is NumPy's over strided frames:
    librosa's loads ``scipy.signal`` on first use, 1.4 s of every ``mer predict``
    start, and is no faster here.
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(audio, N_FFT // 2), N_FFT)[::HOP]
    if rows is not None:
        frames = frames[rows]
    spectrum = np.fft.rfft(frames * hann_window(), axis=1)  # (frames, 257) complex64
    power = spectrum.real**2 + spectrum.imag**2
    mel = power @ mel_filters().T
    return np.ascontiguousarray(np.log10(1.0 + 10000.0 * mel), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def hann_window() -> np.ndarray:
    """The periodic Hann window of :data:`N_FFT` points (scipy's ``get_window("hann", N_FFT)``, librosa's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def cut_patches(spectrogram: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Cut a ``(frames, 96)`` log-mel spectrogram into ``(n, 187, 96)`` patches starting every ``hop_frames`` frames.

    The default hop makes the patches consecutive and non-overlapping (as
    musicnn's extractor by default); the frames after the last whole patch are
    dropped.  Fewer frames than one patch raise :class:`AudioReadError` naming
    the clip: it is not padded.
    """
    frames = spectrogram.shape[0]
    _check_patches(frames, name, hop_frames)
    starts = range(0, frames - PATCH_FRAMES + 1, int(hop_frames))
    return np.stack([spectrogram[s : s + PATCH_FRAMES] for s in starts]).astype(np.float32, copy=False)


def _check_patches(frames: int, name: str, hop_frames: int) -> int:
    """The number of patches of ``frames`` spectrogram frames; :class:`AudioReadError` for fewer than one patch."""
    if int(hop_frames) < 1:
        raise MerError(f"hop_frames={hop_frames} must be 1 or more.")
    if frames < PATCH_FRAMES:
        raise AudioReadError(
            f"{name}: about {frames * HOP / SR:.2f} s of audio ({frames} spectrogram frames), shorter than one musicnn "
            f"patch ({PATCH_FRAMES} frames, {(PATCH_FRAMES - 1) * HOP / SR:.2f} s at {SR} Hz); nothing to embed "
            "(clips are not padded)")
    return (frames - PATCH_FRAMES) // int(hop_frames) + 1


def audio_patches(audio: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Mono 16 kHz audio -> ``(n, 187, 96)`` input patches (:func:`log_mel`, then :func:`cut_patches`)."""
    return cut_patches(log_mel(audio), name=name, hop_frames=hop_frames)


class SongPatches:
    """The ``(n, 187, 96)`` patches of :func:`audio_patches`, each computed only when it is asked for.

    ``len()`` is their number; indexing (an index, a slice or an index array)
    computes those patches alone (:func:`log_mel` of their frames, to float
    rounding the same numbers); ``np.asarray`` computes them all, exactly as
    :func:`audio_patches`.  ``mer predict`` hears a song at 4 patches
    (:mod:`mer_utils.predict.songs`): its log-mel was a fifth of decoding a
    30 s clip, and of a 4-minute song it took longer than the network.  Too
    short a clip raises :class:`AudioReadError` here, as :func:`cut_patches`.
    """

    def __init__(self, audio: np.ndarray, name: str = "clip", hop_frames: int = PATCH_FRAMES):
        self.audio = np.ascontiguousarray(audio, dtype=np.float32)
        self.name, self.hop_frames = name, int(hop_frames)
        self.count = _check_patches(1 + len(self.audio) // HOP, name, self.hop_frames)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index) -> np.ndarray:
        starts = np.arange(self.count)[index] * self.hop_frames
        rows = np.atleast_1d(starts)[:, None] + np.arange(PATCH_FRAMES)
        patches = log_mel(self.audio, rows=rows.ravel()).reshape(*rows.shape, N_MELS)
        return patches if np.ndim(starts) else patches[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        patches = audio_patches(self.audio, name=self.name, hop_frames=self.hop_frames)
        return patches if dtype is None else patches.astype(dtype, copy=False)
