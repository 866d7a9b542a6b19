"""Phase 2: log-mel chunks and the four CNNs trained on them.

Used by: ``notebooks/phase2_train.py`` and ``notebooks/phase2_summary.py``.
"""
