"""Training settings of every network: epochs, patience, batch size and learning rate, written once.

Used by: ``notebooks/phase2_train.py``, ``notebooks/phase3_panns.py``, ``notebooks/phase3_finetune.py`` and
``notebooks/phase4_dynamic.py`` (through
:func:`training_settings`); a notebook parameter left at ``None`` (and a Makefile
knob left unset) means the value here.
"""

from __future__ import annotations

from ..errors import MerError

# Epochs, patience, batch size and learning rate per data set and model.
#
# deam: the report's schedule.  EmotionCNN ran 15 epochs; the other three up
# to 50 with early stopping.  The report names no patience, but every table it
# prints ends exactly 10 epochs after its best epoch (e.g. GRU+attention: best
# at 10 and 12, stopped at 20 and 22), so patience is 10.  Batch size 32 and
# Adam's default learning rate 1e-3 (the report gives batch 32 for Phase 3 and
# no other values).
#
# synth: the default book run on SynthDEAM (about 200 songs x 30 s, 1,400
# training chunks) must train all eight models (4 models x 2 targets) with
# the chunk cache in 15 minutes on 2 CPU cores; benchmarks/bench_phase2.py
# measures it.  Fewer epochs and a shorter patience do that.
#
# soundtracks: 240 excerpts of about 16 s, trained once per fold of 5 on about
# 144 excerpts (some 700 chunks): 40 Phase 2 runs (4 models x 2 targets x 5
# folds) at 3 to 10 s an epoch on 2 cores, so 6 epochs each to stay near the
# book's budget; the MLP sees only 5 batches an epoch, so its validation loss is
# noisy and it gets more epochs and a longer patience.
#
# vgmidi: 150 piano pieces of about 2 minutes, 5 series-grouped folds of about 120 training pieces; Phase 2 hears
# each piece at 6 chunks spread over it (Corpus.chunks_per_song, mer_utils.corpus.vgmidi), about 720 training chunks
# a fold, so the Soundtracks schedule fits; its Phase 4 has about 120 training curves of some 230 half seconds.
# DynamicGRU (Phase 4): batches of 16 songs; an epoch of the default corpus is 19
# batches of 24 frames, about a second on one thread, so the schedule is generous; the report trained no such model.
# Learning rate 3e-4, not Adam's 1e-3: on the default book's validation songs, 1e-3 let the validation loss jump
# early, and on bfloat16 embeddings of the same songs it stopped at epoch 1 (patience 6); 3e-4 chose epoch 19 in
# float32 and in bfloat16 alike, with validation scores as good or better in both.
# MusicnnRegressor, Cnn14Regressor: a pretrained backbone fine-tuned on 3-second patches (notebooks/phase3_finetune.py,
# mer_utils.phase3.finetune): Adam at lr for the new head and backbone_lr, ten times lower, for the pretrained layers
# that train.  In float32 (AVX2) the layers after musicnn's front end train at about 280 patches a second on one
# thread (benchmarks/bench_finetune.py), so an epoch of a Soundtracks fold (about 770 training patches and 245
# validation ones) takes about 3 s; 10 runs (5 folds, fine-tuned and from random weights) of at most 8 epochs, the
# model on all songs and the two front-end passes used 6.8 min of CPU time on the sample (11.3 min of wall time on the
# shared 2-core machine).  The folds' best epochs on the sample were 4 to 7.  DEAM (about 26,000 patches) keeps the
# same schedule with a longer patience.
_DEAM = {"batch_size": 32, "lr": 1e-3, "patience": 10}
_SYNTH = {"batch_size": 32, "lr": 1e-3, "patience": 3}
_FINETUNE = {"batch_size": 32, "lr": 1e-3, "backbone_lr": 1e-4, "epochs": 8, "patience": 3}
_FINETUNE_DEAM = {**_FINETUNE, "epochs": 20, "patience": 5}
_DYNAMIC_GRU = {**_SYNTH, "batch_size": 16, "lr": 3e-4, "epochs": 40, "patience": 6}  # Phase 4's BiGRU on SynthDEAM and VGMIDI
_SOUNDTRACKS = {
    "EmotionCNN": {**_SYNTH, "epochs": 6},
    "EmotionCNN_SE_Temporal": {**_SYNTH, "epochs": 6},
    "EmotionCNN_GRU": {**_SYNTH, "epochs": 6},
    "EmotionCNN_GRU_Attention": {**_SYNTH, "epochs": 6},
    "EmotionMLP": {**_SYNTH, "epochs": 60, "patience": 8},
    "MusicnnRegressor": _FINETUNE,
    "Cnn14Regressor": _FINETUNE,
}
TRAINING_DEFAULTS = {
    "deam": {
        "EmotionCNN": {**_DEAM, "epochs": 15},
        "EmotionCNN_SE_Temporal": {**_DEAM, "epochs": 50},
        "EmotionCNN_GRU": {**_DEAM, "epochs": 50},
        "EmotionCNN_GRU_Attention": {**_DEAM, "epochs": 50},
        "EmotionMLP": {**_DEAM, "epochs": 30},
        "DynamicGRU": {**_DEAM, "batch_size": 16, "lr": 3e-4, "epochs": 60},
        "MusicnnRegressor": _FINETUNE_DEAM,
        "Cnn14Regressor": _FINETUNE_DEAM,
    },
    "synth": {
        "EmotionCNN": {**_SYNTH, "epochs": 10},
        "EmotionCNN_SE_Temporal": {**_SYNTH, "epochs": 10},
        "EmotionCNN_GRU": {**_SYNTH, "epochs": 10},
        "EmotionCNN_GRU_Attention": {**_SYNTH, "epochs": 10},
        "EmotionMLP": {**_SYNTH, "epochs": 30},
        "DynamicGRU": _DYNAMIC_GRU,
        "MusicnnRegressor": _FINETUNE,
        "Cnn14Regressor": _FINETUNE,
    },
    "soundtracks": _SOUNDTRACKS,
    "vgmidi": {**_SOUNDTRACKS, "DynamicGRU": _DYNAMIC_GRU},
}


def training_settings(data: str, model_name: str, epochs=None, patience=None, batch_size=None, lr=None,
                      backbone_lr=None) -> dict:
    """Defaults of :data:`TRAINING_DEFAULTS` for ``data`` and ``model_name``, with any given value overriding.

    ``epochs="report"`` takes the report's epoch count for this model (15 for
    EmotionCNN, 50 for the others) whatever ``data`` is; ``None`` keeps the default.
    ``backbone_lr``: a fine-tuned backbone's rate for its pretrained layers (only its models have one).
    """
    if data not in TRAINING_DEFAULTS:
        raise MerError(f"unknown data '{data}' for training defaults: use one of {', '.join(TRAINING_DEFAULTS)}.")
    if model_name not in TRAINING_DEFAULTS[data]:
        raise MerError(
            f"no training defaults for model '{model_name}': use one of {', '.join(TRAINING_DEFAULTS[data])}."
        )
    settings = dict(TRAINING_DEFAULTS[data][model_name])
    if isinstance(epochs, str):
        if epochs.strip().lower() != "report":
            raise MerError(f"epochs='{epochs}' is not a number: pass a whole number, 'report' or leave it unset.")
        epochs = TRAINING_DEFAULTS["deam"][model_name]["epochs"]
    if backbone_lr is not None and "backbone_lr" not in settings:
        raise MerError(f"backbone_lr applies to a fine-tuned backbone, not to {model_name}.")
    for key, value in (("epochs", epochs), ("patience", patience), ("batch_size", batch_size), ("lr", lr),
                       ("backbone_lr", backbone_lr)):
        if value is not None:
            settings[key] = value
    if (int(settings["epochs"]) < 1 or int(settings["batch_size"]) < 1 or float(settings["lr"]) <= 0
            or float(settings.get("backbone_lr", 1)) <= 0):
        raise MerError(f"training settings {settings} need epochs >= 1, batch_size >= 1 and lr > 0.")
    if settings["patience"] is not None and int(settings["patience"]) < 1:
        raise MerError(f"patience={settings['patience']} must be 1 or more (or None for no early stopping).")
    return settings
