"""``mer predict`` beside the tools people use instead, on 4Q's real clips: how well each ranks the quadrants, how fast.

Used by: ``benchmarks/bench_peers.py`` (the measurement the README's peer table comes from).

For each tool, one command predicts every clip end to end (decoding included,
process start included), timed on the wall clock; the figures are:

* **valence AUC**: the ROC AUC of the tool's valence for 4Q's valence sign
  (Q1 and Q4 above Q2 and Q3), with a 95% interval from a bootstrap over artists;
* **arousal AUC**: the same for its arousal (vibenet: energy) and the arousal
  sign (Q1 and Q2 above Q3 and Q4);
* **ρ(valence, arousal)**: Spearman's correlation between the tool's two outputs
  over the clips.  4Q's quadrants are balanced, so valence and arousal are
  uncorrelated there; a tool whose two outputs move together cannot tell a sad
  song from a calm one or an angry one from a happy one;
* **x real time**: seconds of audio over seconds of wall time.

A model that learned from 4Q (the fused predictor, :mod:`mer_utils.predict.fusion`)
would be scored on clips it was trained on; its AUCs and ρ come from the
out-of-fold predictions its bundle carries instead (every clip predicted by a
model that never saw its artist), and the table says so.  Its speed is still
measured by running it.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MerError

VIBENET = "vibenet==0.1.0"  # GPL-3.0: installed into an environment of its own, never a dependency of the book


@dataclass
class ToolRun:
    """One tool's predictions of the clips (``valence``, ``arousal``, indexed by clip name) and its wall time."""

    tool: str
    trained_on: str
    predictions: pd.DataFrame
    seconds: float
    scored_on: str = "its own predictions"
    failed: int = 0


def timed(command: list[str], cwd=None) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``command``, capturing its output: ``(completed process, wall seconds)``."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    return done, time.perf_counter() - start


def clip_name(path) -> str:
    """A 4Q clip's name from its file path (``.../Q1/MT0000004637.mp3`` -> ``MT0000004637``)."""
    return Path(str(path)).stem


def mer_predict(bundle_path, clips_root, jobs: int = 2, threads: int = 2) -> tuple[pd.DataFrame, float, int]:
    """``mer predict -r clips_root --model bundle_path --format csv`` in a fresh process: predictions by clip name,
    wall seconds, and the number of files it reported as failed."""
    command = [sys.executable, "-m", "mer_utils", "predict", "-r", str(clips_root), "--model", str(bundle_path),
               "--format", "csv", "-q", "--jobs", str(jobs), "--threads", str(threads)]
    done, seconds = timed(command)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise MerError(f"mer predict with {bundle_path} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    rows = pd.read_csv(io.StringIO(done.stdout))
    frame = pd.DataFrame({"valence": rows["valence"].to_numpy(), "arousal": rows["arousal"].to_numpy()},
                         index=pd.Index([clip_name(f) for f in rows["file"]], name="song"))
    return frame, seconds, sum(line.startswith("error:") for line in done.stderr.splitlines())


def vibenet_environment(folder) -> Path:
    """The vibenet command of a virtual environment under ``folder``, created and filled from PyPI when missing."""
    folder = Path(folder)
    command = folder / "bin" / "vibenet"
    if command.is_file():
        return command
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    done = subprocess.run([str(folder / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", VIBENET],
                          capture_output=True, text=True)
    if done.returncode != 0 or not command.is_file():
        raise MerError(f"could not install {VIBENET} into {folder} (pip exit {done.returncode}): "
                       f"{done.stderr.strip()[-1500:]}. It needs PyPI; install it by hand with "
                       f"'{folder}/bin/pip install {VIBENET}' or pass --no-vibenet.")
    return command


def vibenet_predict(command, clips_root, workers: int = 2) -> tuple[pd.DataFrame, float, int]:
    """``vibenet predict -r clips_root --format csv``: valence and energy (as arousal) by clip name, wall seconds,
    files that failed."""
    done, seconds = timed([str(command), "predict", "-r", str(clips_root), "--glob", "*.mp3", "--format", "csv",
                           "--quiet", "--workers", str(workers)])
    if done.returncode != 0:
        raise MerError(f"vibenet failed (exit {done.returncode}): {done.stderr[-2000:]}")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    frame = pd.DataFrame({"valence": [float(r["valence"]) for r in rows],
                          "arousal": [float(r["energy"]) for r in rows]},
                         index=pd.Index([clip_name(r["path"]) for r in rows], name="song")).sort_index()
    return frame, seconds, done.stderr.count("Failed on")


def balanced_clips(songs: pd.DataFrame, count: int) -> pd.DataFrame:
    """``count`` clips, as many from each quadrant as possible, the first by name in each (a quick run)."""
    per = max(1, count // songs["quadrant"].nunique())
    return songs.sort_index().groupby("quadrant", group_keys=False).head(per)


def linked_clips(songs: pd.DataFrame, folder) -> Path:
    """A fresh folder of links to ``songs``' audio files, one subfolder per quadrant (what the tools read)."""
    import shutil

    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    for name, row in songs.iterrows():
        target = folder / str(row["quadrant"]) / Path(row["audio_path"]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(Path(row["audio_path"]).resolve())
    return folder


def joined_songs(songs: pd.DataFrame, per_song: int, folder, seed: int = 0) -> tuple[Path, float]:
    """Full-length stand-ins for the speed run: MP3s of ``per_song`` clips each, end to end (8 x 30 s: 4 minutes),
    drawn without replacement; returns the folder and the seconds of audio.  For speed only: a joined file has no
    one quadrant to score."""
    import shutil

    import numpy as np
    import soundfile as sf

    from ..corpus.audio import load_audio

    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    order = np.random.default_rng(seed).permutation(len(songs))
    seconds, sr = 0.0, int(sf.info(str(songs["audio_path"].iloc[0])).samplerate)
    for k in range(len(songs) // per_song):
        parts = [load_audio(songs["audio_path"].iloc[i], sr=sr) for i in order[k * per_song:(k + 1) * per_song]]
        audio = np.concatenate(parts)
        sf.write(str(folder / f"joined_{k:03d}.mp3"), audio, sr, format="MP3")
        seconds += len(audio) / sr
    return folder, seconds


def out_of_fold(bundle_raw: dict, corpus: str = "4q") -> pd.DataFrame | None:
    """The out-of-fold predictions a bundle carries for ``corpus`` (``valence``, ``arousal`` by clip), or None."""
    entry = (bundle_raw.get("out_of_fold") or {}).get(corpus)
    if not entry:
        return None
    return pd.DataFrame({"valence": entry["valence_mean"], "arousal": entry["arousal_mean"]},
                        index=pd.Index(entry["item"], name="song"))


def score(run: ToolRun, songs: pd.DataFrame, audio_seconds: float) -> dict:
    """One row of the peer table: AUCs with intervals over artists, ρ(valence, arousal), speed."""
    from scipy.stats import spearmanr

    from ..results.classification import auc_interval

    shared = [s for s in run.predictions.index if s in songs.index]
    part, clips = run.predictions.loc[shared], songs.loc[shared]
    groups = clips["artist_group"].astype(str).to_numpy()
    row = {"tool": run.tool, "trained on": run.trained_on, "scored on": run.scored_on, "clips": len(shared),
           "failed": run.failed}
    for target, sign in (("valence", "valence_positive"), ("arousal", "arousal_high")):
        result = auc_interval(clips[sign].to_numpy(dtype=bool), part[target].to_numpy(), groups=groups)
        row.update({f"{target}_auc": result["auc"], f"{target}_low": result["low"], f"{target}_high": result["high"]})
    row["spearman"] = float(spearmanr(part["valence"], part["arousal"]).statistic)
    row["seconds"] = run.seconds
    row["x_real_time"] = audio_seconds / run.seconds if run.seconds > 0 else np.nan
    return row


def paired_to(runs: list[ToolRun], songs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each tool's AUC minus ``reference``'s (vibenet) on the same clips, with the paired interval over artists."""
    from ..results.classification import paired_auc_difference

    base = next((r for r in runs if r.tool == reference), None)
    rows = []
    for run in runs:
        if base is None or run is base:
            continue
        shared = [s for s in run.predictions.index if s in base.predictions.index and s in songs.index]
        groups = songs.loc[shared, "artist_group"].astype(str).to_numpy()
        for target, sign in (("valence", "valence_positive"), ("arousal", "arousal_high")):
            d = paired_auc_difference(songs.loc[shared, sign].to_numpy(dtype=bool), run.predictions.loc[shared, target],
                                      base.predictions.loc[shared, target], groups=groups)
            rows.append({"tool": run.tool, "target": target, "minus": reference, **d})
    return pd.DataFrame(rows)


def markdown_table(rows: pd.DataFrame) -> str:
    """The README's peer table: one line per tool, AUCs with intervals, ρ, speed."""
    lines = ["| tool | trained on | valence AUC [95% CI] | arousal AUC [95% CI] | ρ(valence, arousal) | x real time |",
             "|---|---|---|---|---|---:|"]
    for _, r in rows.iterrows():
        note = "" if r["scored on"] == "its own predictions" else f" ({r['scored on']})"
        lines.append(f"| {r['tool']} | {r['trained on']}{note} | {r['valence_auc']:.2f} [{r['valence_low']:.2f}, "
                     f"{r['valence_high']:.2f}] | {r['arousal_auc']:.2f} [{r['arousal_low']:.2f}, "
                     f"{r['arousal_high']:.2f}] | {r['spearman']:.2f} | {r['x_real_time']:.0f}x |")
    return "\n".join(lines)


def differences_table(rows: pd.DataFrame) -> str:
    """Each tool minus the reference, as Markdown lines with the verdict from the paired interval."""
    lines = ["| tool | target | minus | difference [95% CI] | verdict |", "|---|---|---|---|---|"]
    for _, r in rows.iterrows():
        verdict = ("better" if r["low"] > 0 else "worse" if r["high"] < 0 else "no detectable difference")
        lines.append(f"| {r['tool']} | {r['target']} | {r['minus']} | {r['difference']:+.2f} [{r['low']:+.2f}, "
                     f"{r['high']:+.2f}] | {verdict} |")
    return "\n".join(lines)


def precision_setting() -> str:
    """The precision this process's torch runs musicnn in, in words (``float32 (torch held to AVX2)``, ...)."""
    from ..training.runtime import resolve_precision

    if os.environ.get("ATEN_CPU_CAPABILITY", "").lower() == "avx2":
        return "float32 (torch held to AVX2)"
    return resolve_precision("auto")


def record_run(path, songs: str, cpu: str, clips: str, rows: list[dict], differences: list[dict] | None = None):
    """Keep one benchmark run in the JSON record at ``path`` under ``<songs>, <precision>``, atomically, beside the
    runs of other settings: the CPU, the date, the command, the clips, and the tables' rows."""
    import datetime
    import json

    from ..cache import write_json_atomic

    path = Path(path)
    record = json.loads(path.read_text()) if path.is_file() else {}
    record[f"{songs}, {precision_setting()}"] = {
        "cpu": cpu, "date": datetime.date.today().isoformat(), "clips": clips,
        "command": " ".join(["benchmarks/bench_peers.py", *sys.argv[1:]]),
        "rows": rows, "differences": differences or []}
    write_json_atomic(path, dict(sorted(record.items())))
