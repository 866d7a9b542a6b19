"""``mer predict``: valence and arousal of any audio files, folders or patterns, saying where the numbers come from.

Used by: the command line (``mer predict``, ``python -m mer_utils predict``); measured by
``benchmarks/bench_predict.py`` and ``benchmarks/bench_peers.py``.

It loads a bundle (:mod:`mer_utils.predict.bundles`: ``--model PATH``, ``--data
synth|deam|soundtracks``, or the rule of :func:`~mer_utils.predict.bundles.choose_model`,
which prefers a model trained on real ratings with a pretrained backbone), decodes
each file once at its backbone's rate and predicts the song
(:mod:`mer_utils.predict.songs`), and prints one row per song.  A song is heard
as the model learned songs: the predictor at a few 3-second patches spread over
it (:data:`mer_utils.predict.fusion.PATCHES_PER_SONG`), other models at all of
them; the ``segments`` column says how many.

Inputs (:func:`expand_inputs`): files (any format librosa reads), folders
(their audio files; ``-r`` descends) and glob patterns.  Files are decoded by
a small thread pool (``--jobs``) while the network embeds the previous ones
(:func:`predict_files`; with a musicnn model, whole songs run side by side,
one thread each, and the first files are read while torch loads); a progress
bar runs on stderr when it is a terminal.
``--segments`` adds a row per 3-second unit; ``--quadrant`` adds the Russell
quadrant and its probability where the model learned them; ``--curve`` runs
Phase 4's sequence model instead and gives each song's 2 Hz curve (one row per
half second: ``time_s``, valence and arousal on the dynamic annotations' -1..1
scale, :mod:`mer_utils.phase4.bundle`).  The table, CSV and
JSON outputs have the same columns (:func:`output_columns`), and every row
names the model's corpus, backbone, weights, scale and file.  A file that
cannot be read or is too short gets a one-line error on stderr and the other
songs are still predicted.  Exit status: 0 when every song was predicted, 1
when any failed (or no model could be loaded), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import numpy as np

from ..corpus.audio import ReadAhead, decoded_ahead
from ..errors import AudioReadError, MerError
from ..training.runtime import one_thread_per_operation
from .bundles import (
    DATA_FOLDERS,
    NOTHING_FOR_REAL_MUSIC,
    RESULTS_ROOT,
    caveat,
    choose_model,
    describe,
    load_bundle,
    provenance,
)
from .inputs import AUDIO_SUFFIXES, _audio_in, _is_pattern, expand_inputs  # noqa: F401  (re-exported)
from .output import (  # noqa: F401  (re-exported: the module's names before the split)
    COLUMNS, CURVE_COLUMNS, QUADRANT_COLUMNS, _cell, _rows, _table, format_curves, format_results, output_columns,
)
from .songs import SongModel, quadrant_columns, song_model

DEFAULT_JOBS = 2  # decoding threads: the machines the book is built on have 2 cores


# --------------------------------------------------------------------------- predicting


def predict_units(model: SongModel, units: np.ndarray, path, segments: bool = False, quadrant: bool = False,
                  alone: bool = False) -> dict:
    """One song's result from its decoded units: :data:`COLUMNS` (less provenance) and the targets.

    With ``segments``, ``"curve"`` lists every unit's ``start_s``, ``end_s`` and
    targets (the head applied to that unit's embedding alone); with ``quadrant``,
    each row also has ``quadrant`` and ``quadrant_p`` (:func:`~mer_utils.predict.songs.quadrant_columns`).
    ``alone``: embed on this thread only (:attr:`SongModel.embed_alone`; the same numbers to float rounding).
    """
    song, per_unit = model.predict(units, every_unit=segments, alone=alone)
    names, seconds = model.names, model.unit_seconds
    result = {"file": str(path), "level": "song", "start_s": 0.0, "end_s": round(len(units) * seconds, 3),
              "segments": int(len(model.heard(len(units)))), **{n: float(v) for n, v in zip(names, song)}}
    if quadrant:
        result.update({k: v[0] for k, v in quadrant_columns(model.bundle, song[None]).items()})
    if segments:
        rows = [{"start_s": round(k * seconds, 3), "end_s": round((k + 1) * seconds, 3),
                 **{n: float(v) for n, v in zip(names, row)}} for k, row in enumerate(per_unit)]
        if quadrant:
            for row, q, p in zip(rows, *quadrant_columns(model.bundle, per_unit).values()):
                row.update(quadrant=q, quadrant_p=p)
        result["curve"] = rows
    return result


def predict_file(model: SongModel, path, segments: bool = False, quadrant: bool = False) -> dict:
    """One song, decoded here and now (see :func:`predict_units` for the result)."""
    return predict_units(model, model.decode(path), path, segments=segments, quadrant=quadrant)


def predict_files(model: SongModel, paths, segments: bool = False, quadrant: bool = False, jobs: int = DEFAULT_JOBS,
                  read: dict | None = None):
    """Yield ``(path, result, error)`` for each file in order; ``error`` is the :class:`AudioReadError` or ``None``.

    ``jobs`` threads decode (soundfile and soxr release the GIL) up to
    ``2 * jobs`` files ahead of the network, so decoding overlaps embedding and
    memory stays bounded; ``jobs=0`` decodes each file in the calling thread
    just before embedding it (the sequential way, kept for comparison).

    A model that can embed on one thread in several threads at once (musicnn,
    :attr:`SongModel.embed_alone`) given two files or more runs whole songs side
    by side instead (:func:`_whole_songs`), in the same order (the same numbers to float rounding).
    ``read``: ``{path: future}`` of files already read at their own rate
    (:class:`~mer_utils.corpus.audio.ReadAhead`), used instead of reading them again.
    """
    paths, read = list(paths), dict(read or {})

    def decode(path):
        early = read.pop(path, None)
        return model.decode(path) if early is None else model.decode(path, native=early.result())

    if jobs > 0 and model.embed_alone is not None and len(paths) > 1:
        yield from _whole_songs(model, decode, paths, segments, quadrant, workers=max(jobs, model.threads))
        return
    if jobs <= 0:
        decoded = ((path, _now(decode, path)) for path in paths)
    else:
        decoded = decoded_ahead(decode, paths, workers=jobs, ahead=2 * jobs)
    for path, future in decoded:
        try:
            units = future.result()
        except AudioReadError as exc:
            yield path, None, exc
            continue
        yield path, predict_units(model, units, path, segments=segments, quadrant=quadrant), None
        del units


def _whole_songs(model: SongModel, decode, paths: list, segments: bool, quadrant: bool, workers: int):
    """:func:`predict_files` with ``workers`` threads that each decode a song (``decode``) and embed it on their own.

    Splitting every song's few patches between the threads (musicnn's 4 over
    2 cores) made each song wait for its slower half, and the decoding threads
    took cores from the network at random: on 100 4Q clips on 2 cores the
    process kept only 1.4 cores busy.  One song per thread keeps both busy; at
    most ``2 * workers`` results wait ahead of the caller.  BLAS and torch run
    one thread per operation, in every thread (:func:`one_thread_per_operation`).
    """

    def song(path):
        return predict_units(model, decode(path), path, segments=segments, quadrant=quadrant, alone=True)

    with one_thread_per_operation():
        for path, future in decoded_ahead(song, paths, workers=workers, ahead=2 * workers,
                                          initializer=_one_torch_thread):
            try:
                result = future.result()
            except AudioReadError as exc:
                yield path, None, exc
                continue
            yield path, result, None


def _one_torch_thread():
    import torch

    torch.set_num_threads(1)


class _now:
    """A finished 'future' for the sequential way: ``result()`` returns the value or raises the decoding error."""

    def __init__(self, decode, path):
        try:
            self.value, self.error = decode(path), None
        except AudioReadError as exc:
            self.value, self.error = None, exc

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


# --------------------------------------------------------------------------- the command line

EPILOG = """\
examples:
  mer predict song.mp3 other.wav                 a table on stdout, one row per song
  mer predict music/ -r                          every audio file under music/, subfolders included
  mer predict 'albums/*/*.flac'                  a glob pattern (quote it; ** spans folders with -r)
  mer predict --segments song.mp3                the 3-second curve as well
  mer predict --quadrant song.mp3                the Russell quadrant and its probability too
  mer predict --curve song.mp3 --format csv      valence and arousal every half second (Phase 4)
  mer predict -r music/ --format csv > va.csv    or --format json; the same columns in every format
  mer predict --data soundtracks song.mp3        the model 'make book DATA=soundtracks ...' saved

which model:
  --model PATH; else --data synth|deam|soundtracks, the best model that book saved under
  results/<corpus>/models/ (predictor.pt, else emotion_mlp_musicnn.pt, else musicnn_finetuned.pt,
  else cnn14_finetuned.pt, else emotion_mlp.pt); else a model under {root} that a book you built
  trained on real ratings (DEAM or Soundtracks) with a pretrained (or fine-tuned) backbone, the
  first kind of file in that order, the most recently written; else the predictor shipped with the
  package (musicnn trained on the Soundtracks ratings and 4Q's quadrants; its backbone, the musicnn
  wheel's MSD network, is fetched with pip into the cache folder on first use). A SynthDEAM model
  runs only when asked for (--data synth or --model). The choice and the reason go to stderr.
  With --curve, the same rule picks Phase 4's results/<corpus>/models/dynamic_gru.pt.

scale and quadrants:
  valence and arousal are on the 1-9 scale of the ratings the model learned (the shipped
  predictor: the Soundtracks panel's valence and energy ratings; 5 is neutral, 1 very negative or
  calm, 9 very positive or energetic); --curve values are on the 2 Hz annotations' -1..1 scale.
  --quadrant names Russell's quadrant: Q1 positive valence and high arousal (happy, excited), Q2
  negative and high (angry, tense), Q3 negative and low (sad, gloomy), Q4 positive and low (calm,
  tender); quadrant_p is its probability, from a logistic fit of 4Q's quadrant signs to the model's
  out-of-fold outputs.

where the numbers come from:
  every row carries the model's data (the corpora it learned from), its backbone (cnn14 or
  musicnn), its weights (pretrained with the sha256 of the file, or random with the seed), the
  scale of its values and the model path. A model trained on SynthDEAM or on a random-weights
  CNN14 (or both) prints a caveat on stderr that names both facts, e.g.:
    caveat: this model was trained on SynthDEAM (synthetic music this project generates) and on
    embeddings of a CNN14 with random weights (seed 0) instead of the PANNs checkpoint:
    {nothing}.

inputs:
  files in any format librosa reads (3 s or longer); folders and patterns give their
  {suffixes} files. A file that cannot be read gets a one-line error and the others
  are still predicted.

exit status: 0 every song predicted, 1 a file failed or no model could be loaded, 2 usage error.
"""


def _positive(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer predict",
        description="Predict the valence and arousal of songs with the shipped predictor or a model 'make book' trained.",
        epilog=EPILOG.format(root=RESULTS_ROOT, nothing=NOTHING_FOR_REAL_MUSIC, suffixes=" ".join(AUDIO_SUFFIXES)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "songs", nargs="+", metavar="SONG", help="audio files, folders or glob patterns (see inputs below)"
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="descend into subfolders of folders (and ** in patterns)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="the saved model bundle (default: see 'which model' below)")
    which.add_argument(
        "--data",
        choices=tuple(DATA_FOLDERS),
        help="the best model 'make book DATA=<corpus>' saved (default: see 'which model' below)",
    )
    parser.add_argument("--segments", action="store_true",
                        help="also print the prediction of every 3-second segment (the song's row is unchanged)")
    parser.add_argument("--quadrant", action="store_true",
                        help="add the Russell quadrant (Q1-Q4) and its probability (models that learned 4Q's "
                             "quadrants)")
    parser.add_argument("--curve", action="store_true",
                        help="the 2 Hz curve of Phase 4's sequence model (time_s, valence, arousal on -1..1) instead "
                             "of one value per song")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)"
    )
    parser.add_argument("--checkpoint", help="the PANNs checkpoint, if it moved since training")
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive(0),
        default=DEFAULT_JOBS,
        help=f"threads decoding files ahead of the network (default: {DEFAULT_JOBS}; 0: decode one at a time); "
             "with a musicnn model, songs run side by side, each decoded and embedded by one thread, as many as "
             "the larger of --jobs and --threads",
    )
    parser.add_argument("--threads", type=_positive(1), default=2, help="CPU threads for the network (default: 2)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no model line (errors and caveats stay)"
    )
    return parser


def show_progress(quiet: bool, stream=None) -> bool:
    """A progress bar unless ``--quiet`` or stderr is not a terminal (a pipe or a file)."""
    stream = sys.stderr if stream is None else stream
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


def _error_line(path, exc) -> str:
    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    return f"error: {' '.join(message.split())}"


def load_model(args) -> tuple[SongModel, str]:
    """The song model the arguments ask for and why it was chosen; :class:`MerError` says what is missing."""
    path, reason = choose_model(args.model, args.data)
    bundle = load_bundle(path)
    if args.quadrant and not bundle.raw.get("quadrants"):
        from .songs import quadrant_columns

        quadrant_columns(bundle, np.zeros((1, len(bundle.targets))))  # raises the error that names a model with them
    return song_model(bundle, threads=args.threads, checkpoint=args.checkpoint), reason


def load_curve_model(args):
    """Phase 4's curve model the arguments ask for, a function from a file to its curve, and why it was chosen."""
    from ..phase4.bundle import CURVE_FILE, frame_embedder, load_curve_model as load, predict_file_curve

    path, reason = choose_model(args.model, args.data, files=(CURVE_FILE,))
    bundle = load(path)
    embed = frame_embedder(bundle, args.checkpoint)

    def curve(file):
        frame = predict_file_curve(bundle, file, embed=embed)
        return {"file": str(file), "end_s": float(frame["time_s"].iloc[-1]) if len(frame) else 0.0,
                "curve": [{"time_s": float(t), "valence": float(v), "arousal": float(a)}
                          for t, v, a in frame[["time_s", "valence", "arousal"]].itertuples(index=False)]}

    return bundle, curve, reason


def main(argv=None) -> int:
    """Entry point of ``mer predict``; returns the exit status."""
    from tqdm import tqdm

    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.curve and (args.segments or args.quadrant):
        print("error: --curve gives the 2 Hz curve of Phase 4's model; --segments and --quadrant belong to the "
              "song-level models: use one or the other", file=sys.stderr)
        return 2
    files, problems = expand_inputs(args.songs, recursive=args.recursive)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not files:
        return 1
    try:
        if args.curve:
            bundle, curve, reason = load_curve_model(args)
            outcomes = (_curve_of(curve, path) for path in files)
        else:
            # the first files are read while torch loads (a second on one core): ReadAhead
            early = ReadAhead(files) if args.jobs > 0 and len(files) > 1 else None
            try:
                with _collector_paused():
                    model, reason = load_model(args)
            finally:
                read = early.stop() if early is not None else None
            bundle = model.bundle
            outcomes = predict_files(model, files, segments=args.segments, quadrant=args.quadrant, jobs=args.jobs,
                                     read=read)
    except MerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    origin = provenance(bundle)
    if not args.quiet:
        print(f"model: {origin['model']} ({reason})", file=sys.stderr)
        print(f"model: {describe(bundle)}", file=sys.stderr)
    warning = caveat(bundle)
    if warning:
        print(warning, file=sys.stderr)
    results, failed, audio_seconds, start = [], len(problems), 0.0, time.perf_counter()
    bar = tqdm(
        total=len(files), unit="song", desc="mer predict", file=sys.stderr, disable=not show_progress(args.quiet)
    )
    try:
        with one_thread_per_operation(), _thawed_after():  # the files and patches run in parallel already
            for song, result, error in outcomes:
                if error is not None:
                    failed += 1
                    tqdm.write(_error_line(song, error), file=sys.stderr)
                else:
                    results.append({**result, **origin})
                    audio_seconds += result["end_s"]
                    bar.set_postfix_str(f"{audio_seconds / (time.perf_counter() - start):.0f}x real time",
                                        refresh=False)
                bar.update()
    except KeyboardInterrupt:
        bar.close()
        print(f"error: interrupted after {bar.n} of {len(files)} files; printing those predicted", file=sys.stderr)
        failed += 1
    bar.close()
    if args.curve:
        sys.stdout.write(format_curves(results, args.format))
    else:
        sys.stdout.write(format_results(results, model.names, args.format, args.segments, args.quadrant))
    sys.stdout.flush()
    return 1 if failed else 0


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while torch is imported and the model built; then those objects frozen
    (``gc.freeze``) and the collector back on.

    Importing torch makes some 300,000 objects, and the collector went over
    them again and again: 0.3 s of a start that is already a second on one
    core.  They live as long as the process; frozen, the collector's passes
    while the songs run visit only what the songs make.  :func:`_thawed_after`
    puts them back in its sight once the songs are done.
    """
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was:
            gc.enable()


@contextlib.contextmanager
def _thawed_after():
    """``gc.unfreeze()`` at the end of the block (see :func:`_collector_paused`)."""
    import gc

    try:
        yield
    finally:
        gc.unfreeze()


def _curve_of(curve, path):
    """``(path, result, error)`` of one file's curve, as :func:`predict_files` yields them."""
    try:
        return path, curve(path), None
    except AudioReadError as exc:
        return path, None, exc
