"""pyproject.toml and environment.yml pin the same versions."""

import re
import tomllib

from conftest import REPO


def pins_from_pyproject():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps)


def pins_from_environment():
    pins = {}
    for line in (REPO / "environment.yml").read_text().splitlines():
        match = re.match(r"\s*-\s*([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def test_every_dependency_is_pinned_exactly_and_the_lists_agree():
    pyproject = pins_from_pyproject()
    assert len(pyproject) == len(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    assert pyproject == pins_from_environment()
    for required in (
        "jupyter-book",
        "jupytext",
        "papermill",
        "librosa",
        "torch",
        "panns-inference",
        "xgboost-cpu",
        "shap",
        "seaborn",
        "scikit-learn",
        "ipykernel",
        "tqdm",
        "pytest",
    ):
        assert required in pyproject, required
    assert pyproject["torch"] == "2.13.0"
    assert pyproject["jupyter-book"].startswith("1.")


def test_the_tiny_book_tests_share_one_pytest_xdist_worker(tmp_path):
    """`make test`'s `-n 2 --dist loadgroup` with tests/grouping.py: tests that use ``tiny_book`` run on one worker
    (their ids carry ``@tiny_book``), so the book is built once, not once per worker."""
    import os
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text(
        'import os\nimport pytest\npytest_plugins = ["grouping"]\n\n\n'
        '@pytest.fixture(scope="session")\ndef tiny_book():\n    return os.getpid()\n')
    (tmp_path / "test_group.py").write_text(
        "import os\n\n\n"
        + "".join(f"def test_book_{i}(tiny_book):\n    assert tiny_book == os.getpid()\n\n\n" for i in range(4))
        + "".join(f"def test_other_{i}():\n    pass\n\n\n" for i in range(4)))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
                          "-v", "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO / "tests")})
    assert run.returncode == 0, run.stdout[-3000:]
    passed = [line.split() for line in run.stdout.splitlines() if "PASSED" in line and "test_book_" in line]
    assert len(passed) == 4 and all(words[-1].endswith("@tiny_book") for words in passed), run.stdout[-3000:]
    assert len({words[0] for words in passed}) == 1, f"the tiny book's tests ran on several workers:\n{run.stdout}"
