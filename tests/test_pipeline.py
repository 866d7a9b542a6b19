"""Running notebooks, parameter files and the command line's error paths."""

import json
import subprocess
import time

import pytest
from conftest import REPO

from mer_utils.__main__ import main
from mer_utils.errors import MerError
from mer_utils.pipeline import run_notebook, write_params


def test_params_file_is_rewritten_only_when_a_value_changes(tmp_path):
    path = tmp_path / "p.json"
    assert write_params(path, ["a=1", "b=text", "c=true"])
    assert json.loads(path.read_text()) == {"a": 1, "b": "text", "c": True}
    before = path.stat().st_mtime_ns
    time.sleep(0.01)
    assert not write_params(path, ["c=true", "b=text", "a=1"])
    assert path.stat().st_mtime_ns == before
    assert write_params(path, ["a=2", "b=text", "c=true"])


def test_failing_notebook_names_the_cell_and_writes_nothing_to_the_book(tmp_path):
    source = tmp_path / "broken.py"
    source.write_text(
        '# %% tags=["parameters"]\nx = 1\n\n# %%\ny = x + 1\n\n# %%\nraise ValueError("boom at " + str(y))\n'
    )
    output = tmp_path / "book" / "broken.ipynb"
    with pytest.raises(MerError, match=r"broken.py failed in cell .*ValueError: boom at 2"):
        run_notebook(source, output, failed_dir=tmp_path / "failed")
    assert not output.exists()
    assert (tmp_path / "failed" / "broken.ipynb").exists()
    assert not list(output.parent.glob("*")), "a temporary file was left in the book"


def test_notebook_runs_with_parameters(tmp_path):
    source = tmp_path / "ok.py"
    source.write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nprint("x is", x)\n')
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"x": 41}))
    output = tmp_path / "ok.ipynb"
    run_notebook(source, output, params)
    assert "x is 41" in output.read_text()


def test_cli_prints_one_line_errors_and_exits_non_zero(tmp_path, capsys):
    assert (
        main(["prepare", "--data", "synth", "--data-dir", str(tmp_path / "missing"), "--results-dir", str(tmp_path)])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("error: DEAM_DIR") and "missing" in err
    assert main(["frobnicate"]) == 1
    assert not (tmp_path / "split.csv").exists()


def test_make_rejects_unknown_data_value():
    run = subprocess.run(["make", "-n", "book", "DATA=dem"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0
    assert "Unknown DATA='dem'" in run.stderr and "DATA=synth" in run.stderr


def test_make_requires_deam_dir_with_deam():
    run = subprocess.run(["make", "-n", "book", "DATA=deam"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0 and "DEAM_DIR" in run.stderr


def test_prepare_on_the_real_sample_writes_split_and_report(deam_sample, tmp_path):
    assert main(["prepare", "--data", "deam", "--data-dir", str(deam_sample), "--results-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "corpus.json").read_text())
    assert summary["songs"] == 10 and len(summary["missing_audio"]) == 1734
    assert (tmp_path / "split.csv").exists()


def test_a_misspelt_parameter_stops_the_notebook_before_it_runs(tmp_path):
    source = tmp_path / "ok.py"
    source.write_text('# %% tags=["parameters"]\nepochs = None\n\n# %%\nprint("ran with", epochs)\n')
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"epocs": 3}))
    output = tmp_path / "book" / "ok.ipynb"
    with pytest.raises(MerError, match="has no parameter\\(s\\) epocs"):
        run_notebook(source, output, params, failed_dir=tmp_path / "failed")
    assert not output.exists()
