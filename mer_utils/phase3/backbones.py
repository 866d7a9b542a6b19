"""The pretrained backbones of Phase 3, CNN14 and musicnn: which run, how each is labelled, how each embeds a corpus.

Used by: ``notebooks/phase3_panns.py`` (one page per backbone: ``book/phase3/panns.ipynb``
for CNN14, ``book/phase3/musicnn.ipynb`` for musicnn, and ``book/phase3/musicnn_mtt.ipynb``
for musicnn's MTT network on the real corpora), :mod:`mer_utils.preflight` and
:mod:`mer_utils.results.lessons`.  The Makefile applies the same ``BACKBONE`` rule to
choose the pages it builds (it cannot call Python before the virtualenv exists).

The ``BACKBONE`` knob:

* ``cnn14``: Phase 3 on CNN14 only (the pretrained PANNs checkpoint, or random
  weights on SynthDEAM when it is missing, as :func:`mer_utils.phase3.cnn14.backbone_for` rules);
* ``musicnn``: on musicnn only (its weights must be there);
* ``all``: both (musicnn's weights must be there);
* unset (the default): CNN14, and musicnn beside it wherever its weights are
  present: by default the musicnn wheel's MSD network, which ``make venv``
  fetched from the package index into the cache folder
  (:mod:`mer_utils.phase3.musicnn_wheel`), so every machine has it; or
  ``MUSICNN_WEIGHTS`` (an ``.h5`` or a checkpoint folder) where that exists.

Both backbones give an :class:`mer_utils.phase3.embeddings.EmbeddingSet`, so the
rest of the page (t-SNE, the MLP, the records) is the same code.  musicnn's records
carry ``setting="musicnn"`` (:data:`SETTINGS`; CNN14's keep the empty setting, so
their file names are those of earlier builds and a rebuild replaces them), so both
sit side by side in the results and in the conclusions.

musicnn's MTT network (``MTT_musicnn``: the same architecture trained on
MagnaTagATune's 50 tags, unpacked from the musicnn wheel beside MSD's) is a second
pretrained embedding of the same size.  The Makefile runs the musicnn page once more
with ``musicnn_weights=MTT_musicnn`` on the real rated corpora (``DATA=soundtracks``
and ``deam``, where musicnn runs; not on SynthDEAM, whose time budget is tight): its
:attr:`Phase3Backbone.key` is ``musicnn-mtt``, so its records carry that setting and
the label "musicnn (MTT)", its embeddings their own cache folder (keyed by the weights'
sha256) and its model its own file (:func:`mer_utils.predict.bundles.save_page_model`), and the
conclusions set it against MSD's (embedding selection).  Fine-tuning and Phase 4 stay on MSD.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from ..errors import MerError

BACKBONES = ("cnn14", "musicnn")
CHOICES = ("cnn14", "musicnn", "all")
MTT_KEY = "musicnn-mtt"  # musicnn with its MTT network: a page of its own (Phase3Backbone.key)
MTT_NETWORK = "MTT_musicnn"  # its name in the cache folder (mer_utils.phase3.musicnn_wheel.NETWORKS)
SETTINGS = {"cnn14": "", "musicnn": "musicnn", MTT_KEY: MTT_KEY}  # the records' ``setting`` of each page's backbone
# the records' ``setting`` of a fine-tuned backbone (mer_utils.phase3.finetune): from its pretrained weights, or from
# random ones (the same network and schedule); the conclusions pair them with the frozen backbone's (SETTINGS)
FINETUNE_SETTINGS = {(name, kind): f"{name}-{kind}" for name in BACKBONES for kind in ("finetuned", "scratch")}
FINETUNED_FILES = {  # the fine-tuning page's networks for new recordings, under results/<data>/ (mer predict reads them)
    "musicnn": Path("models") / "musicnn_finetuned.pt",
    "cnn14": Path("models") / "cnn14_finetuned.pt",
}


# Corpora whose Phase 3 runs musicnn only unless BACKBONE asks for CNN14 too (the Makefile's P3_BACKBONES says the
# same): VGMIDI's 4.7 hours of piano would cost a random-weight CNN14 about 7 min of its 40-min budget in float32,
# for a baseline the 4Q chapter and the other books already measure
MUSICNN_ONLY_BY_DEFAULT = ("vgmidi",)


def backbones_to_run(choice: str | None, musicnn_weights=None, data: str | None = None) -> list[str]:
    """The backbones a ``BACKBONE`` value asks for on ``data`` (see the module docstring); errors name the fix."""
    from .musicnn import HOW_TO_GET_WEIGHTS, weights_path

    choice = (choice or "").strip().lower()
    weights = weights_path(musicnn_weights or None)
    if choice == "" and data in MUSICNN_ONLY_BY_DEFAULT and weights.exists():
        return ["musicnn"]
    if choice == "":
        return ["cnn14", "musicnn"] if weights.exists() else ["cnn14"]
    if choice not in CHOICES:
        raise MerError(f"BACKBONE={choice} is not a Phase 3 backbone: use {', '.join(CHOICES)} "
                       "(or leave it unset: CNN14, and musicnn where its weights are present).")
    wanted = list(BACKBONES) if choice == "all" else [choice]
    if "musicnn" in wanted and not weights.exists():
        raise MerError(f"BACKBONE={choice} needs the musicnn weights, and {weights} is not there (MUSICNN_WEIGHTS): "
                       f"{HOW_TO_GET_WEIGHTS}, or use BACKBONE=cnn14.")
    return wanted


FINETUNE_ON, FINETUNE_OFF = ("1", "yes", "true"), ("0", "no", "false")


def finetune_runs(choice: str | None, data: str, backbone: str | None = None, musicnn_weights=None) -> bool:
    """Whether Phase 3 fine-tunes musicnn (the page ``book/phase3/finetune.ipynb``): the ``FINETUNE`` knob's rule.

    ``1`` (yes, true): on; it needs the musicnn page beside it (its weights, and
    ``BACKBONE`` unset, ``musicnn`` or ``all``), whose frozen model it is compared
    with.  ``0`` (no, false): off.  Unset: on where musicnn runs and the corpus is
    small enough for the page's budget on 2 float32 cores
    (:attr:`mer_utils.corpus.sources.Source.finetune_by_default`): the Soundtracks
    sample (at most 10 minutes) and the default SynthDEAM (at most 5), not DEAM
    (hours).  The Makefile applies the same rule.
    """
    from ..corpus.sources import source

    choice = (choice or "").strip().lower()
    if choice not in ("", *FINETUNE_ON, *FINETUNE_OFF):
        raise MerError(f"FINETUNE={choice}: use 1 (fine-tune musicnn), 0 (do not), or leave it unset "
                       "(on for SynthDEAM and Soundtracks where musicnn's weights are present).")
    if choice in FINETUNE_OFF:
        return False
    musicnn = "musicnn" in backbones_to_run(backbone, musicnn_weights, data)
    if choice in FINETUNE_ON and not musicnn:
        from .musicnn import weights_path

        raise MerError(f"FINETUNE={choice} fine-tunes musicnn and compares it with the frozen musicnn page, which this "
                       f"run does not build (BACKBONE={backbone or '(unset)'}; weights {weights_path(musicnn_weights)}"
                       f"{'' if weights_path(musicnn_weights).exists() else ' missing'}): give MUSICNN_WEIGHTS=<file> "
                       "and leave BACKBONE unset or use musicnn or all.")
    return musicnn and (choice in FINETUNE_ON or source(data).finetune_by_default)


@dataclass
class MusicnnBackbone:
    """musicnn (MSD or MTT) ready to embed, with where its weights came from; the musicnn side of CNN14's Backbone."""

    weights: Path
    sha256: str
    kind: str = "pretrained"

    @property
    def is_random(self) -> bool:
        return False

    @property
    def identity(self) -> str:
        return f"musicnn-{self.sha256}"

    @property
    def tags(self) -> str:
        """``"MTT"`` (MagnaTagATune) or ``"MSD"`` (Million Song Dataset): the tags the network was trained on."""
        from .musicnn import MTT_TAGS, tag_names

        return "MTT" if tag_names(self.weights) == MTT_TAGS else "MSD"

    @property
    def label(self) -> str:
        return f"musicnn ({self.tags})"

    def describe(self) -> str:
        return f"{self.label} from {self.weights} (sha256 {self.sha256[:12]}...)"

    def info(self) -> dict:
        return {"kind": self.kind, "identity": self.identity, "weights": str(self.weights), "sha256": self.sha256}

    def banner(self):
        from IPython.display import HTML

        return HTML('<div class="admonition note"><p class="admonition-title">Backbone</p><p>Embeddings from the '
                    f"pretrained {html.escape(self.label)}, weights <code>{html.escape(str(self.weights))}</code> "
                    f"(sha256 {self.sha256[:12]}...).</p></div>")


@dataclass
class Phase3Backbone:
    """One backbone of Phase 3: its name (``cnn14`` or ``musicnn``), the network, and what the page calls it."""

    name: str
    network: object  # a mer_utils.phase3.cnn14.Backbone or a MusicnnBackbone

    @property
    def is_random(self) -> bool:
        return self.network.is_random

    @property
    def kind(self) -> str:
        return self.network.kind

    @property
    def identity(self) -> str:
        return self.network.identity

    @property
    def key(self) -> str:
        """``"cnn14"``, ``"musicnn"`` or ``"musicnn-mtt"`` (:data:`MTT_KEY`, musicnn with MTT's weights): the page's
        records (:data:`SETTINGS`), method note and model file (``bundles.save_page_model``) follow it."""
        return MTT_KEY if self.name == "musicnn" and self.network.tags == "MTT" else self.name

    @property
    def setting(self) -> str:
        return SETTINGS[self.key]

    @property
    def label(self) -> str:
        """``"PANNs CNN14"``, ``"random-weight CNN14"``, ``"musicnn (MSD)"`` or ``"musicnn (MTT)"``."""
        if self.name == "musicnn":
            return self.network.label
        return "random-weight CNN14" if self.is_random else "PANNs CNN14"

    def describe(self) -> str:
        return self.network.describe()

    def info(self) -> dict:
        return self.network.info()

    def banner(self):
        return self.network.banner()

    def embed(self, corpus, cache_dir, batch_size=None, n_threads=None, precision=None, progress: bool = True,
              keep_frames: bool = True):
        """Song embeddings of ``corpus`` (an EmbeddingSet), cached under ``cache_dir``.

        ``keep_frames``: also keep each song's 0.5 s frame embeddings from the same forward passes, for
        Phase 4 (``notebooks/phase4_dynamic.py`` reads them from this cache, so no clip is embedded twice).
        """
        if self.name == "musicnn":
            from .musicnn_embeddings import embed_corpus_musicnn

            return embed_corpus_musicnn(corpus, cache_dir, self.network.weights, batch_size=batch_size,
                                        n_threads=n_threads, precision=precision or "auto", progress=progress,
                                        keep_frames=keep_frames)
        from .embeddings import embed_corpus

        return embed_corpus(corpus, cache_dir, self.network, batch_size=batch_size, n_threads=n_threads,
                            precision=precision, progress=progress, keep_frames=keep_frames)


def phase3_backbone(name: str | None, data: str, checkpoint=None, random_backbone: bool = False,
                    musicnn_weights=None, seed: int = 42) -> Phase3Backbone:
    """The backbone of one Phase 3 page: ``name`` ``"cnn14"`` (``None``) or ``"musicnn"``, built.

    For musicnn, ``musicnn_weights`` may name a network of the cache folder: ``MTT_musicnn`` (:data:`MTT_NETWORK`)
    gives the MTT page.
    """
    name = (name or "cnn14").strip().lower()
    if name not in BACKBONES:
        raise MerError(f"backbone={name} is not a Phase 3 backbone: use {' or '.join(BACKBONES)}.")
    if name == "cnn14":
        from .cnn14 import backbone_for

        return Phase3Backbone("cnn14", backbone_for(data, checkpoint, random_backbone=random_backbone, seed=seed))
    from .musicnn import HOW_TO_GET_WEIGHTS, verify_sha256, weights_path

    path = weights_path(musicnn_weights or None)
    if not path.exists():
        raise MerError(f"musicnn weights {path} not found (MUSICNN_WEIGHTS): {HOW_TO_GET_WEIGHTS}.")
    return Phase3Backbone("musicnn", MusicnnBackbone(path, verify_sha256(path)))

