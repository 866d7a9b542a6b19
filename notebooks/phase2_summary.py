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
# * on SynthDEAM, the noise ceiling: the best R² any model can reach.

# %% tags=["parameters"]
data = "synth"  # "synth" (SynthDEAM, the default) or "deam"
data_dir = "data/synthdeam"  # the corpus root, DEAM layout
subset = "1_2000"  # DEAM annotation subset
results_dir = "results/synthdeam"  # where the Phase 2 runs saved metrics/
seed = 42

# %%
import pandas as pd
from IPython.display import Markdown, display

from mer_utils import evaluate, plots, train
from mer_utils.errors import MerError
from mer_utils.models import LABELS, PHASE2_MODELS
from mer_utils.notebook import start_page

corpus, split = start_page(data, data_dir, subset, results_dir, seed)
results = evaluate.load_results(results_dir)
songs = train.best_runs(results, phase=2, level="song")
chunks = train.best_runs(results, phase=2, level="chunk")
if songs.empty:
    raise MerError(f"no Phase 2 results in {results_dir}/metrics: run the Phase 2 training pages first (make book).")
missing = [(m, t) for m in PHASE2_MODELS for t in evaluate.TARGET_NAMES
           if not ((songs["model"] == m) & (songs["target"] == t)).any()]
print(f"{len(songs)} of 8 model/target runs found in {results_dir}/metrics"
      + (f"; missing: {missing}" if missing else ""))

# %% [markdown]
# ## Best run of each model
#
# Song level: each test song's prediction is the mean of its chunks'
# predictions. The report's figures (Table 11) are best validation epochs on
# DEAM; compare them with the validation columns first, and read the test
# columns as the figure to expect on unseen songs.

# %%
columns = ["model", "target", "validation_r2", "validation_rmse", "validation_mae", "test_r2", "test_rmse", "test_mae",
           "report_r2", "report_rmse", "report_mae", "best_epoch", "epochs_run"]
song_table = evaluate.add_ceiling(evaluate.with_report_figures(songs, phase=2), corpus)
song_table = song_table[columns + [c for c in ("ceiling_r2", "below_ceiling") if c in song_table]]
readable = {"best_epoch": "best epoch", "epochs_run": "epochs run"}
evaluate.style_table(song_table.rename(columns=readable), caption="Phase 2, song level: validation-best and held-out test, beside the report's Table 11")

# %%
chunk_table = evaluate.add_ceiling(evaluate.with_report_figures(chunks, phase=2), corpus)
chunk_table = chunk_table[columns + [c for c in ("ceiling_r2", "below_ceiling") if c in chunk_table]]
evaluate.style_table(chunk_table.rename(columns=readable), caption="Phase 2, chunk level: every 3-second chunk scored on its own")

# %%
figure_table = song_table.assign(model=song_table["model"].map(LABELS))
plots.metric_bars(figure_table, group="model", value="test_r2", report="report_r2",
                  title="Test R² per model (song level); diamonds: the report's best validation R² on DEAM");

# %% [markdown]
# ## Against Phase 1
#
# The report moved to deep models after its classical regressors reached an
# R² of about 0.55. If this book's Phase 1 pages have saved results, the best
# of them (picked on validation R²) is listed here for reference.

# %%
phase1 = results[results["phase"] == 1] if "phase" in results else results
if phase1.empty:
    display(Markdown("No Phase 1 results are saved in this results folder, so there is no Phase 1 reference here."))
else:
    best1 = phase1.sort_values("validation_r2", ascending=False).groupby("target", as_index=False).head(1)
    best2 = songs.sort_values("validation_r2", ascending=False).groupby("target", as_index=False).head(1)
    both = [best1.assign(phase="Phase 1"), best2.assign(phase="Phase 2", setting="")]
    keep = ["phase", "model", "setting", "target", "validation_r2", "test_r2", "test_rmse", "test_mae"]
    reference = pd.concat([b.reindex(columns=keep) for b in both], ignore_index=True)
    display(evaluate.style_table(evaluate.add_ceiling(reference, corpus),
                                 caption="Best Phase 1 and best Phase 2 run per target (picked on validation R²)"))

# %% [markdown]
# ## Training time
#
# Seconds per epoch include the validation pass; samples per second count
# training chunks only. Both depend on the machine and on whatever else it was
# doing at the time (the book's default run trains on the CPU), so read the
# ratios between models rather than the absolute numbers.

# %%
timing = (songs.groupby("model", sort=False)[["seconds_per_epoch", "samples_per_s", "epochs_run", "best_epoch"]].mean()
          .reindex([m for m in PHASE2_MODELS if m in set(songs["model"])]))
timing["relative_time_per_epoch"] = timing["seconds_per_epoch"] / timing["seconds_per_epoch"].iloc[0]
timing.index = timing.index.map(LABELS).rename("model")
timing = timing.rename(columns={"seconds_per_epoch": "seconds per epoch", "samples_per_s": "training samples/s",
                                "epochs_run": "epochs run", "best_epoch": "best epoch",
                                "relative_time_per_epoch": "time per epoch vs CNN baseline"})
timing.style.format(precision=2).set_caption("Mean over the two targets")
