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
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None
n_jobs = None  # parallel fits of the grid search (None: the package default)
grid = None  # "full" (the book) or "small" (quick checks); None: mer_utils.phase1.regressors.DEFAULT_GRID

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import TARGETS
from mer_utils.page import start_page
from mer_utils.phase1 import narrative
from mer_utils.phase1.features import extract_features
from mer_utils.phase1.regressors import DEFAULT_GRID, feature_set_records, grid_search_records
from mer_utils.phase1.selection import load_selection
from mer_utils.results.crossfit import over_folds
from mer_utils.results.published import protocol_note
from mer_utils.results.records import picked_test_predictions, save_results, validation_picks
from mer_utils.results.tables import comparison_table, style_table
from mer_utils.training.runtime import DEFAULT_JOBS

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
fold_sets = load_selection(page.results_dir)
table = extract_features(corpus, page.cache_dir, n_jobs=n_jobs, progress=False)  # from the cache
features, labels = table.frame, corpus.songs.loc[table.frame.index]
display(Markdown(narrative.undecodable_songs_note(table.skipped)))

# %% [markdown]
# ## Feature sets (XGBoost)

# %%
set_records = over_folds(feature_set_records, page.folds, page.groups, per_fold={"sets": fold_sets}, run=page.run,
                         features=features, labels=labels, data=corpus.name, seed=page.seed)
save_results(page.results_dir, set_records)
sets_table = comparison_table(set_records, corpus, phase=1, key="setting", columns=["setting", "target", "features"],
                              split=split)
display(style_table(sets_table.rename(columns={"setting": "feature set"}),
                    "XGBoost on four feature sets: this run (validation and test) beside the report (DEAM, validation)"))

# %%
display(style_table(sets_table.rename(columns={"setting": "feature set"}), "Validation and the report's RMSE and MAE:",
                    details=True))

# %%
fig = plots.metric_bars(sets_table, "setting", title="Test R² by feature set; diamonds: the report's figure")

# %% [markdown]
# ## Six regressors, tuned by 5-fold grid search

# %%
model_records = over_folds(grid_search_records, page.folds, page.groups, run=page.run, features=features, labels=labels,
                           data=corpus.name, grid=grid or DEFAULT_GRID, seed=page.seed, n_jobs=n_jobs or DEFAULT_JOBS,
                           song_groups=page.groups)
save_results(page.results_dir, model_records)
models_table = comparison_table(model_records, corpus, phase=1, split=split,
                                columns=["model", "target", "best_params", "cv_r2_mean", "cv_r2_sd"])
display(style_table(models_table.rename(columns={"best_params": "best settings"}),
                    "Best setting of each regressor (chosen by 5-fold CV on the training songs), scored on validation "
                    "and test; CV R²: that setting in repeated k-fold cross-validation over the training and validation "
                    "songs (mean and sd over the folds). The report published only XGBoost's figures."))

# %%
fig = plots.metric_bars(models_table, "model", title="Test R² of each tuned regressor; diamonds: the report's figure")

# %%
picks = validation_picks(model_records)
fig = plots.song_predictions(*picked_test_predictions(picks, TARGETS), TARGETS, title=narrative.picks_title(picks))

# %%
display(Markdown(narrative.phase1_model_findings(models_table)))
display(Markdown(protocol_note(1)))
