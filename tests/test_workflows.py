"""The GitHub workflows: actionlint finds nothing, the CI build deploys nothing, the real book's job is as the book's
reproduce page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def workflow(name: str) -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())


def test_every_workflow_passes_actionlint():
    actionlint = Path(sys.executable).parent / "actionlint"
    assert actionlint.is_file(), f"{actionlint} is missing: it is pinned in pyproject.toml (make venv installs it)"
    assert {w.name for w in WORKFLOWS} >= {"book.yml", "real-book.yml"}
    run = subprocess.run([str(actionlint), "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_ci_build_checks_the_book_on_every_push_and_publishes_nothing():
    book = workflow("book.yml")
    assert "push" in book[True] and "pull_request" in book[True]  # PyYAML reads the key `on` as True
    text = (REPO / ".github" / "workflows" / "book.yml").read_text()
    assert "make check-book" in text and "deploy-pages" not in text and "pages: write" not in text


def test_the_real_book_is_built_on_demand_and_weekly_and_its_timeout_is_the_reproduce_page_s():
    real = workflow("real-book.yml")
    assert "workflow_dispatch" in real[True] and real[True]["schedule"]
    steps = [step.get("run", "") + step.get("uses", "") for step in real["jobs"]["build"]["steps"]]
    assert any("make real-book" in s for s in steps) and any("ghp-import" in s and "executed" in s for s in steps)
    assert any(s.startswith("actions/deploy-pages") for s in
               (step.get("uses", "") for step in real["jobs"]["deploy"]["steps"]))
    timeout = real["jobs"]["build"]["timeout-minutes"]
    reproduce = (REPO / "book" / "reproduce.md").read_text()
    assert re.search(rf"timeout-minutes: {timeout}\b", reproduce), "the reproduce page states the job's timeout and why"
