"""An executed notebook made into a book page that reads like a paper: code folded, parameters in one sentence.

Used by: :func:`mer_utils.pipeline.run_notebook` (``make book``), on every
notebook after papermill executed it and before it is moved into ``book/``.

A notebook's code is how a page was made, not what it says, so the page shows
it only on request:

* every code cell gets the Jupyter Book tag ``hide-input`` (the code folded
  behind a "Show code cell source" toggle, the outputs shown), except a cell
  tagged ``show-input``, whose code is the lesson (jupytext:
  ``# %% tags=["show-input"]``), and cells already tagged to be hidden or
  removed;
* papermill's injected cell (tag ``injected-parameters``) and the notebook's own
  ``parameters`` cell are tagged ``remove-cell``: they stay in the ``.ipynb``
  (so the notebook behind the launch buttons re-runs with the same values) but
  not on the page, where ONE markdown cell (tag ``run-parameters``) states the
  parameters the page ran with (:func:`parameters_sentence`);
* stderr outputs (log lines, progress bars, library warnings) are dropped:
  papermill has already echoed them to the terminal, and a warning that a
  reader must see is on the page as an admonition
  (:class:`mer_utils.page.PageWarnings`);
* an output with nothing to show (``display(Markdown(""))`` where a note has
  nothing to say) is dropped, rather than shown as its plain-text stand-in
  ``<IPython.core.display.Markdown object>``.
"""

from __future__ import annotations

import ast
import re

import nbformat

HIDE_INPUT = "hide-input"
SHOW_INPUT = "show-input"
REMOVE_CELL = "remove-cell"
INJECTED = "injected-parameters"
PARAMETERS = "parameters"
RUN_PARAMETERS = "run-parameters"  # the markdown cell that states the parameters
# A code cell with one of these tags already says how the page shows it.
PLACED = {SHOW_INPUT, HIDE_INPUT, "hide-cell", "hide-output", "remove-input", REMOVE_CELL}


def declared_defaults(declared: dict) -> dict:
    """The notebook's declared defaults as values, from :func:`papermill.inspect_notebook`'s answer.

    papermill gives each default as its source text (``"None"``,
    ``'"EmotionCNN"'``); a literal is read as its value, anything else (an
    expression) is kept as that text.
    """
    values = {}
    for name, info in declared.items():
        text = info.get("default") if isinstance(info, dict) else info
        try:
            values[name] = ast.literal_eval(text) if isinstance(text, str) else text
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def effective_parameters(given: dict, declared: dict) -> dict:
    """Every declared parameter with the value this run used: the one passed, else the declared default.

    Declaration order first; a passed name the notebook does not declare (which
    :func:`mer_utils.pipeline.check_parameters` refuses before a run) last.
    """
    values = declared_defaults(declared)
    values.update(given)
    return values


def _code(text: str) -> str:
    """``text`` as a Markdown code span, fenced by more backticks than it contains."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def parameters_sentence(values: dict) -> str:
    """One Markdown sentence stating a page's parameters; ``None`` is the package default.

    >>> parameters_sentence({"data": "synth", "epochs": 2, "seed": None})
    "**Parameters.** This page ran with `data='synth'` and `epochs=2`; `seed` at the package default."
    """
    if not values:
        return "**Parameters.** This page has no parameters."
    set_ = [_code(f"{name}={value!r}") for name, value in values.items() if value is not None]
    default = [_code(name) for name, value in values.items() if value is None]
    if not set_:
        return f"**Parameters.** This page ran with the package default for {_and(default)}."
    sentence = f"**Parameters.** This page ran with {_and(set_)}"
    if default:
        sentence += f"; {_and(default)} at the package default"
    return sentence + "."


def _shows_something(output) -> bool:
    """False for stderr and for a display whose rich content is empty (its text/plain is only a stand-in)."""
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"
    rich = [value for mime, value in output.get("data", {}).items() if mime != "text/plain"]
    blank = [isinstance(value, (str, list)) and not "".join(value).strip() for value in rich]
    return not (rich and all(blank))


def _tags(cell) -> list:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def _add_tag(cell, tag: str) -> None:
    tags = _tags(cell)
    if tag not in tags:
        tags.append(tag)


def prepare_page(notebook, given: dict, declared: dict):
    """Fold the code, remove the parameter cells and state the parameters, drop empty outputs; in place, returned.

    ``given`` are the parameters passed to papermill, ``declared`` the
    notebook's parameters as :func:`papermill.inspect_notebook` returns them.
    Running it again changes nothing.
    """
    stated = any(RUN_PARAMETERS in c.get("metadata", {}).get("tags", []) for c in notebook.cells)
    anchor = None  # the cell after which the parameters sentence goes
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tags = _tags(cell)
        if INJECTED in tags or PARAMETERS in tags:
            _add_tag(cell, REMOVE_CELL)
            anchor = index
        elif not PLACED & set(tags):
            _add_tag(cell, HIDE_INPUT)
        cell["outputs"] = [o for o in cell.get("outputs", []) if _shows_something(o)]
    if not stated and (declared or given):
        note = nbformat.v4.new_markdown_cell(parameters_sentence(effective_parameters(given, declared)))
        note.metadata["tags"] = [RUN_PARAMETERS]
        if notebook.get("nbformat_minor", 5) < 5:  # cell ids came with nbformat 4.5
            note.pop("id", None)
        notebook.cells.insert(0 if anchor is None else anchor + 1, note)
    return notebook
