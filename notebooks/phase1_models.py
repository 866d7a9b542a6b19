# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Classical regressors
#
# Two experiments from the report's first phase, on the shared split:
#
# 1. **Feature sets.** XGBoost with fixed settings on the full 386 features, the
#    top 15 by Pearson correlation, the union of the Pearson and SHAP top-15
#    lists, and their intersection (the report's Table 2).
# 2. **Regressors.** Ridge, Lasso, SVR, random forest, gradient boosting and
#    XGBoost on the full set, each tuned by `GridSearchCV` with 5-fold
#    cross-validation on the training songs.
#
# Each model is fitted on the training songs. We report the held-out **test**
# metrics and, next to them, the **validation** metrics (the report's own
# protocol scores on a validation set) and the report's published figures.
# R² is scikit-learn's `r2_score`; RMSE and MAE are on the 1..9 rating scale.

# %% tags=["parameters"]
data = "synth"
data_dir = "data/synthdeam"
subset = "1_2000"
results_dir = "results/synthdeam"
cache_dir = "cache/synthdeam"
seed = 42
n_jobs = 2
grid = "full"

# %%
import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display
from tqdm import tqdm

from mer_utils import evaluate, plots
from mer_utils.classical import GRIDS, fit_and_score, grid_search, split_arrays
from mer_utils.data import TARGETS
from mer_utils.features import extract_features
from mer_utils.notebook import start_page
from mer_utils.selection import FEATURE_SETS, xgboost_regressor

corpus, split = start_page(data, data_dir, subset, results_dir, seed)
selected = json.loads((Path(results_dir) / "phase1_selection.json").read_text())
table = extract_features(corpus, cache_dir, n_jobs=n_jobs, progress=False)  # from the cache
features, labels = table.frame, corpus.songs.loc[table.frame.index]
if table.failed:
    display(Markdown(f"{len(table.failed)} songs without decodable audio are left out: {sorted(table.failed)}."))

# %% [markdown]
# ## Feature sets (XGBoost)

# %%
rows = []
for target in TARGETS:
    for set_name in FEATURE_SETS:
        columns = selected["sets"][target][set_name]
        arrays = split_arrays(features, labels, split, target, columns)
        scores = fit_and_score(xgboost_regressor(seed), *arrays)
        rows.append({"feature_set": set_name, "target": target, "features": len(columns),
                     **{f"{part}_{m}": v for part in ("validation", "test") for m, v in scores[part].items()}})
        evaluate.save_result(results_dir, {"phase": 1, "model": "XGBoost", "setting": set_name, "target": target,
                                           "data": corpus.name, "validation": scores["validation"], "test": scores["test"]})
sets_table = evaluate.add_ceiling(evaluate.with_report_figures(pd.DataFrame(rows), phase=1, key="feature_set"), corpus)
display(evaluate.style_table(sets_table, "XGBoost on four feature sets: this run (validation and test) beside the report (DEAM, validation)"))

# %%
fig = plots.metric_bars(sets_table, "feature_set", title="Test R² by feature set; diamonds: the report's figure")

# %% [markdown]
# ## Six regressors, tuned by 5-fold grid search

# %%
results = []
for target in TARGETS:
    arrays = split_arrays(features, labels, split, target)
    for name in tqdm(GRIDS[grid], desc=f"grid search ({target.split('_')[0]})"):
        result = grid_search(name, *arrays, grid=grid, seed=seed, n_jobs=n_jobs)
        results.append({"model": name, "target": target, "best settings": json.dumps(result["best_params"]),
                        "cv_r2": result["cv_r2"], "seconds": result["seconds"],
                        **{f"{part}_{m}": v for part in ("validation", "test") for m, v in result[part].items()}})
        evaluate.save_result(results_dir, {"phase": 1, "model": name, "setting": "full features, grid search",
                                           "target": target, "data": corpus.name, "best_params": result["best_params"],
                                           "validation": result["validation"], "test": result["test"]})
models_table = evaluate.add_ceiling(evaluate.with_report_figures(pd.DataFrame(results), phase=1), corpus)
display(evaluate.style_table(models_table.drop(columns=["seconds"]),
                             "Best setting of each regressor (5-fold CV R² on train), scored on validation and test; "
                             "the report published only XGBoost's figures"))

# %%
fig = plots.metric_bars(models_table, "model", title="Test R² of each tuned regressor; diamonds: the report's figure")

# %%
lines = []
for target in TARGETS:
    rows = models_table[models_table["target"] == target]
    by_val = rows.sort_values("validation_r2", ascending=False).iloc[0]
    by_test = rows.sort_values("test_r2", ascending=False).iloc[0]
    lines.append(
        f"- **{target.split('_')[0]}**: the model chosen on validation is **{by_val['model']}** "
        f"(validation R² {by_val['validation_r2']:.3f}, test R² {by_val['test_r2']:.3f}); "
        f"the best on test would have been {by_test['model']} ({by_test['test_r2']:.3f}). "
        f"The report's XGBoost reached {evaluate.report_figure(1, 'XGBoost', target):.3f} on DEAM."
    )
display(Markdown("What this run shows:\n\n" + "\n".join(lines)))
