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
