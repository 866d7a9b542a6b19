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
# # A predictor for real songs
#
# The earlier pages score models; this one ships one. `mer predict` should give
# numbers that mean something for a song a reader brings, so the model it
# prefers learns from real listeners' ratings on a pretrained backbone. It is
# the EmotionMLP of Phase 3 on musicnn's embedding, trained on two real corpora
# at once, the "multi-dataset fusion" the report lists as future work:
#
# 1. **the book's rated corpus** (Soundtracks here, or DEAM): mean valence and
#    arousal ratings on its 1–9 scale;
# 2. **4Q** (when `FOURQ_DIR` is given): 30-second clips of popular music with
#    Russell quadrants only. Each clip counts as a rating one training standard
#    deviation above the rated corpus's mean where its quadrant says positive
#    valence (Q1, Q4) or high arousal (Q1, Q2), and as far below where it says
#    the opposite, so both corpora pull on the same two outputs.
#
# How it is scored. The two corpora's folds run side by side: the book's
# film-grouped folds of the rated corpus, and artist-grouped folds of 4Q, as
# many. In each run the model trains on both training parts, stops on both
# validation parts and predicts both test parts, so every excerpt and every
# clip is predicted once by a model that never saw its film or its artist. The
# same runs without 4Q give the ratings-only model on the same songs, so the two
# are compared pair by pair. On 4Q the score is the ROC AUC of predicted valence
# for the valence sign and of predicted arousal for the arousal sign (0.5 is
# chance), with 95% intervals from a bootstrap over artists.

# %% tags=["parameters"]
# None means the package default; `make book DATA=soundtracks ...` passes the knobs a user set.
data = None  # the rated corpus: "soundtracks" or "deam" (the predictor needs real ratings)
data_dir = None  # its root
subset = None
results_dir = None  # split.csv is read here; models/predictor.pt is written here
cache_dir = None  # the musicnn embeddings of the Phase 3 page are read from here
seed = None
musicnn_weights = None  # MUSICNN_WEIGHTS (.h5 or checkpoint folder); None: the musicnn wheel's MSD network
fourq_dir = None  # FOURQ_DIR: 4Q's quadrants join the training; None: the ratings alone
fourq_cache_dir = None  # the 4Q clips' embeddings are cached here (shared with the Real music chapter); None: cache/4q
precision = None  # "auto" (bfloat16 where the CPU supports it), "float32" or "bfloat16"; None: "auto"
n_threads = None  # CPU threads for musicnn; None: the package default

# %%
from IPython.display import Markdown, display

from mer_utils import plots
from mer_utils.page import start_page
from mer_utils.phase3.backbones import phase3_backbone
from mer_utils.predict import fusion
from mer_utils.predict import narrative as sentences
from mer_utils.results.anchors import PEER_CAVEAT, peer_anchors
from mer_utils.results.tables import style_plain
from mer_utils.training.defaults import training_settings

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
backbone = phase3_backbone("musicnn", page.data, musicnn_weights=musicnn_weights, seed=page.seed)
display(backbone.banner())

# %% [markdown]
# ## The two corpora
#
# The embeddings are the Phase 3 page's (read from its cache) and, for 4Q, the
# Real music chapter's; nothing is embedded twice. A song is heard as
# `mer predict` will hear it: at a few 3-second patches spread over it (the
# note below says how many), its embedding the mean of theirs. musicnn's cost
# is per patch, so this keeps the predictor's cost the same for a 30-second
# clip and a 4-minute song.

# %%
embedded = backbone.embed(page.corpus, page.cache_dir, n_threads=n_threads, precision=precision, progress=False)
rated = fusion.rated_songs(page.corpus.name, embedded.song_ids, embedded.songs_heard_at(fusion.PATCHES_PER_SONG),
                           page.corpus.songs, page.corpus.groups, page.folds)
clips, clips_note = fusion.fourq_clips(fourq_dir, backbone, fourq_cache_dir, n_threads=n_threads,
                                       precision=precision)
clips_name = clips.name if clips is not None else None
display(Markdown(sentences.hearing_note(embedded.n_segments, fusion.PATCHES_PER_SONG, page.corpus.name)))
display(Markdown(clips_note))

# %% [markdown]
# ## Out of fold, on both corpora

# %%
settings = training_settings(page.data, "EmotionMLP")
runs = fusion.fold_runs(rated, clips, settings=settings, seed=page.seed)
rated_scores = fusion.rated_scores(runs, rated.name)
display(style_plain(sentences.rated_table(rated_scores, rated.name),
                    sentences.rated_caption(page.corpus, len(rated.ids), len(set(rated.groups)))))

# %%
sign_scores = fusion.sign_scores(runs, clips_name)
differences = fusion.variant_differences(runs, rated.name, clips_name)
if clips is not None:
    display(style_plain(sentences.sign_table(sign_scores, peer_anchors()),
                        sentences.sign_caption(len(clips.names), len(set(clips.groups)))))
    display(Markdown(f"*{PEER_CAVEAT}*"))
    display(style_plain(sentences.difference_table(differences), sentences.difference_caption(page.corpus)))

# %% [markdown]
# ## What hearing a few patches costs
#
# The same runs once more, each song's embedding now the mean of every one of
# its patches, paired item by item with the model as shipped.

# %%
every_patch = fusion.fold_runs(
    fusion.rated_songs(page.corpus.name, embedded.song_ids, embedded.songs, page.corpus.songs, page.corpus.groups,
                       page.folds),
    fusion.heard_at_every_patch(clips),
    settings=settings, seed=page.seed)
hearing = fusion.hearing_differences(runs, every_patch, rated.name, clips_name)
display(style_plain(sentences.difference_table(hearing, f"{fusion.PATCHES_PER_SONG} patches", "every patch"),
                    sentences.hearing_caption(fusion.PATCHES_PER_SONG, page.corpus)))

# %% [markdown]
# ## What the page finds

# %%
display(Markdown(sentences.predictor_findings(rated_scores, sign_scores, differences, rated.name,
                                              peer_anchors() if clips is not None else None)))

# %%
if clips is not None:
    fused = fusion.out_of_fold_frame(runs, clips.name)
    fig = plots.quadrant_plane(fused, clips.quadrants, fusion.quadrant_fit(runs, clips.name),
                               title="The fused model on 4Q, out of fold: each clip by its true quadrant")

# %% [markdown]
# ## The saved predictor
#
# The model `mer predict` runs is trained once more on every song of both
# corpora (run 1's validation parts stop it, at the epoch their loss is
# lowest). With 4Q, the logistic fit of each quadrant sign on the out-of-fold
# outputs above turns a prediction into the probability of positive valence and
# of high arousal, and `--quadrant` reports the most probable quadrant.

# %%
final = fusion.final_predictor(rated, clips, settings=settings, seed=page.seed)
path = fusion.save_predictor(page.results_dir, final, backbone, embedded.settings, rated, clips, runs,
                             extra={"subset": page.subset, "seed": page.seed,
                                    "best_epoch": int(final.history.attrs["best_epoch"])})
display(Markdown(sentences.usage_note(path, clips is not None, page.data)))
