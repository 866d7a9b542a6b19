"""`mer predict` beside vibenet on 4Q's real clips, in one run: quadrant ranking (ROC AUC) and speed, end to end.

    .venv/bin/python benchmarks/bench_peers.py [--fourq DIR] [--model PATH ...] [--no-vibenet] [--out build/peers]
                                               [--clips N] [--repeats R]

Every model `make book` left under results/*/models/ (or those given with
--model) predicts every clip of the 4Q sample (../shared/4q-sample by default)
with `mer predict`, and vibenet (pip's vibenet 0.1.0, GPL-3.0, installed on first
use into build/peers/vibenet-venv, never into the book's environment) does the
same with its own command; each run is timed on the wall clock, process start
and decoding included.  The figures (mer_utils/predict/peers.py): ROC AUC of
valence for the valence sign and of arousal (vibenet: energy) for the arousal
sign, 95% intervals over artists; Spearman's ρ between each tool's two outputs;
x real time.  A model that learned 4Q's quadrants is scored on the out-of-fold
predictions its bundle carries, never on clips it was trained on.  The paired
differences to vibenet on the same clips follow.  The tables go to stdout and
to <out>/peers.md (and peers.csv); the load average before and after says
whether the machine was quiet.  With --repeats R every tool runs R times, the
tools taking turns in each round, and the fastest run of each counts (other
processes only ever slow a run down); --clips N takes N clips, as many from
each quadrant, for a quicker run (the AUCs are then on those clips only).
--join K times the tools on full-length stand-ins instead: MP3s of K clips
each, end to end (K=8: about 4 minutes), speed only (a joined file has no one
quadrant); it shows how each tool's cost grows with the song.

Which CPU: the script prints lscpu's model name and whether torch runs
bfloat16 natively there (musicnn's timbral layers use it where it does).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mer_utils.corpus.fourq import load_fourq  # noqa: E402
from mer_utils.errors import MerError  # noqa: E402
from mer_utils.predict import peers  # noqa: E402
from mer_utils.predict.bundles import BUNDLE_FILES, RESULTS_ROOT, corpus_label, describe, load_bundle  # noqa: E402
from mer_utils.predict.shipping import SHIPPED_FILE  # noqa: E402

FOURQ_SAMPLE = REPO.parent / "shared" / "4q-sample"


def cpu_name() -> str:
    import platform
    import subprocess

    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except Exception:  # noqa: BLE001 - only a label
        name = platform.processor() or "unknown CPU"
    from mer_utils.training.runtime import resolve_precision

    return f"{name}, {os.cpu_count()} cores, torch {resolve_precision('auto')} where it can"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fourq", type=Path, default=FOURQ_SAMPLE, help="the 4Q folder (FOURQ_DIR)")
    parser.add_argument("--model", type=Path, action="append", help="a model bundle (repeatable); default: all")
    parser.add_argument("--no-vibenet", action="store_true", help="leave vibenet out")
    parser.add_argument("--vibenet-env", type=Path, default=REPO / "build" / "peers" / "vibenet-venv")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "peers")
    parser.add_argument("--jobs", type=int, default=2, help="decoding threads / vibenet workers (default 2)")
    parser.add_argument("--clips", type=int, default=0, help="take this many clips, balanced by quadrant (0: all)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; the fastest run of each tool counts")
    parser.add_argument("--join", type=int, default=0, help="time full-length stand-ins of this many clips each "
                        "(speed only)")
    parser.add_argument("--record", type=Path, help="also keep this run in a JSON record (the book's shipped-predictor "
                        "page shows book/predictor/measured_peers.json), under its setting: clips or joined songs, "
                        "and the precision torch runs in")
    args = parser.parse_args(argv)

    try:
        fourq = load_fourq(args.fourq)
    except MerError as exc:
        parser.exit(1, f"error: {exc}\n")
    songs = fourq.songs
    clips_root = fourq.root
    if args.clips:
        songs = peers.balanced_clips(songs, args.clips)
        clips_root = peers.linked_clips(songs, args.out / "clips")
    import soundfile as sf

    audio_seconds = float(sum(sf.info(str(p)).duration for p in songs["audio_path"]))
    if args.join:
        clips_root, audio_seconds = peers.joined_songs(songs, args.join, args.out / "joined")
    models = args.model or [*([SHIPPED_FILE] if SHIPPED_FILE.is_file() else []),
                            *(p for file in BUNDLE_FILES for p in sorted(RESULTS_ROOT.glob(f"*/{file.as_posix()}")))]
    print(f"4Q: {len(songs)} clips, {audio_seconds / 3600:.2f} h of audio, {songs['artist_group'].nunique()} artists; "
          f"CPU: {cpu_name()}; load average {os.getloadavg()[0]:.2f}", flush=True)
    tools = {}
    for path in models:
        bundle = load_bundle(path)
        name = f"mer predict: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
        print(f"{name}: {describe(bundle)}", flush=True)
        tools[name] = (corpus_label(bundle), peers.out_of_fold(bundle.raw),
                       lambda path=path: peers.mer_predict(path, clips_root, jobs=args.jobs))
    if not args.no_vibenet:
        command = peers.vibenet_environment(args.vibenet_env)
        tools["vibenet 0.1.0"] = ("FMA (its authors' teacher labels)", None,
                                  lambda: peers.vibenet_predict(command, clips_root, workers=args.jobs))
    runs = {}
    for round_ in range(max(1, args.repeats)):
        order = list(tools) if round_ % 2 == 0 else list(tools)[::-1]
        for name in order:
            trained_on, oof, predict = tools[name]
            predictions, seconds, failed = predict()
            print(f"round {round_ + 1}: {name}: {seconds:.0f} s (load average {os.getloadavg()[0]:.2f})", flush=True)
            if name not in runs or seconds < runs[name].seconds:
                runs[name] = peers.ToolRun(name, trained_on, predictions, seconds, failed=failed)
                if oof is not None:
                    runs[name].predictions, runs[name].scored_on = oof, "out of fold by artist"
    runs = list(runs.values())
    if not runs:
        parser.exit(1, "error: no model found under results/*/models/ and vibenet left out: run 'make book' first\n")
    if args.join:
        files = len(list(clips_root.glob("*.mp3")))
        text = "\n".join([f"{files} files of {args.join} 4Q clips each ({audio_seconds / files / 60:.1f} min a file); "
                          f"CPU: {cpu_name()}; fastest of {max(1, args.repeats)} run(s) each", "",
                          "| tool | x real time |", "|---|---:|",
                          *(f"| {run.tool} | {audio_seconds / run.seconds:.0f}x |" for run in runs)])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "peers_joined.md").write_text(text + "\n")
        print(text)
        if args.record:
            peers.record_run(args.record, f"{args.join}-clip songs", cpu_name(), songs_note(len(songs), files),
                             [{"tool": run.tool, "x_real_time": audio_seconds / run.seconds} for run in runs])
        return 0
    import pandas as pd

    table = pd.DataFrame([peers.score(run, songs, audio_seconds) for run in runs])
    differences = peers.paired_to(runs, songs, "vibenet 0.1.0")
    text = "\n\n".join([f"4Q clips at {args.fourq}: {len(songs)} clips; CPU: {cpu_name()}; fastest of "
                        f"{max(1, args.repeats)} run(s) each; load average after {os.getloadavg()[0]:.2f}",
                        peers.markdown_table(table),
                        peers.differences_table(differences) if len(differences) else ""])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.md").write_text(text + "\n")
    table.to_csv(args.out / "peers.csv", index=False)
    print(text)
    if args.record:
        peers.record_run(args.record, "30-second clips", cpu_name(), songs_note(len(songs), len(songs)),
                         table.to_dict("records"), differences.to_dict("records"))
    return 0


def songs_note(clips: int, files: int) -> str:
    return f"{clips} 4Q clips" + (f" joined into {files} files" if files != clips else "")


if __name__ == "__main__":
    raise SystemExit(main())
