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
# # Emotion over time
#
# The report predicted one valence and one arousal value per song and named
# the limit itself: the emotion of a song moves, and its future work was to
# follow it with temporal models on frame-level embeddings. DEAM was built for
# that: its raters moved a slider while they listened, and their mean is
# given every half second. This page predicts those curves, every 0.5 s, on
# the annotations' own -1..1 scale, and scores them as the MediaEval 2015
# Emotion in Music task did.
#
# Four models, from simple to rich, on the same test songs:
#
# 1. **a constant**: the book's best static model's prediction for the song,
#    held over the whole song: how much of the task is static?
# 2. **a per-frame Ridge regression** on the Phase 1 features computed over a
#    sliding 3-second window;
# 3. the same Ridge on the backbone's **frame embeddings**, averaged over the
#    same window;
# 4. a **bidirectional GRU** over the song's sequence of frame embeddings,
#    trained on the curves.
#
# The comparisons are paired over the same songs, as everywhere in the book.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default) or "deam": the corpora with 2 Hz annotations
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset; "all" adds MediaEval 2015's own setting
results_dir = None  # split.csv and the static models' records are read here; phase4/ and models/ are written here
cache_dir = None  # Phase 3's embedding cache (with its frame embeddings) and the Phase 4 descriptors
seed = None
backbone = None  # "cnn14" (None) or "musicnn": the Makefile takes musicnn wherever its weights are given
musicnn_weights = None  # MUSICNN_WEIGHTS (.h5 or checkpoint folder); None: the musicnn wheel's MSD network
checkpoint = None  # the PANNs checkpoint (make weights); None: mer_utils.phase3.cnn14.DEFAULT_CHECKPOINT
random_backbone = False  # True: a CNN14 with random weights, even on DEAM (the PANNS_RANDOM knob)
epochs = None  # the sequence model's epochs; None: mer_utils.training.defaults ("DynamicGRU")
patience = None
batch_size = None  # songs per batch
lr = None  # Adam learning rate
n_jobs = None  # worker processes for the Phase 1 descriptors

# %%
from IPython.display import Markdown, display

from mer_utils.page import start_page
from mer_utils.phase3.backbones import phase3_backbone
from mer_utils.phase4 import figures, narrative
from mer_utils.phase4.bundle import save_curve_model
from mer_utils.phase4.experiment import GRU, book_run, load_inputs, run_setting, save_run, song_examples
from mer_utils.phase4.agreement import dimension_check
from mer_utils.phase4.protocol import comparisons_for_page, summary, summary_for_page
from mer_utils.phase4.reference import LABEL, human_reference
from mer_utils.phase4.settings import mediaeval_setting
from mer_utils.phase4.static import fit_song_ridge
from mer_utils.results.anchors import dynamic_anchors
from mer_utils.results.tables import style_plain
from mer_utils.training.defaults import training_settings

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
backbone = phase3_backbone(backbone, page.data, checkpoint, random_backbone=random_backbone,
                           musicnn_weights=musicnn_weights, seed=page.seed)
display(backbone.banner())
gru_settings = training_settings(page.data, "DynamicGRU", epochs=epochs, patience=patience, batch_size=batch_size,
                                 lr=lr)

# %% [markdown]
# ## The curves
#
# Each song's curve is the mean of its raters' slider positions, one value per
# half second on -1..1. The table summarises them; the spread of the song
# means against the movement within songs says how much of the task a
# constant per song could do.

# %%
inputs = load_inputs(corpus, page.cache_dir, backbone, n_jobs=n_jobs)
display(Markdown(narrative.annotations_sentence(inputs.curves, corpus.is_synthetic)))
agreement = dimension_check(corpus)
if agreement is not None:
    display(Markdown(agreement.sentence()))
display(style_plain(inputs.curves.summary(), "The 2 Hz curves, per dimension (all values on the -1..1 scale; "
                    "between-song share: the variance of the labels that lies between song means)"))

# %% [markdown]
# ## Frames
#
# A model of emotion over time needs the music over time: a sequence of
# frames, one per half second. The label at time *t* belongs to the frame
# that ends at *t*, the half second the raters had just heard.

# %%
display(Markdown(narrative.frames_sentence(inputs, backbone)))

# %% [markdown]
# ## The models, on the book's split
#
# Every model fits on the training songs, chooses its settings on the
# validation songs (the Ridge penalties, the GRU's epoch), and predicts the
# test songs once.

# %%
run, scale_map = book_run(inputs, page, gru_settings, agreement)
display(Markdown(narrative.setting_sentence(run)))
display(Markdown(narrative.static_sentence(run, scale_map)))
display(Markdown(narrative.models_sentence(run)))
fig = figures.learning_curves(run.gru.history, "The BiGRU: loss and validation RMSE per epoch (best epoch marked)")

# %% [markdown]
# ## How well each model follows the curves
#
# The mean over the test songs of each song's RMSE and Pearson r (MediaEval
# 2015's scores), with 95% intervals over the songs. RMSE sees the level and
# the shape of a curve; r sees only the shape.

# %%
reference = human_reference(corpus, run.setting.songs("test"))
shown = run.summary if reference is None else summary(reference.beside(run.scores), page.groups)
display(style_plain(summary_for_page(shown), narrative.summary_caption(run, page.cross_validated)))
display(Markdown(narrative.protocol_note(run)))
if reference is not None:
    display(Markdown(reference.sentence()))

# %%
display(style_plain(comparisons_for_page(run.comparisons), narrative.comparisons_caption(page.cross_validated)))
display(Markdown(narrative.findings(run)))

# %% [markdown]
# ## Curves
#
# Three test songs: those where the BiGRU's RMSE is lowest, median and
# highest. Black: the annotated curve, the grey band its raters' spread
# (mean ± 1 sd) where the corpus gives it; the dotted line on SynthDEAM is
# the generating function's curve, the ceiling.

# %%
fig = figures.example_curves(inputs.curves, {run.labels[k]: v for k, v in run.predictions.items()},
                             song_examples(run), run.scores, run.labels[GRU])

# %%
fig = figures.score_distributions(run.scores if reference is None else reference.beside(run.scores),
                                  [run.labels[k] for k in run.predictions] + ([] if reference is None else [LABEL]))

# %% [markdown]
# ## Published anchors
#
# What the MediaEval 2015 systems and a later network reached on DEAM's own
# test songs, with each protocol: beside this page's figures, not against them.

# %%
display(style_plain(narrative.anchors_table(dynamic_anchors()), "Published figures for 2 Hz valence and arousal on "
                    "DEAM's 2015 test songs (means over songs, -1..1 scale)"))
display(Markdown(narrative.anchors_note(dynamic_anchors())))

# %% [markdown]
# ## MediaEval 2015's own setting
#
# With `DATA=deam SUBSET=all` the same models also run as the task did:
# trained on the 45-second excerpts of 2013 and 2014, tested on the 58
# full-length songs of 2015. There the constant baseline is refit from the
# frame embeddings, since the book's static models saw some 2015 songs.

# %%
mediaeval = mediaeval_setting(split, inputs.curves.song_ids, corpus.kind)
if mediaeval is None:
    display(Markdown(narrative.mediaeval_absent_sentence(page.data, page.subset)))
else:
    song_ridge = fit_song_ridge(inputs.frames, inputs.curves, mediaeval.songs("train"), mediaeval.songs("validation"))
    mediaeval_run = run_setting(inputs, mediaeval, song_ridge.values(inputs.frames, mediaeval.songs("test")),
                                "song-level Ridge on frame embeddings", gru_settings, page.seed,
                                static_details={"alpha": song_ridge.alpha})
    display(Markdown(narrative.setting_sentence(mediaeval_run)))
    display(Markdown(narrative.static_sentence(mediaeval_run, None)))
    display(style_plain(summary_for_page(mediaeval_run.summary), "MediaEval 2015's setting: mean per-song RMSE "
                        "and r on the 2015 test songs [95% bootstrap interval over songs]"))
    display(style_plain(comparisons_for_page(mediaeval_run.comparisons), "MediaEval 2015's setting: paired "
                        "comparisons on the same test songs"))
    display(Markdown(narrative.findings(mediaeval_run)))
    save_run(page.results_dir, mediaeval_run)

# %% [markdown]
# ## The saved model
#
# The BiGRU, both scalers and a description of its backbone (name, kind, the
# weights' sha256 or the random seed) are saved together, so that
# `mer predict --curve` can rebuild the same frames for any recording and
# return its 2 Hz curve.

# %%
save_run(page.results_dir, run)
path = save_curve_model(page.results_dir, run.gru, backbone, inputs.embedded,
                        extra={"data": corpus.name, "subset": page.subset, "seed": page.seed,
                               "setting": run.setting.name, "test": run.summary.to_dict(orient="records")})
display(Markdown(narrative.saved_model_sentence(path, backbone)))
display(Markdown(narrative.timing_sentence(inputs, run)))
