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
# # Real music: the 4Q dataset
#
# Every other page of this book can run on synthetic songs. This one cannot: it
# reads the 4Q audio emotion dataset of Panda, Malheiro and Paiva (2018), real
# 30-second clips that AllMusic's mood tags place in one of Russell's four
# quadrants (Q1 positive valence and high arousal, Q2 negative and high, Q3
# negative and low, Q4 positive and low). The labels are categories, not
# ratings, so the questions become classification tasks:
#
# 1. **the quadrant** (four classes);
# 2. **the valence sign**: Q1 and Q4 against Q2 and Q3;
# 3. **the arousal sign**: Q1 and Q2 against Q3 and Q4.
#
# Each song is described in four ways: the 386 handcrafted features of Phase 1,
# the CNN14 embedding of Phase 3 (pretrained on AudioSet when its checkpoint is
# there, random weights otherwise, and labelled so) and two embeddings of
# musicnn, the same network trained on two sets of tags: those of the Million
# Song Dataset (MSD) and those of MagnaTagATune (MTT). The report's lesson that
# the choice of embedding is crucial is then tested between two pretrained
# embeddings of the same size and architecture, as well as against the CNN14
# and the handcrafted features. For each representation, a linear model
# (logistic regression) and a small MLP are scored by cross-validation in which
# all clips of an artist stay on one side of every fold. The score is macro F1:
# the mean over classes of each class's F1, so every quadrant counts alike.

# %% tags=["parameters"]
# None means the package default; `make book FOURQ_DIR=<dir>` passes the knobs a user set.
fourq_dir = None  # the folder 4Q was unpacked into (FOURQ_DIR); required
musicnn_weights = None  # MUSICNN_WEIGHTS (.h5 or checkpoint folder); None: the musicnn wheel's MSD network
# (the other musicnn network, MTT's unless that file is MTT's, comes from the musicnn wheel's cache folder)
checkpoint = None  # the PANNs checkpoint; None: mer_utils.phase3.cnn14.DEFAULT_CHECKPOINT, random weights if absent
random_backbone = False  # True: a CNN14 with random weights even when the checkpoint is there (PANNS_RANDOM)
fourq_results_dir = None  # the chapter's predictions and tables are written here; None: results/4q
fourq_cache_dir = None  # features and embeddings of the 4Q clips are cached here; None: cache/4q
data = None  # the book's corpus, whose valence/arousal models are scored on 4Q: "synth" (default), "deam" or "soundtracks"
data_dir = None  # that corpus's root
soundtracks_dir = None  # SOUNDTRACKS_DIR: the Soundtracks book's models are scored too, where that book was built
subset = None  # its DEAM annotation subset
results_dir = None  # the book's results (its models and split); None: results/<data>
cache_dir = None  # the book's caches (Phase 1 features); None: cache/<data>
seed = None
n_splits = None  # folds per repeat; None: mer_utils.realmusic.crossval.DEFAULT_SPLITS
n_repeats = None  # repeats of the cross-validation; None: mer_utils.realmusic.crossval.DEFAULT_REPEATS
n_jobs = None  # worker processes (features, cross-validation); None: the package default
n_threads = None  # CPU threads for the embedding networks; None: the package default
precision = None  # "auto" (bfloat16 where the CPU supports it), "float32" or "bfloat16"; None: "auto"

# %%
from IPython.display import Markdown, display

from mer_utils.realmusic import crossval, figures, tables, transfer
from mer_utils.realmusic import narrative
from mer_utils.realmusic.corpus import start_real_music
from mer_utils.realmusic.representations import (common_songs, compute_representations, frame_of, lesson_labels,
                                                 overview)
from mer_utils.results.intervals import N_RESAMPLES
from mer_utils.results.anchors import FOURQ_PROTOCOL_CAVEAT, fourq_published

page = start_real_music(fourq_dir, fourq_results_dir, fourq_cache_dir, seed)

# %% [markdown]
# ## Four representations of each clip
#
# The features and embeddings come from the same code and the same per-song
# caches as in Phases 1 and 3; a clip that one of them cannot use is listed
# below and left out of every comparison, so that all comparisons are made on
# the same songs.

# %%
reps, left_out, backbone = compute_representations(
    page.corpus, page.cache_dir, checkpoint=checkpoint, random_backbone=random_backbone,
    musicnn_weights=musicnn_weights, seed=page.seed, n_jobs=n_jobs, n_threads=n_threads, precision=precision)
display(backbone.banner())
songs = page.songs.loc[common_songs(reps)]
display(overview(reps, left_out, songs).style.hide(axis="index").set_caption("The representations on this run"))
display(Markdown(narrative.fourq_representation_notes(reps, left_out, backbone.is_random, len(songs))))

# %% [markdown]
# ## Cross-validation grouped by artist
#
# 4Q has no test part, so the cross-validation is the evaluation. Each repeat
# splits the artists into folds (stratified by quadrant, so each fold keeps the
# quadrants in proportion), trains on all folds but one and predicts the songs
# of the one left out, until every song has one out-of-fold prediction. The
# same folds serve every representation, model and task, which makes every
# comparison paired. Both models see standardised inputs (the scaler is fitted
# inside each training fold) and keep the same fixed settings for every
# representation: nothing is tuned on these songs.

# %%
cv = crossval.cross_validate(reps, songs, n_splits=n_splits or crossval.DEFAULT_SPLITS,
                             n_repeats=n_repeats or crossval.DEFAULT_REPEATS, seed=page.seed, n_jobs=n_jobs)
crossval.save_predictions(cv, page.results_dir)
scores = crossval.score_table(cv)
best = crossval.best_settings(scores)
display(Markdown(narrative.fourq_protocol_sentence(cv.describe(), N_RESAMPLES)))

# %% [markdown]
# ## Macro F1 by representation, model and task

# %%
display(tables.styled_scores(scores, "Macro F1 [95% interval, bootstrap over artists] of every representation "
                                    "and model."))
published = fourq_published("quadrant")
display(published.style.hide(axis="index").format({"f1": "{:.3f}"})
        .set_caption(f"Published on 4Q (quadrants). {FOURQ_PROTOCOL_CAVEAT}"))

# %%
fig = figures.f1_bars(scores, published, title=f"4Q, {len(songs)} clips: macro F1 with 95% intervals")

# %%
display(Markdown(narrative.fourq_score_findings(scores, best, published, FOURQ_PROTOCOL_CAVEAT)))

# %% [markdown]
# ## Where the best quadrant classifier errs
#
# The confusion matrix of the setting with the highest cross-validated macro F1
# on the quadrant task, pooled over repeats; each row gives the shares of one
# true quadrant's songs. Quadrants that share a side of the plane (Q1 and Q2
# share high arousal, Q3 and Q4 low arousal) are where most errors are expected.

# %%
top = best[best["task"] == "quadrant"].iloc[0]
fig = figures.confusion_heatmap(crossval.confusion(cv, top["key"], top["model"]),
                                title=f"{top['representation']}, {crossval.MODEL_LABELS[top['model']]}: "
                                      f"macro F1 {top['f1']:.3f}")

# %% [markdown]
# ## Differences between representations, on the same songs
#
# Each row compares two settings on the same songs, folds and resampled
# artists; "better" is named only when the 95% interval of the difference
# excludes zero.

# %%
diffs = crossval.differences(cv)
display(tables.styled_differences(diffs, "Paired differences in macro F1 (A − B) [95% interval]"))

# %%
display(Markdown(narrative.fourq_lessons(diffs, scores, **lesson_labels(reps))))

# %% [markdown]
# ## What transfers
#
# The book's own valence and arousal models were trained on a rated corpus
# and never saw a 4Q clip. Scored on the clips as they are, without retraining,
# does predicted arousal put the high-arousal quadrants (Q1, Q2) above the low
# ones, and predicted valence the positive quadrants (Q1, Q4) above the negative
# ones? The ROC AUC answers in one number: 0.5 is chance, 1 a perfect ranking.
# It ignores the rating scale, so no recalibration is needed. Only the models
# that `make book` left are scored: the Phase 3 EmotionMLPs (on CNN14, and on
# musicnn where Phase 3 ran it) and the Phase 1 regressors chosen on validation
# (refitted in seconds from the cached features).
#
# The models of several books are scored side by side: this book's, the
# SynthDEAM book's beside a real corpus's, and the Soundtracks book's when
# `SOUNDTRACKS_DIR` is given (build it first with `make book DATA=soundtracks`).
# Synthetic labels against real film-music ratings is then a paired question on
# the same clips.

# %%
books = transfer.books_to_score(data, data_dir, subset, results_dir, cache_dir, seed, soundtracks_dir)
models, not_scored = transfer.available_models(books, page.corpus, page.cache_dir, frame_of(reps, "features"),
                                               seed=page.seed, n_threads=n_threads, n_jobs=n_jobs)
auc = transfer.transfer_table(models, page.songs)
display(tables.transfer_view(auc, "ROC AUC on the 4Q clips of the book's models, not retrained [95% interval, "
                                  "bootstrap over artists]"))
fig = figures.transfer_auc_bars(auc, title="The book's valence/arousal models on real music")

# %%
display(tables.transfer_view(transfer.quadrant_means(models, page.songs),
                             "Mean prediction per quadrant (each training corpus's 1–9 scale): Q1 and Q4 should sit "
                             "higher in valence, Q1 and Q2 higher in arousal"))
display(Markdown(narrative.transfer_findings(auc, not_scored, models)))

# %% [markdown]
# Where one kind of model was trained on two corpora, the paired difference of
# their AUCs on the same clips says whether the training ratings matter.

# %%
transfer_diffs = transfer.transfer_differences(models, page.songs)
display(tables.transfer_differences_view(transfer_diffs, "ROC AUC of the model trained on A minus the same kind "
                                                         "trained on B, on the same 4Q clips [95% interval, paired "
                                                         "bootstrap over artists]"))
display(Markdown(narrative.transfer_difference_findings(transfer_diffs)))
