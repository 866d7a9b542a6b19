"""Phase 1 regressors: the six models of the report and their hyperparameter grids.

:func:`grid_search` tunes one regressor with 5-fold ``GridSearchCV`` on the
training songs only, refits the best setting on them, and scores it on the
validation songs (the report's own protocol) and on the held-out test songs.
Features are standardised inside the pipeline, so the scaler is fitted on the
training folds only.

Used by: ``notebooks/phase1_models.py`` (:func:`feature_set_records` and
:func:`grid_search_records` make the page's two experiments).
"""

from __future__ import annotations

import time

import numpy as np

import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from ..corpus.base import TARGETS, short_name
from ..estimates import announce_grid_search
from ..errors import MerError
from ..results.metrics import regression_metrics
from ..results.intervals import predictions_frame
from ..results.records import make_record
from .features import part_song_ids, split_arrays
from .selection import FEATURE_SETS, xgboost_regressor

CV_FOLDS, CV_REPEATS = 5, 2  # repeated k-fold over the training and validation songs
GRID_SETTING = "full features, grid search"  # the records' ``setting`` of the tuned regressors
DEFAULT_GRID = "full"

# Grids: "full" for the book, "small" for quick checks (the end-to-end test).
GRIDS = {
    "full": {
        "Ridge": {"alpha": [0.1, 1.0, 10.0, 100.0, 1000.0]},
        "Lasso": {"alpha": [0.001, 0.01, 0.03, 0.1, 0.3]},
        "SVR": {"C": [0.3, 1.0, 3.0, 10.0], "gamma": ["scale", 0.001]},
        "Random forest": {"n_estimators": [300], "max_depth": [None, 8], "min_samples_leaf": [1, 3]},
        "Gradient boosting": {"n_estimators": [100, 200], "learning_rate": [0.05, 0.1], "max_depth": [2, 3]},
        "XGBoost": {"n_estimators": [150, 300], "learning_rate": [0.05, 0.1], "max_depth": [3, 5]},
    },
    "small": {
        "Ridge": {"alpha": [1.0, 100.0]},
        "Lasso": {"alpha": [0.01, 0.1]},
        "SVR": {"C": [1.0, 3.0]},
        "Random forest": {"n_estimators": [50], "max_depth": [None]},
        "Gradient boosting": {"n_estimators": [50], "max_depth": [2]},
        "XGBoost": {"n_estimators": [50], "max_depth": [3]},
    },
}


def regressor(name: str, seed: int = 42):
    """A fresh, seeded instance of one of the six regressors."""
    makers = {
        "Ridge": lambda: Ridge(),
        "Lasso": lambda: Lasso(max_iter=20000),
        "SVR": lambda: SVR(),
        # sqrt(386) ~ 20 candidate features per split: the usual choice, and ~10x faster
        "Random forest": lambda: RandomForestRegressor(max_features="sqrt", random_state=seed, n_jobs=1),
        "Gradient boosting": lambda: GradientBoostingRegressor(max_features="sqrt", subsample=0.8, random_state=seed),
        "XGBoost": lambda: xgboost_regressor(seed, n_jobs=1),
    }
    if name not in makers:
        raise MerError(f"unknown regressor '{name}': use one of {', '.join(makers)}.")
    return makers[name]()


def grid_search(
    name, train_x, train_y, valid_x, valid_y, test_x, test_y, grid: str = DEFAULT_GRID, seed: int = 42, n_jobs: int = 2,
    train_groups=None,
) -> dict:
    """Tune one regressor by 5-fold CV on train; score the refitted best on validation and test.

    Args:
        name: one of the six regressors (:func:`regressor`).
        train_x, train_y, valid_x, valid_y, test_x, test_y: the arrays of :func:`mer_utils.phase1.features.split_arrays`.
        grid: ``"full"`` (the book) or ``"small"`` (quick checks), a key of :data:`GRIDS`.
        seed: seeds the folds and the regressor.
        n_jobs: parallel fits of the grid search.
        train_groups: the group (film) of each training song where songs are not independent: the inner
            folds then keep a group whole (``GroupKFold``), so the grid is not chosen on films it trained on.
            With fewer than two groups (a tiny corpus) no grouped fold exists and songs are folded instead.
    """
    if grid not in GRIDS:
        raise MerError(f"unknown grid '{grid}': use 'full' or 'small'.")
    pipeline = Pipeline([("scale", StandardScaler()), ("model", regressor(name, seed))])
    params = {f"model__{k}": v for k, v in GRIDS[grid][name].items()}
    if train_groups is not None and len(set(train_groups)) < 2:
        train_groups = None
    if train_groups is None:
        folds = KFold(n_splits=min(5, len(train_y)), shuffle=True, random_state=seed)
    else:
        folds = GroupKFold(n_splits=min(5, len(set(train_groups))))
    start = time.perf_counter()
    search = GridSearchCV(pipeline, params, cv=folds, scoring="r2", n_jobs=n_jobs, refit=True)
    search.fit(train_x, train_y, groups=train_groups)
    best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
    return {
        "model": name,
        "best_params": best,
        "cv_r2": float(search.best_score_),
        "validation": regression_metrics(valid_y, search.predict(valid_x)),
        "test": regression_metrics(test_y, search.predict(test_x)),
        "test_predicted": search.predict(test_x),
        "seconds": time.perf_counter() - start,
        "estimator": search.best_estimator_,
    }


def fit_and_score(model, train_x, train_y, valid_x, valid_y, test_x, test_y) -> dict:
    """Fit ``model`` on train; metrics on validation and test (1..9 scale)."""
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    return {
        "validation": regression_metrics(valid_y, model.predict(valid_x)),
        "test": regression_metrics(test_y, predicted),
        "test_predicted": predicted,
    }


def feature_set_records(features: pd.DataFrame, labels: pd.DataFrame, split: pd.DataFrame, sets: dict, data: str,
                        seed: int, run: dict | None = None) -> list[dict]:
    """The report's Table 2 experiment: XGBoost with fixed settings on each feature set, one record per set and target.

    ``sets`` is ``{target: {set name: [features]}}`` as saved by
    :func:`mer_utils.phase1.selection.save_selection`; ``run`` is the page's
    :attr:`mer_utils.page.Page.run`.  Records carry the test songs' predictions and intervals.
    """
    test_ids = part_song_ids(features, split, "test")
    records = []
    for target in TARGETS:
        for set_name in FEATURE_SETS:
            columns = sets[target][set_name]
            arrays = split_arrays(features, labels, split, target, columns)
            scores = fit_and_score(xgboost_regressor(seed), *arrays)
            records.append(make_record(1, "XGBoost", target, data, scores["validation"], scores["test"], run=run,
                                       test_predictions=predictions_frame(test_ids, arrays[5], scores["test_predicted"]),
                                       setting=set_name, features=len(columns)))
    return records


def repeated_cv(estimator, x, y, seed: int, n_splits: int = CV_FOLDS, n_repeats: int = CV_REPEATS, groups=None) -> dict:
    """R² of ``estimator`` (a fitted setting, refit per fold) in repeated k-fold CV over songs: mean, sd, folds.

    With ``groups`` (each song's film) the folds keep a group whole: one round of ``GroupKFold``
    (with fewer than two groups, songs are folded instead).
    """
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedKFold, cross_val_score

    if groups is not None and len(set(groups)) < 2:
        groups = None
    if groups is None:
        folds = RepeatedKFold(n_splits=min(n_splits, len(y)), n_repeats=n_repeats, random_state=seed)
    else:
        folds = GroupKFold(n_splits=min(n_splits, len(set(groups))))
    scores = cross_val_score(clone(estimator), x, y, cv=folds, scoring="r2", n_jobs=1, groups=groups)
    return {"cv_r2_mean": float(np.mean(scores)), "cv_r2_sd": float(np.std(scores, ddof=1)), "cv_folds": int(len(scores))}


def grid_search_records(features: pd.DataFrame, labels: pd.DataFrame, split: pd.DataFrame, data: str, grid: str,
                        seed: int, n_jobs: int, run: dict | None = None, song_groups=None) -> list[dict]:
    """The six regressors tuned by :func:`grid_search` on the full feature set, one record per model and target.

    Besides the held-out test figures (with intervals), each record carries
    the chosen setting's R² in repeated 5-fold cross-validation over the
    training and validation songs (never the test songs): mean, spread and folds.
    ``song_groups`` (each song's film, :attr:`mer_utils.page.Page.groups`) makes
    both inner cross-validations keep a film whole.
    """
    from tqdm import tqdm

    test_ids = part_song_ids(features, split, "test")
    announce_grid_search(len(GRIDS[grid]), len(features), grid)
    records = []
    for target in TARGETS:
        arrays = split_arrays(features, labels, split, target)
        pooled_x, pooled_y = np.vstack(arrays[0:3:2]), np.concatenate(arrays[1:4:2])
        train_groups, pooled_groups = None, None
        if song_groups is not None:
            groups = pd.Series(song_groups)
            train_groups = groups.loc[part_song_ids(features, split, "train")].to_numpy()
            pooled_groups = np.concatenate([train_groups,
                                            groups.loc[part_song_ids(features, split, "validation")].to_numpy()])
        for name in tqdm(GRIDS[grid], desc=f"grid search ({short_name(target)})"):
            result = grid_search(name, *arrays, grid=grid, seed=seed, n_jobs=n_jobs, train_groups=train_groups)
            records.append(make_record(1, name, target, data, result["validation"], result["test"], run=run,
                                       test_predictions=predictions_frame(test_ids, arrays[5], result["test_predicted"]),
                                       setting=GRID_SETTING, best_params=result["best_params"], cv_r2=result["cv_r2"],
                                       **repeated_cv(result["estimator"], pooled_x, pooled_y, seed,
                                                     groups=pooled_groups)))
    return records
