"""What transfers: the book's valence/arousal models, trained on its own corpus, scored on the 4Q clips as they are.

Used by: ``notebooks/real_music.py`` (its "What transfers" section).

The book trains regressors of mean valence and arousal (1..9 scale) on SynthDEAM
or DEAM.  4Q gives no ratings, only quadrants, but a model that has learnt
valence should rank the clips of the positive quadrants (Q1, Q4) above those
of the negative ones (Q2, Q3), and one that has learnt arousal the high
quadrants (Q1, Q2) above the low ones.  The ROC AUC measures exactly that
ranking: 0.5 is chance, 1 a perfect ranking, below 0.5 an inverted one.  It
ignores the scale and any offset between corpora, so no recalibration is
needed, and nothing is retrained on 4Q.  Intervals: the cluster bootstrap over
artists of :func:`mer_utils.results.classification.auc_interval`.

Models scored, each only where ``make book`` left it:

* **Phase 3**: the EmotionMLP bundle (``<results_dir>/models/emotion_mlp.pt``,
  :func:`mer_utils.predict.bundles.load_bundle`), on 4Q embeddings from the very
  CNN14 it was trained with (its checkpoint, or the same seeded random weights)
  at its precision, so the embeddings are those the model expects; and the
  musicnn page's EmotionMLP (``<results_dir>/models/emotion_mlp_musicnn.pt``)
  on 4Q musicnn embeddings from the same weights file (checked by sha256);
* **Phase 1**: for each target, the regressor the Phase 1 page chose on
  validation (highest validation R² among its tuned regressors, with the
  setting its grid search found, read from the result records of the book's
  run, :func:`mer_utils.results.runs.records_of_run`), refitted on the training songs' cached features (seconds) and applied
  to the 4Q clips' 386 features.

On SynthDEAM this asks how far the synthetic cues carry to real music; on DEAM
and Soundtracks it is a cross-dataset test.  The chapter scores the models of
more than one book (:func:`books_to_score`): its own, the SynthDEAM book's beside
a real corpus's, and the Soundtracks book's when ``SOUNDTRACKS_DIR`` is given.
A book built with folds (Soundtracks) saved fold 1's models, trained on fold 1's
training films; its Phase 1 regressors are refitted on the same songs with the
setting fold 1 chose.  The same kind of model trained on two corpora is compared
on the same clips by a paired bootstrap over artists (:func:`transfer_differences`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import pandas as pd

from ..corpus.sources import CORPUS_LABELS, source
from ..errors import MerError
from ..training.runtime import DEFAULT_JOBS
from ..results.classification import auc_interval, better_side, paired_auc_difference
from .representations import LeftOut

QUESTIONS = {
    "arousal_mean": ("arousal_high", "predicted arousal ranks high-arousal clips (Q1+Q2) first"),
    "valence_mean": ("valence_positive", "predicted valence ranks positive-valence clips (Q1+Q4) first"),
}


@dataclass
class TransferModel:
    """A model of the book applied to 4Q: ``predictions`` indexed by 4Q name, one column per target (1..9).

    ``target_labels`` names the model behind each target where they differ (Phase 1 picks one per target).
    """

    label: str
    trained_on: str
    predictions: pd.DataFrame
    note: str
    target_labels: dict = field(default_factory=dict)
    key: str = ""  # the kind of model ("emotion_mlp", "emotion_mlp_musicnn", "phase1"): alike across corpora

    def label_of(self, target: str) -> str:
        return self.target_labels.get(target, self.label)

    @property
    def corpus_label(self) -> str:
        return CORPUS_LABELS.get(self.trained_on, self.trained_on)


def book_paths(data=None, data_dir=None, subset=None, results_dir=None, cache_dir=None, seed=None) -> dict:
    """The book run whose models are scored: ``data``, ``data_dir``, ``subset``, ``results_dir``, ``cache_dir``, ``seed``."""
    from ..page import BOOK_DEFAULTS, default_paths

    data = data or BOOK_DEFAULTS["data"]
    paths = default_paths(data)
    return {"data": data, "data_dir": data_dir or paths["data_dir"], "subset": subset or source(data).default_subset,
            "results_dir": Path(results_dir or paths["results_dir"]),
            "cache_dir": Path(cache_dir or paths["cache_dir"]),
            "seed": BOOK_DEFAULTS["seed"] if seed is None else int(seed)}


def books_to_score(data=None, data_dir=None, subset=None, results_dir=None, cache_dir=None, seed=None,
                   soundtracks_dir=None) -> list[dict]:
    """The book runs whose models the chapter scores (:func:`book_paths` each), the chapter's own book first.

    Beside it: the SynthDEAM book (``results/synth``) when the own book is another
    corpus, and the Soundtracks book when ``soundtracks_dir`` is given and the own
    book is not that one.  A book never built leaves its models out, with the reason.
    """
    own = book_paths(data, data_dir, subset, results_dir, cache_dir, seed)
    books = [own]
    if own["data"] != "synth":
        books.append(book_paths("synth", seed=own["seed"]))
    if soundtracks_dir and own["data"] != "soundtracks":
        books.append(book_paths("soundtracks", soundtracks_dir, seed=own["seed"]))
    return books


def _trained_where(bundle) -> str:
    """`` (fold 1 of 5: 142 training songs)`` for a model a cross-validated book saved, else ``""``."""
    folds = bundle.raw.get("folds")
    train = (bundle.raw.get("songs") or {}).get("train")
    if not folds or int(folds) < 2:
        return ""
    return f" (fold 1 of {int(folds)}: {train} training songs)" if train else f" (fold 1 of {int(folds)})"


def _bundle_on_clips(bundle, path, corpus, embedded, label: str, key: str) -> TransferModel:
    """A saved Phase 3 MLP's predictions for the 4Q clips from their ``embedded`` songs, with where it came from."""
    predicted = bundle.predict(embedded.songs)
    frame = corpus.by_name(pd.DataFrame(predicted, index=embedded.song_ids, columns=bundle.targets))
    trained_on = str(bundle.raw.get("data") or "unknown")
    return TransferModel(label, trained_on, frame,
                         f"{path}, trained on {CORPUS_LABELS.get(trained_on, trained_on)}{_trained_where(bundle)}; "
                         f"{embedded.describe()}.", key=key)


def emotion_mlp_transfer(book: dict, corpus, fourq_cache_dir, n_threads: int | None = None, progress: bool = True):
    """The Phase 3 EmotionMLP's predictions on the 4Q clips, or :class:`LeftOut` when ``make book`` saved none."""
    from ..phase3.embeddings import Embedder, embed_corpus
    from ..predict.bundles import BUNDLE_FILE, load_bundle
    from ..predict.songs import rebuild_cnn14

    path = book["results_dir"] / BUNDLE_FILE
    if not path.is_file():
        return LeftOut("emotion_mlp", "EmotionMLP (Phase 3)", f"no saved model at {path}: run 'make book' first")
    bundle = load_bundle(path)
    try:
        backbone = rebuild_cnn14(bundle.backbone)
    except MerError as exc:
        return LeftOut("emotion_mlp", "EmotionMLP (Phase 3)", str(exc).rstrip("."))
    embedder = Embedder(backbone, n_threads=n_threads or DEFAULT_JOBS,
                        precision=bundle.embedding.get("precision", "float32"))
    embedded = embed_corpus(corpus, fourq_cache_dir, backbone, embedder=embedder, progress=progress)
    what = "random-weight CNN14" if backbone.is_random else "PANNs CNN14"
    return _bundle_on_clips(bundle, path, corpus, embedded, f"EmotionMLP on {what} (Phase 3)", "emotion_mlp")


def musicnn_mlp_transfer(book: dict, corpus, fourq_cache_dir, n_threads: int | None = None, progress: bool = True):
    """The musicnn page's EmotionMLP on the 4Q clips, or :class:`LeftOut` when there is no such model or no weights."""
    from ..phase3.musicnn import verify_sha256
    from ..phase3.musicnn_embeddings import embed_corpus_musicnn
    from ..predict.bundles import MUSICNN_BUNDLE_FILE, load_bundle

    path = book["results_dir"] / MUSICNN_BUNDLE_FILE
    name, label = "emotion_mlp_musicnn", "EmotionMLP on musicnn (Phase 3)"
    if not path.is_file():
        return LeftOut(name, label, f"no saved model at {path}: Phase 3 ran without musicnn weights")
    bundle = load_bundle(path)
    weights = Path(bundle.backbone.get("weights", ""))
    try:
        verify_sha256(weights, bundle.backbone.get("sha256"))  # the file the model was trained with, or MerError
    except MerError as exc:
        return LeftOut(name, label, str(exc).rstrip("."))
    embedded = embed_corpus_musicnn(corpus, fourq_cache_dir, weights, n_threads=n_threads,
                                    precision=bundle.embedding.get("precision", "float32"), progress=progress)
    return _bundle_on_clips(bundle, path, corpus, embedded, label, name)


def phase1_choice(results_dir, run: dict) -> dict:
    """``{target: record}``: the tuned Phase 1 regressor with the highest validation R², per target, of ``run``.

    Raises :class:`MerError` when there is no Phase 1 record of ``run``
    (:func:`mer_utils.results.runs.records_of_run`).
    """
    from ..phase1.regressors import GRID_SETTING
    from ..results.runs import records_of_run

    records = [r for r in records_of_run(results_dir, run, needed=(1,))
               if r.get("phase") == 1 and r.get("setting") == GRID_SETTING]
    chosen = {}
    for record in records:
        target = record["target"]
        if target not in chosen or record["validation"]["r2"] > chosen[target]["validation"]["r2"]:
            chosen[target] = record
    return chosen


def phase1_transfer(book: dict, fourq_features: pd.DataFrame, seed: int = 42, n_jobs: int | None = None):
    """The Phase 1 regressors chosen on validation, refitted on the training songs, applied to the 4Q features.

    ``fourq_features``: the 386 features of the 4Q clips (indexed by 4Q name), computed with the same
    settings as the book's.  Under folds the training songs and the setting are fold 1's, as for the
    models a cross-validated book saves.  Returns :class:`TransferModel` or :class:`LeftOut` (no records
    of the book's run, with the reason :func:`phase1_choice` gives, or no corpus to refit on).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from ..corpus.base import TARGETS
    from ..corpus.sources import corpus_for
    from ..corpus.split import ONE_SPLIT, fold_splits, read_split
    from ..phase1.features import extract_features
    from ..phase1.features import split_arrays
    from ..phase1.regressors import regressor
    from ..results.crossfit import fold_detail
    from ..results.runs import run_identity

    label = "Phase 1 regressors"
    split_path = book["results_dir"] / "split.csv"
    if not split_path.is_file():
        return LeftOut("phase1", label, f"no split at {split_path}: run 'make book' first")
    try:
        corpus = corpus_for(book["data"], book["data_dir"], book["subset"], quiet=True)
        split = read_split(split_path)
        split = split[split["song_id"].isin(corpus.song_ids)].reset_index(drop=True)
        chosen = phase1_choice(book["results_dir"], run_identity(corpus, split, book["subset"], book["seed"]))
    except MerError as exc:
        return LeftOut("phase1", label, str(exc).rstrip("."))
    if set(chosen) != set(TARGETS):
        return LeftOut("phase1", label, f"no tuned Phase 1 regressor of each target among the book's records under "
                                        f"{book['results_dir']}: run 'make book' first")
    folds = fold_splits(split)
    fold, train_split = next(iter(folds.items()))
    features = extract_features(corpus, book["cache_dir"], n_jobs=n_jobs, progress=False).frame
    labels = corpus.songs.loc[features.index]
    columns, names = {}, {}
    for target in TARGETS:
        record = chosen[target]
        params = fold_detail(record, "best_params", fold) or {}
        train_x, train_y, *_ = split_arrays(features, labels, train_split, target)
        model = Pipeline([("scale", StandardScaler()), ("model", regressor(record["model"], seed).set_params(**params))])
        model.fit(train_x, train_y)
        columns[target] = model.predict(fourq_features[features.columns].to_numpy(dtype=float))
        names[target] = f"Phase 1 {record['model']}"
    frame = pd.DataFrame(columns, index=fourq_features.index)
    n_train = int((train_split["part"] == "train").sum())
    where = "" if fold == ONE_SPLIT else f" of fold {fold} (of {len(folds)})"
    return TransferModel(label, corpus.name, frame,
                         f"refitted on the {n_train} training songs{where} of "
                         f"{CORPUS_LABELS.get(corpus.name, corpus.name)} with the settings chosen there.",
                         target_labels=names, key="phase1")


def transfer_table(models, songs: pd.DataFrame) -> pd.DataFrame:
    """ROC AUC of each model's predicted arousal (high quadrants) and valence (positive quadrants), with intervals.

    ``songs``: the 4Q clips (indexed by name, with ``arousal_high``, ``valence_positive``, ``artist_group``).
    Columns: ``model``, ``trained_on`` (the corpus's label), ``corpus`` (its name), ``target``, ``question``, ``auc``,
    ``low``, ``high``, ``songs``, ``positives``.
    """
    rows = []
    for model in models:
        shared = [s for s in model.predictions.index if s in songs.index]
        part = songs.loc[shared]
        for target, (column, question) in QUESTIONS.items():
            if target not in model.predictions.columns:
                continue
            result = auc_interval(part[column].to_numpy(dtype=bool), model.predictions.loc[shared, target],
                                  groups=part["artist_group"].to_numpy())
            rows.append({"model": model.label_of(target), "trained_on": model.corpus_label, "corpus": model.trained_on,
                         "target": target, "question": question, **result})
    return pd.DataFrame(rows, columns=["model", "trained_on", "corpus", "target", "question", "auc", "low", "high",
                                       "songs", "positives"])


def quadrant_means(models, songs: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted valence and arousal of each quadrant's clips: one row per model and target, a column per quadrant.

    Columns: ``model``, ``trained on``, ``target``, then ``Q1`` .. ``Q4`` (on the training corpus's 1..9 scale).
    """
    rows = []
    for model in models:
        shared = [s for s in model.predictions.index if s in songs.index]
        for target in model.predictions.columns:
            grouped = model.predictions.loc[shared, target].groupby(songs.loc[shared, "quadrant"]).mean()
            rows.append({"model": model.label_of(target), "trained on": model.corpus_label,
                         "target": target.split("_")[0], **grouped.round(2).to_dict()})
    return pd.DataFrame(rows)


def transfer_differences(models, songs: pd.DataFrame) -> pd.DataFrame:
    """ROC AUC of one kind of model trained on corpus A minus the same kind trained on corpus B, on the same clips.

    Pairs the models of :func:`available_models` that share a ``key`` (the Phase 1
    regressors, the EmotionMLP on CNN14, the EmotionMLP on musicnn), in the order the
    books were scored.  Intervals: a paired bootstrap over artists.  Columns: ``model``,
    ``question``, ``a``, ``b`` (training corpora), ``difference``, ``low``, ``high``, ``songs``, ``better``
    (the corpus whose model ranks better when the interval excludes zero, else ``""``).
    """
    rows = []
    keyed = [m for m in models if m.key]
    for first, second in combinations(keyed, 2):
        if first.key != second.key or first.trained_on == second.trained_on:
            continue
        shared = [s for s in first.predictions.index if s in second.predictions.index and s in songs.index]
        part = songs.loc[shared]
        for target, (column, question) in QUESTIONS.items():
            if target not in first.predictions.columns or target not in second.predictions.columns:
                continue
            result = paired_auc_difference(part[column].to_numpy(dtype=bool), first.predictions.loc[shared, target],
                                           second.predictions.loc[shared, target],
                                           groups=part["artist_group"].to_numpy())
            rows.append({"model": first.label, "question": question, "a": first.corpus_label,
                         "b": second.corpus_label, **result})
    table = pd.DataFrame(rows, columns=["model", "question", "a", "b", "difference", "low", "high", "songs"])
    return table.assign(better=better_side(table))


def available_models(books, corpus, fourq_cache_dir, fourq_features: pd.DataFrame, seed: int = 42,
                     n_threads: int | None = None, n_jobs: int | None = None, progress: bool = True):
    """Every book's transfers: ``(models, left_out)``; a model ``make book`` did not leave is listed with the reason.

    ``books``: :func:`books_to_score`.  With more than one book, each left-out line names the
    corpus whose book it belongs to.
    """
    models, left_out = [], []
    for book in books:
        results = [emotion_mlp_transfer(book, corpus, fourq_cache_dir, n_threads=n_threads, progress=progress),
                   musicnn_mlp_transfer(book, corpus, fourq_cache_dir, n_threads=n_threads, progress=progress),
                   phase1_transfer(book, fourq_features, seed=seed, n_jobs=n_jobs)]
        models += [r for r in results if isinstance(r, TransferModel)]
        name = source(book["data"]).name
        where = f" of the {CORPUS_LABELS.get(name, name)} book" if len(books) > 1 else ""
        left_out += [LeftOut(r.key, f"{r.label}{where}", r.reason) for r in results if isinstance(r, LeftOut)]
    return models, left_out
