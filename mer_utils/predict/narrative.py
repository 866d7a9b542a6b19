"""The predictor page's tables and sentences, computed from its out-of-fold scores.

Used by: ``notebooks/predictor.py``.  Pure functions from the tables of
:mod:`mer_utils.predict.fusion` to display tables and Markdown; every verdict
rests on a paired interval (``tests/test_predictor.py``).  It sits beside the predictor's code, as
each chapter's wording does.
"""

from __future__ import annotations

import pandas as pd

from ..corpus.base import short_name
from ..corpus.sources import CORPUS_LABELS
from ..results.intervals import format_interval


def _name(target: str, corpus: str | None = None) -> str:
    """``valence``, or ``arousal (energy)`` on Soundtracks, whose raters called it energy."""
    name = short_name(target)
    return f"{name} (energy)" if name == "arousal" and corpus == "soundtracks" else name


def rated_caption(corpus, songs: int, groups: int) -> str:
    """The caption of the rated corpus's table: what was scored and how the intervals were drawn."""
    unit = corpus.group_column or "song"
    return (f"{corpus.kind}: out-of-fold scores of each model ({songs} songs from {groups} {unit}s; 95% intervals "
            f"from a bootstrap over {unit}s; RMSE and MAE on the 1–9 scale)")


def sign_caption(clips: int, artists: int) -> str:
    """The caption of the 4Q table."""
    return (f"4Q: ROC AUC of each model's valence for the valence sign and of its arousal for the arousal sign "
            f"({clips} clips by {artists} artists; 95% intervals from a bootstrap over artists), and the published "
            "figures of the tools people use instead")


def hearing_note(n_segments: pd.Series, patches: int, corpus: str) -> str:
    """How the predictor hears a song: at most ``patches`` of its 3-s patches (``n_segments``: each song's count)."""
    heard = int((n_segments > patches).sum())
    return (f"Each song is heard at {patches} of its 3-second patches spread over it, or all of them where it has no "
            f"more: {heard} of the {len(n_segments)} {CORPUS_LABELS.get(corpus, corpus)} songs have more "
            f"({int(n_segments.min())} to {int(n_segments.max())} patches each).")


def difference_caption(corpus) -> str:
    unit = corpus.group_column or "song"
    return (f"The fused model minus the ratings-only model on the same items (paired bootstrap: {unit}s for R², "
            "artists for AUC)")


def rated_table(scores: pd.DataFrame, corpus: str) -> pd.DataFrame:
    """One row per model variant and target: R², RMSE and MAE (1..9) with their intervals, songs and groups."""
    rows = []
    for _, row in scores.iterrows():
        rows.append({"model": row["variant"], "target": _name(row["target"], corpus),
                     "R² [95% CI]": format_interval(row["r2"], (row["r2_low"], row["r2_high"])),
                     "RMSE (1–9) [95% CI]": format_interval(row["rmse"], (row["rmse_low"], row["rmse_high"])),
                     "MAE (1–9) [95% CI]": format_interval(row["mae"], (row["mae_low"], row["mae_high"])),
                     "songs": int(row["songs"])})
    return pd.DataFrame(rows)


def sign_table(scores: pd.DataFrame, peers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per model variant: ROC AUC of valence and of arousal for 4Q's signs, with intervals, and the
    Spearman correlation of its two outputs; the peers' published figures
    (:func:`mer_utils.results.anchors.peer_anchors`) follow, marked as measured on all 900 clips."""
    rows = []
    for variant, part in scores.groupby("variant", sort=False):
        auc = {r["target"]: format_interval(r["auc"], (r["low"], r["high"])) for _, r in part.iterrows()}
        rows.append({"model": f"{variant} (this page, out of fold by artist)",
                     "valence AUC [95% CI]": auc.get("valence_mean", ""),
                     "arousal AUC [95% CI]": auc.get("arousal_mean", ""),
                     "ρ(valence, arousal)": f"{part['valence_arousal_spearman'].iloc[0]:.2f}",
                     "clips": int(part["songs"].iloc[0])})
    for _, peer in (peers if peers is not None else pd.DataFrame()).iterrows():
        rows.append({"model": f"{peer['tool']} (published, all {peer['clips']} clips)",
                     "valence AUC [95% CI]": "–" if pd.isna(peer["valence_auc"]) else f"{peer['valence_auc']:.2f}",
                     "arousal AUC [95% CI]": "–" if pd.isna(peer["arousal_auc"]) else f"{peer['arousal_auc']:.2f}",
                     "ρ(valence, arousal)": "–", "clips": int(peer["clips"])})
    return pd.DataFrame(rows)


def difference_table(differences: pd.DataFrame, first: str = "fused", second: str = "ratings only") -> pd.DataFrame:
    """``first`` minus ``second`` (the fused model minus the ratings-only one unless named), per corpus and target,
    with the paired interval and the verdict."""
    rows = []
    for _, row in differences.iterrows():
        rows.append({"corpus": CORPUS_LABELS.get(row["corpus"], row["corpus"]),
                     "target": _name(row["target"], row["corpus"]), "metric": row["metric"],
                     f"{first} − {second} [95% CI]": format_interval(row["difference"], (row["low"], row["high"]),
                                                                      digits=3),
                     "verdict": difference_verdict(row, first, second)})
    return pd.DataFrame(rows)


def difference_verdict(row, first: str = "fused", second: str = "ratings only") -> str:
    """``<first> better``, ``<second> better`` or ``no detectable difference``, from the paired interval."""
    if row["low"] > 0:
        return f"{first} better"
    if row["high"] < 0:
        return f"{second} better"
    return "no detectable difference"


def hearing_caption(patches: int, corpus) -> str:
    """The caption of the table that compares hearing ``patches`` patches with hearing every patch."""
    unit = corpus.group_column or "song"
    return (f"The predictor hearing each song at {patches} patches minus the same runs hearing every patch, on the "
            f"same items (same folds and seed; paired bootstrap: {unit}s for R², artists for AUC)")


def predictor_findings(rated: pd.DataFrame, signs: pd.DataFrame, differences: pd.DataFrame, corpus: str,
                       peers: pd.DataFrame | None = None) -> str:
    """The page's findings, one bullet per claim, each with its paired interval; peers compared by their figures."""
    label = CORPUS_LABELS.get(corpus, corpus)
    bullets = []
    for _, row in differences.iterrows():
        where = CORPUS_LABELS.get(row["corpus"], row["corpus"])
        what = f"{_name(row['target'], row['corpus'])} {row['metric']} on {where}"
        interval = format_interval(row["difference"], (row["low"], row["high"]), digits=3)
        verdict = difference_verdict(row)
        if verdict == "fused better":
            bullets.append(f"Learning 4Q's quadrants improves {what}: {interval}.")
        elif verdict == "ratings only better":
            bullets.append(f"Learning 4Q's quadrants costs {what}: {interval}.")
        else:
            bullets.append(f"No detectable difference in {what}: {interval}.")
    fused = signs[signs["variant"] == signs["variant"].iloc[-1]].set_index("target") if len(signs) else None
    if fused is not None and peers is not None:
        for _, peer in peers.iterrows():
            for target, column in (("valence_mean", "valence_auc"), ("arousal_mean", "arousal_auc")):
                if pd.isna(peer[column]) or target not in fused.index:
                    continue
                ours = fused.loc[target]
                ours_text = f"{ours['auc']:.2f} [{ours['low']:.2f}, {ours['high']:.2f}]"
                theirs = f"{peer['tool']}'s published {peer[column]:.2f} (on all {peer['clips']} clips)"
                if ours["low"] > peer[column]:
                    relation = f"lies above {theirs}"
                elif ours["high"] < peer[column]:
                    relation = f"lies below {theirs}"
                else:
                    relation = f"holds {theirs} inside its interval"
                bullets.append(f"On {short_name(target)}, the fused model's 4Q AUC {ours_text} {relation}.")
    if len(signs):
        rho = signs.groupby("variant", sort=False)["valence_arousal_spearman"].first()
        bullets.append("Spearman ρ between predicted valence and arousal on 4Q: "
                       + "; ".join(f"{v} {r:.2f}" for v, r in rho.items())
                       + ". Near zero, a model keeps the two dimensions apart (sad from calm, angry from happy).")
    if not bullets:
        bullets.append(f"Only {label}'s ratings were given (no FOURQ_DIR): the ratings-only model is the predictor, "
                       "and it has no quadrant probabilities.")
    return "\n".join(f"- {b}" for b in bullets)


def usage_note(path, quadrants: bool, data: str) -> str:
    """How to run the saved predictor, in a sentence and a code block."""
    flag = " --quadrant" if quadrants else ""
    return (f"Saved to `{path}`, with the musicnn weights inside (3 MB), so it runs without the `.h5`. "
            f"`mer predict --data {data}` picks it, and so does a bare `mer predict` (it prefers a model trained on "
            f"real ratings with a pretrained backbone):\n\n```bash\nmer predict --data {data}{flag} song.mp3\n"
            f"mer predict -r music/ --format csv{flag} > va.csv\n```")
