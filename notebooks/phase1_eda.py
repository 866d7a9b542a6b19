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
# # Exploring the targets
#
# Before any model, we look at what we are asked to predict: one mean valence
# and one mean arousal rating per song, both on the 1..9 scale of the DEAM
# annotation files. The report found the two moderately correlated, valence
# close to symmetric around 5 and arousal leaning towards calm songs; here we
# measure the same things on the data this page was built from.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.page import start_page
from mer_utils.phase1 import narrative
from mer_utils.results.tables import label_summary

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
labels = corpus.songs

# %% [markdown]
# ## Summary statistics
#
# Means and spreads of the song-level targets over every song with audio. The
# `*_std` rows are the spread between raters of one song, averaged over songs.

# %%
display(label_summary(labels).style.format(precision=2).set_caption(f"Song-level labels, {len(labels)} songs (1..9 scale)"))

# %% [markdown]
# ## Valence against arousal
#
# Each point is one song. The line is an ordinary least-squares fit and the
# title gives Pearson's r. The report saw r around 0.6 on DEAM: songs rated
# pleasant also tend to be rated energetic, so the two targets share
# information, one reason to try a model that predicts both at once (Phase 3).

# %%
fig = plots.valence_arousal_scatter(labels)

# %%
display(Markdown(narrative.va_correlation_sentence(labels)))

# %% [markdown]
# ## Distributions
#
# Histograms with a kernel density estimate; the dashed line marks the mean.

# %%
fig = plots.target_histograms(labels)

# %%
display(Markdown(narrative.target_shape_notes(labels)))
