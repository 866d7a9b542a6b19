# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The corpus and the split
#
# This page says exactly which songs the rest of the book uses: how many have
# labels and audio, which were skipped and why, and how they fall into the
# training, validation and test parts of the one split every phase shares.

# %% tags=["parameters"]
data = "synth"
data_dir = "data/synthdeam"
subset = "1_2000"
results_dir = "results/synthdeam"
cache_dir = "cache/synthdeam"
seed = 42

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from mer_utils.data import id_list, load_dynamic_annotations
from mer_utils.errors import MerError
from mer_utils.notebook import start_page

corpus, split = start_page(data, data_dir, subset, results_dir, seed)


# %% [markdown]
# ## What was found

# %%
display(Markdown("\n".join([
    f"- Corpus: **{'SynthDEAM' if corpus.is_synthetic else 'DEAM'}** at `{corpus.root}`, subset `{corpus.subset}`.",
    f"- Songs with labels and an audio file: **{len(corpus.songs)}**.",
    f"- Annotated songs without audio (skipped): **{len(corpus.missing_audio)}**"
    + (f" (ids {id_list(corpus.missing_audio, limit=30)})." if corpus.missing_audio else "."),
    f"- Audio files without labels (skipped): **{len(corpus.unlabelled_audio)}**"
    + (f" (ids {id_list(corpus.unlabelled_audio, limit=30)})." if corpus.unlabelled_audio else "."),
    "- Audio that exists but cannot be decoded is found when features are extracted; each "
    "phase lists those songs on its own pages.",
])))

# %% [markdown]
# ## The shared split
#
# Songs, not chunks, are assigned to a part at random with a fixed seed, and the
# assignment is saved as `split.csv` beside the results. Phase 2 cuts songs into
# 3-second chunks *after* this assignment, so no song has chunks on two sides.
# Model selection (grid search, epochs, early stopping) sees the training and
# validation songs only; the test songs are scored once per model.

# %%
parts = split.merge(corpus.songs[["valence_mean", "arousal_mean"]], left_on="song_id", right_index=True)
overview = parts.groupby("part").agg(songs=("song_id", "size"), valence_mean=("valence_mean", "mean"),
                                     arousal_mean=("arousal_mean", "mean"))
overview = overview.reindex(["train", "validation", "test"])
overview["share"] = overview["songs"] / overview["songs"].sum()
display(overview.style.format({"share": "{:.0%}", "valence_mean": "{:.2f}", "arousal_mean": "{:.2f}"})
        .set_caption(f"Songs per part (seed {seed}); mean labels on the 1..9 scale"))

# %% [markdown]
# ## Dynamic annotations
#
# DEAM also gives valence and arousal every half second from 15 s on, on a
# -1..1 scale. The book predicts the song-level means, as the report did; the
# curves below show how much the ratings move within a song.

# %%
try:
    dynamic = {dim: load_dynamic_annotations(corpus.root, dim) for dim in ("valence", "arousal")}
except MerError as exc:
    dynamic = None
    display(Markdown(f"No dynamic annotations in this tree ({exc}); the book does not need them."))
if dynamic is not None:
    shown = [i for i in corpus.song_ids if i in dynamic["valence"].index][:4]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, dim in zip(axes, ("valence", "arousal")):
        for song_id in shown:
            curve = dynamic[dim].loc[song_id].dropna()
            ax.plot(curve.index, curve.to_numpy(), label=f"song {song_id}")
        ax.set(xlabel="time in the clip (s)", ylabel=f"{dim} (-1..1)", title=f"Dynamic {dim}, 2 Hz", ylim=(-1, 1))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## How SynthDEAM makes its labels
#
# On SynthDEAM (the default when DEAM is not available) every label comes from a
# known function of musical cues the generator draws and renders into the
# audio, plus song-level variation no cue explains and simulated raters. The
# weights follow the cue-emotion findings of music psychology (Gabrielsson and
# Lindström 2001; Eerola, Friberg and Bresin 2013): mode weighs most on valence;
# tempo, dynamics and articulation on arousal; register and brightness on both.
# Because the function is known, so is the **noise ceiling**: the largest share
# of the label variance any model of the audio can explain. Every results table
# reports each model's distance from it. On real DEAM this section is empty.

# %%
if corpus.is_synthetic:
    meta = corpus.synthetic
    weights = pd.DataFrame(meta["cue_weights"]).T if "cue_weights" in meta else None
    if weights is not None:
        display(weights.style.format(precision=2).set_caption(
            "Weight of each standardised cue on the latent valence and arousal (before rating)"))
    ceiling = meta["noise_ceiling_r2"]
    display(Markdown(
        f"Noise ceiling on this corpus: R² **{ceiling['valence_mean']:.3f}** for valence and "
        f"**{ceiling['arousal_mean']:.3f}** for arousal."
    ))
else:
    display(Markdown("Real DEAM: labels come from human raters; no ceiling is known."))
