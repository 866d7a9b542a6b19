"""Predict the valence and arousal of any song with the model the book trained, saying where the numbers come from.

Used by: ``mer predict`` (the command line), after ``notebooks/phase3_panns.py`` saved the model;
measured by ``benchmarks/bench_predict.py``.

``python -m mer_utils predict SONG|FOLDER|PATTERN ...`` (also ``mer predict``)
loads the EmotionMLP bundle that ``notebooks/phase3_panns.py`` saves during
``make book``, rebuilds its CNN14 (the checkpoint it was trained with, or the
same seeded random weights), embeds each song's 3-second segments and prints
valence and arousal on the 1..9 scale (``mer predict --help`` has examples).

Which model (:func:`choose_model`): ``--model PATH``; else ``--data synth|deam``
(``results/synthdeam/...`` or ``results/deam/models/emotion_mlp.pt``); else the
most recently written ``results/*/models/emotion_mlp.pt`` of this repository,
i.e. the model of the latest ``make book``.  Every output row carries the
model's ``data`` (synthdeam or deam, read from the bundle), its ``backbone``
(pretrained or random) and the ``model`` path, and a model trained on SynthDEAM
or on a random-weights CNN14 prints a caveat on stderr (:func:`caveat`).

Inputs (:func:`expand_inputs`): files (any format librosa reads), folders
(their audio files; ``-r`` descends) and glob patterns.  Files are decoded by
a small thread pool (``--jobs``) while the network embeds the previous ones
(:func:`predict_files`); a progress bar runs on stderr when it is a terminal.
A song's prediction comes from its mean segment embedding, exactly as in
training; ``--segments`` adds the MLP applied to each segment on its own.  The
table, CSV and JSON outputs have the same columns (:data:`COLUMNS`).  A file
that cannot be read or is too short gets a one-line error on stderr and the
other songs are still predicted.  Exit status: 0 when every song was predicted,
1 when any failed (or no model could be loaded), 2 for a usage error.

The bundle (:func:`save_bundle`, :func:`load_bundle`) is a file in the book's
one model-file format (:mod:`mer_utils.training.modelfile`).
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.audio import decoded_ahead
from ..corpus.deam import AUDIO_SUFFIXES as CORPUS_AUDIO_SUFFIXES
from ..corpus.base import short_name
from ..errors import AudioReadError, MerError
from ..pipeline import REPO_ROOT

RESULTS_ROOT = REPO_ROOT / "results"  # where 'make book' writes results/<data>/models/emotion_mlp.pt
BUNDLE_FILE = Path("models") / "emotion_mlp.pt"
MUSICNN_BUNDLE_FILE = Path("models") / "emotion_mlp_musicnn.pt"  # the musicnn page's MLP (the Real music chapter)
DATA_FOLDERS = {"synth": "synthdeam", "deam": "deam"}  # --data (the Makefile's DATA) -> results/<folder>
AUDIO_SUFFIXES = (*CORPUS_AUDIO_SUFFIXES, ".m4a")  # taken from folders and patterns: the corpus formats and m4a
DEFAULT_JOBS = 2  # decoding threads: the machines the book is built on have 2 cores
# One row per song (and per segment with --segments), the same columns in the table, the CSV and the JSON;
# the targets' short names (valence, arousal) follow.
COLUMNS = ("file", "level", "start_s", "end_s", "segments", "data", "backbone", "model")
NOTHING_FOR_REAL_MUSIC = "its values test the pipeline and mean nothing for real music"


# --------------------------------------------------------------------------- the bundle


def save_bundle(path, mlp, backbone_info: dict, embedding_settings: dict, extra: dict | None = None) -> Path:
    """Save a trained EmotionMLP and everything ``mer predict`` needs to ``path``, atomically.

    ``mlp`` is a :class:`mer_utils.training.mlp.MlpResult`; ``backbone_info`` is
    :meth:`~mer_utils.phase3.cnn14.Backbone.info` and ``embedding_settings`` is
    :attr:`~mer_utils.phase3.embeddings.Embedder.settings`.  The file is the
    book's one model-file format (:mod:`mer_utils.training.modelfile`) with,
    besides the weights and both scalers, ``backbone`` (kind "pretrained" or
    "random", the checkpoint with its absolute path and sha256, or the seed and
    a hash of the weights, the CNN14 settings) and ``embedding`` (sr,
    segment_seconds, precision, output), plus anything in ``extra``.
    """
    from ..training.modelfile import write_model_file

    return write_model_file(
        path,
        mlp.model,
        "EmotionMLP",
        target_scaler=mlp.target_scaler,
        targets=mlp.target_names,
        settings=dict(mlp.settings),
        feature_scaler=mlp.feature_scaler,
        model_kwargs={"in_features": int(mlp.settings["in_features"]), "outputs": int(mlp.settings["outputs"])},
        extra={"backbone": dict(backbone_info), "embedding": dict(embedding_settings), **(extra or {})},
    )


def save_page_model(backbone, results_dir, mlp, embedding_settings: dict, extra: dict | None = None) -> str:
    """Save a Phase 3 page's MLP and say where: CNN14's for ``mer predict``, musicnn's for the Real music chapter.

    ``backbone`` is a :class:`mer_utils.phase3.backbones.Phase3Backbone`.  ``mer predict``
    rebuilds CNN14 only, so musicnn's model goes to :data:`MUSICNN_BUNDLE_FILE`, which it never picks.
    """
    info = {**backbone.info(), "name": backbone.name}
    if backbone.name != "cnn14":
        path = save_bundle(Path(results_dir) / MUSICNN_BUNDLE_FILE, mlp, info, embedding_settings, extra)
        return (f"Saved to `{path}`, where the Real music chapter finds it. `mer predict` runs the CNN14 model "
                "(the CNN14 page), not this one.")
    path = save_bundle(Path(results_dir) / BUNDLE_FILE, mlp, info, embedding_settings, extra)
    return f"Saved to `{path}`. Predict new songs with `python -m mer_utils predict SONG.mp3 --model {path}`."


@dataclass
class Bundle:
    """A loaded bundle: the MLP in eval mode, its scalers and how to rebuild its backbone."""

    path: Path
    model: object
    feature_scaler: object
    target_scaler: object
    targets: list[str]
    backbone: dict
    embedding: dict
    raw: dict

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        from ..training.mlp import predict_mlp

        return predict_mlp(self.model, self.feature_scaler, self.target_scaler, embeddings)


def load_bundle(path) -> Bundle:
    """Read a file written by :func:`save_bundle`; a missing or foreign file raises :class:`MerError`."""
    from ..training.modelfile import read_model_file, scaler_from_dict

    path = Path(path)
    if not path.is_file():
        raise MerError(
            f"model file {path} not found: run 'make book' first (Phase 3 trains the EmotionMLP and saves it "
            "there), or pass --model PATH."
        )
    model, raw = read_model_file(path, device="cpu")
    if raw["model"] != "EmotionMLP" or "backbone" not in raw or "feature_scaler" not in raw:
        raise MerError(
            f"{path} is not an EmotionMLP bundle saved by the book's Phase 3: pass the emotion_mlp.pt that "
            "'make book' writes under results/<data>/models/."
        )
    return Bundle(
        path=path,
        model=model,
        feature_scaler=scaler_from_dict(raw["feature_scaler"]),
        target_scaler=scaler_from_dict(raw["target_scaler"]),
        targets=list(raw["target_scaler"]["targets"]),
        backbone=dict(raw["backbone"]),
        embedding=dict(raw["embedding"]),
        raw=raw,
    )


def rebuild_backbone(info: dict, checkpoint=None):
    """The CNN14 a bundle was trained with: its checkpoint (checked by sha256) or its seeded random weights."""
    from .cnn14 import build_cnn14, load_checkpoint, pretrained_backbone, random_backbone

    if info.get("name", "cnn14") != "cnn14":
        raise MerError(f"this model reads {info['name']} embeddings, and `mer predict` runs CNN14 models only: pass "
                       f"the {BUNDLE_FILE.name} that 'make book' writes under results/<data>/models/.")

    if info["kind"] == "random":
        backbone = random_backbone(int(info["seed"]))
        if info.get("fingerprint") and backbone.fingerprint != info["fingerprint"]:
            raise MerError(
                f"the random CNN14 rebuilt from seed {info['seed']} differs from the one the model was trained with "
                f"(weights hash {backbone.fingerprint}, expected {info['fingerprint']}): torch's random generator "
                "changed (another torch version?). Retrain with 'make book' in this environment."
            )
        return backbone
    candidates = [checkpoint] if checkpoint else [info.get("checkpoint"), info.get("checkpoint_abs")]
    if info.get("checkpoint"):
        candidates.append(str(REPO_ROOT / info["checkpoint"]))
    found = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if found is None:
        raise MerError(
            f"the PANNs checkpoint this model was trained with ({info.get('checkpoint')}) is not there: put "
            "Cnn14_mAP=0.431.pth back (make weights) or pass --checkpoint PATH."
        )
    model = build_cnn14()
    loaded = load_checkpoint(model, found)
    if info.get("sha256") and loaded["sha256"] != info["sha256"]:
        raise MerError(
            f"checkpoint {found} (sha256 {loaded['sha256'][:12]}...) is not the one this model was trained with "
            f"(sha256 {info['sha256'][:12]}...): pass the right file with --checkpoint."
        )
    return pretrained_backbone(model, found, loaded["sha256"])


# --------------------------------------------------------------------------- which model, and what it is


def bundle_path_for(data: str, results_root=None) -> Path:
    """Where ``make book DATA=<data>`` saves the model: ``results/<synthdeam|deam>/models/emotion_mlp.pt``."""
    return Path(results_root or RESULTS_ROOT) / DATA_FOLDERS[data] / BUNDLE_FILE


def choose_model(model=None, data: str | None = None, results_root=None) -> tuple[Path, str]:
    """The bundle to predict with and why: ``(path, reason)``.

    ``model`` (``--model``) wins; else ``data`` (``--data synth|deam``) names
    ``results/<synthdeam|deam>/models/emotion_mlp.pt``; else the most recently
    written ``results/*/models/emotion_mlp.pt`` under ``results_root`` (the
    repository's ``results/``), which is the model of the latest ``make book``
    that trained one.  No bundle there raises :class:`MerError` naming the path
    looked for and saying to run ``make book``.
    """
    root = Path(results_root or RESULTS_ROOT)
    if model is not None:
        return Path(model), "--model"
    if data is not None:
        path = bundle_path_for(data, root)
        if not path.is_file():
            make = "make book" if data == "synth" else "make book DATA=deam DEAM_DIR=<dir>"
            raise MerError(
                f"no model trained on {DATA_FOLDERS[data]}: {path} not found. Run '{make}' first (Phase 3 saves "
                "the model there), or pass --model PATH."
            )
        return path, f"--data {data}"
    found = sorted(root.glob(f"*/{BUNDLE_FILE.as_posix()}"), key=lambda p: (p.stat().st_mtime_ns, str(p)))
    if not found:
        raise MerError(
            f"no trained model found: looked for {root / '*' / BUNDLE_FILE}. Run 'make book' first (Phase 3 saves "
            "the model there), or pass --model PATH."
        )
    reason = "the most recently written of results/*/models/emotion_mlp.pt (the latest 'make book')"
    if len(found) > 1:
        reason += f"; {len(found) - 1} other(s): pick one with --data synth|deam"
    return found[-1], reason


def display_path(path) -> str:
    """``path`` relative to the working folder when it lies inside it, else absolute."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def provenance(bundle: Bundle) -> dict:
    """What every output row says about its model: ``data`` (synthdeam, deam or unknown), ``backbone``, ``model``."""
    return {
        "data": str(bundle.raw.get("data") or "unknown"),
        "backbone": str(bundle.backbone.get("kind") or "unknown"),
        "model": display_path(bundle.path),
    }


def caveat(bundle: Bundle) -> str | None:
    """The warning for a model that says nothing about real music, naming every reason; ``None`` otherwise.

    A model trained on SynthDEAM, on embeddings of a random-weights CNN14, or
    both: the sentence names both facts when both hold.
    """
    reasons = []
    if bundle.raw.get("data") == "synthdeam":
        reasons.append("on SynthDEAM (synthetic music this project generates)")
    if bundle.backbone.get("kind") == "random":
        reasons.append(
            f"on embeddings of a CNN14 with random weights (seed {bundle.backbone.get('seed')}) instead of the "
            "PANNs checkpoint"
        )
    if not reasons:
        return None
    return f"caveat: this model was trained {' and '.join(reasons)}: {NOTHING_FOR_REAL_MUSIC}."


# --------------------------------------------------------------------------- inputs


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def _audio_in(folder: Path, recursive: bool) -> list[Path]:
    """The audio files of ``folder`` (and of its subfolders with ``recursive``), sorted; hidden files skipped."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in candidates
        if p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )


def expand_inputs(items, recursive: bool = False) -> tuple[list[Path], list[str]]:
    """Files to predict from command-line inputs, in order and without repeats, and one message per empty input.

    A folder gives its audio files (:data:`AUDIO_SUFFIXES`; with
    ``recursive``, those of its subfolders too).  A pattern with ``*``, ``?`` or
    ``[`` that names no existing file is expanded here (``**`` spans folders
    with ``recursive``): the audio files it matches, and the audio files of
    the folders it matches.  Anything else is taken as a file, whatever its
    suffix (a missing one is reported when it is decoded).
    """
    files, problems, seen = [], [], set()
    for item in map(str, items):
        path = Path(item)
        if path.is_dir():
            found = _audio_in(path, recursive)
            if not found:
                hint = "" if recursive else "; add -r to look in its subfolders"
                problems.append(f"{item}: no audio file ({' '.join(AUDIO_SUFFIXES)}) in this folder{hint}")
        elif not path.exists() and _is_pattern(item):
            found = []
            for match in sorted(glob.glob(item, recursive=recursive)):
                match = Path(match)
                if match.is_dir():
                    found += _audio_in(match, recursive)
                elif match.suffix.lower() in AUDIO_SUFFIXES:
                    found.append(match)
            if not found:
                problems.append(f"{item}: no audio file ({' '.join(AUDIO_SUFFIXES)}) matches this pattern")
        else:
            found = [path]
        for file in found:
            key = os.path.normpath(os.path.abspath(file))
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, problems


# --------------------------------------------------------------------------- predicting


def predict_segments(bundle: Bundle, embedder, segments: np.ndarray, path, curve: bool = False) -> dict:
    """One song's result from its ``(n, samples)`` segments: :data:`COLUMNS` (less provenance) and the targets.

    With ``curve``, ``"curve"`` lists every segment's ``start_s``, ``end_s``
    and targets (the MLP applied to that segment's embedding alone).
    """
    values = embedder.embed_segments(segments)
    song = bundle.predict(values.mean(axis=0, keepdims=True))[0]
    seconds = float(bundle.embedding.get("segment_seconds", 3.0))
    names = [short_name(t) for t in bundle.targets]
    result = {
        "file": str(path),
        "level": "song",
        "start_s": 0.0,
        "end_s": len(values) * seconds,
        "segments": int(len(values)),
        **{n: float(v) for n, v in zip(names, song)},
    }
    if curve:
        result["curve"] = [
            {"start_s": k * seconds, "end_s": (k + 1) * seconds, **{n: float(v) for n, v in zip(names, row)}}
            for k, row in enumerate(bundle.predict(values))
        ]
    return result


def _decoder(bundle: Bundle):
    """Path -> ``(n, samples)`` segments at the bundle's rate and segment length (raises :class:`AudioReadError`)."""
    from ..corpus.audio import load_audio
    from .embeddings import SEGMENT_SETTINGS, segment_audio

    sr = int(bundle.embedding.get("sr", SEGMENT_SETTINGS["sr"]))
    seconds = float(bundle.embedding.get("segment_seconds", SEGMENT_SETTINGS["segment_seconds"]))

    def decode(path):
        return segment_audio(load_audio(path, sr=sr), sr=sr, seconds=seconds, name=str(path))

    return decode


def predict_file(bundle: Bundle, embedder, path, segments: bool = False) -> dict:
    """One song, decoded here and now (see :func:`predict_segments` for the result)."""
    return predict_segments(bundle, embedder, _decoder(bundle)(path), path, curve=segments)


def predict_files(bundle: Bundle, embedder, paths, segments: bool = False, jobs: int = DEFAULT_JOBS):
    """Yield ``(path, result, error)`` for each file in order; ``error`` is the :class:`AudioReadError` or ``None``.

    ``jobs`` threads decode (soundfile and soxr release the GIL) up to
    ``2 * jobs`` files ahead of the network, so decoding overlaps embedding and
    memory stays bounded; ``jobs=0`` decodes each file in the calling thread
    just before embedding it (the sequential way, kept for comparison).
    """
    decode = _decoder(bundle)
    paths = list(paths)
    if jobs <= 0:
        for path in paths:
            try:
                segs = decode(path)
            except AudioReadError as exc:
                yield path, None, exc
                continue
            yield path, predict_segments(bundle, embedder, segs, path, curve=segments), None
        return
    for path, future in decoded_ahead(decode, paths, workers=jobs, ahead=2 * jobs):
        try:
            segs = future.result()
        except AudioReadError as exc:
            yield path, None, exc
            continue
        yield path, predict_segments(bundle, embedder, segs, path, curve=segments), None
        del segs


# --------------------------------------------------------------------------- output


def output_columns(names: list[str]) -> list[str]:
    """The columns of every format: :data:`COLUMNS`, then the targets (``valence``, ``arousal``)."""
    return [*COLUMNS, *names]


def _rows(results: list[dict], names: list[str], segments: bool) -> list[dict]:
    """Rows with :func:`output_columns`: one per song (``level`` "song"), with ``segments`` one per segment too."""
    columns = output_columns(names)
    rows = []
    for result in results:
        song = {c: result[c] for c in columns}
        rows.append(song)
        if segments:
            rows.extend({**song, "level": "segment", "segments": 1, **point} for point in result["curve"])
    return rows


def format_results(results: list[dict], names: list[str], fmt: str, segments: bool) -> str:
    """Render predictions as a text table, CSV or JSON, with the same columns (:func:`output_columns`) in each.

    JSON is a list of song objects; with ``segments`` each also holds its
    ``curve`` (the segment rows' times and values).
    """
    columns = output_columns(names)
    if fmt == "json":
        songs = [{c: r[c] for c in columns} | ({"curve": r["curve"]} if segments else {}) for r in results]
        return json.dumps(songs, indent=2) + "\n"
    song_rows = _rows(results, names, segments)
    if fmt == "csv":
        import csv

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in song_rows:
            writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
        return out.getvalue()
    if not song_rows:
        return ""
    return _table(song_rows, columns, names)


def _table(rows: list[dict], columns: list[str], names: list[str]) -> str:
    """Aligned text; a segment row leaves file and provenance blank (they are the song row's above)."""
    headers = {c: (f"{c} (1-9)" if c in names else c) for c in columns}
    blank_on_segments = {"file", "data", "backbone", "model"}

    def cell(row, column):
        value = row[column]
        if row["level"] == "segment" and column in blank_on_segments:
            return ""
        if column in names:
            return f"{value:.2f}"
        return f"{value:g}" if isinstance(value, float) else str(value)

    cells = [[cell(row, c) for c in columns] for row in rows]
    widths = [max(len(headers[c]), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    right = {c for c in columns if c in names or c in ("start_s", "end_s", "segments")}

    def line(values):
        return "  ".join(
            f"{v:>{w}}" if c in right else f"{v:<{w}}" for v, w, c in zip(values, widths, columns)
        ).rstrip()

    return "\n".join([line([headers[c] for c in columns]), *(line(r) for r in cells)]) + "\n"


# --------------------------------------------------------------------------- the command line

EPILOG = """\
examples:
  mer predict song.mp3 other.wav                 a table on stdout, one row per song
  mer predict music/ -r                          every audio file under music/, subfolders included
  mer predict 'albums/*/*.flac'                  a glob pattern (quote it; ** spans folders with -r)
  mer predict --segments song.mp3                the 3-second curve as well
  mer predict -r music/ --format csv > va.csv    or --format json; the same columns in every format
  mer predict --data deam song.mp3               the model 'make book DATA=deam' trained

which model:
  --model PATH; else --data synth|deam, i.e. results/synthdeam/ or results/deam/models/emotion_mlp.pt;
  else the most recently written results/*/models/emotion_mlp.pt of this repository ({root}),
  which is the model of the latest 'make book'. The choice is printed on stderr.

where the numbers come from:
  every row carries the model's data (synthdeam or deam), its backbone (pretrained CNN14 or random
  weights) and the model path. A model trained on SynthDEAM or on a random-weights CNN14 (or both)
  prints a caveat on stderr that names both facts, e.g.:
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
        description="Predict valence and arousal (1..9 scale) of songs with the EmotionMLP that 'make book' trained.",
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
        help="the model 'make book DATA=synth|deam' trained (default: the latest one written)",
    )
    parser.add_argument("--segments", action="store_true", help="also print the prediction of every 3-second segment")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)"
    )
    parser.add_argument("--checkpoint", help="the PANNs checkpoint, if it moved since training")
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive(0),
        default=DEFAULT_JOBS,
        help=f"threads decoding files ahead of the network (default: {DEFAULT_JOBS}; 0: decode one at a time)",
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


def main(argv=None) -> int:
    """Entry point of ``mer predict``; returns the exit status."""
    from tqdm import tqdm

    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    files, problems = expand_inputs(args.songs, recursive=args.recursive)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not files:
        return 1
    try:
        from .embeddings import Embedder

        path, reason = choose_model(args.model, args.data)
        bundle = load_bundle(path)
        backbone = rebuild_backbone(bundle.backbone, args.checkpoint)
        embedder = Embedder(backbone, n_threads=args.threads, precision=bundle.embedding.get("precision", "float32"))
    except MerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    origin = provenance(bundle)
    if not args.quiet:
        print(
            f"model: {origin['model']} (data {origin['data']}, backbone {origin['backbone']}; {reason})",
            file=sys.stderr,
        )
    warning = caveat(bundle)
    if warning:
        print(warning, file=sys.stderr)
    names = [short_name(t) for t in bundle.targets]
    results, failed, audio_seconds, start = [], len(problems), 0.0, time.perf_counter()
    bar = tqdm(
        total=len(files), unit="song", desc="mer predict", file=sys.stderr, disable=not show_progress(args.quiet)
    )
    try:
        for song, result, error in predict_files(bundle, embedder, files, segments=args.segments, jobs=args.jobs):
            if error is not None:
                failed += 1
                tqdm.write(_error_line(song, error), file=sys.stderr)
            else:
                results.append({**result, **origin})
                audio_seconds += result["end_s"]
                bar.set_postfix_str(f"{audio_seconds / (time.perf_counter() - start):.0f}x real time", refresh=False)
            bar.update()
    except KeyboardInterrupt:
        bar.close()
        print(f"error: interrupted after {bar.n} of {len(files)} files; printing those predicted", file=sys.stderr)
        failed += 1
    bar.close()
    sys.stdout.write(format_results(results, names, args.format, args.segments))
    sys.stdout.flush()
    return 1 if failed else 0
