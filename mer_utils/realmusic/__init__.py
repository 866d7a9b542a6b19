"""The Real music chapter: the book's representations and models on the 4Q dataset, and what transfers.

Used by: ``notebooks/real_music.py`` (built when ``FOURQ_DIR`` is given).  One concern per module:
``corpus`` (the 4Q clips for the caches, the page's first cell), ``representations`` (features, CNN14,
musicnn), ``crossval`` (models, artist-grouped folds, scores, differences), ``transfer`` (the book's
valence/arousal models on 4Q), ``tables`` and ``figures``.
"""
