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

SHIPPED_FILE = Path(__file__).resolve().parent / "data" / "predictor.pt"
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
