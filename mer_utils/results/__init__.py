"""Results shared by every phase: metrics, records, published figures, comparison tables, narrative.

Used by: every results notebook and ``notebooks/conclusions.py``.
"""
