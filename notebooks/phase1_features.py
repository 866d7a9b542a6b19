# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
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
# the validation and test songs play no part in choosing features. On a corpus
# evaluated by cross-validation (Soundtracks) the figures show the first fold's
# training songs, and every fold chooses its own feature sets on its own.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None
n_jobs = None  # worker processes for feature extraction (None: mer_utils.phase1.features default)
top_k = None  # features per ranked list (None: mer_utils.phase1.selection.TOP_K)

# %%
import time

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import TARGETS
from mer_utils.corpus.split import part_ids
from mer_utils.page import start_page
from mer_utils.phase1 import selection
from mer_utils.phase1 import narrative
from mer_utils.phase1.features import extract_features, family_counts

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.first_split
top_k = top_k or selection.TOP_K

# %% [markdown]
# ## Extraction
#
# Songs are decoded at 22,050 Hz and processed in parallel; each song's 386
# values are cached on disk, so a second run (or a run resumed after an
# interruption) only computes what is missing.

# %%
start = time.perf_counter()
table = extract_features(corpus, page.cache_dir, n_jobs=n_jobs)
features = table.frame
display(Markdown(narrative.extraction_sentence(features, table.skipped, time.perf_counter() - start)))
display(family_counts(features.columns).to_frame().T)
labels = corpus.songs.loc[features.index]
train_features = features.loc[[i for i in part_ids(split, "train") if i in features.index]]

# %% [markdown]
# ## PCA: less is not more
#
# The report found that projecting the features onto principal components
# lowered every metric. PCA keeps the directions of largest variance whatever
# they mean, and loudness or recording differences can dominate them. We fit
# the scaler and the PCA on the training songs and score XGBoost on the
# validation songs for a few numbers of components, against all features.

# %%
display(selection.pca_table(features, labels, split, seed=page.seed).style.format(precision=3).hide(axis="index")
        .set_caption("Validation metrics of XGBoost on principal components (RMSE and MAE on the 1..9 scale)"))

# %% [markdown]
# ## Pearson correlation
#
# Pearson's r between each feature and each target over the training songs; the
# bars show the 15 features with the largest |r| (blue positive, red negative).

# %%
pearson = {t: selection.pearson_ranking(train_features, labels[t]) for t in TARGETS}
for target in TARGETS:
    plots.pearson_bars(pearson[target], target, top_k)
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
explanations = {t: selection.shap_values(train_features, labels[t], seed=page.seed) for t in TARGETS}
for target in TARGETS:
    plots.shap_summary(explanations[target], target, top_k)
    plt.show()

# %% [markdown]
# ## What the rankings agree on
#
# The top features of each method, side by side, and the overlap between them:
# the union and the intersection become two of the feature sets compared on the
# next page.

# %%
rankings = {t: (pearson[t], selection.shap_ranking(explanations[t])) for t in TARGETS}
sets, agreement = selection.choose_feature_sets(features, rankings, top_k)
display(agreement.style.hide(axis="index").set_caption(f"Top-{top_k} lists (first five shown)"))
fold_sets = selection.fold_selections(features, labels, page.folds, top_k, page.seed, first=sets)
selection.save_selection(page.results_dir, fold_sets, top_k, table.folder, table.skipped)
