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
# # Training one log-mel model
#
# This page trains one of the four Phase 2 networks on one target, valence or
# arousal. The book runs it eight times (four models, two targets); the
# parameters below say which run this is. Every run follows the same steps:
#
# 1. cut each song into 3-second chunks and turn each chunk into a 128 × 128
#    log-mel spectrogram (computed once per corpus and cached on disk);
# 2. give every chunk its song's label and train on the training songs, scoring
#    the validation songs after each epoch and keeping the epoch with the lowest
#    validation loss;
# 3. score the held-out test songs twice: chunk by chunk, and song by song after
#    averaging each song's chunk predictions.
#
# On a corpus evaluated by film-grouped cross-validation (Soundtracks) the run
# is repeated on every fold; the tables and curves of one run show the first
# fold, and the test figures pool every fold's held-out excerpts.
#
# RMSE and MAE are on the original 1–9 rating scale throughout; R² is
# scikit-learn's `r2_score`.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None
model_name = "EmotionCNN"  # EmotionCNN, EmotionCNN_SE_Temporal, EmotionCNN_GRU or EmotionCNN_GRU_Attention
target = "valence_mean"  # valence_mean or arousal_mean
epochs = None  # None: mer_utils.training.defaults; "report": 15 (EmotionCNN) or 50
patience = None  # epochs without a lower validation loss before stopping; None: the default
batch_size = None  # None: the default
lr = None  # Adam learning rate; None: the default
max_train_chunks = None  # optional cap on the training chunks (a seeded random subset)
n_jobs = None  # worker processes for the chunk cache; None: the package default
threads = None  # torch CPU threads for training; None: the package default (one: the Makefile runs two pages at once)
precision = None  # "auto" (bfloat16 autocast where the CPU or GPU computes it natively), "float32" or "bfloat16"

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import short_name
from mer_utils.corpus.split import part_ids
from mer_utils.page import start_page
from mer_utils.phase2 import logmel
from mer_utils.phase2 import narrative
from mer_utils.phase2.models import LABELS, count_parameters, summary
from mer_utils.results.published import protocol_note, report_epoch_table, report_figure
from mer_utils.results.records import save_results
from mer_utils.results.tables import comparison_table, style_table
from mer_utils.training import phase2
from mer_utils.training.defaults import training_settings
from mer_utils.training.modelfile import build_model, save_model

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
settings = training_settings(page.data, model_name, epochs=epochs, patience=patience, batch_size=batch_size, lr=lr)
display(Markdown(narrative.phase2_run_sentence(model_name, target, settings, page.seed)))

# %% [markdown]
# ## Log-mel chunks
#
# Each chunk holds 3 s of audio at 22,050 Hz (66,150 samples); a song's last,
# incomplete chunk is dropped, and a clip shorter than 3 s gives no chunk. The
# mel spectrogram uses a 2,048-sample window and a 512-sample hop, which gives
# 130 frames per chunk; we keep the first 128. Power is converted to decibels
# against a fixed reference, so loud passages stay louder than quiet ones.
# The cache is built once per corpus and settings; later runs reuse it.

# %%
cache = logmel.build_chunk_cache(corpus, page.cache_dir, n_jobs=n_jobs)
display(Markdown(narrative.chunk_cache_note(cache)))
if len(cache.skipped):
    display(cache.skipped)

# %%
runs, records, test_frame = phase2.train_per_fold(
    page.folds, page.groups, page.run, cache=cache, corpus=corpus, model_name=model_name, target=target,
    settings=settings, seed=page.seed, threads=threads, precision=precision, max_train_chunks=max_train_chunks)
first = next(iter(runs.values()))
datasets, history, model = first.datasets, first.history, first.model
display(phase2.part_counts(datasets).style.hide(axis="index"))
if corpus.chunks_per_song:
    display(Markdown(phase2.hearing_sentence(corpus)))
fig = plots.extreme_chunks(cache, datasets["train"].frame, target)

# %% [markdown]
# ## The model
#
# The table lists the parts of the network and their trainable parameters.

# %% tags=["show-input"]
untrained = build_model(model_name, seed=page.seed)
display(summary(untrained))
print(f"{count_parameters(untrained):,} trainable parameters")

# %% [markdown]
# ## Training
#
# The loss is the mean squared error on standardised labels (the label scaler
# is fit on the training songs), so it is not on the scale of the report's loss
# column, which used raw labels. The validation R², RMSE and MAE are on the
# 1–9 scale, per chunk; the last columns give the time per epoch.

# %%
display(phase2.epoch_table(history).style.format(precision=4).hide(axis="index").set_caption(
    "This run, one row per epoch (validation; RMSE and MAE on the 1..9 scale)"))
display(report_epoch_table(model_name, target).style.format(precision=4).hide(axis="index").set_caption(
    "The report's per-epoch table for this model and target (DEAM, validation, as printed)"))
display(Markdown(protocol_note(2)))
display(Markdown(narrative.best_epoch_note(history)))

# %%
plots.learning_curves(history, title=f"{LABELS[model_name]}, {short_name(target)}",
                      report_r2=report_figure(2, model_name, target), ceiling_r2=corpus.ceiling(target, part_ids(page.first_split, "validation")))

# %% [markdown]
# ## Held-out test songs
#
# The restored best epoch now predicts every chunk of the test songs. The
# *chunk* row scores those predictions one by one; the *song* row first
# averages each song's chunk predictions. Beside them: the best validation
# epoch's figures and the report's published figure, which is a best
# validation epoch on DEAM. On SynthDEAM the last columns give the R² of the
# generating function on the same test songs (a song-level figure, set beside
# the chunk row too) and the distance to it.

# %%
style_table(comparison_table(records, corpus, phase=2, columns=["level"], split=split),
            caption=f"{model_name}, {short_name(target)}: validation-best and test")

# %%
plots.predicted_vs_true(test_frame, target, title=f"{LABELS[model_name]}: test songs")

# %% [markdown]
# ## Saved results
#
# The best weights, the settings and the label scaler go to
# `<results_dir>/models/`; the two result records (song level and chunk level)
# go to `<results_dir>/metrics/`, where the Phase 2 summary page reads them.

# %%
model_path = save_model(
    page.results_dir, f"phase2-{model_name}-{target}", model,
    {"model": model_name, "target": target, "data": corpus.name, "seed": page.seed, **settings,
     "spectrogram": cache.settings, "input_mean": first.input_stats[0], "input_std": first.input_stats[1],
     "folds": len(runs)},
    first.target_scaler, [target],
)
saved = save_results(page.results_dir, records)
