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
# # PANNs embeddings and a multitask MLP
#
# The third phase stops learning audio features from scratch. A network trained
# on AudioSet, CNN14 of the PANNs family, turns every 3-second segment of a song
# into a 2048-dimensional vector; a song is the mean of its segment vectors. A
# small multilayer perceptron (`EmotionMLP`: 2048 → 512 → 128 → 2, ReLU, dropout
# 0.3 after the first layer) then predicts valence and arousal together, trained
# on the sum of the two mean squared errors.
#
# The steps on this page:
#
# 1. embed every song (cached on disk, so a rebuild reuses them);
# 2. look at the embedding space with t-SNE, coloured by each target;
# 3. train the MLP on the training songs, choosing the epoch on the validation
#    songs (early stopping), with both scalers fit on the training songs only;
# 4. score the held-out test songs and set the result beside the report's Table 12;
# 5. save the trained model for `mer predict`.
#
# R² is scikit-learn's `r2_score`; RMSE and MAE are on the original 1–9 rating scale.

# %% tags=["parameters"]
data = "synth"  # "synth" (SynthDEAM, the default) or "deam"
data_dir = "data/synthdeam"  # the corpus root, DEAM layout
subset = "1_2000"  # DEAM annotation subset
results_dir = "results/synthdeam"  # split.csv is read here; metrics/ and models/ are written here
cache_dir = "cache/synthdeam"  # the embedding cache lives in <cache_dir>/panns/
seed = 42
checkpoint = "weights/Cnn14_mAP=0.431.pth"  # the PANNs checkpoint (make weights)
random_backbone = False  # True: a CNN14 with random weights even on DEAM (PANNS_RANDOM=1); on synth a missing checkpoint falls back to it
epochs = 30  # at most this many epochs
patience = None  # epochs without a lower validation loss before stopping; None: the default (3 on synth, 10 on deam)
batch_size = 32
lr = 1e-3  # Adam learning rate
n_threads = 2  # CPU threads for CNN14
embed_batch = 32  # segments per CNN14 forward pass
precision = "auto"  # "auto" (bfloat16 where the CPU supports it), "float32" or "bfloat16"

# %%
import time
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from mer_utils import evaluate, plots, train
from mer_utils.data import TARGETS
from mer_utils.embeddings import (backbone_for, embed_corpus, fit_emotion_mlp, mlp_epoch_table, neighbour_agreement,
                                  tsne_map)
from mer_utils.notebook import start_page
from mer_utils.predict import save_bundle
from mer_utils.split import part_ids

page_start = time.perf_counter()
timings = {}
backbone = backbone_for(data, checkpoint, random_backbone=random_backbone, seed=seed)
corpus, split = start_page(data, data_dir, subset, results_dir, seed)
display(backbone.banner())
backbone_name = "random" if backbone.is_random else "pretrained"

# %% [markdown]
# ## Embeddings
#
# Each clip is decoded to mono at 32 kHz and cut into non-overlapping 3-second
# segments; the incomplete last segment is dropped, and a clip shorter than one
# segment is skipped and listed below rather than padded. Every segment yields
# CNN14's 2048-dimensional `embedding` output, and a song's embedding is the
# mean over its segments. That output is the one the `panns-inference` package
# names `embedding`: the last convolution block's maps, averaged over
# frequency, max- plus mean-pooled over time, then passed through CNN14's
# 2048-unit dense layer and a ReLU. The report calls its vectors the
# max-pooled output of the penultimate block without more detail; we take the
# package's definition.

# %%
start = time.perf_counter()
embedded = embed_corpus(corpus, cache_dir, backbone, batch_size=embed_batch, n_threads=n_threads, precision=precision)
timings["embeddings"] = time.perf_counter() - start
display(Markdown(f"{backbone.describe()}. {embedded.describe()}. Computing precision: {embedded.settings['precision']}."))
if len(embedded.skipped):
    display(Markdown(f"**{len(embedded.skipped)} clip(s) skipped** and left out of everything below:"))
    display(embedded.skipped)
else:
    display(Markdown("No clip was skipped: every song decoded and lasted at least one 3-second segment."))
songs = corpus.songs.loc[embedded.song_ids]
display(pd.DataFrame({"segments per song": embedded.n_segments.describe()}).T.round(1))

# %% [markdown]
# ## The embedding space
#
# t-SNE places songs with similar embeddings near each other on a plane. The
# colours add what the embeddings never saw: each song's label. If the
# embeddings carry emotion, neighbours share colours. The number in the corner
# puts this in figures: the correlation between a song's label and the mean
# label of its 10 nearest neighbours on the map (fewer on a small corpus;
# 0: no order, 1: smooth).

# %%
start = time.perf_counter()
coords, perplexity = tsne_map(embedded.songs, seed=seed)
timings["t-SNE"] = time.perf_counter() - start
k = int(max(1, min(10, len(songs) // 4)))  # 10 neighbours, fewer on a small corpus
agreement = {t: neighbour_agreement(coords, songs[t], k=k) for t in TARGETS}
agreement_full = {t: neighbour_agreement(embedded.songs, songs[t], k=k) for t in TARGETS}
what = "random-weight CNN14" if backbone.is_random else "PANNs CNN14"
for target in TARGETS:
    fig = plots.tsne_scatter(coords, songs[target], target, agreement=agreement[target],
                             title=f"t-SNE of {len(songs)} song embeddings ({what}), coloured by {evaluate.TARGET_NAMES[target]}")

# %%
def strength(r):
    if not np.isfinite(r):
        return "cannot be measured"
    if r >= 0.6:
        return "a clear gradient"
    if r >= 0.3:
        return "a partial gradient"
    if r >= 0.1:
        return "at most a faint trend"
    return "no visible order"


lines = [
    f"- **{evaluate.TARGET_NAMES[t]}**: neighbour agreement r = {agreement[t]:.2f} on the map "
    f"({agreement_full[t]:.2f} among nearest neighbours in the full 2048-dimensional space), i.e. {strength(agreement[t])}."
    for t in TARGETS
]
stronger = max(TARGETS, key=lambda t: agreement[t])
weaker = min(TARGETS, key=lambda t: agreement[t])
if agreement[stronger] < 0.1:
    lines.append("- Neither target is ordered on this map. The report saw arousal separate more cleanly than valence "
                 "on DEAM with pretrained weights; this run cannot show that.")
else:
    lines.append(
        f"- On this run, **{evaluate.TARGET_NAMES[stronger]}** is the better ordered of the two "
        f"(r {agreement[stronger]:.2f} against {agreement[weaker]:.2f}). The report saw arousal separate more cleanly "
        f"than valence on DEAM with pretrained weights; "
        + ("this run shows the same difference." if stronger == "arousal_mean" and agreement[stronger] - agreement[weaker] > 0.1
           else "this run does not show that difference clearly.")
    )
caveats = [f"t-SNE perplexity {perplexity:.1f}, {len(songs)} songs, seed {seed}; t-SNE keeps neighbourhoods, not distances, "
           "so the size of clusters and the gaps between them carry no meaning."]
if backbone.is_random:
    caveats.append("These embeddings come from a CNN14 with **random weights**. Whatever order the colours show is "
                   "what random convolutions of the log-mel spectrogram preserve (loudness, brightness, density), "
                   "not what pretraining on AudioSet learned.")
if corpus.is_synthetic:
    caveats.append("The songs are **synthetic**: their labels are a known function of a few musical cues, so "
                   "this picture says nothing about real music.")
display(Markdown("What the maps show on this run:\n\n" + "\n".join(lines) + "\n\n" + " ".join(caveats)))

# %% [markdown]
# ## Training the EmotionMLP
#
# One network predicts both targets. Both the embeddings and the labels are
# standardised with scalers fit on the training songs only. The loss is the sum
# of the two targets' mean squared errors, the optimiser Adam, the batch 32
# songs. After every epoch the validation songs are scored; training stops
# when the validation loss has not improved for `patience` epochs, and the
# weights of the best epoch are kept. The test songs are not touched until the
# end.

# %%
settings = train.training_settings(data, "EmotionMLP", epochs=epochs, patience=patience, batch_size=batch_size, lr=lr)
ids = {part: [i for i in part_ids(split, part) if i in set(embedded.song_ids)] for part in ("train", "validation", "test")}
row_of = {song_id: row for row, song_id in enumerate(embedded.song_ids)}
x = {part: embedded.songs[[row_of[i] for i in ids[part]]] for part in ids}
y = {part: corpus.songs.loc[ids[part], TARGETS].to_numpy(dtype=float) for part in ids}
display(Markdown(
    f"Songs: {len(ids['train'])} for training, {len(ids['validation'])} for validation, {len(ids['test'])} held out "
    f"for the test. At most {settings['epochs']} epochs, patience {settings['patience']}, batch size "
    f"{settings['batch_size']}, Adam learning rate {settings['lr']:g}, seed {seed}."
))
start = time.perf_counter()
mlp = fit_emotion_mlp(x["train"], y["train"], x["validation"], y["validation"], target_names=TARGETS,
                      epochs=settings["epochs"], patience=settings["patience"], batch_size=settings["batch_size"],
                      lr=settings["lr"], seed=seed)
timings["training"] = time.perf_counter() - start
history = mlp.history
best_epoch = int(history.attrs["best_epoch"])
display(mlp_epoch_table(history, TARGETS).style.format(precision=3).hide(axis="index")
        .set_caption("EmotionMLP, one row per epoch (validation songs; RMSE and MAE on the 1–9 scale)"))

# %%
report_r2 = {t: evaluate.report_figure(3, "EmotionMLP", t) for t in TARGETS}
ceiling = {t: corpus.noise_ceiling(t) for t in TARGETS}
fig = plots.mlp_learning_curves(history, TARGETS, report_r2=report_r2, ceiling_r2=ceiling if corpus.is_synthetic else None,
                                title=f"EmotionMLP on {what} embeddings: best epoch {best_epoch} of {len(history)}")

# %% [markdown]
# ## Held-out test songs
#
# The model of the best validation epoch predicts the test songs. The table
# gives the test scores and, beside them, the validation scores of that epoch,
# which is how the report scored its models, and the report's Table 12.

# %%
predictions = {part: mlp.predict(x[part]) for part in ("validation", "test")}
rows = []
for k, target in enumerate(TARGETS):
    scores = {part: evaluate.regression_metrics(y[part][:, k], predictions[part][:, k]) for part in predictions}
    rows.append({"model": "EmotionMLP", "target": target,
                 **{f"{part}_{m}": v for part in ("validation", "test") for m, v in scores[part].items()}})
    evaluate.save_result(results_dir, {
        "phase": 3, "model": "EmotionMLP", "target": target, "data": corpus.name, "backbone": backbone_name,
        "backbone_identity": backbone.identity, "precision": embedded.settings["precision"],
        "best_epoch": best_epoch, "epochs_run": int(len(history)), "max_epochs": settings["epochs"],
        "patience": settings["patience"], "batch_size": settings["batch_size"], "lr": settings["lr"], "seed": seed,
        "train_songs": len(ids["train"]), "validation_songs": len(ids["validation"]), "test_songs": len(ids["test"]),
        "validation": scores["validation"], "test": scores["test"],
    })
table = evaluate.add_ceiling(evaluate.with_report_figures(pd.DataFrame(rows), phase=3), corpus)
display(evaluate.style_table(table.drop(columns=["model"]),
                             f"EmotionMLP on {what} embeddings: this run (validation = best epoch {best_epoch}; test = held out) "
                             "beside the report's Table 12 (DEAM, validation)"))
display(Markdown(
    "The report gives RMSE and MAE for this model on labels rescaled to [0, 1] (0.169 and 0.136 for valence, "
    "0.164 and 0.127 for arousal), not on the 1–9 scale used everywhere else, so those columns stay empty: the "
    "figures are not comparable. Its R² is unaffected by the rescaling and is shown."
))

# %%
fig = plots.song_predictions(y["test"], predictions["test"], TARGETS,
                             title=f"EmotionMLP, {len(ids['test'])} held-out test songs")

# %%
lines = []
for _, row in table.iterrows():
    name = evaluate.TARGET_NAMES[row["target"]]
    text = (f"- **{name}**: test R² {row['test_r2']:.3f} (validation {row['validation_r2']:.3f}), "
            f"test RMSE {row['test_rmse']:.3f} on the 1–9 scale. The report's validation R² on DEAM was {row['report_r2']:.3f}")
    if corpus.is_synthetic:
        text += f"; the noise ceiling of this corpus is {row['ceiling_r2']:.3f}, {row['below_ceiling']:.3f} above this test score."
    else:
        gap = row["test_r2"] - row["report_r2"]
        text += f"; this run's test score is {abs(gap):.3f} {'above' if gap >= 0 else 'below'} it."
    lines.append(text)
test_r2 = {t: float(table.loc[table["target"] == t, "test_r2"].iloc[0]) for t in TARGETS}
better = max(TARGETS, key=test_r2.get)
if max(test_r2.values()) <= 0:
    lines.append("- Neither target is predicted better than by the mean label of the training songs (test R² at or "
                 "below 0), so which one is easier cannot be read from this run. The report found arousal far easier "
                 "than valence for this model (0.667 against 0.451).")
else:
    lines.append(f"- The report found arousal far easier than valence for this model (0.667 against 0.451). On this run "
                 f"**{evaluate.TARGET_NAMES[better]}** is predicted better on the test songs "
                 f"({test_r2[better]:.3f} against {min(test_r2.values()):.3f}).")
lines.append(f"- The best validation epoch was {best_epoch} of {len(history)} run"
             + (" (early stopping ended the run)." if history.attrs.get("stopped_early") else ".")
             + " The report's best epoch was 3.")
if backbone.is_random:
    lines.append("- These numbers measure an MLP on **random-weight CNN14 features**, not on PANNs: they are a floor "
                 "that pretrained embeddings would have to beat, not a reproduction of the report's Phase 3.")
if corpus.is_synthetic:
    lines.append("- On SynthDEAM these scores check the pipeline; they say nothing about real music.")
display(Markdown("What this run shows:\n\n" + "\n".join(lines)))

# %% [markdown]
# ## The saved model
#
# The trained network, both scalers and a description of the backbone (the
# checkpoint's path and sha256, or the random seed and a hash of the weights)
# are saved together, so that `mer predict song.mp3` rebuilds exactly this
# pipeline for any new recording.

# %%
bundle_path = save_bundle(
    Path(results_dir) / "models" / "emotion_mlp.pt", mlp, backbone.info(), embedded.settings,
    extra={"data": corpus.name, "subset": subset, "best_epoch": best_epoch, "seed": seed,
           "songs": {part: len(v) for part, v in ids.items()},
           "test": {t: {m: float(table.loc[table["target"] == t, f"test_{m}"].iloc[0]) for m in evaluate.METRICS}
                    for t in TARGETS}},
)
timings["whole page"] = time.perf_counter() - page_start
display(Markdown(f"Saved to `{bundle_path}`. Predict new songs with `python -m mer_utils predict SONG.mp3 --model {bundle_path}`."))
display(pd.DataFrame({"seconds": timings}).round(1).T)
