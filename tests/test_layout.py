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


def _package_imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, at module level or inside a function."""
    import ast

    root = REPO / "mer_utils"
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                       else []))
                found |= {resolve(f"{base}.{a.name}") for a in node.names} | {resolve(base)}
            elif isinstance(node, ast.Import):
                found |= {resolve(a.name) for a in node.names}
        # a package's __init__ is not an edge: importing mer_utils.x.y runs mer_utils.x first, whoever asks
        graph[module] = {m for m in found if m and m != module and path.name != "__init__.py"
                         and modules[m].name != "__init__.py"}
    return graph


# None left: tf_checkpoint.py reads EXPECTED_SHAPES from musicnn_weights.py, which imports neither.
KNOWN_CIRCLES: list[set[str]] = []


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    graph = _package_imports()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(module):  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.get(module, ()):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(component)

    for module in graph:
        if module not in index:
            visit(module)
    unknown = [sorted(c) for c in circles if c not in KNOWN_CIRCLES]
    assert not unknown, f"import circles (move what both sides need down to the lower module): {unknown}"


# None left: predict/cli.py and phase3/musicnn.py were split along their concerns.
LONG_MODULES: set[str] = set()


def test_every_module_of_the_package_stays_short_enough_to_read_in_one_sitting():
    long = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in (REPO / "mer_utils").rglob("*.py")}
    over = {name: lines for name, lines in long.items() if lines > 460 and name not in LONG_MODULES}
    assert not over, f"modules over 460 lines: split them along their concerns: {over}"


def test_the_package_downloads_through_pooch_and_writes_no_http_client_of_its_own():
    speaking = [str(p.relative_to(REPO)) for p in (REPO / "mer_utils").rglob("*.py")
                if re.search(r"\burllib\b|\bhttp\.client\b", p.read_text())]
    assert not speaking, f"modules that speak HTTP themselves (use mer_utils.corpus.download): {speaking}"
