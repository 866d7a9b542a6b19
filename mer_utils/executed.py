"""The executed notebooks as a tree of their own: what the book's launch buttons open.

Used by: ``make check-book`` and ``make real-book`` (``python -m mer_utils executed-tree``), and the workflow
that publishes the book (``.github/workflows/real-book.yml``), which pushes this tree to the branch the buttons
name.

The Binder and Colab buttons on a page of the site open
``<repository>/blob/<branch>/book/<page>.ipynb``, with the repository and branch of ``_config.yml``
(``repository: url:`` and ``branch:``).  The executed notebooks are build outputs, ignored by git on the main
branch, so the buttons name a branch of their own (``executed``) that holds exactly them, at the paths the
buttons use, with a README that says what they are.  :func:`write_executed_tree` lays that tree out; the
browser check (``scripts/check_book.py --published``) opens every button's target in it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from .errors import MerError

BRANCH_README = """# The executed notebooks of the book

This branch holds one executed notebook per page of the published book, at the path each page's launch
buttons (Binder, Colab) open: `book/<part>/<page>.ipynb`.  It is written by the workflow that builds and
publishes the book (`make real-book`, `.github/workflows/real-book.yml`) and replaced whole at each run.

These are outputs.  The pages' sources are the jupytext notebooks `notebooks/*.py` on the main branch: edit
those (`make lab` opens them as notebooks), then rebuild with `make book`.  Re-running one of these notebooks
needs the repository's package (`mer_utils`) and the data the book was built on; see `book/reproduce.md`.
"""


def write_executed_tree(target, pages) -> list[Path]:
    """Lay out ``target`` as the executed branch: each page (``book/...ipynb``) at its own path, and a README.

    ``target`` is replaced whole, and only once the new tree is complete.  A page that is missing is an error
    naming it: a button would lead to it.  Returns the paths written, relative to ``target``.
    """
    target = Path(target)
    pages = [Path(p) for p in pages]
    missing = [str(p) for p in pages if not p.is_file()]
    if missing:
        raise MerError(f"executed notebook(s) {', '.join(missing)} not found: run 'make book' first.")
    outside = [str(p) for p in pages if p.is_absolute() or ".." in p.parts or p.suffix != ".ipynb"]
    if outside:
        raise MerError(f"{', '.join(outside)}: give the executed pages as book/<part>/<page>.ipynb, "
                       "relative to the repository root.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for page in pages:
            (fresh / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(page, fresh / page)
        (fresh / "README.md").write_text(BRANCH_README)
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            os.replace(target, old)
        os.replace(fresh, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return [*pages, Path("README.md")]


def main(argv=None) -> int:
    """``python -m mer_utils executed-tree <target> <page.ipynb> ...``."""
    parser = argparse.ArgumentParser(prog="python -m mer_utils executed-tree", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="the folder to lay out (replaced whole), e.g. build/executed")
    parser.add_argument("pages", nargs="+", help="the executed pages, book/<part>/<page>.ipynb")
    args = parser.parse_args(argv)
    written = write_executed_tree(args.target, args.pages)
    print(f"{args.target}: {len(written) - 1} executed notebook(s) and README.md, the tree the launch buttons open")
    return 0
