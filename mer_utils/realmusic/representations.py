"""The book's four representations of a song, computed on the 4Q clips and cached per song.

Used by: ``notebooks/real_music.py`` (:func:`compute_representations`) and the predictor
(:func:`musicnn`, through :mod:`mer_utils.predict.fusion`).

* ``features``: the report's 386 handcrafted features
  (:mod:`mer_utils.phase1.features`, clips at 22,050 Hz);
* ``cnn14``: the 2048-d CNN14 embedding averaged over 3-second segments
  (:mod:`mer_utils.phase3.embeddings`): the pretrained PANNs checkpoint when it
  is there, otherwise a CNN14 with seeded random weights, labelled as such
  wherever it appears, since random convolutions are a baseline and not PANNs;
* ``musicnn``: the 200-d musicnn (MSD) embedding averaged over its 3-second
  patches (:mod:`mer_utils.phase3.musicnn_embeddings`), when its weights are there;
* ``musicnn_mtt``: the same network trained on MagnaTagATune's 50 tags instead
  (``MTT_musicnn``, which ``make venv`` unpacks from the musicnn wheel beside MSD's),
  a second pretrained embedding of the same size and architecture, so "which
  embedding" is asked of two pretrained ones as well as of the random CNN14 and
  the handcrafted features.

``MUSICNN_WEIGHTS`` chooses the file of one musicnn network (MSD's unless its
name starts with ``MTT``); the other comes from its name in the cache folder
(:data:`NETWORKS`), and either is left out, with the reason, when it is not there.
The two never share vectors: the musicnn cache is keyed by the weights' sha256.

Each comes from the same per-song caches as the rest of the book (under the
page's ``cache_dir``), so a rebuild decodes nothing.  A clip one
representation cannot use (corrupt, too short) is reported; the comparisons
use only the songs every representation has, so they are paired.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..cache import SKIP_COLUMNS
from ..errors import MerError
from .corpus import FourQCorpus

KEYS = ("features", "cnn14", "musicnn", "musicnn_mtt")
# each musicnn representation: its key, its label, and its network's name in the cache folder
# (mer_utils.phase3.musicnn_wheel.NETWORKS)
NETWORKS = {"musicnn": ("musicnn (MSD)", "MSD_musicnn"), "musicnn_mtt": ("musicnn (MTT)", "MTT_musicnn")}


@dataclass
class Representation:
    """One representation of the 4Q songs.

    ``frame`` is indexed by 4Q name (one row per song it covers); ``kind`` is
    ``"handcrafted"``, ``"pretrained"`` or ``"random"``; ``note`` says in one
    sentence where the vectors came from and how much was computed now;
    ``skipped`` lists songs it could not use (``song``, ``kind``, ``reason``).
    """

    key: str
    label: str
    kind: str
    frame: pd.DataFrame
    note: str
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["song", "kind", "reason"]))
    every_patch: pd.DataFrame | None = None  # musicnn heard at fewer patches: the same songs heard at every patch

    @property
    def dims(self) -> int:
        return int(self.frame.shape[1])


@dataclass
class LeftOut:
    """A representation that could not be computed on this run, and why (e.g. no musicnn weights)."""

    key: str
    label: str
    reason: str


def _named_skips(corpus: FourQCorpus, skipped: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(skipped, columns=SKIP_COLUMNS)
    return pd.DataFrame({"song": corpus.names(frame["song_id"]), "kind": frame["kind"].tolist(),
                         "reason": frame["reason"].tolist()})


def handcrafted(corpus: FourQCorpus, cache_dir, n_jobs: int | None = None, progress: bool = True) -> Representation:
    """The 386 features of every clip (:func:`mer_utils.phase1.features.extract_features`)."""
    import time

    from ..phase1.features import extract_features

    start = time.perf_counter()
    table = extract_features(corpus, cache_dir, n_jobs=n_jobs, progress=progress)
    seconds = time.perf_counter() - start
    note = (f"386 handcrafted features of {len(table.frame)} clips (the report's Phase 1 set, clips at 22,050 Hz), "
            f"ready in {seconds:.0f} s from {table.folder}.")
    return Representation("features", "386 features", "handcrafted", corpus.by_name(table.frame), note,
                          _named_skips(corpus, table.skipped))


def cnn14(corpus: FourQCorpus, cache_dir, checkpoint=None, random_backbone: bool = False, seed: int = 42,
          batch_size: int | None = None, n_threads: int | None = None, precision: str | None = None,
          progress: bool = True):
    """CNN14 song embeddings; returns ``(Representation, Backbone)``.

    ``checkpoint`` ``None`` means :data:`mer_utils.phase3.cnn14.DEFAULT_CHECKPOINT`.
    Where it is missing, or ``random_backbone`` is true, the CNN14 has seeded random
    weights and the label says so (the page shows :meth:`Backbone.banner`).
    """
    from ..phase3.cnn14 import DEFAULT_CHECKPOINT, load_backbone
    from ..phase3.embeddings import embed_corpus

    backbone = load_backbone(checkpoint or DEFAULT_CHECKPOINT, allow_random=True, seed=seed,
                             force_random=bool(random_backbone))
    embedded = embed_corpus(corpus, cache_dir, backbone, batch_size=batch_size, n_threads=n_threads,
                            precision=precision, progress=progress)
    label = "CNN14 (random weights)" if backbone.is_random else "CNN14 (PANNs)"
    frame = corpus.by_name(embedded.frame())
    note = f"{backbone.describe()}. {embedded.describe()}."
    rep = Representation("cnn14", label, backbone.kind, frame, note, _named_skips(corpus, embedded.skipped))
    return rep, backbone


def network_key(path) -> str:
    """``"musicnn_mtt"`` for MTT's weights (a file or folder whose name starts with ``MTT``), else ``"musicnn"``."""
    from ..phase3.musicnn import MTT_TAGS, tag_names

    return "musicnn_mtt" if tag_names(path) == MTT_TAGS else "musicnn"


def musicnn(corpus, cache_dir, weights=None, batch_size: int | None = None,
            n_threads: int | None = None, precision: str | None = None, progress: bool = True,
            patches_per_song: int | None = None):
    """musicnn song embeddings, or a :class:`LeftOut` when no weights file is there and none was asked for.

    The key and label follow the network (:func:`network_key`): ``musicnn`` / "musicnn (MSD)", or
    ``musicnn_mtt`` / "musicnn (MTT)".

    ``patches_per_song``: each clip's embedding is the mean of at most that many of its patches, spread over it
    (:func:`mer_utils.phase3.embeddings.spread_indices`, as the predictor hears a song), and ``every_patch`` holds
    the mean of all of them from the same cache read; ``None``: all of them.

    ``weights`` ``None`` means :func:`mer_utils.phase3.musicnn.weights_path` (``$MUSICNN_WEIGHTS``
    or the musicnn wheel's MSD network in the cache folder); a path given explicitly must exist (a typo is an error,
    not a silent omission); a network's name (``MTT_musicnn``) is its folder in the cache.
    """
    from ..phase3.musicnn import HOW_TO_GET_WEIGHTS, weights_path
    from ..phase3.musicnn_embeddings import embed_corpus_musicnn

    path = weights_path(weights)
    key = network_key(path)
    label = NETWORKS[key][0]
    if not path.exists():
        if weights not in (None, ""):
            raise MerError(f"musicnn weights {weights} not found (MUSICNN_WEIGHTS): {HOW_TO_GET_WEIGHTS}.")
        return LeftOut(key, label, f"no musicnn weights at {path}; {HOW_TO_GET_WEIGHTS}")
    embedded = embed_corpus_musicnn(corpus, cache_dir, path, batch_size=batch_size, n_threads=n_threads,
                                    precision=precision, progress=progress)
    note = f"musicnn from {path} (sha256 {embedded.backbone['sha256'][:12]}...). {embedded.describe()}."
    every_patch = None
    if patches_per_song is not None:
        note += f" Each clip is heard at {patches_per_song} of its patches, spread over it."
        every_patch = corpus.by_name(embedded.frame())
    return Representation(key, label, "pretrained", corpus.by_name(embedded.frame(patches_per_song)), note,
                          _named_skips(corpus, embedded.skipped), every_patch)


def cached_musicnn(corpus, cache_dir, key: str, **options):
    """The musicnn network ``key`` (:data:`NETWORKS`) from its folder in the cache, or a :class:`LeftOut` saying why
    not (``make venv`` unpacks both networks there); ``options`` go to :func:`musicnn`."""
    from ..phase3.musicnn import HOW_TO_GET_WEIGHTS, weights_path

    label, network = NETWORKS[key]
    path = weights_path(network)
    if not path.exists():
        return LeftOut(key, label, f"no {network} network at {path}; {HOW_TO_GET_WEIGHTS}")
    return musicnn(corpus, cache_dir, path, **options)


def compute_representations(corpus: FourQCorpus, cache_dir, *, checkpoint=None, random_backbone: bool = False,
                            musicnn_weights=None, seed: int = 42, n_jobs: int | None = None,
                            n_threads: int | None = None, precision: str | None = None, progress: bool = True):
    """All four representations: ``(representations, left_out, backbone)``.

    ``representations`` is a list of :class:`Representation` in the order of
    :data:`KEYS`; ``left_out`` lists the ones that could not run (:class:`LeftOut`);
    ``backbone`` is the CNN14 used (for its banner).  ``musicnn_weights`` gives one musicnn
    network (MSD's by default); the other comes from the cache (:func:`cached_musicnn`).
    ``precision`` (``None``: ``"auto"``, bfloat16 where the CPU computes it natively) applies to every network.
    """
    reps, left_out = [handcrafted(corpus, cache_dir, n_jobs=n_jobs, progress=progress)], []
    rep, backbone = cnn14(corpus, cache_dir, checkpoint=checkpoint, random_backbone=random_backbone, seed=seed,
                          n_threads=n_threads, precision=precision, progress=progress)
    reps.append(rep)
    options = {"n_threads": n_threads, "precision": precision or "auto", "progress": progress}
    given = musicnn(corpus, cache_dir, musicnn_weights, **options)
    other = "musicnn" if given.key == "musicnn_mtt" else "musicnn_mtt"
    for rep in (given, cached_musicnn(corpus, cache_dir, other, **options)):
        (reps if isinstance(rep, Representation) else left_out).append(rep)
    reps.sort(key=lambda r: KEYS.index(r.key))
    left_out.sort(key=lambda r: KEYS.index(r.key))
    return reps, left_out, backbone


def common_songs(representations) -> list[str]:
    """The 4Q names every representation covers, sorted: the songs of every comparison."""
    shared = set(representations[0].frame.index)
    for rep in representations[1:]:
        shared &= set(rep.frame.index)
    if not shared:
        raise MerError("no 4Q song is covered by every representation: check the skipped clips listed above.")
    return sorted(shared)


def overview(representations, left_out, songs) -> pd.DataFrame:
    """One row per representation: what it is, its size, the songs it covers and skipped, and the note."""
    rows = [{"representation": r.label, "kind": r.kind, "dimensions": r.dims, "songs": len(r.frame),
             "skipped": len(r.skipped), "used in the comparison": len(songs)} for r in representations]
    rows += [{"representation": r.label, "kind": "left out", "dimensions": 0, "songs": 0, "skipped": 0,
              "used in the comparison": 0} for r in left_out]
    return pd.DataFrame(rows)


def lesson_labels(representations) -> dict:
    """The labels the lessons need: ``handcrafted`` (the features), ``pretrained`` and ``random_labels`` (lists)."""
    return {
        "handcrafted": next((r.label for r in representations if r.kind == "handcrafted"), ""),
        "pretrained": [r.label for r in representations if r.kind == "pretrained"],
        "random_labels": [r.label for r in representations if r.kind == "random"],
    }


def frame_of(representations, key: str) -> pd.DataFrame:
    """The frame of the representation ``key`` (e.g. ``"features"``), or :class:`MerError` when it did not run."""
    for rep in representations:
        if rep.key == key:
            return rep.frame
    raise MerError(f"no '{key}' representation on this run (have {', '.join(r.key for r in representations)}).")
