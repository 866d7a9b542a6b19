"""The executed tree (mer_utils.executed): the branch the launch buttons open, laid out from the executed pages."""

from __future__ import annotations

import pytest

from mer_utils.errors import MerError
from mer_utils.executed import main, write_executed_tree


def test_the_tree_holds_each_page_at_its_own_path_and_a_readme_and_is_replaced_whole(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for page in ("book/phase1/eda.ipynb", "book/realmusic/fourq.ipynb"):
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text(f'{{"page": "{page}"}}')
    (tmp_path / "build" / "executed" / "book").mkdir(parents=True)
    (tmp_path / "build" / "executed" / "book" / "stale.ipynb").write_text("{}")  # a page this build did not run
    assert main(["build/executed", "book/phase1/eda.ipynb", "book/realmusic/fourq.ipynb"]) == 0
    tree = tmp_path / "build" / "executed"
    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()) == [
        "README.md", "book/phase1/eda.ipynb", "book/realmusic/fourq.ipynb"]
    assert (tree / "book/phase1/eda.ipynb").read_text() == '{"page": "book/phase1/eda.ipynb"}'
    assert "notebooks/*.py" in (tree / "README.md").read_text()
    assert "2 executed notebook(s)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["executed"], "no temporary folder left"


def test_a_missing_page_is_named_and_the_old_tree_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "build" / "executed").mkdir(parents=True)
    (tmp_path / "build" / "executed" / "README.md").write_text("old")
    with pytest.raises(MerError, match="book/phase3/panns.ipynb not found: run 'make book' first"):
        write_executed_tree("build/executed", ["book/phase3/panns.ipynb"])
    assert (tmp_path / "build" / "executed" / "README.md").read_text() == "old"
