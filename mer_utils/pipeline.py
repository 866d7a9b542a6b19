"""Running the book: parameter files, notebook execution, the data stamp.

Used by: the Makefile (``make book``), for every notebook.

The Makefile calls these through ``python -m mer_utils``:

* ``params``: write a run's parameters to JSON only when they changed, so Make
  re-runs a notebook exactly when its parameters did.
* ``data-stamp``: a fingerprint of a DEAM tree (names, sizes, times), rewritten
  only when the tree changed.
* ``run-notebook``: convert a jupytext ``.py`` notebook, execute it with
  papermill and its parameters, make it a page (code folded, parameters stated
  in one sentence: :mod:`mer_utils.pagebuild`) and move the executed ``.ipynb``
  into the book only when every cell ran.  A failure names the notebook, the
  cell and the error.  Each line of a page's output starts with the page's
  name (:class:`PrefixedLines`), since Make runs two pages at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from .cache import atomic_path, write_text_atomic
from .errors import MerError

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_value(text: str):
    """``"3"`` -> 3, ``"true"`` -> True, ``"[1,2]"`` -> [1, 2]; anything else stays a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def write_params(path, pairs: list[str]) -> bool:
    """Write ``key=value`` pairs as JSON to ``path`` if they differ from what is there.

    Returns True when the file was (re)written.  Leaving an unchanged file alone
    keeps its modification time, so Make sees nothing to redo.
    """
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise MerError(f"parameter '{pair}' is not of the form key=value.")
        key, value = pair.split("=", 1)
        params[key] = parse_value(value)
    text = json.dumps(params, indent=2, sort_keys=True) + "\n"
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    write_text_atomic(path, text)
    return True


def data_stamp(data_dir, path) -> bool:
    """Fingerprint the files under ``data_dir`` into ``path``; rewrite only on change."""
    root = Path(data_dir)
    if not root.is_dir():
        raise MerError(
            f"DEAM_DIR '{root}' is not a folder: point DEAM_DIR at the folder that holds MEMD_audio/ and annotations/."
        )
    digest = hashlib.sha1()
    count = 0
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(root)}\0{stat.st_size}\0{int(stat.st_mtime)}\n".encode())
        count += 1
    text = json.dumps({"root": str(root.resolve()), "files": count, "sha1": digest.hexdigest()}, indent=2) + "\n"
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    write_text_atomic(path, text)
    return True


def check_parameters(source, given: dict, declared: dict) -> None:
    """Stop with an error naming any parameter that the notebook's ``parameters`` cell does not declare.

    Papermill itself only warns about an unknown name and runs on with the
    default, so a misspelt knob would silently change nothing.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise MerError(
            f"notebook {source} has no parameter(s) {', '.join(unknown)}; its parameters cell declares "
            f"{', '.join(sorted(declared)) or 'none'}. Fix the name in the Makefile or the parameter file."
        )


def remove_stale_temporaries(output) -> list[Path]:
    """Delete what an earlier, killed run of ``output`` left half-written beside it; return the paths.

    :func:`~mer_utils.cache.atomic_path` writes ``.<stem>.<random>.tmp.ipynb``
    next to the page and removes it on success or error, but a run stopped by
    SIGTERM or SIGKILL (a killed ``make book``) cannot.  Make runs one recipe
    per page at a time, so any such file is a leftover, never a live run's.
    """
    output = Path(output)
    stale = sorted(output.parent.glob(f".{output.stem}.*.tmp{output.suffix}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


class PrefixedLines:
    """A text stream that starts each line written to ``stream`` with ``prefix``.

    Make runs two pages at a time (``PAGE_JOBS`` in the Makefile), so two
    pages' cell output reaches one terminal; the prefix says which page a line
    (a log line, a progress bar's update) comes from.  Writes go through whole,
    so the lines of two pages interleave but do not mix.
    """

    def __init__(self, stream, prefix: str):
        self.stream, self.prefix, self.at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        pieces = re.split(r"(?<=[\r\n])", text)
        out = []
        for piece in pieces:
            if not piece:
                continue
            out.append(self.prefix + piece if self.at_line_start else piece)
            self.at_line_start = piece.endswith(("\n", "\r"))
        self.stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def page_prefix(output) -> str:
    """``"[phase2/EmotionCNN_valence] "`` for ``book/phase2/EmotionCNN_valence.ipynb``: the tag of a page's lines."""
    output = Path(output)
    return f"[{output.parent.name}/{output.stem}] "


def run_notebook(source, output, params_file=None, failed_dir="build/failed") -> None:
    """Execute the jupytext notebook ``source`` with papermill into ``output``.

    The executed notebook is written under a temporary name and renamed into
    place only on success.  On failure the partly executed notebook is kept in
    ``failed_dir`` for inspection and :class:`MerError` names the cell and error.
    A parameter the notebook does not declare is an error before anything runs
    (:func:`check_parameters`).  The executed notebook becomes a page with
    :func:`mer_utils.pagebuild.prepare_page`.
    """
    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from .pagebuild import prepare_page

    source, output = Path(source), Path(output)
    if not source.exists():
        raise MerError(f"notebook source {source} not found.")
    params = json.loads(Path(params_file).read_text()) if params_file else {}
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory() as scratch:
        unexecuted = Path(scratch) / (source.stem + ".ipynb")
        jupytext.write(notebook, unexecuted)
        declared = papermill.inspect_notebook(str(unexecuted))
        check_parameters(source, params, declared)
        remove_stale_temporaries(output)
        with atomic_path(output) as executed:
            try:
                papermill.execute_notebook(
                    str(unexecuted),
                    str(executed),
                    parameters=params,
                    kernel_name="python3",
                    cwd=str(REPO_ROOT),
                    progress_bar=False,
                    stdout_file=PrefixedLines(sys.stdout, page_prefix(output)),
                    stderr_file=PrefixedLines(sys.stderr, page_prefix(output)),
                )
            except PapermillExecutionError as exc:
                kept = Path(failed_dir) / output.name
                kept.parent.mkdir(parents=True, exist_ok=True)
                os.replace(executed, kept)
                raise MerError(
                    f"notebook {source} failed in cell {exc.exec_count} with {exc.ename}: {exc.evalue}\n"
                    f"The partly executed notebook is kept at {kept}."
                ) from None
            page = prepare_page(nbformat.read(executed, as_version=4), params, declared)
            nbformat.write(page, executed)
