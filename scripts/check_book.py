#!/usr/bin/env python3
"""Check the built book in a real browser, as its readers see it.

Serves the built site (``_build/html``) on 127.0.0.1, opens every page in
headless Chromium at each width (1400 and 1024 px by default) and reports, one
line per problem naming the page and the width:

overflow             the content column (``.bd-article-container`` / ``article.bd-article``
                     of sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17, as installed by
                     jupyter-book 1.0.4.post1) or the page itself scrolls sideways, or a
                     table is wider than its container (``scrollWidth > clientWidth``)
visible-code         a notebook code cell whose source a reader sees
injected-parameters  papermill's "injected-parameters" cell is visible (source or output)
broken-image         an ``<img>`` that did not load (``naturalWidth == 0``)
broken-link          a link to a page of this site (or an anchor in it) that does not exist
log-line             a line of page text that looks like Python logging output
                     (``INFO mer_utils.data: ...``, also the default ``INFO:name:...``)
button-target        (with ``--published``) a button in a page's header (launch on Binder or Colab, source
                     repository, open an issue) that leads elsewhere than the published book: another
                     repository, another branch than the executed one, or a notebook that the published
                     tree of that branch does not hold.  The download buttons are links into the site,
                     checked as links.

Convention for code cells: notebook code is not part of the book's text, so
every code cell's source must be hidden (cell tag ``hide-input``: a "Show code
cell source" toggle, closed; or ``remove-input``/``remove-cell``: not in the
page at all). A cell whose code is meant to be read carries the tag
``show-input`` (jupytext: ``# %% tags=["show-input"]``); myst-nb turns every
tag into a ``tag_<name>`` class on the cell, and the check allows
``tag_show-input`` cells. Code blocks in markdown pages (``` ```bash ```) are
text and are not checked.

A full-page screenshot of every page at every width is saved as
``<out>/<page path with / as __>@<width>.png``.

Exit status: 0 no problem, 1 problems found, 2 the check could not run.

    python scripts/check_book.py                      # _build/html, 1400 and 1024 px, build/browser/
    python scripts/check_book.py --html /path/to/_build/html --widths 1400 1024 800 --out /tmp/shots
    python scripts/check_book.py --published build/executed   # and every button against the executed branch's tree

``--published`` names the tree of the branch the launch buttons open (``make check-book`` lays it out:
``mer_utils/executed.py``); the repository and that branch are read from ``_config.yml`` (``repository:
url:`` and ``branch:``) unless ``--repository`` and ``--branch`` say otherwise (the publishing workflow
passes the repository it runs in).

Needs ``selenium`` (pinned in pyproject.toml) and Chromium with its driver
(Debian/Ubuntu: ``apt-get install chromium chromium-driver``); elsewhere set
CHECK_BOOK_CHROMIUM and CHECK_BOOK_CHROMEDRIVER, or pass --chromium and --chromedriver.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

# Debian/Ubuntu's packages; CHECK_BOOK_CHROMIUM / CHECK_BOOK_CHROMEDRIVER (or --chromium /
# --chromedriver) point elsewhere, e.g. at Google Chrome and its driver.
CHROMIUM = os.environ.get("CHECK_BOOK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHECK_BOOK_CHROMEDRIVER", "/usr/bin/chromedriver")
# Headless and quiet: the build machines have no internet, and without these
# flags Chromium keeps trying to reach Google's services.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--force-device-scale-factor=1",
)
DEFAULT_WIDTHS = (1400, 1024)
VIEWPORT_HEIGHT = 900
MAX_SCREENSHOT_HEIGHT = 60000       # px; longer pages are cut (Chromium's limit is about 64k)
SKIP_PAGES = {"search.html", "genindex.html", "py-modindex.html"}
KINDS = ("overflow", "visible-code", "injected-parameters", "broken-image", "broken-link", "log-line", "button-target")
# As printed by mer_utils (format "%(levelname)s %(name)s: %(message)s") and by
# logging's default format ("%(levelname)s:%(name)s:%(message)s").
LOG_LINE = re.compile(r"^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)[ :]\S+:")
SHOW_INPUT_CLASS = "tag_show-input"
INJECTED_CLASS = "tag_injected-parameters"


@dataclass(frozen=True)
class Problem:
    kind: str
    page: str
    width: int
    detail: str

    def __str__(self) -> str:
        return f"{self.page} @{self.width}px: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class PublishedTree:
    """Where the header buttons of the book's pages must lead: the repository the book is published from, the
    branch its launch buttons open, and that branch's files (a folder laid out as the branch)."""

    tree: Path
    repository: str  # https://github.com/<owner>/<name>
    branch: str

    def problem(self, url: str) -> str | None:
        """What is wrong with a button that opens ``url``; None when it leads where the book is published."""
        own = urlsplit(self.repository.rstrip("/"))
        slug = own.path.strip("/")
        parts = urlsplit(url)
        opened = launch_target(url)
        if opened is None:
            same_site = (parts.scheme, parts.netloc) == (own.scheme, own.netloc)
            if same_site and (parts.path.strip("/") == slug or parts.path.startswith(f"/{slug}/issues")):
                return None
            return "not a button this check knows (source repository, issues, Binder, Colab)"
        repository, branch, path = opened
        if repository != slug:
            return f"opens repository {repository}, not {slug}, where the book is published"
        if branch != self.branch:
            return f"opens branch {branch}, not {self.branch}, the branch that holds the executed notebooks"
        if not (self.tree / path).is_file():
            return f"no {path} on branch {branch} (not in {self.tree})"
        return None


_LAUNCH_URLS = (  # (owner/name, branch, path) in the addresses the launch and source buttons open
    re.compile(r"^https://colab\.research\.google\.com/github/(?P<repo>[^/]+/[^/]+)/blob/(?P<branch>[^/]+)/"
               r"(?P<path>.+)$"),
    re.compile(r"^https://github\.com/(?P<repo>[^/]+/[^/]+)/(?:blob|edit)/(?P<branch>[^/]+)/(?P<path>.+)$"),
    re.compile(r"^https?://[^/]+/v2/gh/(?P<repo>[^/]+/[^/]+)/(?P<branch>[^/?]+)\?urlpath="
               r"(?:lab/tree|doc/tree|tree|notebooks)/(?P<path>[^&]+)$"),  # Binder
)


def launch_target(url: str) -> tuple[str, str, str] | None:
    """The repository (owner/name), branch and file a Binder, Colab or GitHub file button opens; None for others."""
    for pattern in _LAUNCH_URLS:
        match = pattern.match(url)
        if match:
            return match["repo"], match["branch"], unquote(match["path"])
    return None


def published_tree(tree: Path, config: Path, repository: str | None = None,
                   branch: str | None = None) -> PublishedTree:
    """The published tree, with the repository and branch of ``config`` (``_config.yml``) unless given."""
    import yaml

    settings = (yaml.safe_load(config.read_text()) or {}).get("repository", {}) if config.is_file() else {}
    repository = repository or settings.get("url")
    if not repository:
        raise ValueError(f"no repository: url: in {config}; pass --repository")
    return PublishedTree(Path(tree).resolve(), repository.rstrip("/"), branch or settings.get("branch") or "main")


# ----------------------------------------------------------------- the site
def find_pages(html_dir: Path) -> list[str]:
    """Every page of the built site, as paths relative to it (``book/phase1/eda.html``).

    Skips the search and index pages and Sphinx's own folders (``_static``,
    ``_sources``, ``_images``, hidden folders)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if any(part.startswith(("_", ".")) for part in rel.parts[:-1]) or rel.as_posix() in SKIP_PAGES:
            continue
        pages.append(rel.as_posix())
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """Serve html_dir on 127.0.0.1 at a free port; yields the base URL (ending in /)."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="check-book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ----------------------------------------------------------------- the browser
def browser_missing(chromium: str = CHROMIUM, chromedriver: str = CHROMEDRIVER) -> str | None:
    """Why the check cannot run here, or None when it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the Python package selenium is not installed (pip install -e . installs the pinned version)"
    for name, path in (("chromium", chromium), ("chromedriver", chromedriver)):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{name} is not installed at {path} (apt-get install chromium chromium-driver)"
    return None


@contextlib.contextmanager
def start_browser(chromium: str = CHROMIUM, chromedriver: str = CHROMEDRIVER) -> Iterator[object]:
    """A headless Chromium driven by chromedriver, with a fresh profile that is removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="check-book-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={max(DEFAULT_WIDTHS)},{VIEWPORT_HEIGHT}")
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _set_viewport(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


# Everything the reader sees, measured in the page.  Returns plain data; the
# rules that turn it into problems are in Python (check_page).
_MEASURE_JS = r"""
const SHOW = arguments[0], INJECTED = arguments[1];
const column = document.querySelector(".bd-article-container")
            || document.querySelector("article.bd-article, article, [role=main], main") || document.body;
const article = document.querySelector("article.bd-article") || column;
const visible = (el) => {
  if (!el || !el.isConnected) return false;
  if (el.checkVisibility && !el.checkVisibility({opacityProperty: true, visibilityProperty: true,
                                                  contentVisibilityAuto: true})) return false;
  // inside a closed <details> (a "Show code cell source" toggle) and not its summary: hidden
  const closed = el.closest("details:not([open])");
  if (closed && closed !== el && !closed.querySelector(":scope > summary")?.contains(el)) return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
const describe = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += "#" + el.id;
  const cls = [...el.classList].filter(c => !/^(docutils|container|notranslate)$/.test(c)).slice(0, 3);
  if (cls.length) s += "." + cls.join(".");
  return s;
};
const overflows = [];
const seen = new Set();
const over = (el) => el.scrollWidth > el.clientWidth + 1;
for (const el of [document.documentElement, column, article]) {
  if (el && !seen.has(el)) {
    seen.add(el);
    if (over(el)) overflows.push({what: el === document.documentElement ? "the page" : "content column " + describe(el),
                                  scroll: el.scrollWidth, client: el.clientWidth});
  }
}
const tables = [...article.querySelectorAll("table")].filter(visible);
tables.forEach((table, i) => {
  const caption = (table.querySelector("caption")?.innerText
                   || table.querySelector("th")?.innerText || "").trim().replace(/\s+/g, " ").slice(0, 60);
  const label = `table ${i + 1}` + (caption ? ` ("${caption}")` : "");
  // the nearest ancestor inside the column that cannot hold the table
  for (let el = table.parentElement; el && el !== column.parentElement; el = el.parentElement) {
    if (over(el)) {
      overflows.push({what: `${label} in ${describe(el)}`, scroll: el.scrollWidth, client: el.clientWidth});
      return;
    }
  }
  const t = table.getBoundingClientRect(), c = column.getBoundingClientRect();
  if (t.right > c.right + 1) overflows.push({what: `${label} past the column`, scroll: Math.round(t.width),
                                             client: Math.round(c.width)});
});
const cells = [];
document.querySelectorAll("div.cell").forEach((cell, i) => {
  const input = cell.querySelector(".cell_input");
  const outputs = [...cell.querySelectorAll(".cell_output")];
  const source = (input?.querySelector("pre")?.textContent || "").trim().split("\n")
  cells.push({index: i + 1, classes: [...cell.classList], input_visible: visible(input),
              output_visible: outputs.some(visible), first_line: source[0] || "", lines: source.length});
});
const links = [...document.querySelectorAll("a[href]")].map(a => ({href: a.getAttribute("href"), url: a.href,
  in_article: article.contains(a)}));
const ids = [...document.querySelectorAll("[id]")].map(el => el.id);
const buttons = [...document.querySelectorAll(".article-header-buttons a[href]")].map(a => ({
  title: a.title || a.getAttribute("aria-label") || a.innerText.trim(), href: a.getAttribute("href"), url: a.href}));
return {overflows, cells, links, ids, buttons, text: article.innerText};
"""

_IMAGES_SETTLED_JS = "return [...document.images].every(img => img.complete);"


def _wait(driver, script: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return True
        time.sleep(0.1)
    return False


def _local_target(url: str, base_url: str, html_dir: Path) -> tuple[Path, str] | None:
    """The file a link on this site points to and its fragment; None for other sites."""
    if not url.startswith(base_url):
        return None
    parts = urlsplit(url)
    path = html_dir / unquote(parts.path).lstrip("/")
    if path.is_dir() or parts.path.endswith("/"):
        path = path / "index.html"
    return path, unquote(parts.fragment)


@functools.lru_cache(maxsize=256)
def _ids_in(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\bid\s*=\s*["\']([^"\']+)["\']', text))


def screenshot_path(out_dir: Path, page: str, width: int) -> Path:
    return out_dir / f"{page.removesuffix('.html').replace('/', '__')}@{width}.png"


def _full_page_screenshot(driver, width: int, path: Path) -> None:
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);")
    height = int(min(max(height, VIEWPORT_HEIGHT), MAX_SCREENSHOT_HEIGHT))
    _set_viewport(driver, width, height)
    _wait(driver, _IMAGES_SETTLED_JS, 5)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "fromSurface": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


_REFRESH = re.compile(r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+\s*;\s*url=([^"']+)["']""",
                      re.IGNORECASE)


def redirect_target(html_dir: Path, page: str) -> str | None:
    """Where a redirect-only page (Jupyter Book's root index.html) sends the reader, else None."""
    path = html_dir / page
    if path.stat().st_size > 2048:
        return None
    match = _REFRESH.search(path.read_text(encoding="utf-8", errors="replace"))
    return match.group(1).strip() if match else None


def check_page(driver, base_url: str, html_dir: Path, page: str, width: int,
               out_dir: Path | None = None, published: PublishedTree | None = None) -> list[Problem]:
    """Open one page at one width; the problems a reader would meet there.

    A redirect-only page is not opened (the page it leads to is checked on its
    own); only its target is: a missing one is a broken link.  With ``published``,
    every header button that leaves the site is checked against it."""
    target = redirect_target(html_dir, page)
    if target is not None:
        found = _local_target(base_url + str(Path(page).parent / target).removeprefix("./"), base_url, html_dir)
        if found and not found[0].is_file():
            return [Problem("broken-link", page, width, f"redirect to {target} -> no such page")]
        return []
    _set_viewport(driver, width, VIEWPORT_HEIGHT)
    driver.get(base_url + page)
    _wait(driver, "return document.readyState === 'complete';", 30)
    driver.execute_script("return document.fonts ? document.fonts.ready.then(() => true) : true;")
    m = driver.execute_script(_MEASURE_JS, SHOW_INPUT_CLASS, INJECTED_CLASS)
    problems: list[Problem] = []

    def add(kind: str, detail: str) -> None:
        problems.append(Problem(kind, page, width, detail))

    for o in m["overflows"]:
        add("overflow", f"{o['what']} is {o['scroll']} px wide in {o['client']} px")

    for cell in m["cells"]:
        where = f"cell {cell['index']}"
        if INJECTED_CLASS in cell["classes"]:
            if cell["input_visible"] or cell["output_visible"]:
                add("injected-parameters", f"{where}: {cell['first_line'][:80]!r}")
        elif cell["input_visible"] and SHOW_INPUT_CLASS not in cell["classes"]:
            kind = " (the parameters cell)" if "tag_parameters" in cell["classes"] else ""
            add("visible-code", f"{where}{kind}, {cell['lines']} line(s): {cell['first_line'][:80]!r}")

    own_ids = set(m["ids"])
    for link in m["links"]:
        target = _local_target(link["url"], base_url, html_dir)
        if target is None:
            continue
        path, fragment = target
        if not path.is_file():
            add("broken-link", f"{link['href']} -> no such page {path.relative_to(html_dir).as_posix()}")
        elif fragment and link["in_article"] and path.suffix == ".html":
            ids = own_ids if path == html_dir / page else _ids_in(path)
            if fragment not in ids:
                add("broken-link", f"{link['href']} -> no anchor #{fragment} in "
                                   f"{path.relative_to(html_dir).as_posix()}")

    for line in m["text"].splitlines():
        if LOG_LINE.match(line.strip()):
            add("log-line", line.strip()[:120])

    if published is not None:
        for button in m["buttons"]:
            if _local_target(button["url"], base_url, html_dir) is None:  # links into the site are checked above
                problem = published.problem(button["url"])
                if problem:
                    add("button-target", f"{button['title']!r} {button['href'][:120]} -> {problem}")

    # Images last, on the whole page at once, so that lazily loaded ones load too.
    if out_dir is not None:
        _full_page_screenshot(driver, width, screenshot_path(out_dir, page, width))
    else:
        height = driver.execute_script("return document.documentElement.scrollHeight;")
        _set_viewport(driver, width, int(min(max(height, VIEWPORT_HEIGHT), MAX_SCREENSHOT_HEIGHT)))
    _wait(driver, _IMAGES_SETTLED_JS, 5)
    images = driver.execute_script(
        "return [...document.images].map(img => ({src: img.getAttribute('src') || '', alt: img.alt || '',"
        " complete: img.complete, natural: img.naturalWidth}));")
    for img in images:
        if img["natural"] == 0:
            state = "failed to load" if img["complete"] else "still loading after 5 s"
            alt = f" (alt {img['alt'][:40]!r})" if img["alt"] and img["alt"] != img["src"] else ""
            add("broken-image", f"{img['src'][:100]}{alt} {state}")
    return problems


def check_site(html_dir: Path, widths=DEFAULT_WIDTHS, out_dir: Path | None = None,
               chromium: str = CHROMIUM, chromedriver: str = CHROMEDRIVER,
               pages: list[str] | None = None, progress=None,
               published: PublishedTree | None = None) -> list[Problem]:
    """Every page of html_dir at every width; the problems found, page by page."""
    html_dir = Path(html_dir).resolve()
    pages = find_pages(html_dir) if pages is None else pages
    problems: list[Problem] = []
    with serve(html_dir) as base_url, start_browser(chromium, chromedriver) as driver:
        for page in pages:
            for width in widths:
                found = check_page(driver, base_url, html_dir, page, width, out_dir, published)
                problems.extend(found)
                if progress:
                    progress(page, width, found)
    return problems


def summary(problems: list[Problem], pages: int, widths) -> str:
    counts = Counter(p.kind for p in problems)
    where = Counter((p.page, p.width) for p in problems)
    lines = [f"{pages} page(s) x {len(widths)} width(s) ({', '.join(map(str, widths))} px): "
             f"{len(problems)} problem(s) on {len(where)} page view(s)"]
    lines += [f"  {kind:20s} {counts.get(kind, 0)}" for kind in KINDS]
    return "\n".join(lines)


def _widths(values: list[str]) -> list[int]:
    widths = [int(w) for v in values for w in v.split(",") if w.strip()]
    if not widths or any(w < 200 for w in widths):
        raise argparse.ArgumentTypeError("widths are pixel counts of at least 200")
    return widths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, default=Path("_build/html"), help="the built site (default: _build/html)")
    parser.add_argument("--widths", nargs="+", default=[str(w) for w in DEFAULT_WIDTHS],
                        help="viewport widths in px, e.g. --widths 1400 1024 (default) or 1400,1024")
    parser.add_argument("--out", type=Path, default=Path("build/browser"),
                        help="folder for the screenshots (default: build/browser)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"browser binary (default: {CHROMIUM})")
    parser.add_argument("--chromedriver", default=CHROMEDRIVER, help=f"driver binary (default: {CHROMEDRIVER})")
    parser.add_argument("--published", type=Path,
                        help="the tree of the branch the launch buttons open (e.g. build/executed): check every button")
    parser.add_argument("--config", type=Path, default=Path("_config.yml"),
                        help="the book's configuration, for the repository and branch (default: _config.yml)")
    parser.add_argument("--repository", help="the repository the book is published from (default: the config's url)")
    parser.add_argument("--branch", help="the branch of executed notebooks (default: the config's branch)")
    args = parser.parse_args(argv)
    try:
        widths = _widths(args.widths)
    except (ValueError, argparse.ArgumentTypeError) as err:
        parser.error(f"--widths: {err}")

    html_dir = args.html.resolve()
    if not (html_dir / "index.html").is_file():
        print(f"error: no built book at {args.html} (index.html missing); run `make book` first", file=sys.stderr)
        return 2
    reason = browser_missing(args.chromium, args.chromedriver)
    if reason:
        print(f"error: cannot run the browser check: {reason}", file=sys.stderr)
        return 2
    published = None
    if args.published is not None:
        if not args.published.is_dir():
            print(f"error: --published {args.published} is not a folder (make check-book lays it out)", file=sys.stderr)
            return 2
        try:
            published = published_tree(args.published, args.config, args.repository, args.branch)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    pages = find_pages(html_dir)
    if args.out.exists():  # this run's screenshots only
        for old in args.out.glob("*.png"):
            old.unlink()

    def progress(page, width, found):
        for problem in found:
            print(problem, flush=True)

    started = time.monotonic()
    problems = check_site(html_dir, widths, args.out, args.chromium, args.chromedriver, pages, progress, published)
    print()
    print(summary(problems, len(pages), widths))
    if published is not None:
        print(f"Buttons checked against {published.repository}, branch {published.branch}: {published.tree}")
    shots = len(list(args.out.glob("*.png"))) if args.out.is_dir() else 0
    print(f"Screenshots: {args.out}/ ({shots} PNG files; redirect-only pages have none); "
          f"took {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
