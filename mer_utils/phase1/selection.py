"""Phase 1 feature selection: Pearson ranking, SHAP of XGBoost, PCA, and the chosen feature sets.

Used by: ``notebooks/phase1_features.py`` (the rankings, figures and the
saved selection) and ``notebooks/phase1_models.py`` (the feature-set table,
from :func:`load_selection`).

Every ranking is computed on the training songs only, so the validation and
test songs never influence which features are chosen.  Under cross-validation
(:mod:`mer_utils.corpus.split`) each fold chooses its own sets on its own
training songs (:func:`fold_selections`).  The chosen sets travel from one page
to the next in ``<results_dir>/phase1_selection.json``, written by
:func:`save_selection` and read by :func:`load_selection`, the only two
functions that know its schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import write_json_atomic
from ..errors import MerError
from .features import split_arrays

SELECTION_FILE = "phase1_selection.json"
TOP_K = 15  # features in each ranked list (the report's top 15)

FEATURE_SETS = (
    "Full feature set",
    "Top-15 Pearson",
    "Union (SHAP + Pearson)",
    "Intersection (SHAP and Pearson)",
)


def pearson_ranking(features: pd.DataFrame, target: pd.Series) -> pd.DataFrame:
    """Pearson r of every feature with ``target``, sorted by |r| (largest first)."""
    x = features.to_numpy(dtype=float)
    y = target.loc[features.index].to_numpy(dtype=float)
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    denominator = np.sqrt((xc**2).sum(axis=0) * (yc**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc[:, None]).sum(axis=0) / denominator
    r = np.nan_to_num(r)  # a constant feature correlates with nothing
    ranking = pd.DataFrame({"feature": features.columns, "r": r, "abs_r": np.abs(r)})
    return ranking.sort_values("abs_r", ascending=False, kind="stable").reset_index(drop=True)


def xgboost_regressor(seed: int = 42, **params):
    """The XGBoost settings used for SHAP and the feature-set table."""
    from xgboost import XGBRegressor

    # 64 histogram bins and half the columns per tree keep a fit under a second on
    # 386 features while costing little accuracy on a few hundred songs.
    settings = {
        "n_estimators": 200,
        "learning_rate": 0.05,
        "max_depth": 4,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "max_bin": 64,
        "random_state": seed,
        "n_jobs": 2,
        "tree_method": "hist",
    }
    settings.update(params)
    return XGBRegressor(**settings)


def shap_values(features: pd.DataFrame, target: pd.Series, seed: int = 42):
    """Fit XGBoost on ``features`` -> ``target`` and return ``shap.Explanation`` for them."""
    import shap

    model = xgboost_regressor(seed).fit(features, target.loc[features.index])
    explainer = shap.TreeExplainer(model)
    return explainer(features)


def shap_ranking(explanation) -> pd.DataFrame:
    """Features sorted by mean |SHAP value| (largest first)."""
    importance = np.abs(explanation.values).mean(axis=0)
    ranking = pd.DataFrame({"feature": explanation.feature_names, "mean_abs_shap": importance})
    return ranking.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)


def feature_sets(all_features: list[str], pearson_top: list[str], shap_top: list[str]) -> dict[str, list[str]]:
    """The report's four sets: full, top-k Pearson, union and intersection with SHAP top-k.

    The intersection keeps Pearson's order; if it is empty it falls back to the
    single best Pearson feature, so every set can be fitted.
    """
    union = list(dict.fromkeys(pearson_top + shap_top))
    intersection = [f for f in pearson_top if f in set(shap_top)] or pearson_top[:1]
    return dict(zip(FEATURE_SETS, [list(all_features), list(pearson_top), union, intersection]))


def pca_experiment(train_x, train_y, valid_x, valid_y, components=(5, 10, 20, 50), seed: int = 42) -> pd.DataFrame:
    """Validation R² of XGBoost on the first k principal components, and on all features.

    The scaler and the PCA are fitted on the training songs only.
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..results.metrics import regression_metrics

    rows = []
    limit = min(train_x.shape)
    for k in [c for c in components if c <= limit] + [None]:
        steps = [StandardScaler()] + ([PCA(n_components=k, random_state=seed)] if k else [])
        model = make_pipeline(*steps, xgboost_regressor(seed)).fit(train_x, train_y)
        scores = regression_metrics(valid_y, model.predict(valid_x))
        explained = float(model[1].explained_variance_ratio_.sum()) if k else 1.0
        rows.append(
            {
                "inputs": f"{k} PCA components" if k else f"all {train_x.shape[1]} features",
                "variance kept": explained,
                **{f"val {m}": v for m, v in scores.items()},
            }
        )
    return pd.DataFrame(rows)


def fold_selections(features: pd.DataFrame, labels: pd.DataFrame, folds: dict, top_k: int, seed: int,
                    first: dict) -> dict[int, dict]:
    """The sets of every fold (``{fold: sets}``), each chosen on that fold's training songs by Pearson and SHAP.

    ``folds`` is :attr:`mer_utils.page.Page.folds`; ``first`` the sets the page
    already chose on the first fold's training songs (the figures it shows), reused.
    """
    from ..corpus.base import TARGETS
    from ..corpus.split import part_ids

    chosen = {}
    for fold, split in folds.items():
        if not chosen:
            chosen[fold] = first
            continue
        train = features.loc[[i for i in part_ids(split, "train") if i in features.index]]
        rankings = {t: (pearson_ranking(train, labels[t]), shap_ranking(shap_values(train, labels[t], seed=seed)))
                    for t in TARGETS}
        chosen[fold] = choose_feature_sets(features, rankings, top_k)[0]
    return chosen


def save_selection(results_dir, fold_sets: dict, top_k: int, feature_cache, skipped: pd.DataFrame) -> Path:
    """Write each fold's chosen sets (``{fold: {target: {set name: [features]}}}``, :func:`fold_selections`)."""
    from ..corpus.split import ONE_SPLIT

    path = Path(results_dir) / SELECTION_FILE
    one = list(fold_sets) == [ONE_SPLIT]
    write_json_atomic(
        path,
        {
            "top_k": int(top_k),
            "feature_cache": str(feature_cache),
            "skipped": {str(k): v for k, v in zip(skipped["song_id"], skipped["reason"])},
            **({"sets": fold_sets[ONE_SPLIT]} if one else {"folds": {str(k): v for k, v in fold_sets.items()}}),
        },
    )
    return path


def load_selection(results_dir) -> dict[int, dict]:
    """The feature sets saved by :func:`save_selection`: ``{fold: {target: {set name: [features]}}}``."""
    from ..corpus.split import ONE_SPLIT

    path = Path(results_dir) / SELECTION_FILE
    if not path.exists():
        raise MerError(
            f"{path} not found: run the feature-selection page first (make book runs it before the models page)."
        )
    saved = json.loads(path.read_text())
    fold_sets = {ONE_SPLIT: saved["sets"]} if "sets" in saved else {int(k): v for k, v in saved["folds"].items()}
    missing = [name for sets in fold_sets.values() for per_target in sets.values() for name in FEATURE_SETS
               if name not in per_target]
    if missing:
        raise MerError(f"{path} lacks the feature set(s) {sorted(set(missing))}: delete it and run make book again.")
    return fold_sets


def pca_table(features: pd.DataFrame, labels: pd.DataFrame, split: pd.DataFrame, seed: int) -> pd.DataFrame:
    """:func:`pca_experiment` for both targets in one table (a ``target`` column first)."""
    from ..corpus.base import TARGETS, short_name

    tables = []
    for target in TARGETS:
        train_x, train_y, valid_x, valid_y, _, _ = split_arrays(features, labels, split, target)
        result = pca_experiment(train_x, train_y, valid_x, valid_y, seed=seed)
        result.insert(0, "target", short_name(target))
        tables.append(result)
    return pd.concat(tables, ignore_index=True)


def choose_feature_sets(features: pd.DataFrame, rankings: dict, top_k: int) -> tuple[dict, pd.DataFrame]:
    """The four sets of each target from its Pearson and SHAP rankings, and a table of how the two lists agree.

    ``rankings`` is ``{target: (pearson_ranking, shap_ranking)}``.  Returns
    ``(sets, agreement)`` with ``sets[target][set name]`` a list of features.
    """
    from ..corpus.base import short_name

    sets, rows = {}, []
    for target, (pearson, shap_rank) in rankings.items():
        pearson_top = list(pearson["feature"].head(top_k))
        shap_top = list(shap_rank["feature"].head(top_k))
        sets[target] = feature_sets(list(features.columns), pearson_top, shap_top)
        rows.append(
            {
                "target": short_name(target),
                "Pearson top": ", ".join(pearson_top[:5]) + ", ...",
                "SHAP top": ", ".join(shap_top[:5]) + ", ...",
                "in both top lists": len(set(pearson_top) & set(shap_top)),
                "union size": len(sets[target]["Union (SHAP + Pearson)"]),
            }
        )
    return sets, pd.DataFrame(rows)
