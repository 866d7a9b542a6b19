"""Published figures from outside the report, set beside this book's: other papers' and other tools'.

Used by: ``notebooks/conclusions.py`` (:func:`anchors_for`, the DEAM-era and Soundtracks anchors),
``notebooks/phase1_eda.py`` (:data:`DEAM_VA_CORRELATION`, through :mod:`mer_utils.phase1.narrative`),
``notebooks/phase4_dynamic.py`` (MediaEval 2015's anchors for emotion over time, :func:`dynamic_anchors`),
``notebooks/real_music.py`` (Panda et al.'s 4Q figures, :func:`fourq_published`) and
``notebooks/predictor.py`` (the tools people use instead, :func:`peer_anchors`).

Why apart from :mod:`mer_utils.results.published`: that module holds the one report
the book reproduces, checked number by number against its text; these anchors come
from many sources, each with its own protocol, and each carries the caveat that says
why it is a rough mark (``tests/test_published.py`` checks their shape).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The correlation of valence_mean and arousal_mean over the 1,744 songs of DEAM's
# static_annotations_averaged_songs_1_2000.csv, computed from that CSV (0.588); the report gives no figure
# (its Figure 2 says only "a moderate positive correlation").
DEAM_VA_CORRELATION = 0.59

# Published anchors from outside the report, for the comparison chapter.  ``source`` is the label a figure shows;
# ``short`` the name a sentence uses; ``dataset`` says what was measured; ``caveat`` why the mark is rough, and
# ``note`` the same in one short sentence for the lessons (``notes``: for several anchors of one kind at once).  Neither appears in the report.  The Music2Emo values are carried over as entered, not re-checked against the paper here.
PUBLISHED_ANCHORS = [
    {
        "source": "Music2Emo (2025), MERT features",
        "target": "valence_mean",
        "r2": 0.513,
        "dataset": "DEAM",
        "reference": "Kang & Herremans 2025, Towards Unified Music Emotion Recognition (arXiv 2502.03979)",
        "caveat": "DEAM, but the authors' own split and protocol, not this book's.",
        "short": "Music2Emo (2025)",
        "note": "That figure comes from the authors' own split and protocol.",
    },
    {
        "source": "Music2Emo (2025), MERT features",
        "target": "arousal_mean",
        "r2": 0.603,
        "dataset": "DEAM",
        "reference": "Kang & Herremans 2025, Towards Unified Music Emotion Recognition (arXiv 2502.03979)",
        "caveat": "DEAM, but the authors' own split and protocol, not this book's.",
        "short": "Music2Emo (2025)",
        "note": "That figure comes from the authors' own split and protocol.",
    },
    {
        "source": "Eerola & Anderson meta-analysis, 34 studies, not DEAM: r = 0.67 (r² shown)",
        "target": "valence_mean",
        "r": 0.67,
        "r2": 0.67**2,
        "dataset": "34 studies (2014–2024), many datasets",
        "reference": "Eerola & Anderson, A Meta-Analysis of Music Emotion Recognition Studies (metaMER)",
        "caveat": (
            "A pooled correlation of the best model of each of 34 studies over many datasets, not a DEAM result; "
            "squared, it equals R² only for a calibrated linear prediction, so it is a rough mark only."
        ),
        "short": "the meta-analysis of Eerola & Anderson",
        "note": "That mark squares a correlation pooled over 34 studies, so it is rough.",
    },
    {
        "source": "Eerola & Anderson meta-analysis, 34 studies, not DEAM: r = 0.81 (r² shown)",
        "target": "arousal_mean",
        "r": 0.81,
        "r2": 0.81**2,
        "dataset": "34 studies (2014–2024), many datasets",
        "reference": "Eerola & Anderson, A Meta-Analysis of Music Emotion Recognition Studies (metaMER)",
        "caveat": (
            "A pooled correlation of the best model of each of 34 studies over many datasets, not a DEAM result; "
            "squared, it equals R² only for a calibrated linear prediction, so it is a rough mark only."
        ),
        "short": "the meta-analysis of Eerola & Anderson",
        "note": "That mark squares a correlation pooled over 34 studies, so it is rough.",
    },
]

# Published results on the Soundtracks excerpts (Eerola and Vuoskoski 2011), set beside the Soundtracks book's
# figures.  Both used random splits that put excerpts of one film on both sides, so they are optimistic against
# this book's film-grouped folds; both report Pearson r (shown squared on the R² axis, like the meta-analysis).
# Figures as the book's issue tracker gives them: valence, energy (arousal), tension.
_SOUNDTRACKS_CAVEAT = ("Pearson r on a random split that puts excerpts of one film on both sides (optimistic "
                       "against film-grouped folds); squared, it equals R² only for a calibrated linear prediction.")
_SOUNDTRACKS_NOTE = "Its random split put excerpts of one film on both sides, which flatters it."
_SOUNDTRACKS_NOTES = "Their random splits put excerpts of one film on both sides, which flatters them."
SOUNDTRACKS_ANCHORS = [
    {"source": f"Chowdhury et al. 2019, VGG-style CNN: r = {r:.2f} (r² shown)", "target": target, "r": r,
     "r2": r**2, "dataset": "Soundtracks, random split", "reference": "chowdhury2019explainable",
     "caveat": _SOUNDTRACKS_CAVEAT, "short": "Chowdhury et al. 2019", "note": _SOUNDTRACKS_NOTE,
     "notes": _SOUNDTRACKS_NOTES}
    for target, r in (("valence_mean", 0.81), ("arousal_mean", 0.79), ("tension_mean", 0.84))
] + [
    {"source": f"Hoedt, Flexer & Widmer 2025: r = {r:.2f} (r² shown)", "target": target, "r": r, "r2": r**2,
     "dataset": "Soundtracks, random split, 36 test excerpts", "reference": "hoedt2025soundtracks",
     "caveat": _SOUNDTRACKS_CAVEAT, "short": "Hoedt, Flexer & Widmer 2025", "note": _SOUNDTRACKS_NOTE,
     "notes": _SOUNDTRACKS_NOTES}
    for target, r in (("valence_mean", 0.82), ("arousal_mean", 0.76), ("tension_mean", 0.83))
]


def anchors_for(corpus) -> list[dict]:
    """The published anchors to set beside a corpus's figures: Soundtracks' own, else the DEAM-era ones."""
    return SOUNDTRACKS_ANCHORS if getattr(corpus, "kind", "") == "Soundtracks" else PUBLISHED_ANCHORS


# Published figures for emotion over time (Phase 4, notebooks/phase4_dynamic.py): MediaEval 2015's Emotion in Music
# task, 2 Hz valence and arousal on DEAM's -1..1 scale, scored per song (RMSE and Pearson r between the predicted
# and the annotated curve) and averaged over the 58 full-length 2015 test songs.  ``rmse`` and ``r`` are NaN where
# the paper gives none; ``spread`` is the standard deviation over songs the paper prints beside a mean (not an
# interval).  Checked against each paper's abstract (CEUR-WS vol. 1436 for the 2015 working notes; arXiv 1706.02292).
_MEDIAEVAL_2015 = ("MediaEval 2015 task: trained on the task's development excerpts (2013-14), tested on the 58 "
                   "full-length 2015 songs; per-song scores averaged over songs")
DYNAMIC_ANCHORS = [
    {"source": "Coutinho et al. 2015, deep LSTM-RNN (MediaEval 2015)", "short": "Coutinho et al. 2015",
     "reference": "coutinho2015lstm", "protocol": _MEDIAEVAL_2015,
     "figures": {"valence": {"rmse": np.nan, "r": 0.026, "r_spread": 0.500},
                 "arousal": {"rmse": np.nan, "r": 0.613, "r_spread": 0.278}}},
    {"source": "Chin and Wang 2015, deep RNN (MediaEval 2015)", "short": "Chin and Wang 2015",
     "reference": "chin2015rnn", "protocol": _MEDIAEVAL_2015,
     "figures": {"valence": {"rmse": 0.3359, "rmse_spread": 0.1614, "r": -0.0103, "r_spread": 0.3420},
                 "arousal": {"rmse": 0.2555, "rmse_spread": 0.1255, "r": 0.3417, "r_spread": 0.2501}}},
    {"source": "Malik et al. 2017, stacked CNN and RNN", "short": "Malik et al. 2017", "reference": "malik2017stacked",
     "protocol": "the MediaEval 2015 Emotion in Music data, tested on its 58 full-length 2015 songs (RMSE only)",
     "figures": {"valence": {"rmse": 0.268, "r": np.nan}, "arousal": {"rmse": 0.202, "r": np.nan}}},
]
DYNAMIC_PROTOCOL_CAVEAT = (
    "These anchors are DEAM's own 2015 test: 58 full-length songs, annotated by a different panel from the 2013-14 "
    "excerpts, with models trained on the task's cleaned development set. This book's default figures come from its "
    "own split (test excerpts from the same years as the training ones) or from SynthDEAM, so they sit beside the "
    "anchors, not against them; with DATA=deam SUBSET=all the book also runs the 2015 setting itself."
)


def dynamic_anchors() -> pd.DataFrame:
    """:data:`DYNAMIC_ANCHORS` as rows: source, dimension, RMSE and r (-1..1 scale; NaN where not published), the
    spread over songs the paper prints, the protocol and the bibliography key."""
    rows = []
    for anchor in DYNAMIC_ANCHORS:
        for dimension, figures in anchor["figures"].items():
            rows.append({"source": anchor["source"], "dimension": dimension, "rmse": figures.get("rmse", np.nan),
                         "rmse_spread": figures.get("rmse_spread", np.nan), "r": figures.get("r", np.nan),
                         "r_spread": figures.get("r_spread", np.nan), "protocol": anchor["protocol"],
                         "reference": anchor["reference"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the 4Q dataset (Real music chapter)

# Panda, Malheiro and Paiva, "Novel audio features for music emotion recognition", IEEE Transactions on Affective
# Computing (2018), the paper that published 4Q: macro F1 of the quadrant task (4 classes), SVM, 20 repetitions of
# 10-fold cross-validation over all 900 clips.  Its abstract: adding the novel features "improved the F1-score to
# 76.4 percent (by 9 percent), when compared to a similar number of baseline-only features"; the baseline figure
# is therefore about 67% (``approximate``).  Used by ``notebooks/real_music.py``.
FOURQ_PUBLISHED = [
    {"source": "Panda et al. 2018, baseline + novel features (SVM)", "task": "quadrant", "f1": 0.764,
     "approximate": False},
    {"source": "Panda et al. 2018, a similar number of baseline features only (SVM)", "task": "quadrant",
     "f1": 0.764 - 0.09, "approximate": True},
]
FOURQ_PROTOCOL_CAVEAT = (
    "Panda et al. scored all 900 clips with 20 repetitions of 10-fold cross-validation that was not grouped by "
    "artist, so clips by one artist (up to 12) could sit on both sides of a fold, which flatters a model; their "
    "features were also selected on the same data. This book's folds keep every artist on one side."
)


def fourq_published(task: str = "quadrant") -> pd.DataFrame:
    """Panda et al.'s published macro F1 of a 4Q task (``source``, ``f1``, ``approximate``); none for the signs."""
    rows = [r for r in FOURQ_PUBLISHED if r["task"] == task]
    return pd.DataFrame(rows, columns=["source", "task", "f1", "approximate"])


# --------------------------------------------------------------------------- the tools people use instead (predictor)

# ROC AUC of each tool's valence for the valence sign (Q1+Q4 against Q2+Q3) and of its arousal (energy) for the
# arousal sign (Q1+Q2 against Q3+Q4) on all 900 4Q clips, measured for this project (issue 17 of its tracker, on a
# 2-core AMD EPYC, float32) with each tool as shipped: vibenet 0.1.0 from PyPI (an EfficientNet distilled on the Free
# Music Archive, GPL-3.0) and Essentia's DEAM arousal/valence heads on msd-musicnn-1 embeddings.  Neither saw 4Q.
# benchmarks/bench_peers.py measures vibenet again, beside this book's models, on the clips at hand.  Used by
# notebooks/predictor.py.
PEER_ANCHORS = [
    {"tool": "vibenet 0.1.0 (EfficientNet, FMA)", "valence_auc": 0.67, "arousal_auc": 0.91, "clips": 900,
     "speed": "about 85x real time on 2 cores"},
    {"tool": "Essentia DEAM heads on musicnn (MSD)", "valence_auc": None, "arousal_auc": 0.94, "clips": 900,
     "speed": "not measured"},
]
PEER_CAVEAT = ("Measured on all 900 4Q clips, not only the clips of this page, and by tools trained on other data "
               "(neither saw 4Q); this page's fused model learned 4Q's quadrants, so its 4Q figures are out of fold, "
               "by artist. benchmarks/bench_peers.py measures vibenet on the same clips as this book's models.")


def peer_anchors() -> pd.DataFrame:
    """:data:`PEER_ANCHORS` as a table: tool, ROC AUC of valence and of arousal on 4Q, clips, speed."""
    return pd.DataFrame(PEER_ANCHORS, columns=["tool", "valence_auc", "arousal_auc", "clips", "speed"])
