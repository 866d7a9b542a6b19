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
# # Every model on the same test songs
#
# The report compared its phases through best validation scores, each phase on
# its own split. Here every model of every phase is scored on one set of
# held-out test songs, the shared split of this book, so the numbers can be set
# side by side. For each model the table gives the test R², RMSE and MAE
# (1–9 scale), the validation R² it was selected on, and the report's figure
# where it published one. Two published DEAM results from outside the report
# serve as anchors:
#
# * **Music2Emo** (2025), with MERT features: R² 0.513 for valence and 0.603
#   for arousal;
# * a **meta-analysis by Eerola and colleagues**, which reports correlations of
#   about 0.67 (valence) and 0.81 (arousal) for predicting rated emotion from
#   audio; squared, 0.45 and 0.66 on the R² axis (a squared correlation equals
#   R² only for a calibrated linear prediction, so read it as a rough mark).
#
# Phase 2 models predict 3-second chunks; they are compared here at song level
# (the mean of a song's chunk predictions), as Phases 1 and 3 predict songs.
# The text on this page is generated from the numbers of this build.

# %% tags=["parameters"]
data = "synth"  # "synth" (SynthDEAM, the default) or "deam"
data_dir = "data/synthdeam"  # the corpus root, DEAM layout
subset = "1_2000"  # DEAM annotation subset
results_dir = "results/synthdeam"  # where every phase saved metrics/
seed = 42

# %%
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display

from mer_utils import evaluate, plots
from mer_utils.data import TARGETS
from mer_utils.models import LABELS
from mer_utils.notebook import start_page

corpus, split = start_page(data, data_dir, subset, results_dir, seed)
results = evaluate.load_results(results_dir)
PHASES = {1: "Phase 1 (handcrafted features, classical regressors)", 2: "Phase 2 (log-mel CNNs)",
          3: "Phase 3 (CNN14 embeddings, EmotionMLP)"}
if not results.empty:
    other_data = sorted(set(results["data"]) - {corpus.name})
    results = results[results["data"] == corpus.name]
    if other_data:
        display(Markdown(f"Records of other data ({', '.join(other_data)}) in `{results_dir}/metrics` are left out."))
if not results.empty and "level" in results:
    results = results[results["level"].fillna("song") == "song"]
present = sorted(int(p) for p in results["phase"].unique()) if not results.empty else []
missing = [p for p in PHASES if p not in present]
n_test = int((split["part"] == "test").sum())
noise = 1 / np.sqrt(n_test)
display(Markdown(
    f"Results found for {', '.join(PHASES[p] for p in present) or 'no phase'}. "
    + (f"**No results for {', '.join(PHASES[p] for p in missing)}** in `{results_dir}/metrics`: "
       "run `make book` (a failed notebook of that phase leaves no records)." if missing else "")
    + f" The test set has **{n_test} songs**; on so few songs the standard error of an R² or a correlation is "
    f"up to about 1/√{n_test} ≈ {noise:.2f}, so differences smaller than that should not be read as real."
))
backbone = None
if 3 in present and "backbone" in results:
    kinds = results.loc[results["phase"] == 3, "backbone"].dropna()
    backbone = kinds.iloc[0] if len(kinds) else None
if backbone == "random":
    display(HTML(
        '<div class="admonition warning"><p class="admonition-title">Phase 3 used a random CNN14</p><p>The Phase 3 '
        "results of this build come from a CNN14 with <b>random weights</b>, not from the pretrained PANNs "
        "checkpoint. They are a random-feature baseline: no statement on this page about pretrained "
        "embeddings can be checked with them.</p></div>"
    ))

# %%
def label(row) -> str:
    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    if row["phase"] == 1:
        if "grid search" in setting:
            return f"P1 {row['model']} (grid search)"
        return f"P1 {row['model']}" + (f", {setting}" if setting else "")
    if row["phase"] == 2:
        return f"P2 {LABELS.get(row['model'], row['model'])}"
    if row["phase"] == 3:
        kind = row.get("backbone") if isinstance(row.get("backbone"), str) else "?"
        return f"P3 {row['model']} on {'PANNs' if kind == 'pretrained' else kind} CNN14"
    return f"P{row['phase']} {row['model']}"


def report_r2(row) -> float:
    setting = row.get("setting") if isinstance(row.get("setting"), str) else ""
    value = evaluate.report_figure(int(row["phase"]), setting, row["target"]) if setting else np.nan
    return value if np.isfinite(value) else evaluate.report_figure(int(row["phase"]), row["model"], row["target"])


if results.empty:
    display(Markdown(f"No saved results in `{results_dir}/metrics`: nothing to compare. Run `make book` first."))
    table = pd.DataFrame(columns=["phase", "label", "target", "validation_r2", "test_r2", "test_rmse", "test_mae", "report_r2"])
else:
    table = results.copy()
    table["label"] = [label(row) for _, row in table.iterrows()]
    table["report_r2"] = [report_r2(row) for _, row in table.iterrows()]
    table = table.sort_values(["target", "phase", "validation_r2"], ascending=[False, True, False]).reset_index(drop=True)
    table = evaluate.add_ceiling(table, corpus)
columns = ["phase", "label", "target", "validation_r2", "test_r2", "test_rmse", "test_mae", "report_r2"] + [
    c for c in ("ceiling_r2", "below_ceiling") if c in table]
for target in TARGETS:
    rows = table[table["target"] == target]
    if len(rows):
        display(evaluate.style_table(rows[columns].rename(columns={"label": "model"}),
                                     f"{evaluate.TARGET_NAMES[target].capitalize()}: every model on the {n_test} test songs "
                                     "(validation R² is what each model was selected on; report: DEAM, validation)"))

# %% [markdown]
# ## The picture
#
# Bars are this build's test R²; black diamonds the report's published figure
# for the same model (a best validation score on DEAM); grey lines the two
# outside anchors; on SynthDEAM the red dotted line is the noise ceiling.

# %%
if len(table):
    ceiling = {t: corpus.noise_ceiling(t) for t in TARGETS} if corpus.is_synthetic else None
    fig = plots.comparison_r2(table, anchors=evaluate.PUBLISHED_ANCHORS, ceiling=ceiling,
                              title=f"Test R² of every model ({corpus.name}, {n_test} test songs)")

# %% [markdown]
# ## The best model of each phase
#
# A fair comparison picks each phase's representative the way a practitioner
# would: by validation R², not by the test score.

# %%
best = {}
for target in TARGETS:
    for phase in present:
        rows = table[(table["target"] == target) & (table["phase"] == phase)]
        if len(rows):
            best[(phase, target)] = rows.sort_values("validation_r2", ascending=False).iloc[0]
if best:
    best_table = pd.DataFrame([{"phase": p, "target": t, "model": r["label"], "validation_r2": r["validation_r2"],
                                "test_r2": r["test_r2"], "test_rmse": r["test_rmse"], "test_mae": r["test_mae"],
                                "report_r2": r["report_r2"]} for (p, t), r in best.items()])
    best_table = evaluate.add_ceiling(best_table.sort_values(["target", "phase"], ascending=[False, True]), corpus)
    display(evaluate.style_table(best_table, "Each phase's model with the best validation R², scored on the test songs"))

# %% [markdown]
# ## The report's lessons, checked against this build
#
# The report closed with a handful of conclusions. Each is restated below and
# compared with what this build measured; every sentence is computed from the
# tables above.

# %%
def fmt(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.3f}"


def compare(a, b) -> str:
    """'beats ... by N' or 'does not beat ...', with a warning when the gap is within the noise."""
    gap = a - b
    verdict = f"beats it by {gap:.3f}" if gap > 0 else f"does not beat it (short by {-gap:.3f})"
    if abs(gap) < noise:
        verdict += f", a gap within the noise of {n_test} test songs"
    return verdict


lessons = []
# 1. Pretrained embeddings and a shallow MLP beat handcrafted features and deep CNNs.
parts = []
for target in TARGETS:
    name = evaluate.TARGET_NAMES[target]
    if (3, target) not in best:
        parts.append(f"{name}: cannot be checked, Phase 3 has no results.")
        continue
    mlp = best[(3, target)]
    for phase in (1, 2):
        if (phase, target) in best:
            other = best[(phase, target)]
            parts.append(f"{name}: the MLP (test R² {fmt(mlp['test_r2'])}) against Phase {phase}'s best "
                         f"({other['label']}, {fmt(other['test_r2'])}) {compare(mlp['test_r2'], other['test_r2'])}.")
        else:
            parts.append(f"{name}: no Phase {phase} results to compare with.")
caveat = (" Phase 3 ran on a random-weight CNN14 here, so this tests random features, not PANNs."
          if backbone == "random" else "")
lessons.append("**“Pretrained embeddings and a shallow MLP beat handcrafted features and deep CNNs.”** On this build: "
               + " ".join(parts) + caveat)

# 2. Temporal modelling helps, above all for arousal.
if 2 in present:
    parts = []
    for target in TARGETS:
        rows = table[(table["phase"] == 2) & (table["target"] == target)].set_index("model")
        if "EmotionCNN" in rows.index and len(rows) > 1:
            base = float(rows.loc["EmotionCNN", "test_r2"])
            temporal = rows.drop(index="EmotionCNN")
            wins = int((temporal["test_r2"] > base).sum())
            parts.append(f"for {evaluate.TARGET_NAMES[target]}, {wins} of the {len(temporal)} models with SE blocks and "
                         f"temporal layers beat the plain CNN (test R² {fmt(base)}; theirs "
                         f"{', '.join(fmt(v) for v in temporal['test_r2'])})")
    lessons.append("**“Temporal layers help, especially for arousal.”** "
                   + ("On this build, " + "; ".join(parts) + "." if parts else
                      "Cannot be checked: the plain CNN or the temporal models have no results."))
else:
    lessons.append("**“Temporal layers help, especially for arousal.”** Cannot be checked: Phase 2 has no results.")

# 3. Arousal is easier to predict than valence.
wide = table.pivot_table(index="label", columns="target", values="test_r2") if len(table) else pd.DataFrame()
if {"valence_mean", "arousal_mean"} <= set(wide.columns):
    wide = wide.dropna()
    easier = int((wide["arousal_mean"] > wide["valence_mean"]).sum())
    lessons.append(f"**“Arousal is easier to predict than valence.”** On this build arousal has the higher test R² for "
                   f"{easier} of {len(wide)} models (mean test R² {fmt(wide['arousal_mean'].mean())} for arousal, "
                   f"{fmt(wide['valence_mean'].mean())} for valence)."
                   + (" On SynthDEAM the labels follow a known formula, and the noise ceilings "
                      f"({fmt(corpus.noise_ceiling('valence_mean'))} for valence, "
                      f"{fmt(corpus.noise_ceiling('arousal_mean'))} for arousal) say which target this corpus makes "
                      "easier; on real music the report's reading rests on the DEAM ratings." if corpus.is_synthetic else ""))

# 4. Validation-best figures flatter the models.
if len(table) and table["validation_r2"].notna().any():
    gap = (table["validation_r2"] - table["test_r2"]).dropna()
    per_phase = (table.assign(gap=table["validation_r2"] - table["test_r2"]).groupby("phase")["gap"].mean())
    lessons.append(
        "**Validation scores as headline figures.** The report published the best validation epoch or setting of each "
        f"model. On this build, validation R² exceeds test R² by {gap.mean():+.3f} on average over {len(gap)} "
        "model/target pairs (" + ", ".join(f"Phase {int(p)}: {g:+.3f}" for p, g in per_phase.items()) + "). "
        + ("A positive gap is the optimism of selecting on the validation set; the test column is the honest figure."
           if gap.mean() > 0 else "Here the test songs happened to be no harder than the validation songs.")
    )

# 5. How far from what is possible, and from the literature.
if len(table):
    for target in TARGETS:
        rows = table[table["target"] == target]
        if not len(rows):
            continue
        top = rows.sort_values("test_r2", ascending=False).iloc[0]
        text = (f"**Best test score, {evaluate.TARGET_NAMES[target]}:** {top['label']} with R² {fmt(top['test_r2'])}.")
        if corpus.is_synthetic:
            ceiling = corpus.noise_ceiling(target)
            if top["test_r2"] <= ceiling:
                text += f" The noise ceiling of this corpus is {fmt(ceiling)}, {fmt(ceiling - top['test_r2'])} higher."
            else:
                text += (f" That is {fmt(top['test_r2'] - ceiling)} above the noise ceiling of this corpus ({fmt(ceiling)}), "
                         f"which holds on average over songs: on {n_test} test songs a score can exceed it by chance.")
            text += (" The published anchors ("
                     + ", ".join(f"{a['source']}: {a['r2']:.3f}" for a in evaluate.PUBLISHED_ANCHORS if a["target"] == target)
                     + ") are DEAM results and cannot be compared with synthetic data.")
        else:
            anchors = [a for a in evaluate.PUBLISHED_ANCHORS if a["target"] == target]
            text += " " + " ".join(
                f"Against {a['source']} ({a['r2']:.3f}) it is {abs(top['test_r2'] - a['r2']):.3f} "
                f"{'higher' if top['test_r2'] >= a['r2'] else 'lower'}." for a in anchors)
        lessons.append(text)

display(Markdown("\n\n".join(f"{k}. {text}" for k, text in enumerate(lessons, start=1))))

# %% [markdown]
# ## What stays open
#
# The report's list of future work still stands: fine-tuning CNN14 instead of
# freezing it, predicting the 2 Hz emotion curves rather than song means, and
# more data for the rarer corners of the valence–arousal plane. Two points
# this book adds: every figure above comes from one split, so a repeated
# split (or cross-validation over songs) would put error bars on the
# differences; and on SynthDEAM the gap to the noise ceiling shows how much a
# model leaves on the table, something real data cannot tell.
