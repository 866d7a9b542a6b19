"""Phase 4: emotion over time, valence and arousal every half second (the report's future work).

Used by: ``notebooks/phase4_dynamic.py`` (built for DEAM and SynthDEAM, which have 2 Hz annotations) and, for
``mer predict --curve``, :mod:`mer_utils.phase4.bundle`.  One concern per module:

* ``curves``: the 2 Hz annotations (means, the raters' spread, SynthDEAM's noise-free curves);
* ``frames``: songs as sequences of 0.5 s frames (the backbone's frame embeddings from Phase 3's cache),
  and which frame each label belongs to;
* ``descriptors``: the Phase 1 descriptors per half second, read over sliding windows;
* ``settings``: which songs train, select and test (the book's split; MediaEval 2015's own setting);
* ``static``: the constant baseline, the best static model's song prediction held over the song;
* ``ridge``: a per-frame Ridge regressor on windowed features;
* ``sequence``: the bidirectional GRU over frame embeddings, trained on the curves;
* ``protocol``: MediaEval 2015's scores (per-song RMSE and Pearson r, averaged over songs), their intervals
  and the paired comparisons;
* ``experiment``: every model of the page fitted and scored in one setting;
* ``figures``, ``narrative``: what the page shows and says;
* ``bundle``: the saved sequence model and the 2 Hz curve of any audio file.
"""
