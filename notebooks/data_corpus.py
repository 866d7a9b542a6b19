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
# # The corpus and the split
#
# This page says exactly which songs the rest of the book uses: how many have
# labels and audio, which were skipped and why, and how they fall into the
# training, validation and test parts of the one split every phase shares.

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
from mer_utils.corpus import narrative
from mer_utils.corpus.deam import dynamic_annotations
from mer_utils.corpus.split import fold_overview, part_overview
from mer_utils.corpus.synth import cue_weight_table
from mer_utils.page import start_page
from mer_utils.phase4.narrative import dynamic_annotations_note
from mer_utils.phase4.reference import CURVES_CAPTION, PIECES_CAPTION, panel_tables
from mer_utils.results.tables import style_plain

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split

# %% [markdown]
# ## What was found

# %%
display(Markdown(narrative.corpus_findings(corpus)))

# %% [markdown]
# ## The shared split
#
# Songs, not chunks, are assigned to a part at random with a fixed seed, and the
# assignment is saved as `split.csv` beside the results. Phase 2 cuts songs into
# 3-second chunks *after* this assignment, so no song has chunks on two sides.
# Model selection (grid search, epochs, early stopping) sees the training and
# validation songs only; the test songs are scored once per model.
#
#
# A small corpus (Soundtracks) is evaluated by cross-validation instead, grouped
# by film: the films are dealt into folds of about equal size; in fold k the
# films of fold k are the test part, those of fold k + 1 the validation part and
# the rest the training part. Every excerpt is tested once, by a model that never
# saw its film, and every figure pools those out-of-fold predictions.

# %%
if page.cross_validated:
    display(style_plain(fold_overview(split, corpus.groups), f"Excerpts (songs) and films (groups) in each part of "
                        f"each fold (seed {page.seed})"))
else:
    display(part_overview(split, corpus.songs).style.format({"share": "{:.0%}", "valence_mean": "{:.2f}",
                                                             "arousal_mean": "{:.2f}"})
            .set_caption(f"Songs per part (seed {page.seed}); mean labels on the 1..9 scale"))

# %% [markdown]
# ## Dynamic annotations
#
# DEAM also gives valence and arousal every half second from 15 s on, on a
# -1..1 scale. Phases 1 to 3 predict the song-level means, as the report did;
# Phase 4 predicts these curves. The curves below show how much the ratings
# move within a song.

# %%
dynamic = dynamic_annotations(corpus.root)
display(Markdown(dynamic_annotations_note(dynamic is not None, corpus)))
if dynamic is not None:
    fig = plots.dynamic_curves(dynamic, corpus.song_ids)

# %% [markdown]
# ## How far listeners agree
#
# Where a corpus keeps every listener's own curve (VGMIDI), the panel can be
# split in two random halves and the halves compared: over time, curve
# against curve, as Phase 4 scores a model; and between pieces, as Phases 1 to
# 3 score the piece labels. No generating function exists for real
# listeners, so this is the book's human reference on such a corpus: what
# another panel of listeners would reach, not a ceiling.

# %%
if corpus.listener_traces is not None:
    over_time, between_pieces = panel_tables(corpus.listener_traces)
    display(style_plain(over_time, CURVES_CAPTION))
    display(style_plain(between_pieces, PIECES_CAPTION))

# %% [markdown]
# ## How SynthDEAM makes its labels
#
# On SynthDEAM (the default when DEAM is not available) every label comes from a
# known function of musical cues the generator draws and renders into the
# audio, plus song-level variation no cue explains and simulated raters. The
# weights follow the cue-emotion findings of music psychology (Gabrielsson and
# Lindström 2001; Eerola, Friberg and Bresin 2013): mode weighs most on valence;
# tempo, dynamics and articulation on arousal; register and brightness on both.
# Because the function is known, the generator records each song's noise-free
# expected label, and the R² of those expectations against the published labels
# is the **ceiling**: what a model that read every cue exactly would score. It is
# an expected upper bound, not a hard one, and it depends on the songs: every
# results table sets beside its figures the ceiling on the same songs. On real
# DEAM this section is empty.
#
# SynthDEAM's 2 Hz labels follow the same cues as they change. Tempo, dynamics,
# brightness and rhythmic density drift linearly over each clip, in the audio
# and in the labels alike: at every half second the latent valence and arousal
# are the cue weights applied to the cues at that moment, plus the song's own
# unexplained offset. Ten simulated raters each add a level of their own and a
# slow wandering around it; the file holds their mean, and their spread per
# half second beside it. The labels start at 2 s (DEAM's at 15 s), so a
# 12-second clip is labelled over most of its length. The generator also writes
# the noise-free curve of each song, the expected mean rating given the cues at
# each moment: Phase 4's ceiling.

# %%
if corpus.is_synthetic:
    display(cue_weight_table(corpus.synthetic).style.format(precision=2).set_caption(
        "Weight of each standardised cue on the latent valence and arousal (before rating)"))
display(Markdown(narrative.noise_ceiling_sentence(corpus)))
