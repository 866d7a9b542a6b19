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
# RMSE and MAE are on the original 1–9 rating scale throughout; R² is
# scikit-learn's `r2_score`.

# %% tags=["parameters"]
data = "synth"  # "synth" (SynthDEAM, the default) or "deam"
data_dir = "data/synthdeam"  # the corpus root, DEAM layout
subset = "1_2000"  # DEAM annotation subset
results_dir = "results/synthdeam"  # split.csv is read here; metrics/ and models/ are written here
cache_dir = "cache/synthdeam"  # the log-mel chunk cache
seed = 42
model_name = "EmotionCNN"  # EmotionCNN, EmotionCNN_SE_Temporal, EmotionCNN_GRU or EmotionCNN_GRU_Attention
target = "valence_mean"  # valence_mean or arousal_mean
epochs = None  # None: mer_utils.train.TRAINING_DEFAULTS[data][model_name]; "report": 15 (EmotionCNN) or 50
patience = None  # epochs without a lower validation loss before stopping; None: the default
batch_size = None  # None: the default (32)
lr = None  # Adam learning rate; None: the default (1e-3)
max_train_chunks = None  # optional cap on the training chunks (a seeded random subset)
n_jobs = 2  # worker processes for the chunk cache
threads = None  # torch CPU threads for training; None: one per core. Use 1 when pages run in parallel (make -j)

# %%
from IPython.display import Markdown, display

from mer_utils import evaluate, plots, spectrograms, train
from mer_utils.models import LABELS, build_model, count_parameters, summary
from mer_utils.notebook import start_page

settings = train.training_settings(data, model_name, epochs=epochs, patience=patience, batch_size=batch_size, lr=lr)
run_name = f"phase2-{model_name}-{target}"
corpus, split = start_page(data, data_dir, subset, results_dir, seed)
display(Markdown(
    f"**This run:** `{model_name}` ({LABELS[model_name]}) predicting **{evaluate.TARGET_NAMES[target]}**; "
    f"at most {settings['epochs']} epochs, patience {settings['patience']}, batch size {settings['batch_size']}, "
    f"Adam learning rate {settings['lr']:g}, seed {seed}."
))

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
cache = spectrograms.build_chunk_cache(corpus, cache_dir, n_jobs=n_jobs)
print(cache.describe())
print(f"cache {'reused' if cache.reused else 'built'}: {cache.folder}; build time {cache.build_seconds:.1f} s "
      f"for {cache.audio_seconds / 60:.1f} min of audio")
if len(cache.skipped):
    print(f"{len(cache.corrupt_ids)} corrupt clip(s) skipped: {cache.corrupt_ids}")
    print(f"{len(cache.too_short_ids)} clip(s) shorter than 3 s skipped: {cache.too_short_ids}")
    display(cache.skipped)
else:
    print("No clip was skipped: every song decoded and gave at least one chunk.")

# %%
datasets, target_scaler, input_stats = spectrograms.split_datasets(
    cache, corpus, split, target, seed=seed, max_train_chunks=max_train_chunks
)
display(train.part_counts(datasets))
example = datasets["train"].frame.sort_values(target).iloc[[0, -1]]  # the lowest and the highest label
plots.logmel_chunks_figure(
    [cache.array()[row] for row in example["row"]],
    [f"song {s}, chunk {c}: {evaluate.TARGET_NAMES[target]} {y:.2f}"
     for s, c, y in zip(example["song_id"], example["chunk"], example[target])],
    cache.settings,
);

# %% [markdown]
# ## The model
#
# The table lists the parts of the network and their trainable parameters.

# %%
model = build_model(model_name, seed=seed)
display(summary(model))
print(f"{count_parameters(model):,} trainable parameters")

# %% [markdown]
# ## Training
#
# The loss is the mean squared error on standardised labels (the label scaler
# is fit on the training songs), so it is not on the scale of the report's loss
# column, which used raw labels. The validation R², RMSE and MAE are on the
# 1–9 scale, per chunk; the last columns give the time per epoch.

# %%
train_loader = train.make_loader(datasets["train"], settings["batch_size"], shuffle=True, seed=seed)
val_loader = train.make_loader(datasets["validation"], 64)
model, history = train.fit(
    model, train_loader, val_loader,
    epochs=settings["epochs"], patience=settings["patience"], lr=settings["lr"], seed=seed,
    target_scaler=target_scaler, target_names=[target], val_groups=datasets["validation"].frame["song_id"],
    threads=threads,
)
display(train.epoch_table(history).style.format(precision=4).hide(axis="index"))
print(f"best epoch {history.attrs['best_epoch']} of {history.attrs['epochs_run']} run"
      + (" (stopped early)" if history.attrs["stopped_early"] else ""))

# %%
plots.learning_curves(
    history,
    title=f"{LABELS[model_name]}, {evaluate.TARGET_NAMES[target]}",
    report_r2=evaluate.report_figure(2, model_name, target),
    ceiling_r2=corpus.noise_ceiling(target),
);

# %% [markdown]
# ## Held-out test songs
#
# The restored best epoch now predicts every chunk of the test songs. The
# *chunk* row scores those predictions one by one; the *song* row first
# averages each song's chunk predictions. Beside them: the best validation
# epoch's figures and the report's published figure, which is a best
# validation epoch on DEAM. On SynthDEAM the last columns give the noise
# ceiling, the best R² any model can reach, and the distance to it.

# %%
test_frame = train.chunk_predictions(model, datasets["test"], target_scaler)
scores = train.chunk_and_song_scores(test_frame)
records = train.result_records(
    model_name, target, corpus, history, scores,
    extra={"max_epochs": settings["epochs"], "patience": settings["patience"], "batch_size": settings["batch_size"],
           "lr": settings["lr"], "seed": seed, "train_chunks": len(datasets["train"]),
           "test_chunks": len(test_frame), "test_songs": int(test_frame["song_id"].nunique())},
)
table = train.records_table(records)
table = evaluate.add_ceiling(evaluate.with_report_figures(table, phase=2), corpus)
columns = ["level", "validation_r2", "validation_rmse", "validation_mae", "test_r2", "test_rmse", "test_mae",
           "report_r2", "report_rmse", "report_mae"] + [c for c in ("ceiling_r2", "below_ceiling") if c in table]
evaluate.style_table(table[columns], caption=f"{model_name}, {evaluate.TARGET_NAMES[target]}: validation-best and test")

# %%
plots.predicted_vs_true(test_frame, target, title=f"{LABELS[model_name]}: test songs");

# %% [markdown]
# ## Saved results
#
# The best weights, the settings and the label scaler go to
# `<results_dir>/models/`; the two result records (song level and chunk level)
# go to `<results_dir>/metrics/`, where the Phase 2 summary page reads them.

# %%
model_path = train.save_model(
    results_dir, run_name, model,
    {"model": model_name, "target": target, "data": corpus.name, "seed": seed, **settings,
     "spectrogram": cache.settings, "input_mean": input_stats[0], "input_std": input_stats[1]},
    target_scaler, [target],
)
saved = [evaluate.save_result(results_dir, record) for record in records]
print(f"model: {model_path}")
print("results:", *saved, sep="\n  ")
