"""scripts/check_book.py in a real browser, on a tiny hand-written site (no book build).

Needs Chromium and chromedriver (apt-get install chromium chromium-driver, or CHECK_BOOK_CHROMIUM and
CHECK_BOOK_CHROMEDRIVER naming other binaries); skipped without them.
"""
from __future__ import annotations

import base64
import importlib.util
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def load_checker():
    spec = importlib.util.spec_from_file_location("check_book", REPO / "scripts" / "check_book.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_book = load_checker()

# A 2x2 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==")

# The nesting of sphinx-book-theme 1.3 (jupyter-book 1.0.4) and myst-nb's cells, reduced to the bones.
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
  body {{ margin: 0; font-family: sans-serif; }}
  .bd-main {{ display: flex; flex-direction: column; min-width: 0; }}
  .bd-article-container {{ width: 100%; max-width: 60em; overflow-x: auto; padding: 1rem; box-sizing: border-box; }}
  .pst-scrollable-table-container {{ overflow-x: auto; }}
</style></head>
<body><main class="bd-main"><div class="bd-content"><div class="bd-article-container">
<article class="bd-article"><h1 id="top">{title}</h1>
{body}
</article></div></div></main></body></html>
"""

HIDDEN_CELL = """<div class="cell docutils container tag_hide-input">
<details class="hide above-input"><summary>Show code cell source</summary>
<div class="cell_input docutils container"><pre>import pandas as pd</pre></div></details>
<div class="cell_output docutils container"><p>an output</p></div></div>"""

SHOWN_ON_PURPOSE = """<div class="cell docutils container tag_show-input">
<div class="cell_input docutils container"><pre>model.fit(x, y)</pre></div></div>"""

SITE = {
    "index.html": f"""<p>A clean page: <a href="overflow.html">a page</a>, <a href="#top">an anchor</a>,
        <a href="sub/">a folder</a>, <a href="https://example.org/elsewhere">another site</a>.</p>
        <img src="_images/fig.png" alt="a figure" width="200">
        <table><tr><th>model</th><th>R2</th></tr><tr><td>SVR</td><td>0.41</td></tr></table>
        {HIDDEN_CELL}{SHOWN_ON_PURPOSE}
        <pre>WARNING this is prose, not a log line</pre>""",
    "sub/index.html": "<p>A page in a folder.</p>",
    "overflow.html": """<div class="pst-scrollable-table-container"><table><caption>Too wide</caption>
        <tr><th>a</th><td style="min-width: 3000px">far too wide</td></tr></table></div>""",
    "image.html": '<p>A figure that is not there:</p><img src="_images/missing.png" alt="lost figure">',
    "log.html": """<div class="cell docutils container tag_hide-input">
        <details class="hide above-input"><summary>Show code cell source</summary>
        <div class="cell_input docutils container"><pre>run()</pre></div></details>
        <div class="cell_output docutils container"><pre>INFO mer_utils.data: 200 songs with audio
done</pre></div></div>""",
    "code.html": """<div class="cell docutils container tag_injected-parameters">
        <div class="cell_input docutils container"><pre># Parameters
seed = 7</pre></div></div>
        <div class="cell docutils container"><div class="cell_input docutils container"><pre>x = 1
y = 2</pre></div></div>
        <p><a href="nowhere.html">a dead link</a> and <a href="index.html#no-such-anchor">a dead anchor</a></p>""",
    # The header buttons of sphinx-book-theme 1.3, each leading to the published book or not.
    "buttons.html": """<div class="article-header-buttons">
        <a class="btn dropdown-item" title="Launch on Binder"
           href="https://mybinder.org/v2/gh/OWNER/mer-book/executed?urlpath=tree/book/there.ipynb">Binder</a>
        <a class="btn dropdown-item" title="Launch on Colab"
           href="https://colab.research.google.com/github/OWNER/mer-book/blob/executed/book/gone.ipynb">Colab</a>
        <a class="btn dropdown-item" title="Launch on Colab"
           href="https://colab.research.google.com/github/OWNER/mer-book/blob/main/book/there.ipynb">Colab</a>
        <a class="btn dropdown-item" title="Source repository" href="https://github.com/OWNER/mer-book">repo</a>
        <a class="btn dropdown-item" title="Open an issue"
           href="https://github.com/OWNER/mer-book/issues/new?title=Issue">issue</a>
        <a class="btn dropdown-item" title="Download source file" href="_sources/there.ipynb">download</a>
        </div><p>A page with header buttons.</p>""",
}
# Redirect-only pages, like the root index.html of a Jupyter Book.
REDIRECTS = {"moved.html": "sub/index.html", "gone.html": "sub/missing.html"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = check_book.browser_missing()
    if reason:
        pytest.skip(f"no browser for the check: {reason}")
    root = tmp_path_factory.mktemp("site")
    for name, body in SITE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PAGE.format(title=name, body=body))
    for name, target in REDIRECTS.items():
        (root / name).write_text(f'<meta http-equiv="Refresh" content="0; url={target}" />')
    (root / "_images").mkdir()
    (root / "_images" / "fig.png").write_bytes(PNG)
    (root / "_sources").mkdir()
    (root / "_sources" / "there.ipynb").write_text("{}")
    (root / "search.html").write_text("<p>skipped: INFO x.y: not checked</p>")
    return root


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The executed branch's tree for the buttons page: book/there.ipynb is there, book/gone.ipynb is not."""
    tree = tmp_path_factory.mktemp("executed")
    (tree / "book").mkdir()
    (tree / "book" / "there.ipynb").write_text("{}")
    return check_book.PublishedTree(tree, "https://github.com/OWNER/mer-book", "executed")


@pytest.fixture(scope="module")
def problems(site, published, tmp_path_factory):
    shots = tmp_path_factory.mktemp("shots")
    found = check_book.check_site(site, widths=(1024,), out_dir=shots, published=published)
    return found, shots


def by_page(found, page):
    return [(p.kind, p.detail) for p in found if p.page == page]


def test_the_site_is_walked_without_search_and_index_pages(site):
    assert check_book.find_pages(site) == ["buttons.html", "code.html", "gone.html", "image.html", "index.html",
                                           "log.html", "moved.html", "overflow.html", "sub/index.html"]


def test_a_clean_page_has_no_problem(problems):
    found, _ = problems
    assert by_page(found, "index.html") == []
    assert by_page(found, "sub/index.html") == []
    assert by_page(found, "moved.html") == []


def test_a_redirect_to_a_missing_page_is_a_broken_link(problems):
    found, _ = problems
    assert by_page(found, "gone.html") == [("broken-link", "redirect to sub/missing.html -> no such page")]


def test_a_table_wider_than_its_container_is_reported(problems):
    found, _ = problems
    kinds = by_page(found, "overflow.html")
    assert [k for k, _ in kinds] == ["overflow"], kinds
    assert "Too wide" in kinds[0][1] and "pst-scrollable-table-container" in kinds[0][1]


def test_a_broken_image_is_reported(problems):
    found, _ = problems
    assert by_page(found, "image.html") == [("broken-image", "_images/missing.png (alt 'lost figure') failed to load")]


def test_a_log_line_is_reported(problems):
    found, _ = problems
    assert by_page(found, "log.html") == [("log-line", "INFO mer_utils.data: 200 songs with audio")]


def test_visible_code_injected_parameters_and_dead_links_are_reported(problems):
    found, _ = problems
    kinds = sorted(by_page(found, "code.html"))
    assert kinds == [
        ("broken-link", "index.html#no-such-anchor -> no anchor #no-such-anchor in index.html"),
        ("broken-link", "nowhere.html -> no such page nowhere.html"),
        ("injected-parameters", "cell 1: '# Parameters'"),
        ("visible-code", "cell 2, 2 line(s): 'x = 1'"),
    ]


def test_each_line_names_page_and_width(problems):
    found, _ = problems
    assert str(found[0]).startswith(f"{found[0].page} @1024px: {found[0].kind}: ")


def test_a_screenshot_per_page_and_width_but_redirects(problems, site):
    _, shots = problems
    names = sorted(p.name for p in shots.glob("*.png"))
    assert names == ["buttons@1024.png", "code@1024.png", "image@1024.png", "index@1024.png", "log@1024.png",
                     "overflow@1024.png", "sub__index@1024.png"]
    assert all((shots / n).read_bytes().startswith(b"\x89PNG") for n in names)


def test_the_command_line_fails_and_prints_a_summary(site, tmp_path, capsys):
    status = check_book.main(["--html", str(site), "--widths", "1400,1024", "--out", str(tmp_path / "shots")])
    out = capsys.readouterr().out
    assert status == 1
    assert "image.html @1400px: broken-image:" in out and "image.html @1024px: broken-image:" in out
    assert "9 page(s) x 2 width(s)" in out
    assert len(list((tmp_path / "shots").glob("*.png"))) == 14


def test_a_button_to_a_notebook_missing_from_the_published_tree_or_on_another_branch_is_reported(problems, published):
    found, _ = problems
    assert sorted(by_page(found, "buttons.html")) == [
        ("button-target", "'Launch on Colab' https://colab.research.google.com/github/OWNER/mer-book/blob/executed/"
                          "book/gone.ipynb -> no book/gone.ipynb on branch executed (not in "
                          f"{published.tree})"),
        ("button-target", "'Launch on Colab' https://colab.research.google.com/github/OWNER/mer-book/blob/main/"
                          "book/there.ipynb -> opens branch main, not executed, the branch that holds the executed "
                          "notebooks"),
    ]


def test_buttons_to_another_repository_or_of_an_unknown_kind_are_reported(published):
    assert "opens repository someone/else, not OWNER/mer-book" in published.problem(
        "https://colab.research.google.com/github/someone/else/blob/executed/book/there.ipynb")
    assert "not a button this check knows" in published.problem("https://example.org/launch?nb=book/there.ipynb")
    assert published.problem("https://github.com/OWNER/mer-book/issues/new?title=x") is None
    assert check_book.launch_target("https://mybinder.org/v2/gh/o/r/executed?urlpath=lab/tree/book/a%20b.ipynb") == (
        "o/r", "executed", "book/a b.ipynb")


def test_the_published_tree_takes_repository_and_branch_from_the_book_s_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/me/book/\n  branch: executed\n")
    tree = check_book.published_tree(tmp_path, config)
    assert (tree.repository, tree.branch) == ("https://github.com/me/book", "executed")
    assert check_book.published_tree(tmp_path, config, "https://github.com/you/book", "pages").branch == "pages"
    assert check_book.published_tree(tmp_path, REPO / "_config.yml").branch == "executed", "the book's own config"


def test_log_lines_are_told_from_prose():
    assert check_book.LOG_LINE.match("INFO mer_utils.data: 200 songs")             # mer_utils' format
    assert check_book.LOG_LINE.match("WARNING:root:something")                      # logging's default format
    assert not check_book.LOG_LINE.match("WARNING this is prose, not a log line")
    assert not check_book.LOG_LINE.match("Information: none")


def test_a_missing_browser_is_named():
    assert "chromium is not installed at /nowhere/chromium" in check_book.browser_missing("/nowhere/chromium")
