"""The predictor shipped inside the package, so that ``mer predict`` means something with no book built.

Used by: ``make predictor`` (``python -m mer_utils ship-predictor``), ``mer predict``
(:func:`mer_utils.predict.bundles.choose_model` falls back to :data:`SHIPPED_FILE`) and
``tests/test_shipping.py``.

What is shipped.  The predictor page's model (:mod:`mer_utils.predict.fusion`: the
EmotionMLP on musicnn's MSD embedding, trained on the Soundtracks ratings and 4Q's
quadrant signs) as ``make predictor`` builds it on the shared samples, with a fixed
seed, by the book's own notebook (``notebooks/predictor.py``).  :func:`shippable`
keeps the head (the MLP and its scalers, a few hundred kB) and drops the backbone's
weights: the file names the network (``MSD_musicnn`` of the musicnn wheel) and the
sha256 of its data file, which ``mer predict`` checks after fetching the wheel into
the cache folder (:mod:`mer_utils.phase3.musicnn_wheel`).

Its provenance travels inside it (``provenance``): the corpora with their item
and group counts, the commit of the code that trained it, the seed, the
out-of-fold figures with their 95% intervals (recomputed here from the
out-of-fold predictions the file carries, with the page's own functions), and a
licence note: the head learned from research datasets.

A rebuild is compared with the shipped file figure by figure (:func:`comparison`):
a rebuilt figure that falls outside the shipped figure's interval is reported, and
``make predictor`` fails unless ``SHIP=1`` replaces the shipped file anyway.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from ..errors import MerError
from .bundles import SHIPPED_FILE
NETWORK = "MSD_musicnn"  # the backbone the shipped head reads, from the musicnn wheel
LICENCE_NOTE = (
    "The head was learned from research datasets: Soundtracks (Eerola and Vuoskoski 2011, excerpts of commercial film "
    "soundtracks with the authors' listener ratings) and 4Q (Panda, Malheiro and Paiva 2018, 30-second AllMusic "
    "previews with mood-tag quadrants), both distributed for research. Its backbone is musicnn's MSD network (ISC "
    "licence, trained on Million Song Dataset tags), fetched from the musicnn wheel, not shipped. Use the predictor "
    "for research and teaching; whether other uses are allowed depends on those datasets' terms, not on this code's "
    "licence.")
CORPUS_WORDS = {"soundtracks": "film excerpts (films)", "4q": "clips (artists)", "deam": "songs"}


def git_commit(root) -> str:
    """The commit of the code at ``root`` (``+uncommitted`` when the package or notebooks differ from it)."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "mer_utils", "notebooks"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+uncommitted" if dirty else "")


def out_of_fold_figures(raw: dict) -> pd.DataFrame:
    """The figures of a predictor file from its own out-of-fold predictions: R² on the rated corpus (interval over
    its groups) and ROC AUC of each 4Q sign (over artists), one row per corpus and target."""
    from ..corpus.base import TARGETS
    from .fusion import rated_scores, runs_from_entry, sign_scores

    entries = raw.get("out_of_fold") or {}
    if raw.get("data") not in entries:
        raise MerError("this predictor file carries no out-of-fold predictions of its rated corpus: rebuild it with "
                       "'make predictor'.")
    runs = runs_from_entry(entries)
    variant = runs["variant"].iloc[0]
    rows = []
    for row in rated_scores(runs, raw["data"]).itertuples():
        rows.append({"corpus": raw["data"], "target": row.target, "metric": "R²", "value": row.r2,
                     "low": row.r2_low, "high": row.r2_high, "items": row.songs, "groups": row.groups})
    clips = [c for c in entries if c != raw["data"]]
    for corpus in clips:
        for row in sign_scores(runs, corpus).itertuples():
            rows.append({"corpus": corpus, "target": row.target, "metric": "ROC AUC", "value": row.auc,
                         "low": row.low, "high": row.high, "items": row.songs, "groups": row.artists})
    figures = pd.DataFrame(rows)
    figures["target"] = figures["target"].str.removesuffix("_mean")
    assert set(figures["target"]) <= {t.removesuffix("_mean") for t in TARGETS}
    return figures.assign(variant=variant)


def shippable(raw: dict, commit: str) -> dict:
    """A built predictor file's contents made shippable: the backbone's weights dropped and named instead, and the
    provenance added.  The build must have embedded with the wheel's MSD network (the file's sha256 says so)."""
    from ..phase3.musicnn_wheel import DATA_SHA256, REQUIREMENT

    backbone = dict(raw.get("backbone") or {})
    if backbone.get("name") != "musicnn" or backbone.get("sha256") != DATA_SHA256[NETWORK]:
        raise MerError(f"the predictor to ship must read musicnn's {NETWORK} from the {REQUIREMENT} wheel (sha256 "
                       f"{DATA_SHA256[NETWORK][:12]}...); this one reads {backbone.get('name')} with sha256 "
                       f"{str(backbone.get('sha256'))[:12]}...: build it with 'make predictor'.")
    figures = out_of_fold_figures(raw)
    corpora = {corpus: {"learned": what, "items": int(part["items"].iloc[0]), "groups": int(part["groups"].iloc[0]),
                        "unit": CORPUS_WORDS.get(corpus, "items")}
               for corpus, what in raw["learned_from"].items()
               for part in [figures[figures["corpus"] == corpus]]}
    contents = {k: v for k, v in raw.items() if k != "backbone_state"}
    contents["backbone"] = {**backbone, "weights": NETWORK, "source": REQUIREMENT}
    contents["embedding"] = {**raw["embedding"], "predict_precision": "auto"}  # bfloat16 where the CPU has it
    contents["provenance"] = {
        "built_by": "make predictor: notebooks/predictor.py on the Soundtracks and 4Q samples",
        "commit": commit, "seed": raw.get("seed"), "corpora": corpora,
        "out_of_fold": figures.to_dict("records"), "licence": LICENCE_NOTE,
    }
    return contents


def comparison(shipped: dict, rebuilt: dict) -> pd.DataFrame:
    """Each out-of-fold figure of the shipped file beside the rebuild's, and whether the rebuilt value lies within
    the shipped value's 95% interval (``within``)."""
    keys = ["corpus", "target", "metric"]
    old = pd.DataFrame(shipped["provenance"]["out_of_fold"])[[*keys, "value", "low", "high"]]
    new = out_of_fold_figures(rebuilt)[[*keys, "value", "low", "high"]]
    both = old.merge(new, on=keys, suffixes=("_shipped", "_rebuilt"), how="outer")
    both["within"] = both["value_rebuilt"].between(both["low_shipped"], both["high_shipped"])
    return both


def describe_figures(figures: pd.DataFrame) -> str:
    """One line per figure: ``soundtracks valence R² 0.52 [0.41, 0.61] (240 film excerpts (films): 27)``."""
    return "\n".join(f"  {r.corpus} {r.target} {r.metric} {r.value:.3f} [{r.low:.3f}, {r.high:.3f}] "
                     f"({r.items} items, {r.groups} groups)" for r in figures.itertuples())


# --------------------------------------------------------------------------- the book's page (notebooks/shipped_predictor.py)

MEASURED_FILE = Path(__file__).resolve().parents[2] / "book" / "predictor" / "measured_peers.json"


def load_shipped(path=None) -> dict:
    """The shipped file's contents (``path``: another file of the same kind)."""
    import torch

    path = Path(path or SHIPPED_FILE)
    if not path.is_file():
        raise MerError(f"{path}: no shipped predictor there; run 'make predictor SHIP=1' where the samples are.")
    return torch.load(path, map_location="cpu", weights_only=True)


def origin_sentence(raw: dict) -> str:
    p = raw["provenance"]
    corpora = " and ".join(f"{c['items']} {c['unit'].split(' (')[0]} of {name} ({c['learned']}, from "
                           f"{c['groups']} {c['unit'].split('(')[-1].rstrip(')')})" for name, c in p["corpora"].items())
    return (f"The file `mer_utils/predict/data/{SHIPPED_FILE.name}` was trained by {p['built_by']}, from the code of "
            f"commit `{p['commit'][:12]}`, with seed {p['seed']}: an EmotionMLP on the mean musicnn (MSD) embedding of "
            f"{raw['embedding'].get('patches_per_song')} patches spread over each song, learned from {corpora}. It "
            f"carries the head only; `mer predict` fetches its backbone, the {raw['backbone']['source']} wheel's "
            f"{raw['backbone']['weights']} network, into the cache folder and checks its sha256 "
            f"(`{raw['backbone']['sha256'][:12]}...`).\n\n**Licence.** {p['licence']}")


def figures_frame(raw: dict) -> pd.DataFrame:
    """The out-of-fold figures, one row per corpus and target, each with its 95% interval."""
    f = out_of_fold_figures(raw)
    return pd.DataFrame({"corpus": f["corpus"], "target": f["target"], "metric": f["metric"],
                         "out of fold [95% CI]": [f"{r.value:.2f} [{r.low:.2f}, {r.high:.2f}]" for r in f.itertuples()],
                         "items": f["items"], "groups": f["groups"]})


FIGURES_CAPTION = ("The shipped predictor out of fold, recomputed here from the predictions the file carries: every "
                   "Soundtracks excerpt predicted by a model that never saw its film (R² of the 1-9 ratings, interval "
                   "over films), every 4Q clip by one that never saw its artist (ROC AUC of the quadrant sign, 0.5 is "
                   "chance, interval over artists).")


def true_quadrants(clips: pd.DataFrame) -> pd.Series:
    """Each clip's quadrant from its two signs (``true_valence_mean``, ``true_arousal_mean``: 1.0 or 0.0)."""
    positive, high = clips["true_valence_mean"] > 0.5, clips["true_arousal_mean"] > 0.5
    names = {(True, True): "Q1", (False, True): "Q2", (False, False): "Q3", (True, False): "Q4"}
    return pd.Series([names[(v, a)] for v, a in zip(positive, high)], index=clips.index)


DIFFERENCES_CAPTION = ("The shipped predictor minus vibenet on the same clips, paired bootstrap over artists: better or "
                       "worse only when the 95% interval excludes zero.")
NOT_MEASURED = ("*No run beside vibenet is kept here yet: `benchmarks/bench_peers.py --record "
                "book/predictor/measured_peers.json` measures one.*")


def measured_record(path=None) -> dict:
    """The benchmark runs kept by ``bench_peers.py --record`` (``{}`` when none was kept)."""
    import json

    path = Path(path or MEASURED_FILE)
    return json.loads(path.read_text()) if path.is_file() else {}


def measured_frame(record: dict) -> pd.DataFrame:
    """One row per setting and tool: AUCs with intervals on the clips it could be scored on, ρ, speed."""
    rows = []
    for setting, run in record.items():
        for r in run["rows"]:
            auc = {t: (f"{r[f'{t}_auc']:.2f} [{r[f'{t}_low']:.2f}, {r[f'{t}_high']:.2f}]" if f"{t}_auc" in r else "–")
                   for t in ("valence", "arousal")}
            tool = "shipped predictor" if SHIPPED_FILE.name in r["tool"] and "data/" in r["tool"] else r["tool"]
            scored = f" ({r['scored on']})" if r.get("scored on", "its own predictions") != "its own predictions" else ""
            rows.append({"setting": setting, "tool": tool, "trained on": f"{r.get('trained on', '')}{scored}",
                         "valence AUC [95% CI]": auc["valence"], "arousal AUC [95% CI]": auc["arousal"],
                         "x real time": f"{r['x_real_time']:.0f}x"})
    return pd.DataFrame(rows)


def measured_differences(record: dict) -> pd.DataFrame:
    """Each tool's AUC minus vibenet's on the same clips, paired over artists, with the verdict the book uses."""
    rows = []
    for setting, run in record.items():
        for r in run["differences"]:
            verdict = "better" if r["low"] > 0 else "worse" if r["high"] < 0 else "no detectable difference"
            tool = "shipped predictor" if SHIPPED_FILE.name in r["tool"] and "data/" in r["tool"] else r["tool"]
            rows.append({"setting": setting, "tool": tool, "target": r["target"], "minus": r["minus"],
                         "difference [95% CI]": f"{r['difference']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]",
                         "verdict": verdict})
    return pd.DataFrame(rows)


def measured_caption(record: dict) -> str:
    runs = "; ".join(f"{setting}: {run['clips']}, {run['cpu']}, {run['date']}, `{run['command']}`"
                     for setting, run in record.items())
    return ("Measured beside vibenet by benchmarks/bench_peers.py, not recomputed by make book (vibenet is GPL-3.0 and "
            "installs into an environment of its own): each tool on the same clips, process start and decoding "
            "included, the fastest of its runs. A model that learned 4Q's quadrants is scored on its out-of-fold "
            f"predictions, by artist. Runs: {runs}.")


def main(argv=None) -> int:
    """``python -m mer_utils ship-predictor BUILT [--ship]`` (``make predictor``): compare, and ship when asked."""
    import argparse
    import shutil

    import torch

    from ..cache import atomic_path
    from ..pipeline import REPO_ROOT

    parser = argparse.ArgumentParser(prog="mer ship-predictor",
                                     description="Make a built predictor shippable, compare it with the shipped one.")
    parser.add_argument("built", help="the predictor.pt the predictor notebook wrote")
    parser.add_argument("--out", help="where to write the shippable file (default: beside BUILT, shipped.pt)")
    parser.add_argument("--ship", action="store_true", help=f"replace {SHIPPED_FILE} with it")
    args = parser.parse_args(argv)
    built = Path(args.built)
    if not built.is_file():
        raise MerError(f"{built}: no built predictor there; run 'make predictor' (it runs notebooks/predictor.py).")
    contents = shippable(torch.load(built, map_location="cpu", weights_only=True), git_commit(REPO_ROOT))
    out = Path(args.out or built.with_name("shipped.pt"))
    with atomic_path(out) as tmp:
        torch.save(contents, tmp)
    print(f"shippable predictor: {out} ({out.stat().st_size / 1e3:.0f} kB)\n"
          f"{describe_figures(pd.DataFrame(contents['provenance']['out_of_fold']))}")
    agree = True
    if SHIPPED_FILE.is_file():
        table = comparison(torch.load(SHIPPED_FILE, map_location="cpu", weights_only=True), contents)
        agree = bool(table["within"].all())
        print(f"against the shipped {SHIPPED_FILE.name}:\n{table.round(3).to_string(index=False)}\n"
              + ("every rebuilt figure lies within the shipped figure's 95% interval" if agree else
                 "some rebuilt figures lie outside the shipped intervals (within = False)"))
    if args.ship:
        SHIPPED_FILE.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(SHIPPED_FILE) as tmp:
            shutil.copyfile(out, tmp)
        print(f"shipped: {SHIPPED_FILE}")
        return 0
    if not agree:
        print("not shipped: pass SHIP=1 (make predictor SHIP=1) to replace it anyway", flush=True)
    return 0 if agree else 1
