"""Running notebooks, parameter files and the command line's error paths."""

import json
import re
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


# ----------------------------------------------------------------- executed notebook -> page (mer_utils.pagebuild)
def executed_notebook():
    """A small executed notebook as papermill leaves it: parameters, injected parameters, code, a lesson."""
    import nbformat

    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# A page"),
        v4.new_code_cell("data = None\nepochs = None\nmodel_name = 'EmotionCNN'\nseed = None",
                         metadata={"tags": ["parameters"]}),
        v4.new_code_cell('# Parameters\ndata = "synth"\nepochs = 2\n', metadata={"tags": ["injected-parameters"]}),
        v4.new_code_cell("page = start_page(data)", outputs=[
            v4.new_output("stream", name="stderr", text="INFO mer_utils.corpus.deam: 24 songs\n"),
            v4.new_output("display_data", data={"text/html": "<div>banner</div>"}),
            v4.new_output("stream", name="stdout", text="2,120,929 trainable parameters\n"),
            v4.new_output("display_data", data={"text/markdown": "", "text/plain": "<IPython.core.display.Markdown"
                                                                                  " object>"}),
        ]),
        v4.new_code_cell("model = build_model(model_name)", metadata={"tags": ["show-input"]}),
        v4.new_code_cell("secret = 1", metadata={"tags": ["remove-cell"]}),
    ]
    return v4.new_notebook(cells=cells)


DECLARED = {  # as papermill.inspect_notebook reports the parameters cell above
    "data": {"name": "data", "default": "None"},
    "epochs": {"name": "epochs", "default": "None"},
    "model_name": {"name": "model_name", "default": "'EmotionCNN'"},
    "seed": {"name": "seed", "default": "None"},
}


def tags_of(notebook):
    return {cell.source.splitlines()[0]: cell.metadata.get("tags", []) for cell in notebook.cells}


def test_every_code_cell_is_folded_except_the_lesson_and_cells_already_placed():
    from mer_utils.pagebuild import prepare_page

    tags = tags_of(prepare_page(executed_notebook(), {"data": "synth", "epochs": 2}, DECLARED))
    assert tags["page = start_page(data)"] == ["hide-input"]
    assert tags["model = build_model(model_name)"] == ["show-input"], "the lesson's code stays in view"
    assert tags["secret = 1"] == ["remove-cell"], "a removed cell is not also folded"
    assert tags["# A page"] == [], "markdown cells are text"


def test_papermills_cell_and_the_parameters_cell_leave_the_page_for_one_sentence_after_them():
    from mer_utils.pagebuild import prepare_page

    page = prepare_page(executed_notebook(), {"data": "synth", "epochs": 2}, DECLARED)
    tags = tags_of(page)
    assert tags["# Parameters"] == ["injected-parameters", "remove-cell"]
    assert tags["data = None"] == ["parameters", "remove-cell"]
    notes = [i for i, cell in enumerate(page.cells) if "run-parameters" in cell.metadata.get("tags", [])]
    assert notes == [3], "one parameters sentence, right after papermill's cell"
    assert page.cells[3].cell_type == "markdown"
    assert page.cells[3].source == ("**Parameters.** This page ran with `data='synth'`, `epochs=2` and "
                                    "`model_name='EmotionCNN'`; `seed` at the package default.")
    import nbformat

    nbformat.validate(page)  # the new cell is a valid nbformat 4 cell


def test_log_lines_on_stderr_and_empty_notes_are_dropped_and_every_other_output_kept():
    from mer_utils.pagebuild import prepare_page

    page = prepare_page(executed_notebook(), {}, DECLARED)
    outputs = next(c for c in page.cells if c.source.startswith("page =")).outputs
    assert [o.get("name", o.output_type) for o in outputs] == ["display_data", "stdout"]


def test_preparing_a_page_twice_changes_nothing():
    from mer_utils.pagebuild import prepare_page

    once = prepare_page(executed_notebook(), {"data": "synth"}, DECLARED)
    twice = prepare_page(prepare_page(executed_notebook(), {"data": "synth"}, DECLARED), {"data": "synth"}, DECLARED)
    assert [(c.source, c.metadata.get("tags")) for c in twice.cells] == [
        (c.source, c.metadata.get("tags")) for c in once.cells]


def test_the_parameters_sentence_names_package_defaults_and_quotes_odd_values():
    from mer_utils.pagebuild import effective_parameters, parameters_sentence

    assert parameters_sentence({"data": None, "seed": None}) == (
        "**Parameters.** This page ran with the package default for `data` and `seed`.")
    assert parameters_sentence({}) == "**Parameters.** This page has no parameters."
    assert parameters_sentence({"grid": "a`b"}) == "**Parameters.** This page ran with ``grid='a`b'``."
    # passed values win over declared defaults; a default that is not a literal stays as written
    assert effective_parameters({"epochs": "report"}, {"epochs": {"default": "None"}, "n": {"default": "2 ** 3"}}) == {
        "epochs": "report", "n": "2 ** 3"}


def test_an_executed_notebook_reaches_the_book_folded_with_its_parameters_stated_and_warnings_shown(tmp_path):
    import nbformat

    source = tmp_path / "ok.py"
    source.write_text('# %% tags=["parameters"]\nx = 1\nlabel = None\n\n# %%\nimport logging\n'
                      'from mer_utils.page import configure_logging\nconfigure_logging()\n'
                      'logging.getLogger("mer_utils.demo").info("a progress note")\n'
                      'logging.getLogger("mer_utils.demo").warning("3 songs skipped <odd>")\n'
                      'logging.getLogger("mer_utils.demo").warning("a banner says it", extra={"on_page": True})\n'
                      'print("x is", x)\n')
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"x": 41}))
    output = tmp_path / "ok.ipynb"
    run_notebook(source, output, params)
    page = nbformat.read(output, as_version=4)
    kinds = [(c.cell_type, c.metadata.get("tags", [])) for c in page.cells]
    assert kinds == [("code", ["parameters", "remove-cell"]), ("code", ["injected-parameters", "remove-cell"]),
                     ("markdown", ["run-parameters"]), ("code", ["hide-input"])]
    assert page.cells[2].source == "**Parameters.** This page ran with `x=41`; `label` at the package default."
    outputs = page.cells[3].outputs
    assert [o.get("name", o.output_type) for o in outputs] == ["display_data", "stdout"], "log lines: stderr, then out"
    warning = outputs[0].data["text/html"]
    assert 'class="admonition warning"' in warning and "3 songs skipped &lt;odd&gt;" in warning
    assert "a progress note" not in json.dumps(outputs) and "a banner says it" not in json.dumps(outputs)
    nbformat.validate(page)


def test_result_tables_set_words_from_the_left_and_leave_figures_to_the_right_aligned_css():
    import pandas as pd

    from mer_utils.results.tables import style_table

    table = pd.DataFrame({"model": ["Ridge"], "target": ["valence_mean"], "best_params": ['{"alpha": 1.0}'],
                          "test_r2": [0.41], "test_r2_low": [0.28], "test_r2_high": [0.52], "report_r2": [0.5]})
    html = style_table(table, caption="A").to_html()
    styled_columns = [int(n) for n in re.findall(r"\.col(\d+) \{\s*text-align: left;", html)]
    assert styled_columns == [0, 1, 2], "model, target and settings; the interval and report columns stay right"
    assert "0.41 [0.28, 0.52]" in html


def test_each_line_of_a_page_says_which_page_it_comes_from():
    import io

    from mer_utils.pipeline import PrefixedLines, page_prefix

    prefix = page_prefix("book/phase2/EmotionCNN_valence.ipynb")
    assert prefix == "[phase2/EmotionCNN_valence] "
    stream = io.StringIO()
    lines = PrefixedLines(stream, prefix)
    lines.write("first line\nsecond ")
    lines.write("half\n")
    lines.write("training:  50%\rtraining: 100%\n")
    assert stream.getvalue().splitlines() == [
        f"{prefix}first line", f"{prefix}second half", f"{prefix}training:  50%", f"{prefix}training: 100%"]
