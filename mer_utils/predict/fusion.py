"""The predictor for real music: an EmotionMLP that learns a rated corpus's ratings and 4Q's quadrant signs at once.

Used by: ``notebooks/predictor.py`` (trains, evaluates and saves it) and
``benchmarks/bench_peers.py`` (reads the out-of-fold predictions it saves).

Why two corpora.  A model trained on Soundtracks' ratings ranks 4Q's positive
clips above its negative ones, but it has heard film music only; 4Q's 900 clips
of popular music carry no ratings, only Russell quadrants.  The report's future
work names "multi-dataset fusion"; here it is the simplest one that keeps one
output per target on the rating scale:

* each 4Q clip becomes a rating of each target, :data:`PSEUDO_STRENGTH` training
  standard deviations above the rated corpus's training mean where its quadrant
  says positive valence (Q1, Q4) or high arousal (Q1, Q2), as far below where it
  says the opposite (least-squares classification on the rating axis);
* the rows of both corpora train one EmotionMLP with the book's one loop
  (:func:`mer_utils.training.mlp.fit_emotion_mlp`: scalers fit on training rows,
  Adam on the summed MSE, early stopping on the validation rows of both).

How it is scored (:func:`fold_runs`).  The two corpora's folds run side by
side: the rated corpus's folds are the book's (film-grouped for Soundtracks),
4Q's are artist-grouped folds of the same number (:func:`mer_utils.corpus.split.grouped_folds`
with the artist as group).  In run k the model trains on both training parts,
stops on both validation parts and predicts both test parts, so every rated
song and every 4Q clip is predicted once by a model that never saw its film
or its artist.  A rated corpus with one split (DEAM) takes part in every one of
:data:`SIGN_FOLDS` runs with that split, and its test songs are scored from the
first run.  The same runs without the 4Q rows give the ratings-only model on
exactly the same rated songs, so the two are paired.

How it hears a song (:data:`PATCHES_PER_SONG`).  musicnn's cost is per 3-second
patch, so a song is heard at a few patches spread over it
(:func:`mer_utils.phase3.embeddings.spread_indices`) and its embedding is their
mean: in training (from the cached patches of the Phase 3 page and the Real
music chapter), out of fold and in ``mer predict`` alike, so every score of
this model is a score of the model ``mer predict`` runs.  A 30-second clip is
heard at 4 of its 10 patches, a 4-minute song at 4 of 80: the cost no longer
grows with the song, which is what makes ``mer predict`` faster than vibenet
(``benchmarks/bench_peers.py``).

What is saved (:func:`final_predictor`): the model refitted on every song of
both corpora (run 1's validation parts stop it), the logistic fit of 4Q's
quadrant signs on the out-of-fold outputs (:func:`quadrant_fit`, what ``mer
predict --quadrant`` turns into a quadrant and its probability), and the
out-of-fold 4Q predictions, the only honest scores of this model on 4Q.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..corpus.base import TARGETS
from ..errors import MerError

PSEUDO_STRENGTH = 1.0  # a 4Q clip's pseudo-rating: this many training standard deviations from the training mean
SIGN_COLUMNS = {"valence_mean": "valence_positive", "arousal_mean": "arousal_high"}  # target -> 4Q sign
VARIANTS = ("ratings only", "ratings + 4Q quadrants")
DIFFERENCE_COLUMNS = ["corpus", "target", "metric", "difference", "low", "high", "songs"]  # a paired comparison
SIGN_FOLDS = 5  # artist-grouped folds of the clips when the rated corpus has one split (else as many as its folds)
PATCHES_PER_SONG = 4  # the predictor hears a song at this many 3-s patches spread over it (see the module docstring)


@dataclass
class RatedSongs:
    """The rated corpus: ``x`` embeddings and ``y`` ratings (1..9, :data:`TARGETS` order) of ``ids``, with each song's
    ``group`` (film) and the book's ``folds`` (``{fold: split frame}``, :attr:`mer_utils.page.Page.folds`)."""

    name: str
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    folds: dict


@dataclass
class SignedClips:
    """Clips with quadrant signs only (4Q): ``x`` embeddings of ``names``, ``signs`` (n, 2) booleans in
    :data:`TARGETS` order (positive valence, high arousal), each clip's ``group`` (artist)."""

    name: str
    names: np.ndarray
    x: np.ndarray
    signs: np.ndarray
    groups: np.ndarray
    quadrants: pd.Series  # each clip's quadrant (Q1..Q4), indexed by name
    x_every_patch: np.ndarray | None = None  # the same clips heard at every patch (:func:`heard_at_every_patch`)


def rated_songs(name: str, song_ids, embeddings: np.ndarray, labels: pd.DataFrame, groups: pd.Series,
                folds: dict) -> RatedSongs:
    """:class:`RatedSongs` from an embedding set's rows (``song_ids``, ``embeddings``) and the corpus's labels."""
    ids = np.asarray([int(i) for i in song_ids])
    return RatedSongs(name, ids, np.asarray(embeddings, dtype=np.float32),
                      labels.loc[ids, TARGETS].to_numpy(dtype=float), groups.loc[ids].astype(str).to_numpy(), folds)


def signed_clips(name: str, frame: pd.DataFrame, songs: pd.DataFrame,
                 every_patch: pd.DataFrame | None = None) -> SignedClips:
    """:class:`SignedClips` from a representation's frame (indexed by clip name) and the clips' table
    (``valence_positive``, ``arousal_high``, ``artist_group``), on the clips both hold; ``every_patch``: the same
    clips' embeddings heard at every patch, kept beside them."""
    names = np.asarray([n for n in frame.index if n in songs.index])
    if len(names) == 0:
        raise MerError(f"no {name} clip has both an embedding and a quadrant: check the clips listed as skipped.")
    signs = songs.loc[names, [SIGN_COLUMNS[t] for t in TARGETS]].to_numpy(dtype=bool)
    return SignedClips(name, names, frame.loc[names].to_numpy(dtype=np.float32), signs,
                       songs.loc[names, "artist_group"].astype(str).to_numpy(), songs.loc[names, "quadrant"],
                       None if every_patch is None else every_patch.loc[names].to_numpy(dtype=np.float32))


def heard_at_every_patch(clips: SignedClips | None) -> SignedClips | None:
    """The same clips with the embeddings of every patch in place of the shipped hearing (``None`` stays ``None``)."""
    from dataclasses import replace

    if clips is None:
        return None
    if clips.x_every_patch is None:
        raise MerError(f"the {clips.name} clips were made without their every-patch embeddings "
                       "(fusion.fourq_clips keeps them).")
    return replace(clips, x=clips.x_every_patch)


def fourq_clips(fourq_dir, backbone, cache_dir=None, n_threads=None, precision=None) -> tuple[SignedClips | None, str]:
    """4Q's clips embedded by ``backbone`` (musicnn; cached where the Real music chapter caches them), each heard
    at :data:`PATCHES_PER_SONG` patches (and at every patch, kept beside), and a note for the page; ``(None, note)``
    without ``fourq_dir``."""
    if fourq_dir in (None, ""):
        return None, ("No `FOURQ_DIR` was given, so the predictor learns from the ratings alone and gives no "
                      "quadrant probabilities; `make book DATA=... FOURQ_DIR=<dir>` adds 4Q's quadrants.")
    from ..corpus.fourq import load_fourq
    from ..realmusic.corpus import DEFAULT_CACHE_DIR, fourq_corpus
    from ..realmusic.representations import musicnn

    corpus = fourq_corpus(load_fourq(fourq_dir))
    representation = musicnn(corpus, cache_dir or DEFAULT_CACHE_DIR, backbone.network.weights, n_threads=n_threads,
                             precision=precision or "auto", progress=False, patches_per_song=PATCHES_PER_SONG)
    clips = signed_clips("4q", representation.frame, corpus.fourq.songs, every_patch=representation.every_patch)
    counts = clips.quadrants.value_counts().sort_index()
    return clips, (f"4Q at `{corpus.root}`: {len(clips.names)} clips by {len(set(clips.groups))} artists "
                   f"({', '.join(f'{q} {n}' for q, n in counts.items())}), embedded by the same musicnn. "
                   f"{representation.note}")


def pseudo_ratings(signs: np.ndarray, y_train: np.ndarray, strength: float = PSEUDO_STRENGTH) -> np.ndarray:
    """Ratings for signed clips: the training mean plus or minus ``strength`` training standard deviations."""
    mean, sd = y_train.mean(axis=0), y_train.std(axis=0)
    return mean + strength * sd * np.where(np.asarray(signs, dtype=bool), 1.0, -1.0)


def sign_folds(clips: SignedClips, n_folds: int, seed: int) -> dict[int, dict[str, np.ndarray]]:
    """Artist-grouped folds of the clips, with the book's parts: ``{fold: {"train"|"validation"|"test": rows}}``."""
    from ..corpus.split import grouped_folds

    rows = pd.Series(np.arange(len(clips.names)))
    table = grouped_folds(rows.index, pd.Series(clips.groups, index=rows.index), n_folds=n_folds, seed=seed)
    return {int(fold): {part: part_rows["song_id"].to_numpy() for part, part_rows in frame.groupby("part")}
            for fold, frame in table.groupby("fold")}


def rated_parts(rated: RatedSongs) -> dict[int, dict[str, np.ndarray]]:
    """The book's folds as row positions of ``rated``: ``{fold: {part: rows}}``."""
    position = {int(i): k for k, i in enumerate(rated.ids)}
    out = {}
    for fold, split in rated.folds.items():
        out[int(fold)] = {part: np.asarray([position[int(i)] for i in frame["song_id"] if int(i) in position],
                                           dtype=int)
                          for part, frame in split.groupby("part")}
    return out


def runs_plan(rated: RatedSongs, clips: SignedClips | None, seed: int) -> list[tuple[int, dict, dict | None, bool]]:
    """The runs of :func:`fold_runs`: ``(fold, rated parts, clip parts, score the rated test songs)`` each.

    As many runs as the rated corpus has folds; with one split (and clips), :data:`SIGN_FOLDS` runs that all use
    it, the rated test songs scored in the first only.
    """
    rated_by_fold = rated_parts(rated)
    one = len(rated_by_fold) == 1
    n_runs = SIGN_FOLDS if one and clips is not None else len(rated_by_fold)
    clip_by_fold = sign_folds(clips, n_runs, seed) if clips is not None else {}
    folds = sorted(rated_by_fold)
    plan = []
    for k in range(n_runs):
        fold = folds[0] if one else folds[k]
        clip_parts = clip_by_fold[sorted(clip_by_fold)[k]] if clips is not None else None
        plan.append((k + 1 if one else fold, rated_by_fold[fold], clip_parts, k == 0 or not one))
    return plan


def fit_predictor(rated: RatedSongs, rated_rows: dict, clips: SignedClips | None, clip_rows: dict | None, *,
                  settings: dict, seed: int, progress: bool = False):
    """One EmotionMLP on the ``train`` rows of both corpora, stopped on their ``validation`` rows.

    ``rated_rows`` and ``clip_rows`` map ``train`` and ``validation`` to row positions; without
    ``clips`` it is the ratings-only model.  Returns a :class:`mer_utils.training.mlp.MlpResult`.
    """
    from ..training.mlp import fit_emotion_mlp

    y_train = rated.y[rated_rows["train"]]
    x = {part: [rated.x[rated_rows[part]]] for part in ("train", "validation")}
    y = {part: [rated.y[rated_rows[part]]] for part in ("train", "validation")}
    if clips is not None:
        for part in ("train", "validation"):
            x[part].append(clips.x[clip_rows[part]])
            y[part].append(pseudo_ratings(clips.signs[clip_rows[part]], y_train))
    return fit_emotion_mlp(np.concatenate(x["train"]), np.concatenate(y["train"]), np.concatenate(x["validation"]),
                           np.concatenate(y["validation"]), target_names=TARGETS, epochs=settings["epochs"],
                           patience=settings["patience"], batch_size=settings["batch_size"], lr=settings["lr"],
                           seed=seed, progress=progress)


def fold_runs(rated: RatedSongs, clips: SignedClips | None, *, settings: dict, seed: int) -> pd.DataFrame:
    """Out-of-fold predictions of both variants (:data:`VARIANTS`) on both corpora, one row per item and variant.

    Columns: ``variant``, ``corpus``, ``item`` (song id or clip name), ``group``, ``fold``,
    ``best_epoch``, the two targets' predictions (``valence_mean``, ``arousal_mean``, on the rated
    scale) and the truth (``true_<target>``: a rating, or the sign as 1.0 / 0.0 for a clip).
    Without ``clips`` only the ratings-only variant runs, on the rated corpus.
    """
    rows = []
    for fold, parts, clip_parts, score_rated in runs_plan(rated, clips, seed):
        for variant in VARIANTS if clips is not None else VARIANTS[:1]:
            with_clips = variant != VARIANTS[0]
            model = fit_predictor(rated, parts, clips if with_clips else None, clip_parts if with_clips else None,
                                  settings=settings, seed=seed)
            best = int(model.history.attrs["best_epoch"])
            tests = []
            if score_rated:
                tests.append((rated.name, rated.ids[parts["test"]], rated.groups[parts["test"]],
                              rated.x[parts["test"]], rated.y[parts["test"]]))
            if clips is not None:
                test = clip_parts["test"]
                tests.append((clips.name, clips.names[test], clips.groups[test], clips.x[test],
                              clips.signs[test].astype(float)))
            for corpus, items, groups, x, truth in tests:
                predicted = model.predict(x)
                for j in range(len(items)):
                    rows.append({"variant": variant, "corpus": corpus, "item": items[j], "group": groups[j],
                                 "fold": int(fold), "best_epoch": best,
                                 **{t: float(predicted[j, c]) for c, t in enumerate(TARGETS)},
                                 **{f"true_{t}": float(truth[j, c]) for c, t in enumerate(TARGETS)}})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- scores


def out_of_fold_frame(runs: pd.DataFrame, clips_name: str, variant: str = VARIANTS[1]) -> pd.DataFrame:
    """The clips' out-of-fold predictions of one variant, indexed by clip name (one column per target)."""
    part = runs[(runs["corpus"] == clips_name) & (runs["variant"] == variant)]
    return part.set_index("item")[TARGETS]


def rated_scores(runs: pd.DataFrame, rated_name: str) -> pd.DataFrame:
    """Out-of-fold R², RMSE and MAE (1..9) with 95% intervals over groups (films), per variant and target."""
    from ..results.intervals import bootstrap_interval
    from ..results.metrics import regression_metrics

    out = []
    for variant, part in runs[runs["corpus"] == rated_name].groupby("variant", sort=False):
        for target in TARGETS:
            truth, predicted = part[f"true_{target}"].to_numpy(), part[target].to_numpy()
            scores = regression_metrics(truth, predicted)
            interval = bootstrap_interval(truth, predicted, groups=part["group"].to_numpy())
            out.append({"variant": variant, "target": target, **scores,
                        **{f"{m}_low": interval[m][0] for m in interval},
                        **{f"{m}_high": interval[m][1] for m in interval},
                        "songs": len(part), "groups": part["group"].nunique()})
    return pd.DataFrame(out)


def sign_scores(runs: pd.DataFrame, clips_name: str | None) -> pd.DataFrame:
    """ROC AUC of each target's out-of-fold prediction for its 4Q sign, with 95% intervals over artists, and the
    Spearman correlation between the predicted valence and arousal; per variant and target (none without clips)."""
    from scipy.stats import spearmanr

    from ..results.classification import auc_interval

    out = []
    if clips_name is None:
        return pd.DataFrame(columns=["variant", "target", "auc", "low", "high", "songs", "positives",
                                     "valence_arousal_spearman", "artists"])
    for variant, part in runs[runs["corpus"] == clips_name].groupby("variant", sort=False):
        rho = float(spearmanr(part[TARGETS[0]], part[TARGETS[1]]).statistic)
        for target in TARGETS:
            result = auc_interval(part[f"true_{target}"].to_numpy() > 0.5, part[target].to_numpy(),
                                  groups=part["group"].to_numpy())
            out.append({"variant": variant, "target": target, **result, "valence_arousal_spearman": rho,
                        "artists": part["group"].nunique()})
    return pd.DataFrame(out)


def variant_differences(runs: pd.DataFrame, rated_name: str, clips_name: str | None) -> pd.DataFrame:
    """The fused model minus the ratings-only model on the same items: R² on the rated corpus (paired bootstrap
    over films), ROC AUC on the clips (paired bootstrap over artists); one row per corpus and target (none
    without clips)."""
    if clips_name is None or clips_name not in set(runs["corpus"]):
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    return paired_runs(runs[runs["variant"] == VARIANTS[1]], runs[runs["variant"] == VARIANTS[0]],
                       rated_name, clips_name)


def hearing_differences(heard: pd.DataFrame, every_patch: pd.DataFrame, rated_name: str,
                        clips_name: str | None) -> pd.DataFrame:
    """The model as shipped (each song heard at :data:`PATCHES_PER_SONG` patches) minus the same runs with every
    patch heard (:func:`fold_runs` of both, same folds and seed), on the same items; the fused variant where the
    clips were given, else the ratings-only one.  Columns as :func:`variant_differences`."""
    variant = VARIANTS[1] if clips_name is not None else VARIANTS[0]
    return paired_runs(heard[heard["variant"] == variant], every_patch[every_patch["variant"] == variant],
                       rated_name, clips_name)


def paired_runs(a: pd.DataFrame, b: pd.DataFrame, rated_name: str, clips_name: str | None) -> pd.DataFrame:
    """``a`` minus ``b``, two sets of out-of-fold rows (one variant each) on the same items: R² on the rated
    corpus (paired bootstrap over its groups), ROC AUC on the clips (over artists); one row per corpus and target."""
    from ..results.classification import paired_auc_difference
    from ..results.intervals import paired_difference

    out = []
    for corpus in [rated_name, clips_name]:
        first = a[a["corpus"] == corpus].set_index("item")
        if corpus is None or first.empty:
            continue
        second = b[b["corpus"] == corpus].set_index("item").loc[first.index]
        for target in TARGETS:
            if corpus == rated_name:
                d = paired_difference(first[f"true_{target}"], first[target], second[target],
                                      groups=first["group"].to_numpy())
            else:
                d = paired_auc_difference(first[f"true_{target}"].to_numpy() > 0.5, first[target], second[target],
                                          groups=first["group"].to_numpy())
            out.append({"corpus": corpus, "target": target, "metric": "R²" if corpus == rated_name else "ROC AUC",
                        **d})
    return pd.DataFrame(out, columns=DIFFERENCE_COLUMNS)


# --------------------------------------------------------------------------- the saved predictor


def quadrant_fit(runs: pd.DataFrame, clips_name: str, variant: str = VARIANTS[1]) -> dict:
    """Per target, the logistic fit of the clips' sign on the model's out-of-fold output: ``{"valence": {"intercept",
    "slope"}, "arousal": {...}, "clips": n}``, what ``mer predict --quadrant`` reads."""
    from sklearn.linear_model import LogisticRegression

    part = runs[(runs["corpus"] == clips_name) & (runs["variant"] == variant)]
    fit = {"clips": int(len(part)), "learned_from": clips_name}
    for target in TARGETS:
        model = LogisticRegression(C=1e6).fit(part[[target]].to_numpy(), part[f"true_{target}"].to_numpy() > 0.5)
        fit[target.removesuffix("_mean")] = {"intercept": float(model.intercept_[0]), "slope": float(model.coef_[0, 0])}
    return fit


def final_predictor(rated: RatedSongs, clips: SignedClips | None, *, settings: dict, seed: int):
    """The model to ship: trained on every song of both corpora but run 1's validation parts, which stop it."""
    _, first, clip_parts, _ = runs_plan(rated, clips, seed)[0]
    rated_rows = {"validation": first["validation"],
                  "train": np.setdiff1d(np.arange(len(rated.ids)), first["validation"])}
    clip_rows = None
    if clips is not None:
        validation = clip_parts["validation"]
        clip_rows = {"validation": validation, "train": np.setdiff1d(np.arange(len(clips.names)), validation)}
    return fit_predictor(rated, rated_rows, clips, clip_rows, settings=settings, seed=seed)


def out_of_fold_entry(runs: pd.DataFrame, corpus: str, variant: str = VARIANTS[1]) -> dict:
    """One corpus's out-of-fold predictions (and the truths they are scored on) as plain lists, saved in the bundle
    (``out_of_fold``): what the shipped predictor's figures are computed from (:mod:`mer_utils.predict.shipping`)."""
    part = runs[(runs["corpus"] == corpus) & (runs["variant"] == variant)].sort_values("item")
    return {corpus: {"item": [str(i) for i in part["item"]], "group": [str(g) for g in part["group"]],
                     "fold": [int(f) for f in part["fold"]],
                     **{c: [float(v) for v in part[c]] for t in TARGETS for c in (t, f"true_{t}")}}}


def runs_from_entry(out_of_fold: dict, variant: str = VARIANTS[1]) -> pd.DataFrame:
    """The ``runs`` rows (:func:`fold_runs`' columns) of a bundle's ``out_of_fold`` entries, for scoring them again."""
    return pd.concat([pd.DataFrame({"corpus": corpus, "variant": variant, **entry})
                      for corpus, entry in out_of_fold.items()], ignore_index=True)


def save_predictor(results_dir, mlp, backbone, embedding_settings: dict, rated: RatedSongs,
                   clips: SignedClips | None, runs: pd.DataFrame, extra: dict | None = None):
    """Save the final predictor (:func:`final_predictor`) as ``<results_dir>/models/predictor.pt`` for ``mer predict``.

    ``backbone`` is the :class:`mer_utils.phase3.backbones.Phase3Backbone` of the embeddings; the bundle
    carries its weights (musicnn), what the model learned from each corpus, and, when it learned 4Q's
    quadrants, their logistic fit and the clips' out-of-fold predictions.
    """
    from pathlib import Path

    from .bundles import PREDICTOR_FILE, backbone_state, save_bundle

    entries = {"learned_from": {rated.name: "ratings", **({clips.name: "quadrant signs"} if clips else {})},
               **backbone_state(backbone)}
    entries["out_of_fold"] = out_of_fold_entry(runs, rated.name, VARIANTS[1] if clips is not None else VARIANTS[0])
    if clips is not None:
        entries.update(quadrants=quadrant_fit(runs, clips.name))
        entries["out_of_fold"].update(out_of_fold_entry(runs, clips.name))
    return save_bundle(Path(results_dir) / PREDICTOR_FILE, mlp, {**backbone.info(), "name": backbone.name},
                       {**embedding_settings, "patches_per_song": PATCHES_PER_SONG}, data=rated.name,
                       extra={**entries, **(extra or {})})
