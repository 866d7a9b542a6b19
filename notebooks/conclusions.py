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
# # Every model on the same test songs
#
# The report compared its phases through best validation scores, each phase on
# its own split. Here every model of every phase is scored on one set of
# held-out test songs, the shared split of this book, so the numbers can be set
# side by side. For each model the table gives the test R², RMSE and MAE
# (1–9 scale), the validation R² it was selected on, and the report's figure
# where it published one. Two published DEAM results from outside the report
# serve as anchors:
#
# * **Music2Emo** (2025), with MERT features: R² 0.513 for valence and 0.603
#   for arousal;
# * a **meta-analysis by Eerola and colleagues**, which reports correlations of
#   about 0.67 (valence) and 0.81 (arousal) for predicting rated emotion from
#   audio; squared, 0.45 and 0.66 on the R² axis (a squared correlation equals
#   R² only for a calibrated linear prediction, so read it as a rough mark).
#
# Phase 2 models predict 3-second chunks; they are compared here at song level
# (the mean of a song's chunk predictions), as Phases 1 and 3 predict songs.
# The text on this page is generated from the numbers of this build.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default) or "deam"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None

# %%
from IPython.display import HTML, Markdown, display

from mer_utils import plots
from mer_utils.corpus.deam import TARGETS, short_name
from mer_utils.page import start_page
from mer_utils.results import lessons
from mer_utils.results.published import PUBLISHED_ANCHORS
from mer_utils.results.records import load_results
from mer_utils.results.tables import RANDOM_PHASE3_WARNING, style_table

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
results, other_data = lessons.this_run(load_results(page.results_dir), corpus)
table = lessons.comparison_rows(results, corpus)
n_test = int((split["part"] == "test").sum())
display(Markdown(lessons.found_sentence(table, page.results_dir, n_test, other_data)))
if lessons.phase3_backbone(table) == "random":
    display(HTML(RANDOM_PHASE3_WARNING))

# %%
columns = lessons.COLUMNS + [c for c in ("ceiling_r2", "below_ceiling") if c in table]
for target in TARGETS:
    display(style_table(table.loc[table["target"] == target, columns].rename(columns={"label": "model"}),
                        f"{short_name(target).capitalize()}: every model on the {n_test} test songs "
                        "(validation R² is what each model was selected on; report: DEAM, validation)"))

# %% [markdown]
# ## The picture
#
# Bars are this build's test R²; black diamonds the report's published figure
# for the same model (a best validation score on DEAM); grey lines the two
# outside anchors; on SynthDEAM the red dotted line is the noise ceiling.

# %%
fig = plots.comparison_r2(table, anchors=PUBLISHED_ANCHORS,
                          ceiling={t: corpus.noise_ceiling(t) for t in TARGETS} if corpus.is_synthetic else None,
                          title=f"Test R² of every model ({corpus.name}, {n_test} test songs)")

# %% [markdown]
# ## The best model of each phase
#
# A fair comparison picks each phase's representative the way a practitioner
# would: by validation R², not by the test score.

# %%
best = lessons.best_of_each_phase(table)
display(style_table(lessons.best_table(best, corpus), "Each phase's model with the best validation R², scored on the test songs"))

# %% [markdown]
# ## The report's lessons, checked against this build
#
# The report closed with a handful of conclusions. Each is restated below and
# compared with what this build measured; every sentence is computed from the
# tables above.

# %%
display(Markdown(lessons.lessons(table, best, corpus, n_test)))

# %% [markdown]
# ## What stays open
#
# The report's list of future work still stands: fine-tuning CNN14 instead of
# freezing it, predicting the 2 Hz emotion curves rather than song means, and
# more data for the rarer corners of the valence–arousal plane. Two points
# this book adds: every figure above comes from one split, so a repeated
# split (or cross-validation over songs) would put error bars on the
# differences; and on SynthDEAM the gap to the noise ceiling shows how much a
# model leaves on the table, something real data cannot tell.
