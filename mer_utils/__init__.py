"""Helpers for the music emotion recognition book: notebooks call, this package computes, decides and words.

Used by: every notebook; the table below maps the book to its modules.

The package is laid out like the book.  Each part of the book has one
subpackage; what every part shares (caches, training, results) sits beside them.

=========================  ===============================  =============================================
book part                  notebook (``notebooks/``)        module
=========================  ===============================  =============================================
The corpus and the split   ``data_corpus.py``               ``corpus/`` (``base``, ``sources``, ``deam``,
                                                            ``synth``, ``synth_labels``, ``synth_audio``,
                                                            ``soundtracks``, ``split``, ``audio``,
                                                            ``download`` and the ``*_fetch`` modules,
                                                            ``narrative``)
Phase 1: targets           ``phase1_eda.py``                ``plots``, ``phase1/narrative``
Phase 1: features          ``phase1_features.py``           ``phase1/features``, ``phase1/selection``
Phase 1: regressors        ``phase1_models.py``             ``phase1/regressors``, ``phase1/narrative``
Phase 2: one run per page  ``phase2_train.py``              ``phase2/logmel``, ``phase2/datasets``,
                                                            ``phase2/models``, ``phase2/narrative``,
                                                            ``training/loop``, ``training/phase2``
Phase 2: summary           ``phase2_summary.py``            ``training/phase2``, ``results/tables``
Phase 3: embeddings, MLP   ``phase3_panns.py`` (one page     ``phase3/`` (``backbones``, ``cnn14``,
                           per backbone: CNN14, musicnn;    ``inference``, ``embeddings``, ``musicnn``,
                           MTT's too on real corpora)       ``musicnn_embeddings``, ``space``,
                                                            ``narrative``, ``weights``: make weights),
                                                            ``training/mlp``
Phase 3: fine-tuning       ``phase3_finetune.py``           ``phase3/finetune`` (runs and records),
                                                            ``phase3/finetune_inputs`` (patches, front end),
                                                            ``phase3/finetune_compare`` (the comparison),
                                                            ``phase3/finetune_models`` (networks, model
                                                            files, ``predict_clip``),
                                                            ``phase3/finetune_narrative``
Phase 4: emotion over time ``phase4_dynamic.py`` (SynthDEAM  ``phase4/`` (``curves``, ``frames``,
                           and DEAM with 2 Hz annotations)  ``descriptors``, ``settings``, ``static``,
                                                            ``ridge``, ``sequence``, ``protocol``,
                                                            ``experiment``, ``figures``, ``narrative``,
                                                            ``bundle``), frames kept by ``phase3/embeddings``
Real music (4Q, optional)  ``real_music.py``                ``realmusic/`` (``corpus``, ``representations``,
                                                            ``crossval``, ``transfer``, ``tables``,
                                                            ``figures``, ``narrative``), ``corpus/fourq``,
                                                            ``phase3/musicnn``, ``phase3/musicnn_embeddings``,
                                                            ``results/classification``
Conclusions                ``conclusions.py``               ``results/`` (``records``, ``tables``,
                                                            ``published``, ``lessons``,
                                                            ``lesson_sentences``, ``verdicts``)
Predicting new songs       ``predictor.py`` (the model      ``predict/`` (``bundles``, ``songs``, ``cli``,
                           for real songs), ``mer predict``  ``fusion``, ``peers``),
                                                            ``predict/narrative``; the 2 Hz
                                                            curve: ``phase4/bundle``
=========================  ===============================  =============================================

Shared by every part: ``page`` (what each notebook does first), ``plots``
(figures), ``cache`` (atomic writes, the per-song cache), ``training``
(``runtime``: seeds, threads, device, precision; ``defaults``; ``modelfile``:
the one model-file format), ``results`` (``metrics``, ``records``,
``tables``, ``published``: the report's figures, ``anchors``: other papers'; every chapter's
sentences, computed from numbers, sit in its own subpackage's ``narrative``;
``crossfit``: a phase run on every fold of a cross-validated corpus, pooled out of fold),
``pipeline`` (parameter files, running notebooks), ``preflight`` (a run's
preconditions, checked before its first notebook), ``estimates`` (the log line
before each long step: what it will do and about how long it takes), ``pagebuild`` (an executed
notebook made a page: code folded, parameters in one sentence), ``toc`` (the table of
contents of the chapters a build ran) and ``errors``.

No import circles: when two modules need the same piece, it lives in the one the
other already imports (``tests/test_layout.py`` checks the whole package, imports
inside functions included).
"""

__version__ = "0.2.0"
