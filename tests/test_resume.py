"""A `make pages` killed in the middle of Phase 2 and started again re-runs only the unfinished pages.

In a copy of the session's tiny book (conftest.py's ``tiny_book``) whose last
Phase 2 pages are deleted, `make pages` runs until the first of them is written
again; while the next one runs, the whole process group gets SIGTERM, as a
terminal or a scheduler would send it.  The second `make pages` must finish the
book, leave every finished page untouched (same modification time: not
re-executed), reuse the caches (the corpus, the features, the log-mel chunks)
and leave no half-written page behind
(:func:`mer_utils.pipeline.remove_stale_temporaries`).  A slow test: about a
minute on 2 free cores, once the tiny book is built.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from books import QUICK, copy_book, make_environment

from mer_utils.cache import atomic_path
from mer_utils.pipeline import remove_stale_temporaries

REDONE = 3  # Phase 2 trainings deleted from the built book: two start at once, the third (killed) when one is written
RUN_NOTEBOOK = re.compile(r"run-notebook (\S+\.py) (\S+\.ipynb)")
TIMEOUT_S = 600


def start_make(repo: Path, log: Path) -> subprocess.Popen:
    """`make pages` in its own process group, its output going to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(["make", "pages", *QUICK], cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env=make_environment())


def wait_for(condition, process: subprocess.Popen, log: Path, what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"make stopped (exit {process.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"no {what} after {timeout} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def pages_in(folder: Path) -> set[str]:
    """Finished pages in ``folder`` (not the hidden temporary file of a page being written)."""
    return {p.name for p in folder.glob("*.ipynb") if not p.name.startswith(".")}


def pages_started(log: Path) -> list[str]:
    """The pages a make run started, in order (from its `run-notebook` lines)."""
    return [m.group(2) for m in RUN_NOTEBOOK.finditer(log.read_text())] if log.exists() else []


def phase2_started(log: Path) -> list[str]:
    return [page for page in pages_started(log) if page.startswith("book/phase2/")]


def mtimes(repo: Path, pattern: str) -> dict[str, int]:
    """Modification times (ns) of the files matching ``pattern``, hidden (temporary) files left out."""
    return {str(p.relative_to(repo)): p.stat().st_mtime_ns for p in repo.glob(pattern)
            if p.is_file() and not p.name.startswith(".")}


def processes_in(repo: Path) -> list[int]:
    """Ids of the processes whose working folder is inside ``repo`` (make, papermill, kernels, workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")).is_relative_to(repo):
                    found.append(int(entry.name))
            except OSError:  # gone, or not ours to read
                continue
    return found


def stop_leftovers(repo: Path, timeout: float = 30) -> list[int]:
    """Wait for the killed run's processes to end; SIGKILL any still there after ``timeout`` (and return them)."""
    deadline = time.monotonic() + timeout
    while processes_in(repo) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = processes_in(repo)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def test_a_page_run_first_removes_only_its_own_half_written_file(tmp_path):
    page = tmp_path / "book" / "EmotionCNN_valence.ipynb"
    other = tmp_path / "book" / ".EmotionCNN_valence_x.abcdefgh.tmp.ipynb"  # another page's, left alone
    with atomic_path(page) as half_written:  # the name atomic_path gives a page's temporary file
        other.write_text("{}")
        assert remove_stale_temporaries(page) == [half_written]
        assert not half_written.exists() and other.exists()
        half_written.write_text("{}")  # so that atomic_path can finish
    assert page.exists() and remove_stale_temporaries(page) == [] and other.exists()


@pytest.mark.slow
def test_a_killed_make_resumes_with_only_the_unfinished_pages(tiny_book, tmp_path):
    repo = copy_book(tiny_book, tmp_path / "repo").resolve()
    trainings = sorted((repo / "book" / "phase2").glob("Emotion*.ipynb"), key=lambda p: p.stat().st_mtime_ns)
    assert len(trainings) == 8, trainings
    readers = ["book/phase2/summary.ipynb", "book/conclusions/comparison.ipynb", "book/phase4/dynamic.ipynb"]
    for page in trainings[-REDONE:] + [repo / name for name in readers]:
        page.unlink()  # the last trainings Make wrote, and the pages that read them: as if killed before them
    kept = pages_in(repo / "book" / "phase2")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_make(repo, first_log)
    try:
        wait_for(lambda: pages_in(repo / "book" / "phase2") - kept, first, first_log, "first Phase 2 page")
        # Make runs two pages at a time: the page to kill is one started after that first page was written
        started = len(phase2_started(first_log))
        wait_for(lambda: len(phase2_started(first_log)) > started, first, first_log, "next Phase 2 page")
        killed_page = phase2_started(first_log)[-1]
        time.sleep(3)  # into the page: the kernel runs its cells
        assert first.poll() is None, "make finished before it could be killed"
        os.killpg(first.pid, signal.SIGTERM)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    leftovers = stop_leftovers(repo)
    assert not leftovers, f"processes of the killed run still running 30 s after SIGTERM: {leftovers}"
    assert not (repo / killed_page).exists(), "the page being executed when make was killed must not exist"

    pages_before = mtimes(repo, "book/**/*.ipynb")
    caches_before = mtimes(repo, "cache/**/*")
    data_before = mtimes(repo, "data/**/*.json") | mtimes(repo, "results/*/split.csv")
    assert len(pages_before) >= 5 and killed_page not in pages_before
    assert any("logmel" in name and name.endswith("chunks.npy") for name in caches_before), caches_before

    second = start_make(repo, second_log)
    try:
        second.wait(timeout=TIMEOUT_S)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
    assert second.returncode == 0, f"the resumed make failed:\n{second_log.read_text()[-4000:]}"

    rerun = pages_started(second_log)
    assert killed_page in rerun, rerun
    assert not set(rerun) & set(pages_before), f"finished pages executed again: {set(rerun) & set(pages_before)}"
    pages_after = mtimes(repo, "book/**/*.ipynb")
    assert {k: pages_after[k] for k in pages_before} == pages_before, "a finished page was rewritten"
    assert set(pages_after) - set(pages_before) >= {killed_page, "book/phase2/summary.ipynb"}
    caches_after = mtimes(repo, "cache/**/*")
    assert {k: caches_after.get(k) for k in caches_before} == caches_before, "a cache was rebuilt"
    assert (mtimes(repo, "data/**/*.json") | mtimes(repo, "results/*/split.csv")) == data_before
    half_written = [str(p.relative_to(repo)) for p in repo.glob("book/**/.*.tmp*")]
    assert not half_written, f"temporary files of the killed page were left in the book: {half_written}"
