"""Training shared by every network: the loop, runtime settings, defaults, Phase 2 scoring, the MLP, model files.

Used by: ``notebooks/phase2_train.py``, ``notebooks/phase2_summary.py`` and ``notebooks/phase3_panns.py``.
"""
