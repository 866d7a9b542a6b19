"""From an audio file to a song's valence and arousal with a loaded bundle: decode, embed, apply the head.

Used by: ``mer predict`` (:mod:`mer_utils.predict.cli`) and ``benchmarks/bench_predict.py``.

:func:`song_model` turns a :class:`~mer_utils.predict.bundles.Bundle` into a
:class:`SongModel` that knows its backbone's input: CNN14 hears 3-second
segments at 32 kHz (:mod:`mer_utils.phase3.embeddings`), musicnn 187-frame
log-mel patches of 16 kHz audio (:mod:`mer_utils.phase3.musicnn`); each file is
decoded once, at that rate, by the book's one decoder.  The song's embedding is
the mean of its units' embeddings, exactly as the Phase 3 pages trained the
MLP; the per-unit values (``--segments``) are the MLP applied to each unit's
embedding alone.

The backbone is the one the model was trained with: CNN14 from its checkpoint
(found by path, checked by sha256) or rebuilt from its random seed (checked by
a hash of the weights); musicnn from the weights the bundle carries.  Where the
model gives quadrant probabilities (:func:`quadrant_columns`), each row can carry
the Russell quadrant and its probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.base import short_name
from ..errors import MerError
from ..pipeline import REPO_ROOT
from .bundles import BUNDLE_FILE, Bundle

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")  # Russell: Q1 +valence +arousal, Q2 -v +a, Q3 -v -a, Q4 +v -a


def rebuild_cnn14(info: dict, checkpoint=None):
    """The CNN14 a bundle was trained with: its checkpoint (checked by sha256) or its seeded random weights."""
    from ..phase3.cnn14 import build_cnn14, load_checkpoint, pretrained_backbone, random_backbone

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


def rebuild_musicnn(bundle: Bundle, precision: str = "float32"):
    """The musicnn a bundle was trained with: from the weights it carries, or (the shipped predictor, which carries
    none) from the network it names, fetched into the cache folder if need be and checked by its sha256."""
    from ..phase3.musicnn import Musicnn, load_musicnn, tag_names
    from ..training.runtime import resolve_precision

    state = bundle.raw.get("backbone_state")
    if not state:
        from ..phase3.musicnn_wheel import NETWORKS

        name = str(bundle.backbone.get("weights") or "")
        if name not in NETWORKS:
            raise MerError(f"{bundle.path} reads musicnn embeddings but carries no musicnn weights and names none of "
                           f"{', '.join(NETWORKS)}: rebuild it with 'make book'.")
        model = load_musicnn(name, precision=precision)
        if model.sha256 != bundle.backbone.get("sha256"):
            raise MerError(f"{bundle.path} was trained on {name} with sha256 {bundle.backbone.get('sha256')}, and the "
                           f"cached {name} has sha256 {model.sha256}: delete the cache folder and run 'python -m "
                           "mer_utils fetch-musicnn'.")
        return model
    model = Musicnn(precision=resolve_precision(precision))
    model.load_state_dict(state)
    model.tag_names = tag_names(bundle.backbone.get("weights") or "MSD_musicnn.h5")
    model.sha256 = str(bundle.backbone.get("sha256") or "")
    return model.eval()


@dataclass
class SongModel:
    """What runs for one bundle: ``decode(path)`` gives the units, ``predict(units)`` the song and each unit.

    ``sr`` and ``unit_seconds`` are the backbone's; ``embed(units)`` gives the
    ``(n, dim)`` unit embeddings with the model's ``threads``.  ``embed_alone``,
    where the backbone has one (musicnn), does the same on the calling thread
    alone and may run in several threads at once: ``mer predict`` then runs
    whole songs side by side (:func:`mer_utils.predict.cli.predict_files`).
    """

    bundle: Bundle
    sr: int
    unit_seconds: float
    decode_units: object  # audio (mono at sr), name -> (n, ...) units (musicnn: SongPatches, computed when indexed);
    # raises AudioReadError when too short
    embed: object  # units -> (n, dim) embeddings
    song_units: int | None = None  # a song is heard at this many units spread over it (the bundle's); None: all
    embed_alone: object = None  # units -> embeddings on the calling thread only, safe in parallel threads; or None
    threads: int = 2  # CPU threads of embed

    def decode(self, path, native=None) -> np.ndarray:
        """Decode any file librosa reads at the backbone's rate and cut it into units (AudioReadError if it cannot).

        ``native``: the file already read at its own rate, ``(audio, rate)``
        (:func:`~mer_utils.corpus.audio.read_audio`).
        """
        from ..corpus.audio import at_rate, load_audio

        audio = load_audio(path, sr=self.sr) if native is None else at_rate(*native, self.sr)
        return self.decode_units(audio, str(path))

    def heard(self, n_units: int) -> np.ndarray:
        """The units a song of ``n_units`` is heard at (:func:`mer_utils.phase3.embeddings.spread_indices`)."""
        from ..phase3.embeddings import spread_indices

        return spread_indices(n_units, self.song_units)

    def predict(self, units, every_unit: bool = True, alone: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """``(song values (k,), unit values (n, k) or None)`` on the bundle's scale.

        The song's values come from the units it is heard at (:meth:`heard`: all
        of them unless the bundle learned from songs heard at ``song_units``);
        ``every_unit`` also gives each unit's own values (``None`` otherwise, and
        the units not heard are then not embedded at all); ``alone`` embeds with
        ``embed_alone`` (the same numbers to float rounding: other batch shapes).  An MLP bundle predicts
        the song from the mean of the heard units' embeddings; a fine-tuned
        network's song value is the mean of its units' values, as it was trained.
        """
        heard = self.heard(len(units))
        embedded = np.arange(len(units)) if every_unit else heard
        embed = self.embed_alone if alone and self.embed_alone is not None else self.embed
        values = embed(units[embedded] if len(embedded) < len(units) else units)
        song_rows = values[np.searchsorted(embedded, heard)]
        if self.bundle.finetuned:
            return song_rows.mean(axis=0), values if every_unit else None
        song = self.bundle.predict(song_rows.mean(axis=0, keepdims=True))[0]
        return song, self.bundle.predict(values) if every_unit else None

    @property
    def names(self) -> list[str]:
        return [short_name(t) for t in self.bundle.targets]


def run_precision(bundle: Bundle) -> str:
    """The precision to embed in: the bundle's ``predict_precision`` where it names one (the shipped predictor:
    trained on float32 embeddings, so that its figures do not depend on the machine that built it, and run in
    ``auto``), else float32 for a model embedded in float32, else ``auto`` (bfloat16 where the CPU computes it
    natively, float32 elsewhere: the difference is a fraction of a percent of the embedding)."""
    if bundle.embedding.get("predict_precision"):
        return str(bundle.embedding["predict_precision"])
    return "float32" if bundle.embedding.get("precision", "float32") == "float32" else "auto"


def song_model(bundle: Bundle, threads: int = 2, checkpoint=None) -> SongModel:
    """A :class:`SongModel` for ``bundle`` (``threads``: CPU threads of the backbone; ``checkpoint``: CNN14's file
    when it moved since training).  Errors name what is missing and how to get it."""
    if bundle.finetuned:
        return finetuned_song_model(bundle, threads)
    if bundle.name == "musicnn":
        from ..phase3.musicnn import PATCH_FRAMES, SR, MusicnnEmbedder, SongPatches
        from ..phase3.musicnn_embeddings import PATCH_SECONDS

        network = rebuild_musicnn(bundle, run_precision(bundle))
        embedder, alone = MusicnnEmbedder(network, n_threads=threads), MusicnnEmbedder(network, n_threads=1)
        return SongModel(bundle, SR, PATCH_SECONDS,
                         lambda audio, name: SongPatches(audio, name=name, hop_frames=PATCH_FRAMES),  # as heard
                         lambda units: embedder.run_patches(units)[0], bundle.embedding.get("patches_per_song"),
                         embed_alone=lambda units: alone.run_patches(units)[0], threads=threads)
    if bundle.name != "cnn14":
        raise MerError(f"{bundle.path}: unknown backbone '{bundle.name}'; pass a model saved by 'make book' "
                       f"(for example {BUNDLE_FILE}).")
    from ..phase3.embeddings import SEGMENT_SETTINGS, Embedder, segment_audio

    sr = int(bundle.embedding.get("sr", SEGMENT_SETTINGS["sr"]))
    seconds = float(bundle.embedding.get("segment_seconds", SEGMENT_SETTINGS["segment_seconds"]))
    embedder = Embedder(rebuild_cnn14(bundle.backbone, checkpoint), n_threads=threads,
                        precision=run_precision(bundle))
    return SongModel(bundle, sr, seconds, lambda audio, name: segment_audio(audio, sr=sr, seconds=seconds, name=name),
                     embedder.embed_segments)


def finetuned_song_model(bundle: Bundle, threads: int = 2) -> SongModel:
    """A fine-tuned network (:mod:`mer_utils.phase3.finetune_models`) as a :class:`SongModel`: the same patches
    and segments as its training, its own outputs per unit (its ``embed`` gives values, not embeddings)."""
    from ..phase3.finetune_models import clip_inputs, predict_inputs, sample_rate
    from ..training.runtime import torch_threads

    name = bundle.name
    loaded = (bundle.model, bundle.raw)
    seconds = float(bundle.embedding["segment_seconds"])

    def values(units):
        with torch_threads(threads):
            return predict_inputs(loaded, units)

    return SongModel(bundle, sample_rate(name), seconds, lambda audio, clip: clip_inputs(name, audio, clip), values)


# --------------------------------------------------------------------------- quadrants


def quadrant_columns(bundle: Bundle, values: np.ndarray) -> dict:
    """Russell quadrant and its probability for rows of (valence, arousal), from the bundle's quadrant fit.

    The bundle's ``quadrants`` entry holds, per target, a logistic fit of the
    sign of 4Q's quadrants on the model's own output (``p = 1 / (1 + exp(-(a +
    b x)))``); the quadrant probabilities are the products of the two, as if
    independent, and a row gets the most probable quadrant with its probability.
    Returns ``{"quadrant": [...], "quadrant_p": [...]}``; a bundle without the
    fit raises :class:`MerError` saying which model has one.
    """
    fit = bundle.raw.get("quadrants")
    if not fit:
        raise MerError(f"{bundle.path} gives no quadrant probabilities: only a model that learned 4Q's quadrants "
                       "has them (the predictor of 'make book DATA=soundtracks ... FOURQ_DIR=<dir>'; --data "
                       "soundtracks picks it).")
    names = [short_name(t) for t in bundle.targets]
    values = np.atleast_2d(np.asarray(values, dtype=float))
    p = {}
    for name in ("valence", "arousal"):
        a, b = float(fit[name]["intercept"]), float(fit[name]["slope"])
        p[name] = 1.0 / (1.0 + np.exp(-(a + b * values[:, names.index(name)])))
    pv, pa = p["valence"], p["arousal"]
    table = np.stack([pv * pa, (1 - pv) * pa, (1 - pv) * (1 - pa), pv * (1 - pa)], axis=1)
    best = table.argmax(axis=1)
    return {"quadrant": [QUADRANTS[k] for k in best], "quadrant_p": table[np.arange(len(best)), best].tolist()}
