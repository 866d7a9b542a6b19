"""What a long step is about to do and how long it should take: the log line before it.

Used by: every long step of the book, so by every notebook that runs one:
``notebooks/phase1_features.py`` (:func:`mer_utils.phase1.features.extract_features`),
``notebooks/phase1_models.py`` (the grid searches), ``notebooks/phase2_train.py``
(the chunk cache and the training loop), ``notebooks/phase3_panns.py``,
``notebooks/real_music.py`` (CNN14 and musicnn embeddings) and ``notebooks/phase3_finetune.py``
(fine-tuning).

Before a step starts, :func:`announce` logs one line such as::

    Phase 2 training: EmotionCNN, 15,690 training chunks x at most 15 epochs; about 11 min on 2 CPU cores in bfloat16

so a user who starts ``make book DATA=deam`` knows what is coming before the
first progress bar.  The estimate is the amount of work divided by a rate from
:data:`RATES`, measured on the machines the book is built on (2 CPU cores)
by ``benchmarks/rehearsal.py`` at DEAM scale (1,744 songs of 45 s); an
estimate is a guide, not a promise: other processes on the machine, a GPU, or
more cores change it.  The rates are written once, here.
"""

from __future__ import annotations

import logging

log = logging.getLogger("mer_utils.estimates")

# Work per second on 2 CPU cores, measured by benchmarks/rehearsal.py at DEAM scale on 2026-12-01 (see the README,
# "What a DEAM run costs"; Phase 2, the chunk cache and CNN14 re-measured after commit 2498fea kept freed memory).
# Audio steps: seconds of audio per second of wall time.  Training: training chunks per second of an epoch (15,690
# chunks), validation included, in bfloat16.
RATES = {
    "features": 450.0,  # Phase 1 librosa features, 2 worker processes (the features page: 2.9 min for 21.8 h)
    "grid search": 9.0,  # Phase 1: songs per second of the full grid search and its CV, both targets (3.2 min)
    "chunk cache": 1200.0,  # Phase 2 log-mel chunks, decoding included, 2 worker processes (65 s)
    "cnn14": 78.0,  # CNN14 embeddings in bfloat16, decoding included (1.74 songs of 45 s per second)
    "musicnn": 117.0,  # musicnn embeddings in bfloat16, decoding included (the default book's musicnn page, 12 s clips)
    "training": {"EmotionCNN": 505.0, "EmotionCNN_SE_Temporal": 395.0, "EmotionCNN_GRU": 410.0,
                 "EmotionCNN_GRU_Attention": 400.0},  # training chunks per second of an epoch, validation included
    # Phase 3 fine-tuning, the layers after the cached front end: training patches per second of an epoch (validation
    # included) on one thread in float32, AVX2 (the Soundtracks page's runs on a quiet machine, 2026-12-04: 280;
    # benchmarks/bench_finetune.py: 284 for the training steps alone); CNN14's blocks 5-6 and fc1: about 2
    "finetune": {"MusicnnRegressor": 250.0, "Cnn14Regressor": 2.0},
}
FLOAT32_SLOWDOWN = 1.5  # Phase 2 training in float32 against bfloat16 on these CPUs (bench_phase2.py, DEAM scale)
ONE_THREAD_SHARE = 0.6  # one torch thread's training rate against two threads' (0.55-0.68: bench_phase2.py --side-by-side)
DEFAULT_CLIP_SECONDS = 45.0  # a DEAM clip, when a clip's length cannot be read from its header


def duration(seconds: float) -> str:
    """``"about 40 s"``, ``"about 12 min"``, ``"about 2.3 h"``."""
    if seconds < 90:
        return f"about {max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def clip_seconds(paths, sample: int = 5) -> float:
    """Total audio seconds of ``paths``, from the headers of up to ``sample`` files (their mean length times the count)."""
    import soundfile

    paths = list(paths)
    lengths = []
    for path in paths[:sample]:
        try:
            info = soundfile.info(str(path))
            lengths.append(info.frames / info.samplerate)
        except Exception:  # an unreadable header: the step itself reports the file
            continue
    mean = sum(lengths) / len(lengths) if lengths else DEFAULT_CLIP_SECONDS
    return mean * len(paths)


def announce(step: str, what: str, seconds: float, how: str = "on 2 CPU cores") -> str:
    """Log ``"<step>: <what>; <estimate> <how>"`` and return it."""
    line = f"{step}: {what}; {duration(seconds)} {how}"
    log.info(line)
    return line


def announce_audio(step: str, rate_key: str, songs: int, audio_seconds: float, how: str = "on 2 CPU cores") -> str:
    """The line before an audio step (features, chunks, embeddings): songs, hours of audio, estimate."""
    what = f"{songs:,} songs, {audio_seconds / 3600:.1f} h of audio"
    return announce(step, what, audio_seconds / RATES[rate_key], how)


def announce_grid_search(n_regressors: int, songs: int, grid: str) -> str:
    """The line before Phase 1's grid searches: regressors, targets, songs; the estimate scales the full grid's rate."""
    what = f"{n_regressors} regressors x 2 targets on {songs:,} songs ({grid} grid, then repeated 5-fold CV)"
    return announce("Phase 1 grid search", what, songs / RATES["grid search"] * (1.0 if grid == "full" else 0.2))


def announce_training(model: str, train_chunks: int, epochs: int, precision: str, patience=None, threads=2) -> str:
    """The line before a training run: examples, epochs (at most, with early stopping), estimate.

    A Phase 2 CNN trains on log-mel chunks at its measured rate; any other model
    (the EmotionMLP on embeddings) on rows, at the slowest CNN's rate, an upper bound.
    ``threads``: torch's CPU threads for the run; one thread (a Phase 2 page,
    two of which run at once) trains at :data:`ONE_THREAD_SHARE` of the rate.
    """
    cnn = model in RATES["training"]
    bound = "at most " if patience else ""
    if model in RATES["finetune"]:  # measured in float32 on one thread
        rate = RATES["finetune"][model] * (FLOAT32_SLOWDOWN if precision == "bfloat16" else 1.0)
        what = f"{model}, {train_chunks:,} training patches x {bound}{epochs} epochs"
        return announce("Fine-tuning", what, train_chunks * epochs / rate,
                        f"on {'1 CPU thread' if threads == 1 else '2 CPU cores'} in {precision}")
    rate = RATES["training"].get(model, min(RATES["training"].values()))
    if precision != "bfloat16":
        rate /= FLOAT32_SLOWDOWN
    if threads == 1:
        rate *= ONE_THREAD_SHARE
    what = f"{model}, {train_chunks:,} training {'chunks' if cnn else 'rows'} x {bound}{epochs} epochs"
    return announce("Phase 2 training" if cnn else "Training", what, train_chunks * epochs / rate,
                    f"on {'1 CPU thread' if threads == 1 else '2 CPU cores'} in {precision}")
