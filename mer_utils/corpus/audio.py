"""Decoding audio files, and the fingerprints that key every cache.

Used by: every notebook that reads audio (``notebooks/phase1_features.py``,
``notebooks/phase2_train.py``, ``notebooks/phase3_panns.py``) through the
feature, log-mel and embedding caches, and by ``mer predict``.

One decoder (:func:`load_audio`) serves every phase, so every model hears the
same samples.  One fingerprint of an audio file (:func:`audio_fingerprint`:
its size and modification time) names each song's cache file, so a replaced
or regenerated clip is never served from a stale cache; one digest function
(:func:`file_digest`) checks downloads and checkpoints.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import AudioReadError


def load_audio(path, sr: int, offset: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sr`` Hz.

    Uses soundfile (MP3, WAV, FLAC, OGG) and falls back to librosa's audioread
    path for other formats.  Raises :class:`AudioReadError` naming the file for
    a missing, empty or corrupt clip.  The two halves: :func:`read_audio` (the
    file's own rate) and :func:`at_rate`.
    """
    return at_rate(*read_audio(path, offset=offset, duration=duration), sr)


def read_audio(path, offset: float = 0.0, duration: float | None = None) -> tuple[np.ndarray, int]:
    """``(mono float32 audio, its sample rate)``: :func:`load_audio` before resampling (``mer predict`` reads the
    first files this way while torch is still loading, before it knows the model's rate)."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioReadError(f"{path}: the file is empty (0 bytes); re-download or remove it")
    try:
        with sf.SoundFile(path) as handle:
            native_sr = handle.samplerate
            if offset:
                handle.seek(int(offset * native_sr))
            frames = -1 if duration is None else int(duration * native_sr)
            audio = downmix(handle.read(frames, dtype="float32", always_2d=True))
    except Exception as first_error:  # soundfile cannot read it: let librosa try (audioread)
        try:
            import warnings

            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio, native_sr = librosa.load(path, sr=None, mono=True, offset=offset, duration=duration)
        except Exception as exc:
            raise AudioReadError(
                f"{path}: cannot decode audio ({first_error}); the file is corrupt or not audio"
            ) from exc
    if audio.size == 0 or not np.isfinite(audio).all():
        raise AudioReadError(f"{path}: decoded to no usable samples; the file is corrupt or empty")
    return audio, native_sr


def at_rate(audio: np.ndarray, native_sr: int, sr: int) -> np.ndarray:
    """Audio read at ``native_sr`` (:func:`read_audio`) as :func:`load_audio` gives it at ``sr``: resampled, float32."""
    if native_sr != sr:
        audio = resample(audio, native_sr, sr)
    return np.ascontiguousarray(audio, dtype=np.float32)


def downmix(frames: np.ndarray) -> np.ndarray:
    """``frames.mean(axis=1)`` of a ``(samples, channels)`` float32 array, bit for bit, column by column.

    NumPy's mean along the short channel axis walks the array two floats at a
    time: 13 ms of a 30 s stereo clip, a third of its decoding; adding the
    columns in the same order (``(a0 + a1) + a2 ...``, then one division by the
    channel count) takes 0.5 ms and gives the same numbers (``tests/test_data.py``).
    From 8 channels on NumPy sums in a pairwise tree instead, so those take its mean.
    """
    if frames.shape[1] >= 8:
        return frames.mean(axis=1)
    mono = frames[:, 0].copy()
    for channel in range(1, frames.shape[1]):
        mono += frames[:, channel]
    if frames.shape[1] > 1:
        mono /= np.float32(frames.shape[1])
    return mono


def resample(audio: np.ndarray, native_sr: int, sr: int) -> np.ndarray:
    """``librosa.resample(audio, orig_sr=native_sr, target_sr=sr)`` (soxr's high quality, ``ceil(n * sr / native_sr)``
    samples), calling soxr as librosa does: librosa's own function loads ``scipy.signal`` on first use, 1.4 s of every
    ``mer predict`` start.  The same numbers (``tests/test_data.py``)."""
    import soxr

    length = int(np.ceil(len(audio) * sr / native_sr))
    out = soxr.resample(audio, native_sr, sr, quality="soxr_hq")
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    return np.asarray(out[:length], dtype=audio.dtype)


DECODE_AHEAD_BYTES = 1 << 30  # decoded audio an embedder may hold ahead of its network (float32 samples)


def clips_ahead(clip_seconds: float, sr: int, budget: int = DECODE_AHEAD_BYTES) -> int:
    """How many decoded clips of ``clip_seconds`` at ``sr`` fit in ``budget`` bytes (at least 2).

    Within the budget the decoder runs ahead in one burst, as fast as it can,
    and then leaves the cores to the network (on the default book the whole
    corpus fits: 500 clips of 12 s at 32 kHz are 0.77 GB); at DEAM scale the
    budget holds about 180 clips of 45 s, instead of all 1,744 (10 GB).
    """
    per_clip = max(float(clip_seconds), 1.0) * int(sr) * 4
    return max(2, int(budget // per_clip))


def decoded_ahead(decode, items, workers: int = 1, ahead: int = 2, initializer=None):
    """Yield ``(item, future)`` in order, ``decode(item)`` running in ``workers`` threads at most ``ahead`` items ahead.

    The caller takes ``future.result()`` (which re-raises what ``decode`` raised);
    ``initializer`` runs once in each thread (``mer predict``: one torch thread each).
    Decoding overlaps the caller's work (soundfile and soxr release the GIL), and
    only ``ahead`` decoded clips wait in memory at any time (:func:`clips_ahead`
    sizes it from a memory budget): a pool's ``map`` would decode the whole
    corpus ahead of a slower consumer (at DEAM scale, 10 GB of waveforms).  Stopping early cancels what was not started.
    Used by: the CNN14 and musicnn embedders (``notebooks/phase3_panns.py``) and ``mer predict``.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="mer-decode",
                            initializer=initializer) as pool:
        upcoming = iter(items)
        window = deque((item, pool.submit(decode, item)) for _, item in zip(range(max(1, int(ahead))), upcoming))
        try:
            while window:
                item, future = window.popleft()
                following = next(upcoming, _END)
                if following is not _END:
                    window.append((following, pool.submit(decode, following)))
                yield item, future
        finally:
            for _, future in window:
                future.cancel()


_END = object()


class ReadAhead:
    """Read the first files of a list at their own rate (:func:`read_audio`) in one background thread, until told
    to stop or ``budget`` bytes of audio are held.

    ``mer predict`` starts it before it imports torch and loads the model (about
    a second on one core, the other idle): on 2 cores it read 30 to 40 of the
    4Q clips meanwhile.  :meth:`stop` ends the reading after the file in hand
    and returns ``{path: future}`` of the files begun, whose ``result()`` is
    ``(audio, native rate)`` or raises the :class:`AudioReadError`.
    """

    def __init__(self, paths, budget: int = DECODE_AHEAD_BYTES // 4):
        import threading

        self.futures: dict = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(list(paths), int(budget)), daemon=True,
                                        name="mer-read-ahead")
        self._thread.start()

    def _read(self, paths, budget: int):
        from concurrent.futures import Future

        held = 0
        for path in paths:
            if self._stopped.is_set() or held >= budget:
                return
            future = Future()
            future.set_running_or_notify_cancel()
            self.futures[path] = future
            try:
                audio, native_sr = read_audio(path)
            except Exception as exc:  # noqa: BLE001 - AudioReadError, or anything else, re-raised by result()
                future.set_exception(exc)
                continue
            held += audio.nbytes
            future.set_result((audio, native_sr))

    def stop(self) -> dict:
        self._stopped.set()
        return dict(self.futures)


def audio_fingerprint(path) -> str:
    """A short hash of an audio file's size and modification time (``"missing"`` if it is gone).

    Names each song's cache file: a clip that is replaced or regenerated gets a
    new name, so no cache ever serves features of the old audio.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        return "missing"
    return hashlib.sha1(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]


def corpus_fingerprint(songs) -> str:
    """Hash of every song's id and audio fingerprint (``songs``: indexed by id, with ``audio_path``)."""
    digest = hashlib.sha1()
    for song_id, path in zip(songs.index, songs["audio_path"]):
        digest.update(f"{int(song_id)}\0{audio_fingerprint(path)}\n".encode())
    return digest.hexdigest()


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``sha256``, ``md5``, ...), read in 4 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
