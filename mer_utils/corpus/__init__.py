"""The data: the DEAM-layout loader, SynthDEAM, audio decoding, the shared split and the downloads.

Used by: every notebook (through ``mer_utils.page.start_page``) and ``notebooks/data_corpus.py``.
"""
