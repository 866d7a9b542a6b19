"""A DEAM-scale rehearsal: the whole book on SynthDEAM at DEAM's size, with DEAM's settings, timed page by page.

    .venv/bin/python benchmarks/rehearsal.py [--songs 1744] [--seconds 45] [--p2-epochs 2] [--workdir build/rehearsal]

(``make rehearsal`` runs it with these defaults.)  What a user meets on
``make book DATA=deam`` cannot be timed here without DEAM, so the rehearsal
builds its stand-in: SynthDEAM generated at DEAM's size and clip length
(1,744 songs of 45 s, in the DEAM layout, with 2 Hz curves from 2 s on, so
Phase 4 runs too, on somewhat more labelled frames than DEAM's 60 per song) and
the book run on it with ``DATA=deam``, so with DEAM's training settings (the report's schedule,
:mod:`mer_utils.training.defaults`) and a random-weights CNN14 (``PANNS_RANDOM=1``;
the pretrained checkpoint costs the same to run).

The book runs in a copy of this working tree under ``--workdir`` (the
repository's own pages and results are left alone), one ``make`` target at a
time, in the order ``make book`` runs them.  For each step the table gives

* ``wall``: its wall time;
* ``peak RSS``: the largest total resident memory of the step's processes
  (make, the notebook runner, its kernel and worker processes together),
  sampled every 0.2 s with psutil.  It counts the pages of memory-mapped
  files (the chunk array, read in place) that the kernel can drop and read
  again, and counts them once per process that maps them;
* ``peak anonymous``: the same sum without file-backed and shared pages
  (psutil's ``rss - shared``): the memory the step needs for itself;
* ``disk``: the size of the run's caches, results and pages after the step.

Phase 2 at the report's schedule (8 runs, up to 50 epochs each) takes hours on
2 cores, so by default each run is bounded to ``--p2-epochs`` epochs, and the
table extrapolates each Phase 2 page to the report's schedule: its measured
wall time, minus the epochs it ran, plus the epochs the report's run trained
(the last epoch of its per-epoch table, :data:`mer_utils.results.published.REPORT_EPOCHS`),
each at the page's measured seconds per epoch; the upper bound uses the maximum
epochs of the schedule (15 for EmotionCNN, 50 for the others) instead.
``--p2-epochs report`` runs the whole schedule instead (no extrapolation).

Writes ``rehearsal.json`` and ``rehearsal.md`` (the table) in ``--workdir``
and prints the table; each row names the commit it was measured at.
``--steps`` re-runs only the steps whose names contain one of the given
words (e.g. ``--steps "Phase 2,Phase 3"`` after a change to training or
embedding) in the existing copy, and replaces those rows of the previous
``rehearsal.json``, keeping the others.  The corpus is kept between runs (the generator resumes
and reuses clips); pass ``--fresh`` to delete the previous run's caches,
results and pages first (the corpus is kept), which is what a timing needs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402

from mer_utils.phase2.models import PHASE2_MODELS  # noqa: E402
from mer_utils.results.published import REPORT_EPOCHS  # noqa: E402
from mer_utils.training.defaults import TRAINING_DEFAULTS  # noqa: E402

TARGETS = ["valence", "arousal"]
COMMIT = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
STEPS = (
    [("data chapter", "book/data/corpus.ipynb"), ("Phase 1: EDA", "book/phase1/eda.ipynb"),
     ("Phase 1: features", "book/phase1/features.ipynb"), ("Phase 1: models", "book/phase1/models.ipynb")]
    + [(f"Phase 2: {m}, {t}", f"book/phase2/{m}_{t}.ipynb") for m in PHASE2_MODELS for t in TARGETS]
    + [("Phase 2: summary", "book/phase2/summary.ipynb"), ("Phase 3: CNN14 + MLP", "book/phase3/panns.ipynb"),
       ("Phase 4: emotion over time", "book/phase4/dynamic.ipynb"),
       ("conclusions", "book/conclusions/comparison.ipynb"), ("the site (jupyter-book)", "_build/html/index.html")]
)


def copy_tree(workdir: Path) -> Path:
    """The repository's files (tracked and new, not ignored) copied to ``workdir/tree``, the venv linked."""
    tree = workdir / "tree"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, files):
        source, target = REPO / name, tree / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    venv = tree / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv")
    return tree


def du(*paths: Path) -> int:
    """Bytes under ``paths`` (links not followed)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total


def run_measured(command: list[str], cwd: Path, log_path: Path) -> dict:
    """Run ``command``, logging to ``log_path``; wall seconds, the peak total RSS and anonymous memory of its tree."""
    peak = peak_anonymous = 0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid)
        done = threading.Event()

        def sample():
            nonlocal peak, peak_anonymous
            while not done.wait(0.2):
                try:
                    procs = [root] + root.children(recursive=True)
                    total = anonymous = 0
                    for p in procs:
                        try:
                            memory = p.memory_info()
                            total += memory.rss
                            anonymous += memory.rss - getattr(memory, "shared", 0)
                        except psutil.Error:
                            pass
                    peak, peak_anonymous = max(peak, total), max(peak_anonymous, anonymous)
                except psutil.Error:
                    pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
        wall = time.perf_counter() - start
    if code != 0:
        tail = log_path.read_text().splitlines()[-15:]
        raise SystemExit(f"error: '{' '.join(command)}' failed (exit {code}); the end of {log_path}:\n" + "\n".join(tail))
    return {"wall_s": wall, "peak_rss_bytes": peak, "peak_anonymous_bytes": peak_anonymous, "commit": COMMIT}


def report_epochs(model: str, target: str) -> int:
    """Epochs the report's run trained: the last epoch of its per-epoch table, else the schedule's maximum."""
    rows = REPORT_EPOCHS.get((model, target + "_mean")) or REPORT_EPOCHS.get((model, target))
    return max(int(r["epoch"]) for r in rows) if rows else TRAINING_DEFAULTS["deam"][model]["epochs"]


def phase2_extrapolation(results: Path, model: str, target: str, wall_s: float) -> dict:
    """The page's wall time at the report's schedule, from its record's seconds per epoch."""
    record = json.loads((results / "metrics" / f"2-{model}-{target}_mean-chunk.json").read_text())
    per_epoch, ran = float(record["seconds_per_epoch"]), int(record["epochs_run"])
    fixed = max(wall_s - ran * per_epoch, 0.0)
    expected, maximum = report_epochs(model, target), TRAINING_DEFAULTS["deam"][model]["epochs"]
    return {"seconds_per_epoch": per_epoch, "epochs_run": ran, "train_chunks": record["train_chunks"],
            "chunks_per_s": record["samples_per_s"], "report_epochs": expected, "max_epochs": maximum,
            "at_report_s": fixed + expected * per_epoch, "at_max_s": fixed + maximum * per_epoch}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def expected_s(row: dict) -> float:
    """A step's seconds at the report's schedule: extrapolated for a bounded Phase 2 page, else as measured."""
    return row["extrapolated"]["at_report_s"] if "extrapolated" in row else row["wall_s"]


def table(rows: list[dict], corpus: dict) -> str:
    lines = [
        f"DEAM-scale rehearsal: SynthDEAM, {corpus['songs']} songs x {corpus['seconds']:g} s, DATA=deam settings, "
        f"random CNN14, on {corpus['machine']}.",
        "",
        "| step | wall (min) | at the report's schedule (min) | peak RSS (GB) | peak anonymous (GB) | disk after (GB) "
        "| commit |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if "extrapolated" in row:
            e = row["extrapolated"]
            schedule = (f"{minutes(e['at_report_s'])} ({e['report_epochs']} epochs; at most "
                        f"{minutes(e['at_max_s'])}, {e['max_epochs']})")
        else:
            schedule = minutes(row["wall_s"])
        anonymous = f"{row['peak_anonymous_bytes'] / 1e9:.2f}" if "peak_anonymous_bytes" in row else "–"
        lines.append(f"| {row['step']} | {minutes(row['wall_s'])} | {schedule} | "
                     f"{row['peak_rss_bytes'] / 1e9:.2f} | {anonymous} | {row['disk_bytes'] / 1e9:.2f} | "
                     f"{row.get('commit', '–')} |")
    measured = sum(r["wall_s"] for r in rows)
    expected = sum(expected_s(r) for r in rows)
    upper = sum(r["extrapolated"]["at_max_s"] if "extrapolated" in r else r["wall_s"] for r in rows)
    peak = max(r["peak_rss_bytes"] for r in rows)
    anonymous = max(r.get("peak_anonymous_bytes", 0) for r in rows)
    lines.append(f"| **total** | **{minutes(measured)}** | **{minutes(expected)}** (at most {minutes(upper)}) | "
                 f"**{peak / 1e9:.2f}** | **{anonymous / 1e9:.2f}** | **{max(r['disk_bytes'] for r in rows) / 1e9:.2f}** "
                 "| |")
    book = [r for r in rows if "target" in r]
    lines += ["", f"The book alone (without generating the corpus): {minutes(sum(r['wall_s'] for r in book))} min "
              f"measured, {minutes(sum(expected_s(r) for r in book))} min at the report's schedule."]
    p2 = [r["extrapolated"] for r in rows if "extrapolated" in r]
    if p2:
        lines += ["", "Phase 2 training throughput (chunks per second of training, per run): "
                  + ", ".join(f"{r['step'].split(': ')[1]} {r['extrapolated']['chunks_per_s']:.0f}"
                              for r in rows if "extrapolated" in r)
                  + f"; {p2[0]['train_chunks']} training chunks per epoch."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=1744)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--p2-epochs", default="2", help="epochs per Phase 2 run, or 'report' for the whole schedule")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=REPO / "build" / "rehearsal")
    parser.add_argument("--fresh", action="store_true", help="delete the previous run's caches, results and pages")
    parser.add_argument("--steps", default=None,
                        help="re-run only the steps whose names contain one of these comma-separated words")
    args = parser.parse_args(argv)
    if args.p2_epochs != "report" and not args.p2_epochs.isdigit():
        parser.error(f"--p2-epochs {args.p2_epochs}: pass a whole number or 'report'")

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    tree = copy_tree(workdir)
    if args.fresh:  # the copy's generated files; the corpus lives outside the copy and is kept
        subprocess.run(["make", "-s", "clean"], cwd=tree, check=True, capture_output=True)
    corpus_dir = workdir / "deam"
    python = str(tree / ".venv" / "bin" / "python")
    knobs = ["DATA=deam", f"DEAM_DIR={corpus_dir}", "PANNS_RANDOM=1", f"JOBS={args.jobs}",
             f"P2_EPOCHS={args.p2_epochs}" if args.p2_epochs != "report" else ""]
    knobs = [k for k in knobs if k]
    bounded = args.p2_epochs != "report"

    chosen = [w.strip() for w in args.steps.split(",") if w.strip()] if args.steps else None
    previous = workdir / "rehearsal.json"
    if chosen and args.fresh:
        parser.error("--steps re-runs some steps of a previous rehearsal: leave out --fresh")
    if chosen and not previous.exists():
        parser.error(f"--steps needs a previous rehearsal in {previous}: run the whole rehearsal first")
    old_rows = {r["step"]: r for r in json.loads(previous.read_text())["steps"]} if chosen else {}

    def wanted(name: str) -> bool:
        return chosen is None or any(word in name for word in chosen)

    rows = []
    print(f"rehearsal in {tree}: {args.songs} songs x {args.seconds:g} s, {' '.join(knobs)}", flush=True)
    corpus_step = "SynthDEAM corpus (generated; DEAM is downloaded)"
    if wanted(corpus_step):
        step = run_measured([python, "-m", "mer_utils", "synth", "--root", str(corpus_dir), "--songs",
                             str(args.songs), "--seconds", str(args.seconds), "--jobs", str(args.jobs)],
                            tree, workdir / "logs" / "corpus.log")
        rows.append({"step": corpus_step, **step, "disk_bytes": du(corpus_dir)})
        print(f"  corpus: {minutes(step['wall_s'])} min", flush=True)
    else:
        rows.append(old_rows[corpus_step])
    for name, target in STEPS:
        if not wanted(name):
            rows.append(old_rows[name])
            continue
        log = workdir / "logs" / (Path(target).stem + ".log")
        kept = [arg for n, t in STEPS if not wanted(n) for arg in ("-o", t)]  # steps not re-run stay as they are
        step = run_measured(["make", *kept, target, *knobs], tree, log)
        row = {"step": name, "target": target, **step,
               "disk_bytes": du(corpus_dir, tree / "cache", tree / "results", tree / "book", tree / "_build")}
        if bounded and target.startswith("book/phase2/") and not target.endswith("summary.ipynb"):
            model, tgt = Path(target).stem.rsplit("_", 1)
            row["extrapolated"] = phase2_extrapolation(tree / "results" / "deam", model, tgt, step["wall_s"])
        rows.append(row)
        print(f"  {name}: {minutes(step['wall_s'])} min, peak {step['peak_rss_bytes'] / 1e9:.2f} GB", flush=True)

    corpus = {"songs": args.songs, "seconds": args.seconds, "p2_epochs": args.p2_epochs,
              "machine": f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})"}
    text = table(rows, corpus)
    (workdir / "rehearsal.json").write_text(json.dumps({"corpus": corpus, "steps": rows}, indent=1))
    (workdir / "rehearsal.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
