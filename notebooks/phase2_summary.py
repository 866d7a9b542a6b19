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
# # Phase 2 summary: four networks on log-mel chunks
#
# This page gathers the saved results of every Phase 2 run (four models, two
# targets) and sets them beside the report's Table 11. For each model and
# target it shows the run picked on validation R², with:
#
# * its **held-out test** R², RMSE and MAE (1–9 scale), song level (mean of a
#   song's chunk predictions) and chunk level;
# * its **validation-best** figures, which is what the report published;
# * the report's figure (DEAM, best validation epoch);
# * on SynthDEAM, the ceiling: the generating function's R² on the same test songs.

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
from mer_utils.phase2 import narrative
from mer_utils.phase2.models import LABELS
from mer_utils.results.published import protocol_note
from mer_utils.results.tables import comparison_table, style_table
from mer_utils.training import phase2

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
results, songs, chunks = phase2.saved_runs(page.results_dir, page.run)
display(Markdown(narrative.phase2_runs_found(songs, page.results_dir)))

# %% [markdown]
# ## Best run of each model
#
# Song level: each test song's prediction is the mean of its chunks'
# predictions. The report's figures (Table 11) are best validation epochs on
# DEAM; compare them with the validation columns first, and read the test
# columns as the figure to expect on unseen songs.

# %%
columns = ["model", "target", "best_epoch", "epochs_run"]
readable = {"best_epoch": "best epoch", "epochs_run": "epochs run"}
song_table = comparison_table(songs, corpus, phase=2, columns=columns, split=split)
style_table(song_table.rename(columns=readable),
            caption="Phase 2, song level: validation-best and held-out test, beside the report's Table 11")

# %%
style_table(song_table.rename(columns=readable), caption="Phase 2, song level: validation and the report's RMSE and MAE",
            details=True)

# %%
display(Markdown(protocol_note(2)))

# %%
style_table(comparison_table(chunks, corpus, phase=2, columns=columns, split=split).rename(columns=readable),
            caption="Phase 2, chunk level: every 3-second chunk scored on its own")

# %%
plots.metric_bars(song_table.assign(model=song_table["model"].map(LABELS)), group="model", value="test_r2",
                  report="report_r2", title="Test R² per model (song level); diamonds: the report's best validation R² on DEAM")

# %% [markdown]
# ## Against Phase 1
#
# The report moved to deep models after its classical regressors reached an
# R² of about 0.55. If this book's Phase 1 pages have saved results, the best
# of them (picked on validation R²) is listed here for reference.

# %%
reference = phase2.best_of_phases(results, songs)
if reference.empty:
    display(Markdown("No Phase 1 results are saved in this results folder, so there is no Phase 1 reference here."))
else:
    display(style_table(comparison_table(reference, corpus, phase=1, columns=["phase", "model", "setting", "target"],
                                         split=split),
                        caption="Best Phase 1 and best Phase 2 run per target (picked on validation R²)"))

# %% [markdown]
# ## Training time
#
# Seconds per epoch include the validation pass; samples per second count
# training chunks only. Both depend on the machine and on whatever else it was
# doing at the time (the book's default run trains on the CPU), so read the
# ratios between models rather than the absolute numbers.

# %%
phase2.timing_table(songs).style.format(precision=2).set_caption("Mean over the two targets")
