"""Every model of Phase 4 fitted and scored in one setting, on the same test songs and frames.

Used by: ``notebooks/phase4_dynamic.py``.

:func:`load_inputs` gathers what the models read: the 2 Hz curves, the backbone's frame embeddings from Phase
3's cache (computing only what is missing there) and the windowed Phase 1 descriptors.  :func:`run_setting`
then fits, from simple to rich,

1. the constant static baseline (:mod:`mer_utils.phase4.static`),
2. a per-frame Ridge on the windowed Phase 1 features and one on the windowed frame embeddings
   (:mod:`mer_utils.phase4.ridge`),
3. the bidirectional GRU over the frame embeddings (:mod:`mer_utils.phase4.sequence`),

on the setting's training songs, selects on its validation songs, predicts its test songs (clipped to the
annotations' range, -1..1) and scores every model on the labelled times all of them predict
(:mod:`mer_utils.phase4.protocol`), with SynthDEAM's noise-free curves as the ceiling.  :data:`PAIRS` are the paired comparisons the page reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..cache import write_csv_atomic, write_json_atomic
from .curves import DIMENSIONS, Curves, load_curves
from .frames import FrameSource, Sequences, align, backbone_frames
from .protocol import comparisons, scored_frames, song_scores, summary
from .settings import Setting

STATIC, RIDGE_FEATURES, RIDGE_FRAMES, GRU, CEILING = "static", "ridge_features", "ridge_frames", "gru", "ceiling"
# The paired comparisons behind the page's findings: (A, B), each on both dimensions and both metrics.
PAIRS = ((GRU, STATIC), (GRU, RIDGE_FRAMES), (RIDGE_FRAMES, RIDGE_FEATURES), (RIDGE_FEATURES, STATIC))


def model_labels(backbone_label: str, static_label: str = "best static model") -> dict:
    """The name of each model in tables and figures."""
    return {STATIC: f"constant: {static_label}", RIDGE_FEATURES: "Ridge, Phase 1 features (3 s window)",
            RIDGE_FRAMES: f"Ridge, {backbone_label} frames (3 s window)", GRU: f"BiGRU, {backbone_label} frames",
            CEILING: "generating function (ceiling)"}


@dataclass
class Inputs:
    """What Phase 4's models read: the curves, the backbone's frames and the windowed Phase 1 descriptors."""

    curves: Curves
    frames: FrameSource
    descriptors: FrameSource
    embedded: object  # the EmbeddingSet the frames came from (its cache folder, what was computed now)
    skipped: list = field(default_factory=list)  # songs without frames or descriptors (undecodable, too short)
    seconds: dict = field(default_factory=dict)  # wall time of each step


def load_inputs(corpus, cache_dir, backbone, n_jobs=None, progress: bool = True) -> Inputs:
    """The curves, the frames of ``backbone`` (a :class:`~mer_utils.phase3.backbones.Phase3Backbone`, from Phase
    3's cache) and the descriptors of the songs with curves."""
    from .descriptors import descriptor_frames

    seconds = {}
    start = time.perf_counter()
    curves = load_curves(corpus)
    embedded = backbone.embed(corpus, cache_dir, progress=progress, keep_frames=True)
    frames = backbone_frames(embedded, f"{backbone.label} frames")
    seconds["frames"] = time.perf_counter() - start
    start = time.perf_counter()
    descriptors, skipped = descriptor_frames(corpus, cache_dir, curves.song_ids, n_jobs=n_jobs, progress=progress)
    seconds["descriptors"] = time.perf_counter() - start
    skipped = sorted(set(skipped) | {int(i) for i in embedded.skipped["song_id"]})
    return Inputs(curves=curves, frames=frames, descriptors=descriptors, embedded=embedded, skipped=skipped,
                  seconds=seconds)


@dataclass
class SettingRun:
    """One setting's fitted models, test predictions and scores."""

    setting: Setting
    labels: dict
    predictions: dict  # model key -> song_id, time_s, valence, arousal on the test songs
    scores: pd.DataFrame  # per model, dimension and test song (protocol.song_scores), models by label
    summary: pd.DataFrame
    comparisons: pd.DataFrame
    gru: object
    ridges: dict
    static: dict  # what the baseline is: its label, and the picks or the refit Ridge's penalty
    sequences: Sequences
    seconds: dict


def run_setting(inputs: Inputs, setting: Setting, static_values: dict, static_label: str, gru_settings: dict,
                seed: int, progress: bool = True, static_details: dict | None = None) -> SettingRun:
    """Fit and score every model in ``setting`` (see the module docstring).

    ``static_values``: dimension -> one value per test song on -1..1 (the constant baseline);
    ``gru_settings``: :func:`mer_utils.training.defaults.training_settings` of ``"DynamicGRU"``.
    """
    from .ridge import fit_frame_ridge
    from .sequence import fit_dynamic_gru
    from .static import constant_curves

    train, validation, test = (setting.songs(p) for p in ("train", "validation", "test"))
    frames = align(inputs.curves, inputs.frames, [*train, *validation, *test])
    descriptors = align(inputs.curves, inputs.descriptors, [*train, *validation, *test])
    seconds = {}
    start = time.perf_counter()
    ridges = {RIDGE_FEATURES: fit_frame_ridge(descriptors, train, validation, window=False),
              RIDGE_FRAMES: fit_frame_ridge(frames, train, validation, window=True)}
    seconds["ridge"] = time.perf_counter() - start
    start = time.perf_counter()
    gru = fit_dynamic_gru(frames, train, validation, epochs=gru_settings["epochs"], patience=gru_settings["patience"],
                          batch_size=gru_settings["batch_size"], lr=gru_settings["lr"], seed=seed, progress=progress)
    seconds["gru"] = time.perf_counter() - start
    predictions = {STATIC: constant_curves(inputs.curves, static_values, test),
                   RIDGE_FEATURES: ridges[RIDGE_FEATURES].predict(descriptors, test),
                   RIDGE_FRAMES: ridges[RIDGE_FRAMES].predict(frames, test),
                   GRU: gru.predict(frames, test)}
    for frame in predictions.values():  # the annotations' own range: no rating lies outside it
        frame[list(DIMENSIONS)] = frame[list(DIMENSIONS)].clip(-1, 1)
    if inputs.curves.has_ceiling:
        ceiling = inputs.curves.of(test)[["song_id", "time_s", *[f"{d}_expected" for d in DIMENSIONS]]]
        predictions[CEILING] = ceiling.rename(columns={f"{d}_expected": d for d in DIMENSIONS})
    labels = model_labels(inputs.frames.name.removesuffix(" frames"), static_label)
    scores = song_scores(scored_frames(inputs.curves.table, {labels[k]: v for k, v in predictions.items()}))
    pairs = [(labels[a], labels[b]) for a, b in PAIRS]
    return SettingRun(setting=setting, labels=labels, predictions=predictions, scores=scores, summary=summary(scores),
                      comparisons=comparisons(scores, pairs), gru=gru, ridges=ridges,
                      static={"label": static_label, **(static_details or {})}, sequences=frames, seconds=seconds)


def book_run(inputs: Inputs, page, gru_settings: dict, agreement=None, progress: bool = True):
    """Every model on the book's own protocol: ``(run, scale_map)``.

    With one split, :func:`run_setting` on it.  Under grouped folds (``page.folds`` of a cross-validated corpus),
    :func:`run_setting` on each fold, its constant baseline from that fold's training songs, and the folds pooled
    (:func:`pool_runs`): every song predicted once, intervals over whole groups.  ``scale_map`` is the first
    setting's (``None`` when the baseline is refit, :func:`mer_utils.phase4.static.constant_baseline`).
    """
    from .settings import book_setting, fold_settings, pooled_setting
    from .static import constant_baseline

    splits = page.folds if page.cross_validated else {0: page.split}
    settings = (fold_settings(splits, inputs.curves.song_ids) if page.cross_validated
                else [book_setting(page.split, inputs.curves.song_ids)])
    runs, scale_map = [], None
    for setting, split in zip(settings, splits.values()):
        values, label, details, scale = constant_baseline(inputs, page.corpus, setting, page.results_dir, page.run,
                                                          split, agreement)
        scale_map = scale_map or scale
        runs.append(run_setting(inputs, setting, values, label, gru_settings, page.seed, progress=progress,
                                static_details=details))
    if len(runs) == 1:
        return runs[0], scale_map
    return pool_runs(runs, pooled_setting(settings), page.groups), scale_map


def pool_runs(runs: list[SettingRun], setting, groups) -> SettingRun:
    """Folds taken together: their test predictions and per-song scores concatenated (each song in one fold),
    the summary and the paired comparisons computed again with intervals over ``groups``; the fitted models, the
    learning curve and the settings shown are the first fold's (seconds are summed)."""
    first = runs[0]
    predictions = {key: pd.concat([r.predictions[key] for r in runs], ignore_index=True) for key in first.predictions}
    scores = pd.concat([r.scores for r in runs], ignore_index=True)
    pairs = [(first.labels[a], first.labels[b]) for a, b in PAIRS]
    seconds = {k: sum(r.seconds.get(k, 0.0) for r in runs) for k in first.seconds}
    return SettingRun(setting=setting, labels=first.labels, predictions=predictions, scores=scores,
                      summary=summary(scores, groups), comparisons=comparisons(scores, pairs, groups), gru=first.gru,
                      ridges=first.ridges, static={**first.static, "folds": len(runs)}, sequences=first.sequences,
                      seconds=seconds)


def song_examples(run: SettingRun, model: str = GRU) -> dict:
    """The test songs whose curves the page draws: the best, the median and the worst by ``model``'s per-song RMSE
    (the mean over both dimensions); ``{"best": id, "median": id, "worst": id}``."""
    scores = run.scores[run.scores["model"] == run.labels[model]].groupby("song_id")["rmse"].mean().sort_values()
    return {"best": int(scores.index[0]), "median": int(scores.index[len(scores) // 2]),
            "worst": int(scores.index[-1])}


def save_run(results_dir, run: SettingRun) -> Path:
    """Write a setting's summary, comparisons and settings (JSON) and its test predictions (CSV) under
    ``<results_dir>/phase4/``; returns the JSON's path."""
    folder = Path(results_dir) / "phase4"
    slug = run.setting.name.lower().replace(" ", "_")
    predictions = pd.concat([frame.assign(model=run.labels[key]) for key, frame in run.predictions.items()])
    write_csv_atomic(folder / f"{slug}_predictions.csv", predictions)
    path = folder / f"{slug}.json"
    write_json_atomic(path, {"setting": run.setting.name, "description": run.setting.description,
                             "songs": {p: len(v) for p, v in run.setting.parts.items()},
                             "scale": "[-1, 1] (DEAM dynamic annotations)", "static": run.static,
                             "ridge_alphas": {k: r.alpha for k, r in run.ridges.items()},
                             "gru": run.gru.settings, "seconds": run.seconds,
                             "summary": run.summary.to_dict(orient="records"),
                             "comparisons": run.comparisons.to_dict(orient="records")})
    return path
