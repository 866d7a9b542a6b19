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
# # Fine-tuning the backbone
#
# The report froze its pretrained network and trained only a small MLP on the
# embeddings; its first item of future work was to fine-tune the backbone itself,
# so that the features adapt to emotion. This page tests that on the book's
# data, with the backbone whose pretrained weights are available here: musicnn,
# trained to tag the Million Song Dataset.
#
# Three ways of using the same network are set side by side, on the same songs
# and under the same protocol:
#
# * **frozen**: musicnn's 200-dimensional embedding, averaged over a song's
#   patches, and the EmotionMLP on top (the musicnn page of this chapter);
# * **fine-tuned**: musicnn with its 50-tag output layer replaced by a
#   valence-arousal layer, trained on 3-second patches that carry their song's
#   label, from the pretrained weights;
# * **from random weights**: the same network, layers and schedule, started from
#   random weights, which says what the pretraining itself contributes.
#
# A song's prediction is the mean of its patches' predictions, as in Phase 2.
# R² is scikit-learn's `r2_score`; RMSE is on the corpus's rating scale. A model
# is called better only when the paired bootstrap interval of the difference
# excludes zero.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS, mer_utils.training.defaults); `make book` passes
# the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # not written by this page (the front end is kept in memory); part of every page's settings
seed = None
musicnn_weights = None  # MUSICNN_WEIGHTS (.h5 or checkpoint folder); None: the musicnn wheel's MSD network
checkpoint = None  # the PANNs checkpoint (PANNS_CHECKPOINT), for CNN14; None: mer_utils.phase3.cnn14.DEFAULT_CHECKPOINT
cnn14 = None  # fine-tune CNN14 too: None where its checkpoint is present and a GPU is, True, False (FINETUNE_CNN14)
train_front_end = False  # True: every layer trains, from the patches (FINETUNE_FULL=1)
epochs = None  # at most; None: mer_utils.training.defaults ("MusicnnRegressor")
patience = None  # epochs without a lower song-level validation loss before stopping
batch_size = None  # patches per step
lr = None  # Adam learning rate of the new head
backbone_lr = None  # Adam learning rate of the pretrained layers that train
precision = None  # "auto" (bfloat16 where the device supports it), "float32" or "bfloat16"; None: "auto"
n_threads = None  # workers for decoding and the front end; None: the package default

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import TARGETS
from mer_utils.page import start_page
from mer_utils.phase3 import finetune, finetune_compare
from mer_utils.phase3 import finetune_narrative as words
from mer_utils.phase3.backbones import phase3_backbone
from mer_utils.results.records import save_results
from mer_utils.results.runs import records_of_run
from mer_utils.results.tables import style_plain
from mer_utils.training.defaults import training_settings
from mer_utils.training.runtime import DEFAULT_JOBS, pick_device, resolve_precision

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus = page.corpus
backbone = phase3_backbone("musicnn", page.data, musicnn_weights=musicnn_weights, seed=page.seed)
display(backbone.banner())
device = pick_device()
settings = training_settings(page.data, "MusicnnRegressor", epochs=epochs, patience=patience, batch_size=batch_size,
                             lr=lr, backbone_lr=backbone_lr)
run_cnn14, cnn14_reason, cnn14_checkpoint = finetune.cnn14_plan(cnn14, checkpoint, device)

# %% [markdown]
# ## The recipe
#
# Which layers train, at which rates and for how long, and why:

# %%
display(Markdown(words.recipe("musicnn", settings, bool(train_front_end), resolve_precision(precision, device),
                              len(page.folds), device.type)))

# %% [markdown]
# ## Training
#
# Every clip is decoded at 16 kHz and cut into musicnn's log-mel patches, as for
# the embeddings. Each of the two starting points (the pretrained weights and
# random ones) then trains once per fold (or once on the split), choosing its
# epoch on the validation songs; the test songs are predicted at that epoch.

# %%
result = finetune.finetune_backbone(
    corpus, page.folds, page.groups, page.run, name="musicnn", weights=backbone.network.weights,
    backbone_label=backbone.label, settings=settings, seed=page.seed, targets=TARGETS,
    train_front_end=bool(train_front_end), device=device, precision=precision, n_threads=n_threads or DEFAULT_JOBS)
display(Markdown(words.patches_sentence(result.patches, result.steps.wall["decoding and cutting the clips"])))
if len(result.patches.skipped):
    display(result.patches.skipped)
display(result.patches.counts())
first = result.first_run("finetuned")
display(Markdown(words.training_sentence(first.ids, len(page.folds), int(first.records[0]["train_patches"]))))
for kind, runs in result.runs.items():
    display(style_plain(finetune_compare.epoch_table(result.first_run(kind).history, TARGETS).round(3),
                        f"musicnn {finetune_compare.KIND_WORDS[kind]}, one row per epoch (validation songs: the mean of "
                        "their patches' predictions)"))

# %%
save_results(page.results_dir, result.records)
found = finetune_compare.comparison_records(records_of_run(page.results_dir, page.run, needed=(3,)), "musicnn")
fig = plots.finetune_curves({finetune_compare.KIND_WORDS[k]: result.first_run(k).history for k in result.runs}, TARGETS,
                            frozen_r2=finetune_compare.first_fold_validation(found, TARGETS),
                            title="musicnn, first fold: validation R² per epoch (star: the epoch kept)")

# %% [markdown]
# ## Fine-tuned, frozen and from random weights
#
# Each row scores one way of using musicnn on the held-out songs (under
# cross-validation, every song predicted once, by the fold that never saw its
# group), with its 95% bootstrap interval; the validation R² is what each model
# was selected on. The second table pairs them on the same songs.

# %%
grouped = page.groups is not None
display(style_plain(finetune_compare.side_by_side(found, TARGETS, corpus),
                    words.scores_caption("musicnn", corpus.scale, grouped)))
differences = finetune_compare.paired_differences(found, TARGETS, corpus)
display(style_plain(finetune_compare.differences_table(differences), words.differences_caption("musicnn", grouped)))
display(Markdown(words.findings(differences, "musicnn", grouped)))

# %% [markdown]
# ## The saved model
#
# Under cross-validation every fold's network has seen only part of the corpus,
# so one more network is trained on all songs, for the median of the folds' best
# epochs; with one split, the split's network is the model.

# %%
display(Markdown(words.saved_model_sentence(*finetune.save_final_model(result, page.results_dir, corpus, page.seed,
                                                                         page.cross_validated))))

# %% [markdown]
# ## CNN14
#
# The same recipe applies to CNN14 (PANNs) from its checkpoint: its
# spectrogram and first four conv blocks stay frozen and cached, and blocks 5
# and 6, its dense layer and a new head train.

# %%
cnn14_result = None
if run_cnn14:
    cnn14_settings = training_settings(page.data, "Cnn14Regressor", epochs=epochs, patience=patience,
                                       batch_size=batch_size, lr=lr, backbone_lr=backbone_lr)
    cnn14_result = finetune.finetune_backbone(
        corpus, page.folds, page.groups, page.run, name="cnn14", weights=cnn14_checkpoint, backbone_label="PANNs CNN14",
        settings=cnn14_settings, seed=page.seed, targets=TARGETS, train_front_end=bool(train_front_end),
        device=device, precision=precision, n_threads=n_threads or DEFAULT_JOBS)
    save_results(page.results_dir, cnn14_result.records)
    found14 = finetune_compare.comparison_records(records_of_run(page.results_dir, page.run, needed=(3,)), "cnn14")
    display(style_plain(finetune_compare.side_by_side(found14, TARGETS, corpus),
                        words.scores_caption("cnn14", corpus.scale, grouped)))
    differences14 = finetune_compare.paired_differences(found14, TARGETS, corpus)
    display(style_plain(finetune_compare.differences_table(differences14), words.differences_caption("cnn14", grouped)))
    display(Markdown(words.findings(differences14, "cnn14", grouped)))
    finetune.save_final_model(cnn14_result, page.results_dir, corpus, page.seed, page.cross_validated)
cnn14_seconds = finetune.cnn14_estimate_seconds(len(result.patches.inputs), len(page.folds), settings)
display(Markdown(words.cnn14_note(run_cnn14, cnn14_reason, cnn14_seconds, f"DATA={page.data}")))

# %% [markdown]
# ## Where the time went

# %%
timing = finetune.timing_table([result, cnn14_result])
display(style_plain(timing, "Fine-tuning, wall-clock and CPU seconds of each step on this machine")
                    .format(precision=1, na_rep="–"))
display(Markdown(words.timing_sentence(timing, resolve_precision(precision, device))))
