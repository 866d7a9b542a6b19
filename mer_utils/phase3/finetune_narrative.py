"""The sentences of the fine-tuning page, computed from its settings, timings and paired comparisons.

Used by: ``notebooks/phase3_finetune.py``.

Pure functions from numbers and tables to Markdown, beside the fine-tuning code
(:mod:`.finetune`) as :mod:`mer_utils.phase3.narrative` is for the frozen-backbone
pages: the recipe with its numbers (:func:`recipe`), what was trained on how many
songs (:func:`training_sentence`), what the paired comparisons show
(:func:`findings`), where the model for ``mer predict`` went
(:func:`saved_model_sentence`), why CNN14 was or was not fine-tuned and what to run
instead (:func:`cnn14_note`), and where the time went (:func:`timing_sentence`).
"""

from __future__ import annotations

import pandas as pd

TRAINABLE = {  # the layers that train after a frozen front end, and the front end itself, per backbone
    "musicnn": ("the three mid-end convolutions, the 200-unit dense layer and the new head",
                "the timbral and temporal convolutions (85 % of the network's computation)"),
    "cnn14": ("conv blocks 5 and 6, the 2048-unit dense layer fc1 and the new head",
              "the spectrogram and conv blocks 1 to 4"),
}
NAMES = {"musicnn": "musicnn", "cnn14": "CNN14"}


def epochs(n: int) -> str:
    """``"1 epoch"``, ``"8 epochs"``."""
    return f"{int(n)} epoch{'' if int(n) == 1 else 's'}"


def recipe(name: str, settings: dict, train_front_end: bool, precision: str, folds: int, device: str = "cpu") -> str:
    """The recipe of this page's runs as a Markdown list: what trains, at which rates, for how long, and why."""
    upper, front = TRAINABLE[name]
    network = NAMES[name]
    if train_front_end:
        layers = (f"- **Every layer trains**: {front}, then {upper} (`FINETUNE_FULL=1`). The batch norms keep their "
                  "pretrained statistics: a batch of a few dozen patches from a few films is too small to estimate "
                  "them again.")
    else:
        layers = (f"- **What trains**: {upper}. **What stays frozen**: {front}, and every batch norm at its "
                  "pretrained statistics (a batch of a few dozen patches from a few films is too small to estimate "
                  "them again). The frozen front end is computed once per patch and kept, so an epoch costs only "
                  f"the layers that train. `FINETUNE_FULL=1` trains the front end too, where the budget allows "
                  "(see the timing below).")
    return "\n".join([
        f"- **Network**: {network} with its tagging layer replaced by a linear layer with two outputs, valence and "
        "arousal, standardised by the training songs' scaler; its own dropout layers are kept.",
        layers,
        f"- **Learning rates**: Adam, {settings['backbone_lr']:g} for the pretrained layers that train and "
        f"{settings['lr']:g} for the new head. The head starts from random weights; the lower rate keeps its first, "
        "noisy gradients from undoing what the backbone learnt.",
        f"- **Data**: every 3-second patch carries its song's label; batches of {settings['batch_size']} patches, "
        "shuffled with the page's seed. No augmentation: the patches are fixed by the cached front end, and dropout "
        "is the regulariser.",
        f"- **Early stopping**: after every epoch the validation songs are predicted as the mean of their patches' "
        f"predictions, the unit every phase is scored on; training stops after {epochs(settings['patience'])} without "
        f"a lower song-level validation loss, at most {epochs(settings['epochs'])}, and keeps the best epoch's "
        "weights.",
        "- **From random weights**: the same network, layers, rates and schedule, started from seeded random weights "
        "everywhere (front end included) with batch norms at their initial state, the identity. Only the starting "
        "weights differ, so the gap between the two is what pretraining on the Million Song Dataset brings."
        if name == "musicnn" else
        "- **From random weights**: the same network, layers, rates and schedule from seeded random weights.",
        f"- **Protocol**: the same {'folds' if folds > 1 else 'split'} and selection rules as every phase; computing "
        f"precision {precision} on the {device.upper() if device != 'cpu' else 'CPU'}.",
    ])


def patches_sentence(patches, seconds: float) -> str:
    """How many patches of how many songs, how long decoding took, and the clips that gave none."""
    text = (f"{len(patches.inputs):,} patches of {len(patches.song_ids)} songs, decoded and cut in {seconds:.0f} s. "
            "A song's patches are consecutive and do not overlap; the incomplete last one is dropped.")
    if len(patches.skipped):
        return text + f" **{len(patches.skipped)} clip(s) skipped** (too short or corrupt) and left out:"
    return text + " No clip was skipped."


def training_sentence(ids: dict, folds: int, train_patches: int) -> str:
    """Songs and patches of the first fold (or the split), and that the tables show that one."""
    per_fold = (f"Each network is trained once per fold of the {folds}-fold cross-validation; the tables below show "
                "the first fold. " if folds > 1 else "")
    return per_fold + (f"Songs: {len(ids['train'])} for training ({train_patches:,} patches), "
                       f"{len(ids['validation'])} for validation, {len(ids['test'])} held out for the test.")


def _target_findings(rows: pd.DataFrame, frozen_word: str) -> list[str]:
    out = []
    for _, row in rows.iterrows():
        other = frozen_word if row["b"] == "frozen" else "the same network trained from random weights"
        if row["reading"] == "better":
            out.append(f"For {row['target_label']}, fine-tuning beats {other}.")
        elif row["reading"] == "worse":
            out.append(f"For {row['target_label']}, {other} beats fine-tuning.")
        else:
            out.append(f"For {row['target_label']}, fine-tuning and {other} do not differ detectably.")
    return out


def findings(differences: pd.DataFrame, name: str, groups: bool) -> str:
    """What the paired comparisons show, one short sentence each, and what a non-detection means here."""
    if differences.empty:
        return "There is nothing to compare: the frozen backbone's records of this run are missing."
    frozen_word = f"the frozen {NAMES[name]} with its EmotionMLP"
    out = _target_findings(differences[differences["b"] == "frozen"], frozen_word)
    out += _target_findings(differences[differences["b"] == "scratch"], frozen_word)
    unit = "films" if groups else "songs"
    undecided = differences[differences["reading"] == "no detectable difference"]
    if len(undecided):
        widest = undecided.assign(width=undecided["high"] - undecided["low"]).sort_values("width").iloc[-1]
        out.append(f"Where no difference is detected, the paired interval over the {unit} is up to "
                   f"{widest['high'] - widest['low']:.2f} R² wide: a difference smaller than that cannot be told "
                   "from chance on this corpus.")
    return " ".join(out)


def scores_caption(name: str, scale: str, grouped: bool) -> str:
    """The caption of the side-by-side table: what is scored, the scale of RMSE, what the bootstrap resamples."""
    return (f"{NAMES[name]} three ways on the same held-out songs: test R² and RMSE (rating scale {scale}) with 95% "
            f"intervals from a bootstrap over {'films' if grouped else 'songs'}")


def differences_caption(name: str, grouped: bool) -> str:
    """The caption of the paired differences table."""
    return (f"{NAMES[name]}, paired differences on the same songs: R² of A minus B with its 95% interval from a "
            f"bootstrap over {'films' if grouped else 'songs'}")


def saved_model_sentence(path, settings: dict, scale: str) -> str:
    """Where the fine-tuned network for ``mer predict`` is, what it was trained on, and what it holds."""
    return (f"The fine-tuned network for new recordings is saved to `{path}`: trained on {settings['trained_on']}, "
            f"it holds every weight it needs (no `.h5` or checkpoint is read again), the label scaler and the starting "
            f"weights' sha256, and predicts on the scale {scale}. "
            "`mer_utils.phase3.finetune_models.predict_clip` runs it on one decoded clip.")


def cnn14_note(ran: bool, reason: str, estimate_seconds: float | None, corpus_flag: str) -> str:
    """Why CNN14 was or was not fine-tuned on this page, and what to run instead."""
    from ..estimates import duration

    if ran:
        return ("CNN14 was fine-tuned on this page as well, from the PANNs checkpoint and from random weights; its "
                "tables follow.")
    cost = (f" On 2 CPU cores its layers after block 4 train at about 2 patches a second, so this corpus's runs "
            f"would take {duration(estimate_seconds)}." if estimate_seconds else "")
    return (f"**CNN14 was not fine-tuned here: {reason}.**{cost} The same code runs it unchanged on a CUDA GPU, "
            f"where it is on by default once a checkpoint is given: `make book {corpus_flag} "
            "PANNS_CHECKPOINT=<Cnn14_mAP=0.431.pth>` (`make weights` fetches it), or `FINETUNE_CNN14=1` to run it on "
            "the CPU anyway. `benchmarks/bench_finetune.py --device cuda` measures both networks' training speed on "
            "a GPU.")


def timing_sentence(timing: pd.DataFrame, precision: str) -> str:
    """The page's fine-tuning time in one sentence, from :func:`mer_utils.phase3.finetune.timing_table`."""
    def minutes(prefix: str = "", column: str = "seconds") -> float:
        return float(timing.loc[timing["step"].str.startswith(prefix), column].sum()) / 60

    return (f"Fine-tuning took {minutes():.1f} min in all on this machine ({precision}), of which the training "
            f"{minutes('training'):.1f} min and the front-end passes {minutes('front end'):.1f} min. The process used "
            f"{minutes(column='CPU seconds'):.1f} min of CPU time: on a machine shared with other work the wall clock "
            "stretches beyond it, and `benchmarks/bench_finetune.py` measures the rates alone.")
