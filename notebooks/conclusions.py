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
# # Every model on the same test songs
#
# The report compared its phases through best validation scores, each phase on
# its own split. Here every model of every phase is scored on one set of
# held-out test songs, the shared split of this book, so the numbers can be set
# side by side. For each model the table gives the test R², RMSE and MAE
# (1–9 scale) with their 95% bootstrap intervals over the test songs, the
# validation R² it was selected on, and the report's figure where it published
# one. Two published figures from outside the report serve as anchors:
#
# * **Music2Emo** (2025), with MERT features, on DEAM with its authors' own
#   split: R² 0.513 for valence and 0.603 for arousal;
# * **Eerola and Anderson's meta-analysis** of 34 music emotion recognition
#   studies, which pools the correlations of each study's best model over many
#   datasets, not DEAM: about 0.67 (valence) and 0.81 (arousal); squared, 0.45
#   and 0.66 on the R² axis (a squared correlation equals R² only for a
#   calibrated linear prediction, so read it as a rough mark).
#
# On Soundtracks the anchors are that corpus's own published results instead:
# Chowdhury et al. (2019), a VGG-style CNN, Pearson r 0.81 (valence) and 0.79
# (energy), and Hoedt, Flexer and Widmer (2025), r 0.82 and 0.76 on 36 test
# excerpts. Both split the excerpts at random, so excerpts of one film sat on
# both sides: optimistic beside this book's film-grouped folds. There the
# figures come from cross-validation: every excerpt is predicted once, by a
# model that never saw its film, and intervals resample films.
#
# Phase 2 models predict 3-second chunks; they are compared here at song level
# (the mean of a song's chunk predictions), as Phases 1 and 3 predict songs.
# The text on this page is generated from the numbers of this build, and every
# "better" rests on a paired interval that excludes zero.

# %% tags=["parameters"]
# None means the package default (mer_utils.page.BOOK_DEFAULTS); `make book` passes the knobs a user set.
data = None  # "synth" (SynthDEAM, the default), "deam" or "soundtracks"
data_dir = None  # the corpus root, DEAM layout
subset = None  # DEAM annotation subset
results_dir = None  # split.csv is read here; metrics/ and models/ are written here
cache_dir = None  # features, log-mel chunks and embeddings are cached here
seed = None

# %%
from IPython.display import HTML, Markdown, display

from mer_utils import plots
from mer_utils.corpus.base import TARGETS, short_name
from mer_utils.page import start_page
from mer_utils.results import lesson_sentences, lessons, verdicts
from mer_utils.results.anchors import anchors_for
from mer_utils.results.runs import records_of_run
from mer_utils.results.tables import RANDOM_PHASE3_WARNING, style_plain, style_table

page = start_page(data, data_dir, subset, results_dir, cache_dir, seed)
corpus, split = page.corpus, page.split
records, other_data = lessons.this_run(records_of_run(page.results_dir, page.run), corpus)
table = lessons.comparison_rows(records, corpus, split)
n_test = int((split["part"] == "test").sum())
display(Markdown(lessons.found_sentence(table, page.results_dir, n_test, other_data, groups=page.groups)))
if lessons.phase3_backbone(table) == "random":
    display(HTML(RANDOM_PHASE3_WARNING))

# %%
columns = lessons.shown_columns(table)
for target in TARGETS:
    display(style_table(table.loc[table["target"] == target, columns].rename(columns={"label": "model"}),
                        f"{short_name(target).capitalize()}: every model on the {n_test} test songs "
                        "(validation R² is what each model was selected on; report: DEAM, validation)"))

# %% [markdown]
# ## The picture
#
# Bars are this build's test R²; black diamonds the report's published figure
# for the same model (a best validation score on DEAM); grey lines the two
# outside anchors; on SynthDEAM the red dotted line is the generating function's R² on the
# same test songs.

# %%
fig = plots.comparison_r2(table, anchors=anchors_for(corpus),
                          ceiling={t: corpus.ceiling(t, split.loc[split["part"] == "test", "song_id"])
                                   for t in TARGETS} if corpus.is_synthetic else None,
                          title=f"Test R² of every model ({corpus.name}, {n_test} test songs)")

# %% [markdown]
# ## The best model of each phase
#
# A fair comparison picks each phase's representative the way a practitioner
# would: by validation R², not by the test score.

# %%
best = lessons.best_of_each_phase(table)
display(style_table(lessons.best_table(best, corpus, split),
                    "Each phase's model with the best validation R², scored on the test songs"))

# %%
fig = plots.va_plane(lessons.va_predictions(records, best))

# %% [markdown]
# ## The report's lessons, checked against this build
#
# The report closed with a handful of conclusions. Each is restated below and
# compared with what this build measured. The numbered table holds every paired
# comparison behind them, with its interval; the text cites its rows and says,
# one claim at a time, what they show. Every sentence is computed from the
# tables.

# %%
comparisons = lessons.lesson_comparisons(records, table, best)
display(style_plain(lessons.comparisons_table(comparisons),
                    "Paired comparisons on the same test songs: R² of model A minus model B, with its 95% bootstrap "
                    "interval"))
display(Markdown(lesson_sentences.lessons(comparisons, verdicts.lesson_verdicts(records, table, best), table, best,
                                          corpus, split)))

# %% [markdown]
# ## What each corpus shows
#
# The same lessons, one row each, for every corpus this checkout has built
# (SynthDEAM by default; Soundtracks with `DATA=soundtracks`; DEAM with
# `DATA=deam`), each from its own latest run: the comparison's R² difference with
# its 95% paired interval, and whether the lesson *holds* (the interval excludes
# zero in its favour), is *reversed*, or is *not shown*. SynthDEAM tests the
# pipeline; only the real corpora say something about music.

# %%
display(style_plain(verdicts.corpus_verdicts(page.results_dir.parent),
                    "Each lesson on each corpus built here: verdict and difference [95% paired interval] (R², or per-song "
                    "RMSE for the dynamic lesson)"))

# %% [markdown]
# ## What stays open
#
# The first item of the report's future work, fine-tuning the backbone instead
# of freezing it, is tested in this book on musicnn wherever its weights are
# present (the fine-tuning page of Phase 3, and the lesson on fine-tuning above
# when this build ran it); fine-tuning CNN14 itself needs its checkpoint and, to
# fit a reasonable time, a GPU. Its second, the 2 Hz emotion curves rather than
# song means, is Phase 4 of this book, where the corpus has them. More data for
# the rarer corners of the valence–arousal plane remains open. Two points
# this book adds: every verdict above rests on a paired interval over the test
# songs, so "no detectable difference" is a real answer and often the honest
# one on a test set of this size; and on SynthDEAM the gap to the generating
# function's R² on the same songs shows how much a model leaves on the table,
# something real data cannot tell.
