"""Predicting new songs: the model files ``mer predict`` runs, the command itself, and the predictor for real music.

Used by: ``mer predict`` and ``notebooks/predictor.py``; the modules are :mod:`.bundles` (the file
format, provenance, which model runs), :mod:`.songs` (audio -> a song's values, per backbone),
:mod:`.cli` (``mer predict``), :mod:`.fusion` (the predictor trained on real ratings and 4Q's
quadrants) and :mod:`.peers` (the comparison with the tools people use instead,
``benchmarks/bench_peers.py``).
"""
