"""Classifying the 4Q clips: two models per representation, three tasks, artist-grouped repeated cross-validation.

Used by: ``notebooks/real_music.py``.

The tasks (:data:`mer_utils.corpus.fourq.TASKS`): the quadrant (4 classes), the
valence sign (Q1+Q4 against Q2+Q3) and the arousal sign (Q1+Q2 against Q3+Q4).
The models (:func:`classifier`), the same for every representation and fixed
before any 4Q run (nothing is tuned on these songs, so no score is chosen on
the songs it is reported on):

* ``linear``: logistic regression on standardised inputs (L2, ``C`` =
  :data:`LINEAR_C`; multinomial for the quadrants);
* ``mlp``: scikit-learn's ``MLPClassifier`` on standardised inputs, one hidden
  layer of :data:`MLP_HIDDEN` ReLU units, L2 penalty :data:`MLP_ALPHA`, Adam,
  :data:`MLP_EPOCHS` epochs.

The folds are :func:`mer_utils.corpus.fourq.grouped_folds` stratified by
quadrant: every clip of an artist sits on one side of every fold, and each
fold keeps the four quadrants (hence both signs) in proportion.  The same
folds serve every representation, model and task, so all comparisons are
paired.  Each repeat gives every song one out-of-fold prediction.  Scaling
is fitted inside each training fold (a pipeline).  Panda et al. used 20
repeats of 10-fold cross-validation that was not grouped by artist.

There is no held-out test part: 4Q is small, and the cross-validation is the
evaluation.  So "the best" setting of a task is the one with the highest
cross-validated macro F1, a choice made on the same out-of-fold predictions
that report it (it is optimistic by the luck of being the maximum; the paired
intervals say whether it is really ahead).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cache import write_csv_atomic
from ..corpus.fourq import QUADRANTS, TASKS, grouped_folds, task_labels
from ..errors import MerError
from ..results.classification import better_side, paired_f1_difference, repeated_f1

MODELS = ("linear", "mlp")
MODEL_LABELS = {"linear": "logistic regression", "mlp": "MLP"}
TASK_LABELS = {"quadrant": "4 quadrants", "valence": "valence sign", "arousal": "arousal sign"}
LINEAR_C = 0.1  # inverse L2 strength for standardised inputs of 200 to 2048 dimensions and a few hundred songs
MLP_HIDDEN = 128
MLP_ALPHA = 0.01
MLP_EPOCHS = 200
DEFAULT_SPLITS = 10
DEFAULT_REPEATS = 3  # Panda et al.: 20 (FOURQ_REPEATS=20); the spread over repeats is about 0.01 on 4Q


def classifier(model: str, seed: int = 42):
    """A fresh pipeline (standardisation, then the model) for ``model`` in :data:`MODELS`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "linear":
        estimator = LogisticRegression(C=LINEAR_C, max_iter=2000)
    elif model == "mlp":
        estimator = MLPClassifier(hidden_layer_sizes=(MLP_HIDDEN,), alpha=MLP_ALPHA, max_iter=MLP_EPOCHS,
                                  random_state=seed)
    else:
        raise MerError(f"unknown 4Q model '{model}': use one of {', '.join(MODELS)}.")
    return make_pipeline(StandardScaler(), estimator)


def _one_repeat(x: np.ndarray, y: np.ndarray, folds, model: str, seed: int) -> np.ndarray:
    """Out-of-fold predictions of one repeat (class labels, in song order); one BLAS thread per worker."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    predicted = np.empty(len(y), dtype=object)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget, by design
        for train, test in folds:
            fitted = classifier(model, seed).fit(x[train], y[train])
            predicted[test] = fitted.predict(x[test])
    return predicted


@dataclass
class CrossValidation:
    """Out-of-fold predictions of every representation, model, task and repeat.

    ``predictions`` is long: ``representation``, ``model``, ``task``,
    ``repeat``, ``song``, ``true``, ``predicted``.  ``songs`` holds the songs
    used (4Q names, in order), ``groups`` their artist groups; ``labels`` maps
    each representation key to its label.
    """

    predictions: pd.DataFrame
    songs: list[str]
    groups: np.ndarray
    labels: dict
    n_splits: int
    n_repeats: int
    seed: int
    fold_sizes: list[int]

    def matrix(self, representation: str, model: str, task: str) -> tuple[np.ndarray, np.ndarray]:
        """``(truth (n_songs,), predictions (n_repeats, n_songs))``, songs in ``songs`` order."""
        rows = self.predictions[(self.predictions["representation"] == representation)
                                & (self.predictions["model"] == model) & (self.predictions["task"] == task)]
        if rows.empty:
            raise MerError(f"no predictions for {representation} / {model} / {task}.")
        wide = rows.pivot(index="repeat", columns="song", values="predicted")[self.songs]
        truth = rows.drop_duplicates("song").set_index("song").loc[self.songs, "true"]
        return truth.to_numpy(), wide.to_numpy()

    def describe(self) -> str:
        sizes = np.array(self.fold_sizes)
        return (f"{len(self.songs)} songs by {len(set(self.groups))} artists; {self.n_repeats} repeats of "
                f"{self.n_splits}-fold cross-validation grouped by artist and stratified by quadrant "
                f"(test folds of {sizes.min()} to {sizes.max()} songs), seed {self.seed}; the same folds for every "
                "representation, model and task.")


def cross_validate(representations, songs: pd.DataFrame, tasks=tuple(TASKS), models=MODELS,
                   n_splits: int = DEFAULT_SPLITS, n_repeats: int = DEFAULT_REPEATS, seed: int = 42,
                   n_jobs: int | None = None, progress: bool = True) -> CrossValidation:
    """Run every representation x model x task x repeat; return the out-of-fold predictions.

    ``representations``: :class:`mer_utils.realmusic.representations.Representation` s,
    all covering the songs of ``songs`` (indexed by 4Q name: pass the common songs).
    Jobs (one per setting and repeat) run in ``n_jobs`` processes.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    from ..training.runtime import DEFAULT_JOBS

    songs = songs.sort_index()
    names = [str(s) for s in songs.index]
    folds = grouped_folds(songs, task="quadrant", n_splits=n_splits, n_repeats=n_repeats, seed=seed)
    by_repeat = [[(f.train, f.test) for f in folds if f.repeat == r] for r in range(n_repeats)]
    labels = {task: task_labels(songs, task).to_numpy() for task in tasks}
    jobs, keys = [], []
    for rep in representations:
        missing = set(names) - set(rep.frame.index)
        if missing:
            raise MerError(f"{rep.label} lacks {len(missing)} of the songs to compare: pass the songs every "
                           "representation covers (common_songs).")
        x = rep.frame.loc[names].to_numpy(dtype=np.float64)
        for model in models:
            for task in tasks:
                for repeat in range(n_repeats):
                    jobs.append(delayed(_one_repeat)(x, labels[task], by_repeat[repeat], model, seed + repeat))
                    keys.append((rep.key, model, task, repeat))
    runner = Parallel(n_jobs=n_jobs or DEFAULT_JOBS, return_as="generator")
    outputs = list(tqdm(runner(jobs), total=len(jobs), desc="cross-validation", unit="run", disable=not progress))
    frames = [pd.DataFrame({"representation": key[0], "model": key[1], "task": key[2], "repeat": key[3],
                            "song": names, "true": labels[key[2]], "predicted": predicted})
              for key, predicted in zip(keys, outputs)]
    return CrossValidation(predictions=pd.concat(frames, ignore_index=True), songs=names,
                           groups=songs["artist_group"].astype(str).to_numpy(),
                           labels={r.key: r.label for r in representations}, n_splits=n_splits,
                           n_repeats=n_repeats, seed=seed, fold_sizes=[len(f.test) for f in folds])


def save_predictions(cv: CrossValidation, results_dir) -> str:
    """Write the out-of-fold predictions to ``<results_dir>/crossval_predictions.csv`` (atomically); return the path."""
    from pathlib import Path

    path = Path(results_dir) / "crossval_predictions.csv"
    write_csv_atomic(path, cv.predictions)
    return str(path)


def score_table(cv: CrossValidation) -> pd.DataFrame:
    """Macro F1 of every setting with its 95% interval (bootstrap over artists) and its spread over repeats.

    One row per task, representation and model: ``task``, ``representation``
    (label), ``key``, ``model``, ``f1``, ``low``, ``high``, ``sd_repeats``,
    ``accuracy``, ``songs``, ``repeats``; in the order the settings were run
    (representation, model, task).
    """
    rows = []
    for (key, model, task), _ in cv.predictions.groupby(["representation", "model", "task"], sort=False):
        truth, predicted = cv.matrix(key, model, task)
        scores = repeated_f1(truth, predicted, groups=cv.groups, classes=TASKS[task])
        rows.append({"task": task, "representation": cv.labels[key], "key": key, "model": model, **scores,
                     "accuracy": float((predicted == truth).mean())})
    return pd.DataFrame(rows)


def best_settings(scores: pd.DataFrame) -> pd.DataFrame:
    """The setting with the highest cross-validated macro F1 of each task (one row per task)."""
    best = scores.loc[scores.groupby("task", sort=False)["f1"].idxmax()]
    return best.reset_index(drop=True)


def differences(cv: CrossValidation) -> pd.DataFrame:
    """Paired differences in macro F1 on the same songs, folds and resampled artists.

    Two kinds of row: ``representations`` (each pair of representations, same
    model and task) and ``models`` (MLP minus logistic regression, same
    representation and task).  Columns ``task``, ``compared``, ``a``, ``b``,
    ``model`` or ``representation``, ``difference``, ``low``, ``high``,
    ``songs``, ``better`` (``a``, ``b`` or empty: the interval includes zero).
    """
    reps = list(cv.labels)
    models = list(dict.fromkeys(cv.predictions["model"]))
    tasks = list(dict.fromkeys(cv.predictions["task"]))
    rows = []
    for task in tasks:
        for model in models:
            for i, a in enumerate(reps):
                for b in reps[i + 1:]:
                    truth, pa = cv.matrix(a, model, task)
                    _, pb = cv.matrix(b, model, task)
                    diff = paired_f1_difference(truth, pa, pb, groups=cv.groups, classes=TASKS[task])
                    rows.append({"task": task, "compared": "representations", "a": cv.labels[a], "b": cv.labels[b],
                                 "held fixed": MODEL_LABELS[model], **diff})
        if len(models) == 2:
            for rep in reps:
                truth, pa = cv.matrix(rep, models[1], task)
                _, pb = cv.matrix(rep, models[0], task)
                diff = paired_f1_difference(truth, pa, pb, groups=cv.groups, classes=TASKS[task])
                rows.append({"task": task, "compared": "models", "a": MODEL_LABELS[models[1]],
                             "b": MODEL_LABELS[models[0]], "held fixed": cv.labels[rep], **diff})
    table = pd.DataFrame(rows)
    table["better"] = better_side(table)
    return table


def confusion(cv: CrossValidation, key: str, model: str, task: str = "quadrant") -> pd.DataFrame:
    """The confusion matrix of one setting, pooled over repeats, as shares of each true class (rows sum to 1)."""
    truth, predicted = cv.matrix(key, model, task)
    classes = list(TASKS[task])
    counts = pd.crosstab(pd.Categorical(np.tile(truth, len(predicted)), classes),
                         pd.Categorical(predicted.ravel(), classes), dropna=False)
    counts.index.name, counts.columns.name = "true", "predicted"
    return counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)


__all__ = ["MODELS", "MODEL_LABELS", "TASK_LABELS", "QUADRANTS", "classifier", "cross_validate", "score_table",
           "best_settings", "differences", "confusion", "save_predictions", "CrossValidation"]
