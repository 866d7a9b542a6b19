"""The data: one corpus interface, its loaders (DEAM, SynthDEAM, Soundtracks, 4Q, VGMIDI), the split or folds,
the downloads.

Used by: every notebook (through ``mer_utils.page.start_page``) and ``notebooks/data_corpus.py``.

``base`` is the :class:`~mer_utils.corpus.base.Corpus` every loader returns;
``sources`` maps each ``DATA=`` value to its loader and evaluation protocol (a
fourth corpus is one loader module and one entry there); ``deam`` reads the DEAM
layout (real DEAM and SynthDEAM, which ``synth`` writes in it); ``soundtracks``
reads the Soundtracks film excerpts; ``vgmidi`` the VGMIDI pieces and their
listeners' curves (``vgmidi_render`` their MIDI timing and piano audio,
``vgmidi_fetch`` their download); ``fourq`` the 4Q clips of the Real music
chapter (``fourq_fetch`` their download); ``split`` the one split or the
group-wise folds; ``audio`` decoding; ``download`` every download through pooch
(the registry of addresses and checksums, the resumable downloader, unzipping),
``deam_fetch`` DEAM's; ``synth`` writes SynthDEAM (``synth_labels`` its label
function, ``synth_audio`` its synthesiser); ``narrative`` the data page's sentences.
"""
