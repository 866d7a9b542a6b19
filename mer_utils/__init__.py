"""Helpers for the music emotion recognition book.

One module per concern, each named after what it does; the docstring of each
says which notebook uses it:

data, synth, split          the corpus (DEAM layout), SynthDEAM, the shared split
features, selection, classical   Phase 1: librosa features, feature selection, regressors
spectrograms, models, train      Phase 2: log-mel chunks, the CNN family, the trainer
embeddings, predict              Phase 3: PANNs CNN14 embeddings, predicting new songs
evaluate, plots, notebook        metrics and tables, figures, page set-up
cache, download, pipeline        atomic caches, downloads, running the book
"""

__version__ = "0.1.0"
