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
# # The predictor that ships with the package
#
# `mer predict song.mp3` needs no book: with none built, it runs a predictor
# that ships inside the package. It is the model of the page *A predictor for
# real songs* (a book built on real ratings), built by `make predictor` on the Soundtracks and 4Q
# samples with the book's own notebook: musicnn's pretrained embedding (the
# MSD network of the musicnn wheel on the package index), an EmotionMLP
# trained on the Soundtracks panel's valence and energy ratings and on 4Q's
# quadrant signs at once. This page reads the shipped file itself: where it
# came from, what it learned from, and how well it does on songs it never heard.
# A book built on real ratings (`make book DATA=soundtracks ...`) saves a
# predictor of its own, which `mer predict` then prefers; a SynthDEAM model runs
# only when asked for (`--data synth`).

# %% tags=["parameters"]
shipped_file = None  # the predictor file; None: mer_utils/predict/data/predictor.pt
measured_file = None  # bench_peers.py's record; None: book/predictor/measured_peers.json

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.predict import shipping
from mer_utils.predict.fusion import runs_from_entry
from mer_utils.results.tables import style_plain

raw = shipping.load_shipped(shipped_file)
display(Markdown(shipping.origin_sentence(raw)))

# %% [markdown]
# ## Out of fold, on both corpora
#
# The file carries the out-of-fold predictions of the runs that scored it, so
# its figures are computed here, from the file, with the predictor page's own
# functions. Rebuilding it (`make predictor`) reports whether a rebuild's
# figures fall inside these intervals.

# %%
display(style_plain(shipping.figures_frame(raw), shipping.FIGURES_CAPTION))

# %%
clips = runs_from_entry({"4q": raw["out_of_fold"]["4q"]}).set_index("item")
fig = plots.quadrant_plane(clips[["valence_mean", "arousal_mean"]], shipping.true_quadrants(clips), raw["quadrants"],
                           title="The shipped predictor on 4Q, out of fold: each clip by its true quadrant")

# %% [markdown]
# ## Beside vibenet
#
# vibenet is the predictor a reader can install in one command
# (`pip install vibenet`); `benchmarks/bench_peers.py` runs both tools on the
# same 400 4Q clips, ranks each clip's valence and arousal against its
# quadrant, and times each tool end to end. The runs below were measured with
# the shipped file and kept beside this page; `make book` does not rerun them.

# %%
record = shipping.measured_record(measured_file)
if record:
    display(style_plain(shipping.measured_frame(record), shipping.measured_caption(record)))
    display(style_plain(shipping.measured_differences(record), shipping.DIFFERENCES_CAPTION))
else:
    display(Markdown(shipping.NOT_MEASURED))
