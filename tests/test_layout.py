"""The book's layout agrees with itself: the table of contents, the Makefile, the package, the docstrings."""

from __future__ import annotations

import re

from conftest import REPO

from mer_utils.phase2.models import PHASE2_MODELS


def test_toc_makefile_and_package_list_the_same_phase2_models():
    toc = (REPO / "_toc.yml").read_text()
    in_toc = re.findall(r"book/phase2/(\w+)_(?:valence|arousal)\n", toc)
    makefile = (REPO / "Makefile").read_text()
    in_make = re.search(r"^P2_MODELS\s*:=\s*(.+)$", makefile, re.M).group(1).split()
    assert in_make == PHASE2_MODELS
    assert list(dict.fromkeys(in_toc)) == PHASE2_MODELS


def test_every_notebook_named_in_a_docstring_exists():
    named = set()
    for path in (REPO / "mer_utils").rglob("*.py"):
        named |= set(re.findall(r"notebooks/[\w]+\.py", path.read_text()))
    assert named, "no docstring names a notebook"
    missing = sorted(n for n in named if not (REPO / n).exists())
    assert not missing, f"docstrings name notebooks that do not exist: {missing}"


def test_every_package_module_says_which_notebook_uses_it():
    silent = [
        str(p.relative_to(REPO))
        for p in (REPO / "mer_utils").rglob("*.py")
        if p.name not in ("__main__.py", "errors.py") and "Used by" not in p.read_text()[:3000]
    ]
    assert not silent, f"modules without a 'Used by' line: {silent}"


def test_notebooks_define_no_functions():
    defining = [p.name for p in (REPO / "notebooks").glob("*.py") if re.search(r"^\s*def \w+\(", p.read_text(), re.M)]
    assert not defining, f"notebooks that define functions: {defining}"


def test_an_unknown_make_knob_reaches_no_notebook_silently(tmp_path):
    import pytest

    from mer_utils.errors import MerError
    from mer_utils.pipeline import check_parameters

    with pytest.raises(MerError, match="has no parameter\\(s\\) epocs; its parameters cell declares epochs, seed"):
        check_parameters("notebooks/x.py", {"epocs": 3, "seed": 1}, {"epochs": {}, "seed": {}})
    check_parameters("notebooks/x.py", {"epochs": 3}, {"epochs": {}, "seed": {}})  # known names pass


def test_every_mer_utils_import_of_the_benchmarks_and_scripts_resolves():
    """Benchmarks import inside main(): a renamed module would only show when someone runs them."""
    import ast
    import importlib

    broken = []
    for path in sorted([*(REPO / "benchmarks").glob("*.py"), *(REPO / "scripts").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mer_utils"):
                module = importlib.import_module(node.module)
                broken += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                           if not hasattr(module, a.name) and not _is_submodule(node.module, a.name)]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("mer_utils"):
                        importlib.import_module(alias.name)
    assert not broken, f"names the benchmarks and scripts import that the package lacks: {broken}"


def _is_submodule(package: str, name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"{package}.{name}") is not None


def test_every_notebook_reads_and_writes_back_unchanged_through_jupytext():
    """What JupyterLab does on open and save (tests/test_lab.py, slow), in a second: the header that keeps
    jupytext's version out of the file, and cells that survive the round trip."""
    import jupytext

    changed = [path.name for path in sorted((REPO / "notebooks").glob("*.py"))
               if jupytext.writes(jupytext.read(path), fmt="py:percent") != path.read_text()]
    assert not changed, f"copy the header of notebooks/phase3_panns.py into {changed}"
