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
# # Handcrafted features and their selection
#
# Each song becomes 386 numbers: the mean and the standard deviation over time of
# 20 MFCCs and their deltas, 12 chroma bins, 128 mel bands, 7 spectral-contrast
# bands and 6 tonnetz dimensions (see `mer_utils/features.py` for how the report's
# count of 386 is reached). We then ask which of them matter, three ways: an
# unsupervised PCA, the label-aware Pearson correlation, and SHAP values of an
# XGBoost model. Every ranking on this page uses the **training songs only**, so
# the validation and test songs play no part in choosing features.

# %% tags=["parameters"]
data = "synth"
data_dir = "data/synthdeam"
subset = "1_2000"
results_dir = "results/synthdeam"
cache_dir = "cache/synthdeam"
seed = 42
n_jobs = 2
top_k = 15

# %%
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mer_utils import plots, selection
from mer_utils.cache import write_json_atomic
from mer_utils.classical import split_arrays
from mer_utils.data import TARGETS
from mer_utils.features import extract_features, feature_family
from mer_utils.notebook import start_page
from mer_utils.split import part_ids

corpus, split = start_page(data, data_dir, subset, results_dir, seed)

# %% [markdown]
# ## Extraction
#
# Songs are decoded at 22,050 Hz and processed in parallel; each song's 386
# values are cached on disk, so a second run (or a run resumed after an
# interruption) only computes what is missing.

# %%
start = time.perf_counter()
table = extract_features(corpus, cache_dir, n_jobs=n_jobs)
elapsed = time.perf_counter() - start
features = table.frame
display(Markdown(
    f"Features of **{len(features)} songs** x **{features.shape[1]} columns** in {elapsed:.1f} s "
    f"(from the cache where possible). "
    + (f"**{len(table.failed)} songs could not be decoded and are skipped:** "
       + "; ".join(f"{i}: {msg}" for i, msg in sorted(table.failed.items()))
       if table.failed else "Every song decoded.")
))
counts = pd.Series([feature_family(c) for c in features.columns]).value_counts().rename("columns")
display(counts.to_frame().T)

# %%
labels = corpus.songs.loc[features.index]
train_ids = [i for i in part_ids(split, "train") if i in features.index]
train_features = features.loc[train_ids]

# %% [markdown]
# ## PCA: less is not more
#
# The report found that projecting the features onto principal components
# lowered every metric. PCA keeps the directions of largest variance whatever
# they mean, and loudness or recording differences can dominate them. We fit
# the scaler and the PCA on the training songs and score XGBoost on the
# validation songs for a few numbers of components, against all features.

# %%
pca_tables = []
for target in TARGETS:
    train_x, train_y, valid_x, valid_y, _, _ = split_arrays(features, labels, split, target)
    result = selection.pca_experiment(train_x, train_y, valid_x, valid_y, seed=seed)
    result.insert(0, "target", target.split("_")[0])
    pca_tables.append(result)
pca_table = pd.concat(pca_tables, ignore_index=True)
display(pca_table.style.format(precision=3).hide(axis="index").set_caption(
    "Validation metrics of XGBoost on principal components (RMSE and MAE on the 1..9 scale)"))

# %% [markdown]
# ## Pearson correlation
#
# Pearson's r between each feature and each target over the training songs; the
# bars show the 15 features with the largest |r| (blue positive, red negative).

# %%
pearson = {t: selection.pearson_ranking(train_features, labels[t]) for t in TARGETS}
for target in TARGETS:
    fig = plots.pearson_bars(pearson[target], target, top_k)
    plt.show()

# %% [markdown]
# ## SHAP values of XGBoost
#
# Correlation only sees straight-line, one-feature-at-a-time relations. SHAP
# values split each prediction of a fitted XGBoost model into contributions of
# its features, so they also credit non-linear effects and interactions. Each
# dot is one training song; its colour is the feature's value (red high, blue
# low) and its position how much that value moved the prediction.

# %%
shap_rankings = {}
for target in TARGETS:
    explanation = selection.shap_values(train_features, labels[target], seed=seed)
    shap_rankings[target] = selection.shap_ranking(explanation)
    fig = plots.shap_summary(explanation, target, top_k)
    plt.show()

# %% [markdown]
# ## What the rankings agree on
#
# The top features of each method, side by side, and the overlap between them:
# the union and the intersection become two of the feature sets compared on the
# next page.

# %%
chosen = {}
rows = []
for target in TARGETS:
    pearson_top = list(pearson[target]["feature"].head(top_k))
    shap_top = list(shap_rankings[target]["feature"].head(top_k))
    chosen[target] = selection.feature_sets(list(features.columns), pearson_top, shap_top)
    rows.append({"target": target.split("_")[0], "Pearson top": ", ".join(pearson_top[:5]) + ", ...",
                 "SHAP top": ", ".join(shap_top[:5]) + ", ...",
                 "in both top lists": len(set(pearson_top) & set(shap_top)),
                 "union size": len(chosen[target]["Union (SHAP + Pearson)"])})
display(pd.DataFrame(rows).style.hide(axis="index").set_caption(f"Top-{top_k} lists (first five shown)"))

write_json_atomic(Path(results_dir) / "phase1_selection.json", {
    "top_k": top_k, "feature_cache": str(table.folder), "failed": {str(k): v for k, v in table.failed.items()},
    "sets": chosen,
})
