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
# # Exploring the targets
#
# Before any model, we look at what we are asked to predict: one mean valence
# and one mean arousal rating per song, both on the 1..9 scale of the DEAM
# annotation files. The report found the two moderately correlated, valence
# close to symmetric around 5 and arousal leaning towards calm songs; here we
# measure the same things on the data this page was built from.

# %% tags=["parameters"]
data = "synth"
data_dir = "data/synthdeam"
subset = "1_2000"
results_dir = "results/synthdeam"
cache_dir = "cache/synthdeam"
seed = 42

# %%
import pandas as pd
from IPython.display import Markdown, display
from scipy import stats

from mer_utils import plots
from mer_utils.notebook import start_page

corpus, split = start_page(data, data_dir, subset, results_dir, seed)
labels = corpus.songs

# %% [markdown]
# ## Summary statistics
#
# Means and spreads of the song-level targets over every song with audio. The
# `*_std` rows are the spread between raters of one song, averaged over songs.

# %%
summary = labels[["valence_mean", "arousal_mean", "valence_std", "arousal_std"]].describe().T
summary["skewness"] = [stats.skew(labels[c]) for c in summary.index]
display(summary.style.format(precision=2).set_caption(f"Song-level labels, {len(labels)} songs (1..9 scale)"))

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
r, p = stats.pearsonr(labels["valence_mean"], labels["arousal_mean"])
display(Markdown(
    f"On this data Pearson's r between mean valence and mean arousal is **{r:.2f}** "
    f"(p = {p:.1g}, {len(labels)} songs); the report's DEAM figure is about 0.59."
))

# %% [markdown]
# ## Distributions
#
# Histograms with a kernel density estimate; the dashed line marks the mean.

# %%
fig = plots.target_histograms(labels)


# %%
def describe_skew(name, values):
    skew = stats.skew(values)
    if abs(skew) < 0.2:
        shape = "close to symmetric"
    elif skew > 0:
        shape = "skewed to the right: a longer tail of high ratings, most songs sit lower"
    else:
        shape = "skewed to the left: a longer tail of low ratings, most songs sit higher"
    return f"- **{name}**: mean {values.mean():.2f}, median {values.median():.2f}, skewness {skew:+.2f}, {shape}."


display(Markdown("\n".join([
    "Notes on the shape of the targets on this run:",
    describe_skew("valence", labels["valence_mean"]),
    describe_skew("arousal", labels["arousal_mean"]),
    "",
    "A skewed target matters for evaluation: a model can score a reasonable R² while "
    "systematically under-predicting the rarer end of the scale, which is why every table in "
    "this book reports RMSE and MAE (on the 1..9 scale) next to R².",
])))
