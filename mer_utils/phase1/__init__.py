"""Phase 1: the 386 handcrafted features, their selection, and the six classical regressors.

Used by: ``notebooks/phase1_features.py`` and ``notebooks/phase1_models.py``.
"""
