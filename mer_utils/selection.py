"""Phase 1 feature selection: Pearson ranking, SHAP of XGBoost, PCA, feature sets.

Every ranking is computed on the training songs only, so the validation and
test songs never influence which features are chosen.  Used by
``notebooks/phase1_features.py`` (the figures) and ``notebooks/phase1_models.py``
(the feature-set table).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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
    settings = {"n_estimators": 200, "learning_rate": 0.05, "max_depth": 4, "subsample": 0.8,
                "colsample_bytree": 0.5, "max_bin": 64, "random_state": seed, "n_jobs": 2, "tree_method": "hist"}
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

    from .evaluate import regression_metrics

    rows = []
    limit = min(train_x.shape)
    for k in [c for c in components if c <= limit] + [None]:
        steps = [StandardScaler()] + ([PCA(n_components=k, random_state=seed)] if k else [])
        model = make_pipeline(*steps, xgboost_regressor(seed)).fit(train_x, train_y)
        scores = regression_metrics(valid_y, model.predict(valid_x))
        explained = float(model[1].explained_variance_ratio_.sum()) if k else 1.0
        rows.append({"inputs": f"{k} PCA components" if k else f"all {train_x.shape[1]} features",
                     "variance kept": explained, **{f"val {m}": v for m, v in scores.items()}})
    return pd.DataFrame(rows)
