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
# # Pretrained embeddings and a multitask MLP
#
# The third phase stops learning audio features from scratch. A network
# pretrained on a large collection of audio turns every 3-second segment of a
# song into a vector; a song is the mean of its segment vectors. A small
# multilayer perceptron (`EmotionMLP`: input → 512 → 128 → 2, ReLU, dropout 0.3
# after the first layer) then predicts valence and arousal together, trained on
# the sum of the two mean squared errors.
#
# The report used one backbone, CNN14 of the PANNs family (trained on
# AudioSet). The book runs this page once per backbone: on CNN14, and on
# musicnn (trained to tag the Million Song Dataset) wherever its weights are
# present; on the real rated corpora (Soundtracks, DEAM) also on musicnn's
# network trained on MagnaTagATune's tags, a second pretrained embedding of the
# same architecture. The note below names the one on this page, and the
# conclusions set them side by side.
#
# The steps on this page:
#
# 1. embed every song (cached on disk, so a rebuild reuses them);
# 2. look at the embedding space with t-SNE, coloured by each target;
# 3. train the MLP on the training songs, choosing the epoch on the validation
#    songs (early stopping), with both scalers fit on the training songs only;
#    on a corpus evaluated by film-grouped cross-validation (Soundtracks), once
#    per fold, the curves showing the first fold;
# 4. score the held-out test songs (pooled out of fold under cross-validation)
#    and set the result beside the report's Table 12;
# 5. save the trained model, which `mer predict` and the Real music chapter
#    both run.
#
# R² is scikit-learn's `r2_score`; RMSE and MAE are on the original 1–9 rating scale.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None
backbone = None  # "cnn14" (None) or "musicnn": the BACKBONE knob runs this page once per backbone
musicnn_weights = None  # MUSICNN_WEIGHTS (.h5 or checkpoint folder); None: the musicnn wheel's MSD network;
# "MTT_musicnn": the wheel's MTT network (the page book/phase3/musicnn_mtt.ipynb)
checkpoint = None  # the PANNs checkpoint (make weights); None: mer_utils.phase3.cnn14.DEFAULT_CHECKPOINT
random_backbone = False  # True: a CNN14 with random weights, even on DEAM (the PANNS_RANDOM knob)
epochs = None  # None: mer_utils.training.defaults ("EmotionMLP")
patience = None  # epochs without a lower validation loss before stopping; None: the default
batch_size = None
lr = None  # Adam learning rate
n_threads = None  # CPU threads for the backbone; None: the package default
embed_batch = None  # segments per forward pass of the backbone; None: the package default
precision = None  # "auto" (bfloat16 where the CPU supports it), "float32" or "bfloat16"; None: "auto"

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import TARGETS, short_name
from mer_utils.page import start_page
from mer_utils.phase3 import narrative
from mer_utils.phase3.backbones import phase3_backbone
from mer_utils.phase3.space import map_agreement, tsne_map
from mer_utils.predict.bundles import save_page_model
from mer_utils.results.published import protocol_note, report_figure
from mer_utils.results.records import picked_test_predictions, save_results
from mer_utils.results.tables import comparison_table, style_table
from mer_utils.training.defaults import training_settings
from mer_utils.training.mlp import mlp_epoch_table, train_mlp_per_fold

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
backbone = phase3_backbone(backbone, page.data, checkpoint, random_backbone=random_backbone,
                           musicnn_weights=musicnn_weights, seed=page.seed)
display(backbone.banner())
what = backbone.label

# %% [markdown]
# ## Embeddings
#
# Each clip is decoded to mono and cut into non-overlapping segments of about
# 3 seconds; the incomplete last segment is dropped, and a clip shorter than one
# segment is skipped and listed below rather than padded. Every segment yields
# one vector of the backbone, and a song's embedding is the mean over its
# segments. What the vector is, for the backbone on this page:

# %%
display(Markdown(narrative.backbone_method(backbone.key)))
embedded = backbone.embed(corpus, page.cache_dir, batch_size=embed_batch, n_threads=n_threads, precision=precision)
display(Markdown(narrative.embedding_note(backbone, embedded)))
if len(embedded.skipped):
    display(embedded.skipped)
songs = corpus.songs.loc[embedded.song_ids]
display(embedded.segment_counts())

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
coords, perplexity = tsne_map(embedded.songs, seed=page.seed)
agreement, agreement_full = map_agreement(coords, embedded.songs, songs)
for target in TARGETS:
    plots.tsne_scatter(coords, songs[target], target, agreement=agreement[target],
                       title=f"t-SNE of {len(songs)} song embeddings ({what}), coloured by {short_name(target)}")

# %%
display(Markdown(narrative.embedding_map_notes(agreement, agreement_full, perplexity, len(songs), page.seed,
                                               backbone.is_random, corpus.is_synthetic, embedded.songs.shape[1])))

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
settings = training_settings(page.data, "EmotionMLP", epochs=epochs, patience=patience, batch_size=batch_size, lr=lr)
runs, records = train_mlp_per_fold(
    page.folds, page.groups, page.run, song_ids=embedded.song_ids, embeddings=embedded.songs, labels=corpus.songs,
    data=corpus.name, targets=TARGETS, settings=settings, seed=page.seed, backbone=backbone.kind,
    backbone_identity=backbone.identity, setting=backbone.setting, embedding=backbone.label,
    precision=embedded.settings["precision"])
first = next(iter(runs.values()))
mlp, ids, history, best_epoch = first.mlp, first.ids, first.mlp.history, first.best_epoch
display(Markdown(narrative.mlp_training_sentence(ids, settings, page.seed, folds=len(runs))))
display(mlp_epoch_table(history, TARGETS).style.format(precision=3).hide(axis="index")
        .set_caption("EmotionMLP, one row per epoch (validation songs; RMSE and MAE on the 1–9 scale)"))

# %%
fig = plots.mlp_learning_curves(history, TARGETS, report_r2={t: report_figure(3, "EmotionMLP", t) for t in TARGETS},
                                ceiling_r2={t: corpus.ceiling(t, ids["validation"]) for t in TARGETS} if corpus.is_synthetic else None,
                                title=f"EmotionMLP on {what} embeddings: best epoch {best_epoch} of {len(history)}")

# %% [markdown]
# ## Held-out test songs
#
# The model of the best validation epoch predicts the test songs. The table
# gives the test scores and, beside them, the validation scores of that epoch,
# which is how the report scored its models, and the report's Table 12.

# %%
save_results(page.results_dir, records)
table = comparison_table(records, corpus, phase=3, columns=["target", "cv_r2_mean", "cv_r2_sd"], split=split)
display(style_table(table, narrative.phase3_table_caption(what, best_epoch)))
display(Markdown(protocol_note(3)))

# %%
tested = picked_test_predictions({r["target"]: r for r in records}, TARGETS)
fig = plots.song_predictions(*tested, TARGETS, title=f"EmotionMLP, {len(tested[0])} held-out test songs")

# %%
display(Markdown(narrative.mlp_findings(table, history, backbone.is_random, corpus.is_synthetic, records)))

# %% [markdown]
# ## The saved model
#
# The trained network, both scalers and a description of the backbone (the
# checkpoint's path and sha256, or the random seed and a hash of the weights;
# for musicnn the weights themselves, 3 MB, with the sha256 of their file) are
# saved together: what `mer predict --model <file> song.mp3` loads to rebuild
# exactly this pipeline for any new recording. The Real music chapter scores
# the CNN14 and musicnn (MSD) models on real clips; each page has its own file,
# so the MTT page's model sits beside MSD's. Under cross-validation this is the
# first fold's model; the predictor page trains one on every song.

# %%
display(Markdown(save_page_model(
    backbone, page.results_dir, mlp, embedded.settings, data=corpus.name,
    extra={"subset": page.subset, "best_epoch": best_epoch, "seed": page.seed,
           "songs": {part: len(v) for part, v in ids.items()},
           "test": {r["target"]: r["test"] for r in first.records}, "folds": len(runs)},
)))
