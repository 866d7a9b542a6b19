"""Phase 3: pretrained embeddings (CNN14), the embedding space, and predicting new songs.

Used by: ``notebooks/phase3_panns.py`` and ``mer predict``.
"""
