"""Building books in copies of the repository, for the end-to-end tests.

A book test works in a copy of the working tree (its generated outputs left
out, the virtualenv shared by a link), so that it never touches the checkout's
own book.  The tiny synthetic book is built once per test session (the
``tiny_book`` fixture in conftest.py) and each test that needs it works on its
own copy (:func:`copy_book`): building it is most of what those tests cost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUICK = ["SYNTH_SONGS=24", "SYNTH_SECONDS=8", "SYNTH_SR=22050", "P1_GRID=small", "P2_EPOCHS=2", "P3_EPOCHS=3"]
# make real-book's quick settings: the 10-clip DEAM sample and about 20 4Q clips, one look at each page.
REAL_QUICK = ["P1_GRID=small", "P2_EPOCHS=1", "P3_EPOCHS=2", "FOURQ_SPLITS=3", "FOURQ_REPEATS=1", "CHECK_WIDTHS=1024"]
GENERATED = {".venv", "data", "cache", "results", "build", "_build", ".git", ".pytest_cache", "weights"}


def copy_repo(target: Path) -> Path:
    """Copy the working tree (not its generated outputs) and share the virtualenv."""

    def ignore(folder, names):
        top = Path(folder).resolve() == REPO  # mer_utils/results/ is source, results/ is generated
        skip = {n for n in names if (top and n in GENERATED) or n == "__pycache__" or n.endswith(".egg-info")}
        if Path(folder).resolve().is_relative_to(REPO / "book"):
            skip |= {n for n in names if n.endswith(".ipynb")}
        return skip

    shutil.copytree(REPO, target, ignore=ignore)  # copy2 keeps times, so the venv stays up to date
    os.symlink(REPO / ".venv", target / ".venv")
    return target


def copy_book(built: Path, target: Path) -> Path:
    """A copy of a built book's repository: its pages, caches and results, with the files' times kept
    (so that Make finds it as up to date as the original) and the virtualenv link kept as a link."""
    shutil.copytree(built, target, symlinks=True)
    return target


def make_environment() -> dict[str, str]:
    """This process's environment without the flags of a `make` above it (`make test` passes its
    jobserver, whose pipes a child of pytest does not hold), so that each test's `make` runs as the
    README's command does."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def make(repo: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    run = subprocess.run(["make", *args], cwd=repo, capture_output=True, text=True, timeout=timeout,
                         env=make_environment())
    assert run.returncode == 0, f"make {' '.join(args)} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return run


def html(repo: Path, page: str) -> str:
    return (repo / "_build" / "html" / page).read_text()


def notebooks_run(run: subprocess.CompletedProcess) -> set[str]:
    """The notebooks a `make` run executed."""
    return set(re.findall(r"run-notebook (\S+)", run.stdout))


def page_tables(page: Path) -> list[str]:
    """The HTML tables an executed notebook shows, without the random ids pandas gives a styled table."""
    outputs = [o for cell in json.loads(page.read_text())["cells"] for o in cell.get("outputs", [])]
    tables = ["".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})]
    return [re.sub(r"T_[0-9a-f]{5}", "T_", t) for t in tables if "<table" in t]
