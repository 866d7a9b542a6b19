"""Fine-tuning a pretrained backbone on a corpus: patches, the cached front end, one run per fold, the comparison.

Used by: ``notebooks/phase3_finetune.py`` (the page ``book/phase3/finetune.ipynb``).

The report froze its backbone and named fine-tuning as its first future work.  This
module trains the networks of :mod:`mer_utils.phase3.finetune_models` on the same
songs, folds and selection rules as every other phase, twice: from the pretrained
weights (*fine-tuned*) and from seeded random weights (*from scratch*, the same
layers and schedule); the page sets both beside the frozen backbone's EmotionMLP.

1. :func:`~mer_utils.phase3.finetune_inputs.corpus_inputs`: every clip decoded at the network's rate and cut as the
   embedders cut it (musicnn: 187-frame log-mel patches, about 3 s); each patch
   carries its song's label.  Clips shorter than one patch are skipped and listed.
2. :func:`~mer_utils.phase3.finetune_inputs.front_end_features`: the frozen front end run once per patch
   (:meth:`~mer_utils.phase3.finetune_models.MusicnnRegressor.front_end`), kept in
   memory; with ``train_front_end`` the patches themselves are the inputs.
3. :func:`finetune_on_split`: one split (or fold): labels standardised by the
   training songs' scaler; :func:`mer_utils.training.loop.fit` trains on the
   training patches with Adam (:func:`~mer_utils.phase3.finetune_models.parameter_groups`:
   ``backbone_lr`` for the pretrained layers, ``lr`` for the head) and keeps the
   epoch of the lowest validation loss of the **song means** of the patch
   predictions (early stopping with ``patience``), the unit every phase is scored
   on; the test songs are scored at that epoch, a song's prediction being the mean
   of its patches'.
4. :func:`finetune_per_fold`: every fold, pooled out of fold
   (:func:`mer_utils.results.crossfit.pool_records`), intervals over groups (films).
5. :func:`final_model`: under cross-validation, one more network trained on all
   songs for the median of the folds' best epochs, for ``mer predict``; with one
   split, the split's own model.
6. :func:`~mer_utils.phase3.finetune_compare.side_by_side` and
   :func:`~mer_utils.phase3.finetune_compare.paired_differences`: fine-tuned, frozen and
   from-scratch on the same songs, and their paired differences.

Steps 1 and 2 are :mod:`.finetune_inputs`, step 6 :mod:`.finetune_compare`, the page's
sentences :mod:`.finetune_narrative`; this module trains (steps 3 to 5) and runs the page's
whole plan (:func:`finetune_backbone`, :func:`save_final_model`, :func:`cnn14_plan`).

Records carry ``setting`` ``"<backbone>-finetuned"`` or ``"<backbone>-scratch"``
(:data:`mer_utils.phase3.backbones.FINETUNE_SETTINGS`), ``start`` (``finetuned``
or ``scratch``) and ``network_label``, so the conclusions pair them with the
frozen backbone's EmotionMLP (setting ``"musicnn"``, or ``""`` for CNN14).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import MerError
from .backbones import FINETUNE_SETTINGS, FINETUNED_FILES
from .finetune_compare import KIND_WORDS
from .finetune_inputs import PatchRows, PatchSet, corpus_inputs, front_end_features
from .finetune_models import NETWORKS, build_regressor, parameter_groups

log = logging.getLogger(__name__)

DEFAULT_BATCH = 32  # patches per training step


# --------------------------------------------------------------------------- one split


@dataclass
class FinetuneRun:
    """One split's fine-tuning run: the trained network, its history, label scaler, records and songs per part."""

    network: object
    start: dict
    history: pd.DataFrame
    target_scaler: object
    records: list[dict]
    ids: dict  # part -> song ids that have patches

    @property
    def best_epoch(self) -> int:
        return int(self.history.attrs["best_epoch"])


def network_label(name: str, kind: str, backbone_label: str) -> str:
    """``"musicnn (MSD) fine-tuned"`` or ``"musicnn from random weights"``: how tables name a run."""
    if kind == "finetuned":
        return f"{backbone_label} fine-tuned"
    return f"{'musicnn' if name == 'musicnn' else 'CNN14'} from random weights"


def _part_rows(song_of: np.ndarray, split: pd.DataFrame) -> tuple[dict, dict]:
    """Song ids (with patches) and patch rows of each part of ``split``."""
    from ..corpus.split import PARTS, part_ids

    have = set(int(i) for i in song_of)
    ids = {part: [int(i) for i in part_ids(split, part) if int(i) in have] for part in PARTS}
    rows = {part: np.flatnonzero(np.isin(song_of, ids[part])) for part in PARTS}
    return ids, rows


def _loader(features, song_of, rows, labels, scaler, targets, batch_size, shuffle=False, seed=0):
    from ..training.loop import make_loader

    y = scaler.transform(labels.loc[song_of[rows], list(targets)].to_numpy(dtype=float))
    return make_loader(PatchRows(features, y, rows), batch_size, shuffle=shuffle, seed=seed)


def predict_songs(module, features, song_of, rows, scaler, targets, device=None, precision="float32",
                  batch_size: int = 64) -> pd.DataFrame:
    """The mean of each song's patch predictions (1..9 scale): ``song_id`` and one column per target."""
    from ..training.loop import make_loader, predict

    dummy = np.zeros((len(rows), len(targets)), dtype=np.float32)
    predicted = predict(module, make_loader(PatchRows(features, dummy, rows), batch_size), scaler, device, precision)
    frame = pd.DataFrame(predicted, columns=list(targets))
    frame["song_id"] = song_of[rows]
    return frame.groupby("song_id", sort=True)[list(targets)].mean().reset_index()


def finetune_on_split(split: pd.DataFrame, run: dict | None, *, template, start: dict, features: torch.Tensor,
                      song_of: np.ndarray, labels: pd.DataFrame, data: str, targets, settings: dict, seed: int,
                      backbone_label: str, device=None, precision: str | None = None, threads: int | None = 1,
                      progress: bool = True) -> FinetuneRun:
    """Fine-tune a copy of ``template`` on one split and score its test songs (see the module docstring).

    ``template``: the network at its starting weights (:func:`~mer_utils.phase3.finetune_models.build_regressor`),
    copied, never changed; ``features``: :func:`front_end_features` (or the patches with ``train_front_end``);
    ``song_of``: the song of each row; ``labels``: the corpus's songs (1..9 scale); ``settings``:
    :func:`mer_utils.training.defaults.training_settings` of the network (``epochs``, ``patience``,
    ``batch_size``, ``lr``, ``backbone_lr``).
    """
    from ..results.intervals import predictions_frame
    from ..results.metrics import METRICS, regression_metrics
    from ..results.records import make_record
    from ..training.loop import fit, fit_target_scaler

    ids, rows = _part_rows(song_of, split)
    if len(ids["train"]) < 2 or not ids["validation"] or not ids["test"]:
        raise MerError(f"fine-tuning needs training, validation and test songs with patches; this split has "
                       f"{', '.join(f'{len(v)} {k}' for k, v in ids.items())}.")
    targets = list(targets)
    scaler = fit_target_scaler(labels.loc[ids["train"], targets].to_numpy(dtype=float))
    network = copy.deepcopy(template).set_trainable()
    module = network.for_training()
    batch = int(settings["batch_size"])
    module, history = fit(
        module, _loader(features, song_of, rows["train"], labels, scaler, targets, batch, shuffle=True, seed=seed),
        _loader(features, song_of, rows["validation"], labels, scaler, targets, 64),
        epochs=int(settings["epochs"]), patience=settings["patience"], lr=float(settings["lr"]), device=device,
        seed=seed, target_scaler=scaler, target_names=targets, val_groups=song_of[rows["validation"]],
        threads=threads, precision=precision, progress=progress, select_on="songs",
        param_groups=parameter_groups(network, settings["lr"], settings["backbone_lr"]))
    precision = history.attrs["precision"]
    tested = predict_songs(module, features, song_of, rows["test"], scaler, targets, device, precision)
    best = history.loc[history["best"]].iloc[0]
    name, kind = start["name"], start["kind"]
    details = {"setting": FINETUNE_SETTINGS[(name, kind)], "start": kind, "backbone": kind,
               "network_label": network_label(name, kind, backbone_label),
               "trains": "the whole network" if network.train_front_end else "after the front end",
               "best_epoch": int(best["epoch"]), "epochs_run": int(len(history)), "max_epochs": int(settings["epochs"]),
               "patience": settings["patience"], "batch_size": batch, "lr": float(settings["lr"]),
               "backbone_lr": float(settings["backbone_lr"]), "seed": int(seed), "precision": precision,
               "train_patches": int(len(rows["train"])), "seconds_per_epoch": float(history["seconds"].mean()),
               "samples_per_s": float(history["samples_per_s"].mean()),
               **{f"{part}_songs": len(v) for part, v in ids.items()}}
    records = []
    for target in targets:
        true = labels.loc[tested["song_id"], target].to_numpy(dtype=float)
        validation = {m: float(best[f"val_song_{m}_{target}"]) for m in METRICS}
        test = regression_metrics(true, tested[target])
        frame = predictions_frame(tested["song_id"], true, tested[target])
        records.append(make_record(3, NETWORKS[name], target, data, validation, test, run=run, test_predictions=frame,
                                   **details))
    return FinetuneRun(network.eval(), start, history, scaler, records, ids)


def finetune_per_fold(folds: dict, groups, run: dict | None, **kwargs) -> tuple[dict, list[dict]]:
    """:func:`finetune_on_split` on every fold (:attr:`mer_utils.page.Page.folds`): ``({fold: FinetuneRun}, records)``,
    the records pooled out of fold under folds (:func:`mer_utils.results.crossfit.pool_records`)."""
    from ..corpus.split import ONE_SPLIT
    from ..results.crossfit import pool_records

    runs = {fold: finetune_on_split(split, run, **kwargs) for fold, split in folds.items()}
    if list(folds) == [ONE_SPLIT]:
        return runs, runs[ONE_SPLIT].records
    return runs, pool_records({fold: r.records for fold, r in runs.items()}, groups, run)


def final_epochs(runs: dict) -> int:
    """The epochs of the model trained on all songs: the median of the folds' best epochs, rounded (at least 1)."""
    return max(1, int(round(statistics.median(r.best_epoch for r in runs.values()))))


def final_model(runs: dict, *, template, features, song_of, labels, targets, settings: dict, seed: int, device=None,
                precision: str | None = None, threads: int | None = 1, progress: bool = True):
    """The network ``mer predict`` gets: ``(network, target_scaler, epochs, songs)``.

    With one split, that split's early-stopped network.  Under folds, a copy of
    ``template`` trained on every song for :func:`final_epochs` epochs (no
    validation songs are left to stop on), with a label scaler fit on all songs.
    """
    from ..corpus.split import ONE_SPLIT
    from ..training.loop import fit, fit_target_scaler

    if list(runs) == [ONE_SPLIT]:
        only = runs[ONE_SPLIT]
        return only.network, only.target_scaler, only.best_epoch, len(only.ids["train"])
    targets = list(targets)
    songs = sorted({int(i) for i in song_of})
    scaler = fit_target_scaler(labels.loc[songs, targets].to_numpy(dtype=float))
    network = copy.deepcopy(template).set_trainable()
    epochs = final_epochs(runs)
    rows = np.arange(len(song_of))
    module, _ = fit(network.for_training(),
                    _loader(features, song_of, rows, labels, scaler, targets, int(settings["batch_size"]), shuffle=True,
                            seed=seed),
                    None, epochs=epochs, patience=None, lr=float(settings["lr"]), device=device, seed=seed,
                    target_scaler=scaler, target_names=targets, threads=threads, precision=precision,
                    progress=progress, param_groups=parameter_groups(network, settings["lr"], settings["backbone_lr"]))
    return network.eval(), scaler, epochs, len(songs)


# --------------------------------------------------------------------------- the page's whole run


class StepTimes:
    """Wall-clock and CPU seconds of named steps: ``with steps("name"): ...`` (a ``None`` name is not recorded).

    CPU seconds are this process's, every thread counted: on a machine shared with
    other work the wall clock stretches, and the CPU seconds show what a step cost.
    """

    def __init__(self):
        self.wall, self.cpu = {}, {}

    @contextlib.contextmanager
    def __call__(self, name: str | None):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            if name is not None:
                self.wall[name] = time.perf_counter() - wall
                self.cpu[name] = time.process_time() - cpu


@dataclass
class Finetuning:
    """Everything one backbone's fine-tuning produced: per kind (fine-tuned, from scratch) the runs of every fold,
    the pooled records, the model for ``mer predict`` and where the time went."""

    name: str
    backbone_label: str
    patches: PatchSet
    starts: dict  # kind -> where its starting weights came from
    runs: dict  # kind -> {fold: FinetuneRun}
    records: list[dict]
    steps: StepTimes  # wall and CPU seconds of each step
    final: tuple | None  # (network, target scaler, epochs, songs) of the fine-tuned network for mer predict
    settings: dict
    precision: str
    train_front_end: bool
    targets: list[str]

    def first_run(self, kind: str) -> FinetuneRun:
        return next(iter(self.runs[kind].values()))

    def timing(self) -> pd.DataFrame:
        """Wall and CPU seconds of each step, and the training rate of each kind (patches per second of wall time,
        mean over folds and epochs)."""
        rates = {f"training, {KIND_WORDS[kind]}": float(np.mean([r.history["samples_per_s"].mean()
                                                                 for r in runs.values()]))
                 for kind, runs in self.runs.items()}
        return pd.DataFrame([{"backbone": self.backbone_label, "step": step, "seconds": round(wall, 1),
                              "CPU seconds": round(self.steps.cpu[step], 1),
                              "training patches/s": next((round(v, 1) for k, v in rates.items() if step.startswith(k)),
                                                         np.nan)}
                             for step, wall in self.steps.wall.items()])


def timing_table(results) -> pd.DataFrame:
    """The steps of every :class:`Finetuning` in ``results`` (``None`` entries skipped), one table."""
    return pd.concat([r.timing() for r in results if r is not None], ignore_index=True)


def finetune_backbone(corpus, folds: dict, groups, run: dict | None, *, name: str = "musicnn", weights=None,
                      backbone_label: str = "musicnn (MSD)", settings: dict, seed: int, targets,
                      kinds=("finetuned", "scratch"), train_front_end: bool = False, device=None,
                      precision: str | None = None, n_threads: int = 2, threads: int | None = 1,
                      progress: bool = True) -> Finetuning:
    """Fine-tune ``name`` from each start in ``kinds`` on every fold of ``folds``, pooled; then the model on all songs.

    ``weights``: musicnn's ``.h5`` or CNN14's checkpoint (the fine-tuned start).
    ``n_threads``: workers or threads for the front end; ``threads``: torch
    threads while training (1: the page may run beside another).  Each kind's
    front end is computed once for every fold and freed before the next kind.
    """
    from ..training.runtime import pick_device, resolve_precision

    device = pick_device(device)
    precision = resolve_precision(precision, device)
    steps = StepTimes()
    with steps("decoding and cutting the clips"):
        patches = corpus_inputs(corpus, name, n_jobs=n_threads, progress=progress)
    starts, runs, records, final = {}, {}, [], None
    for kind in kinds:
        template, starts[kind] = build_regressor(name, kind, weights, seed=seed, outputs=len(targets),
                                                 train_front_end=train_front_end)
        with steps(f"front end, {KIND_WORDS[kind]}"):
            features = (torch.from_numpy(patches.inputs) if train_front_end else
                        front_end_features(template, patches, device, precision, n_threads))
        common = dict(template=template, features=features, song_of=patches.song_of, labels=corpus.songs,
                      targets=targets, settings=settings, seed=seed, device=device, precision=precision,
                      threads=threads, progress=progress)
        with steps(f"training, {KIND_WORDS[kind]} ({f'{len(folds)} folds' if len(folds) > 1 else 'one split'})"):
            runs[kind], pooled = finetune_per_fold(folds, groups, run, start=starts[kind], data=corpus.name,
                                                   backbone_label=backbone_label, **common)
        records += pooled
        if kind == "finetuned":
            with steps("training, the fine-tuned model on all songs" if len(folds) > 1 else None):
                final = final_model(runs[kind], **common)
        del features
    log.info("fine-tuning %s: %s", name, ", ".join(f"{k} {v:.0f} s" for k, v in steps.wall.items()))
    return Finetuning(name, backbone_label, patches, starts, runs, records, steps, final, settings, precision,
                      train_front_end, list(targets))


FINAL_FILES = {name: file.name for name, file in FINETUNED_FILES.items()}  # under results/<data>/models/


def save_final_model(result: Finetuning, results_dir, corpus, seed: int, cross_validated: bool) -> tuple:
    """Save the fine-tuned network for ``mer predict`` to ``<results_dir>/models/<backbone>_finetuned.pt``.

    The file (:func:`mer_utils.phase3.finetune_models.save_finetuned`) holds every
    weight, the label scaler, where the starting weights came from and the rating
    scale; its ``settings`` say how it was trained (on all songs for the median best
    epoch under cross-validation, else the split's training songs with early
    stopping).  Returns ``(path, settings, scale)``.
    """
    from .finetune_models import save_finetuned

    network, scaler, epochs, songs = result.final
    from ..corpus.sources import CORPUS_LABELS

    label = CORPUS_LABELS.get(corpus.name, corpus.kind)
    scale = f"{corpus.scale}; {label}{', first panel' if corpus.reference is not None else ''}"
    from .finetune_narrative import epochs as count_epochs

    how = (f"all {songs} songs, {count_epochs(epochs)} (the median best epoch of the folds)" if cross_validated else
           f"the {songs} training songs, best validation epoch {epochs}")
    settings = {**result.settings, "epochs_trained": int(epochs), "songs": int(songs),
                "trained_on": how, "seed": int(seed), "precision": result.precision,
                "trains": "the whole network" if result.train_front_end else "after the front end"}
    path = save_finetuned(Path(results_dir) / "models" / FINAL_FILES[result.name], network,
                          start=result.starts["finetuned"], target_scaler=scaler, targets=result.targets,
                          settings=settings, precision=result.precision, data=corpus.name, scale=scale)
    return path, settings, scale



# --------------------------------------------------------------------------- CNN14 on this page


def cnn14_plan(choice, checkpoint, device=None) -> tuple[bool, str, Path]:
    """Whether the page fine-tunes CNN14 too, why not, and its checkpoint: ``(run, reason, path)``.

    ``choice`` is the ``cnn14`` parameter (``FINETUNE_CNN14``): ``True`` runs it
    (its checkpoint must be there), ``False`` never; ``None`` runs it where a PANNs
    checkpoint is present and the device is a CUDA GPU, since on 2 CPU cores its
    training takes hours (:func:`cnn14_estimate_seconds`).
    """
    from ..training.runtime import pick_device
    from .cnn14 import DEFAULT_CHECKPOINT, HOW_TO_GET_WEIGHTS

    path = Path(str(checkpoint or DEFAULT_CHECKPOINT)).expanduser()
    if choice is False:
        return False, "FINETUNE_CNN14=0 leaves it out", path
    if not path.is_file():
        if choice:
            raise MerError(f"FINETUNE_CNN14=1 fine-tunes CNN14 from its PANNs checkpoint, and {path} is not there: "
                           f"{HOW_TO_GET_WEIGHTS}.")
        return False, f"its PANNs checkpoint is not at {path}, and fine-tuning starts from pretrained weights", path
    if choice or pick_device(device).type == "cuda":
        return True, "", path
    return False, "there is no GPU, and on the CPU it would take far longer than this page's budget", path


def cnn14_estimate_seconds(n_patches: int, folds: int, settings: dict, kinds: int = 2) -> float:
    """Seconds the CNN14 runs of this page would take on 2 CPU cores: every fold's training patches (three fifths of
    the corpus each under 5 folds, the training part of one split otherwise) x kinds x at most ``epochs`` epochs,
    at :data:`mer_utils.estimates.RATES`' measured rate."""
    from ..corpus.split import DEFAULT_FRACTIONS
    from ..estimates import RATES

    per_run = n_patches * (max(folds - 2, 1) / folds if folds > 1 else DEFAULT_FRACTIONS[0])
    return per_run * max(folds, 1) * kinds * int(settings["epochs"]) / RATES["finetune"]["Cnn14Regressor"]
