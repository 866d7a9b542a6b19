"""Predict the valence and arousal of any song with the model the book trained.

Used by: ``mer predict`` (the command line), after ``notebooks/phase3_panns.py`` saved the model.

``python -m mer_utils predict SONG [SONG ...]`` (also ``mer predict``) loads the
EmotionMLP bundle that ``notebooks/phase3_panns.py`` saves during ``make book``
(default ``results/synthdeam/models/emotion_mlp.pt``), rebuilds its CNN14 (the
checkpoint it was trained with, or the same seeded random weights), embeds each
song's 3-second segments and prints valence and arousal on the 1..9 scale::

    mer predict song.mp3 other.wav                 # a table, one row per song
    mer predict --segments song.mp3                # the 3-second curve as well
    mer predict --format csv *.flac > out.csv      # or --format json

A song's prediction comes from its mean segment embedding, exactly as in
training; ``--segments`` adds the MLP applied to each segment on its own.  Any
format librosa reads works, mono or stereo, any length from 3 s up.  A file
that cannot be read or is too short gets a one-line error on stderr and the
other songs are still predicted.  Exit status: 0 when every song was predicted,
1 when any failed (or the model could not be loaded), 2 for a usage error.

The bundle (:func:`save_bundle`, :func:`load_bundle`) is a file in the book's
one model-file format (:mod:`mer_utils.training.modelfile`).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.deam import short_name
from ..errors import AudioReadError, MerError
from ..pipeline import REPO_ROOT

DEFAULT_MODEL = "results/synthdeam/models/emotion_mlp.pt"


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

    if info["kind"] == "random":
        backbone = random_backbone(int(info["seed"]))
        if info.get("fingerprint") and backbone.fingerprint != info["fingerprint"]:
            raise MerError(
                f"the random CNN14 rebuilt from seed {info['seed']} differs from the one the model was trained with "
                f"(weights hash {backbone.fingerprint}, expected {info['fingerprint']}): torch's random generator changed "
                "(another torch version?). Retrain with 'make book' in this environment."
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


# --------------------------------------------------------------------------- predicting


def predict_file(bundle: Bundle, embedder, path, segments: bool = False) -> dict:
    """One song: ``{"file", "seconds", "segments", <target>: value, ...}``; with ``segments``, the per-segment curve."""
    values = embedder.embed_file(path)
    song = bundle.predict(values.mean(axis=0, keepdims=True))[0]
    seconds = float(bundle.embedding.get("segment_seconds", 3.0))
    result = {"file": str(path), "segments": int(len(values)), "seconds_analysed": len(values) * seconds}
    result.update({short_name(t): float(v) for t, v in zip(bundle.targets, song)})
    if segments:
        per_segment = bundle.predict(values)
        result["curve"] = [
            {
                "start_s": k * seconds,
                "end_s": (k + 1) * seconds,
                **{short_name(t): float(v) for t, v in zip(bundle.targets, row)},
            }
            for k, row in enumerate(per_segment)
        ]
    return result


def _rows(results: list[dict], names: list[str], segments: bool) -> list[dict]:
    """Flat rows: one per song (``level`` "song") and, with ``segments``, one per segment."""
    rows = []
    for result in results:
        rows.append(
            {
                "file": result["file"],
                "level": "song",
                "start_s": 0.0,
                "end_s": result["seconds_analysed"],
                **{n: result[n] for n in names},
            }
        )
        if segments:
            for point in result["curve"]:
                rows.append(
                    {
                        "file": result["file"],
                        "level": "segment",
                        "start_s": point["start_s"],
                        "end_s": point["end_s"],
                        **{n: point[n] for n in names},
                    }
                )
    return rows


def format_results(results: list[dict], names: list[str], fmt: str, segments: bool) -> str:
    """Render predictions as a text table, CSV or JSON."""
    if fmt == "json":
        return json.dumps(results, indent=2) + "\n"
    rows = _rows(results, names, segments)
    if fmt == "csv":
        import csv

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["file", "level", "start_s", "end_s", *names], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
        return out.getvalue()
    if not rows:
        return ""
    width = max(len("file"), *(len(r["file"]) for r in rows if r["level"] == "song"))
    spans = [
        f"{r['start_s']:g}-{r['end_s']:g} s" + (" (song)" if segments and r["level"] == "song" else "") for r in rows
    ]
    span_width = max(len("seconds"), *(len(s) for s in spans))
    lines = [f"{'file':<{width}}  {'seconds':<{span_width}}  " + "  ".join(f"{n + ' (1-9)':>14}" for n in names)]
    for row, span in zip(rows, spans):
        label = row["file"] if row["level"] == "song" else ""
        lines.append(f"{label:<{width}}  {span:<{span_width}}  " + "  ".join(f"{row[n]:14.2f}" for n in names))
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mer predict",
        description="Predict valence and arousal (1..9 scale) of songs with the EmotionMLP that 'make book' trained.",
    )
    parser.add_argument("songs", nargs="+", metavar="SONG", help="audio files (anything librosa reads; 3 s or longer)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"the saved model bundle (default: {DEFAULT_MODEL})")
    parser.add_argument("--segments", action="store_true", help="also print the prediction of every 3-second segment")
    parser.add_argument(
        "--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)"
    )
    parser.add_argument("--checkpoint", help="the PANNs checkpoint, if it moved since training")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the network (default: 2)")
    return parser


def _model_path(text: str) -> Path:
    path = Path(text)
    if not path.exists() and not path.is_absolute() and text == DEFAULT_MODEL and (REPO_ROOT / path).exists():
        return REPO_ROOT / path  # the default, run from outside the repository
    return path


def main(argv=None) -> int:
    """Entry point of ``mer predict``; returns the exit status."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.threads < 1:
        print("error: --threads must be 1 or more", file=sys.stderr)
        return 2
    try:
        from .embeddings import Embedder

        bundle = load_bundle(_model_path(args.model))
        backbone = rebuild_backbone(bundle.backbone, args.checkpoint)
        embedder = Embedder(backbone, n_threads=args.threads, precision=bundle.embedding.get("precision", "float32"))
    except MerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if backbone.is_random:
        print(
            f"note: this model was trained on embeddings of a CNN14 with random weights (seed {backbone.seed}) on "
            f"{bundle.raw.get('data', 'unknown data')}: a pipeline check, not a PANNs model.",
            file=sys.stderr,
        )
    elif bundle.raw.get("data") == "synthdeam":
        print(
            "note: this model was trained on SynthDEAM (synthetic music): a pipeline check, not a model of real music.",
            file=sys.stderr,
        )
    names = [short_name(t) for t in bundle.targets]
    results, failed = [], 0
    for song in args.songs:
        try:
            results.append(predict_file(bundle, embedder, song, segments=args.segments))
        except AudioReadError as exc:
            failed += 1
            message = str(exc) if str(song) in str(exc) else f"{song}: {exc}"
            print(f"error: {' '.join(message.split())}", file=sys.stderr)
    sys.stdout.write(format_results(results, names, args.format, args.segments))
    sys.stdout.flush()
    return 1 if failed else 0
