"""JupyterLab on the book's notebooks: ``notebooks/*.py`` open as notebooks and run where ``make book`` runs them.

Used by: ``make lab`` (``python -m mer_utils lab``), to edit one page of the book and re-run it cell by cell.

The notebooks are jupytext percent files, and stay so: JupyterLab opens them through jupytext's contents
manager (installed with jupytext, switched on as a server extension), which turns each ``.py`` into a notebook
on the way in and back into the same ``.py`` on the way out, with no ``.ipynb`` written beside it (nothing is
paired).  Two settings make that the reader's default and the run the book's own:

* :data:`LAB_SETTINGS`: a double click on a ``.py`` file opens it as a notebook ("Jupytext Notebook"), not
  in the text editor (and JupyterLab does not ask to fetch news from the web).  They are JupyterLab's
  ``overrides.json``, written into the virtualenv's settings folder (:func:`write_lab_settings`), so the
  reader's own settings elsewhere stay untouched.
* :class:`RepositoryRootKernels`: every kernel starts in the repository root, as papermill's do under
  ``make book`` (:func:`mer_utils.pipeline.run_notebook`), so the paths a notebook resolves with no
  parameters (``data/synthdeam``, ``results/synthdeam``, ``cache/synthdeam``, ``weights/``: the package
  defaults, :data:`mer_utils.page.BOOK_DEFAULTS`) are those the last ``make book`` filled.  JupyterLab
  would start it in ``notebooks/``, the notebook's own folder.

A notebook run this way, with its parameters cell as it stands (every setting ``None``), is the page of the
default book; to reproduce a page of another build, type that build's values into the parameters cell
(``build/params/<page>.json`` holds them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .pipeline import REPO_ROOT

# JupyterLab's overrides.json: .py files open as notebooks through jupytext; no news or update checks on the web.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
SERVER_HOST = "127.0.0.1"


def _kernel_manager_base():
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    return AsyncMappingKernelManager


class RepositoryRootKernels(_kernel_manager_base()):
    """Kernels that start in the server's root folder (the repository), wherever the notebook sits."""

    def cwd_for_path(self, path, **kwargs):
        return self.root_dir


def lab_settings_path(prefix=sys.prefix) -> Path:
    """JupyterLab's application settings file in the environment at ``prefix``."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write_lab_settings(prefix=sys.prefix) -> Path:
    """Merge :data:`LAB_SETTINGS` into ``overrides.json`` under ``prefix`` (other settings there are kept)."""
    from .cache import write_json_atomic

    path = lab_settings_path(prefix)
    settings = json.loads(path.read_text()) if path.is_file() else {}
    for plugin, values in LAB_SETTINGS.items():
        settings[plugin] = {**settings.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, settings)
    return path


def lab_arguments(port: int | None = None, token: str | None = None, open_browser: bool = True) -> list[str]:
    """The command-line settings of :func:`main`'s JupyterLab."""
    args = [
        f"--ServerApp.root_dir={REPO_ROOT}",
        f"--ServerApp.ip={SERVER_HOST}",
        f"--ServerApp.kernel_manager_class={RepositoryRootKernels.__module__}.{RepositoryRootKernels.__name__}",
        "--LabApp.default_url=/lab/tree/notebooks",
    ]
    if port is not None:
        args.append(f"--ServerApp.port={port}")
    if token is not None:
        args.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        args.append("--ServerApp.open_browser=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI machines run as root; JupyterLab refuses it
        args.append("--ServerApp.allow_root=True")
    return args


def main(argv=None) -> int:
    """``python -m mer_utils lab``: JupyterLab on the repository, in this process (so this package is the one used)."""
    parser = argparse.ArgumentParser(prog="python -m mer_utils lab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, help="the port (default: JupyterLab's, 8888 or the next free one)")
    parser.add_argument("--token", help="the access token (default: a random one, printed with the address)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser (a headless machine)")
    args = parser.parse_args(argv)
    write_lab_settings()
    from jupyterlab.labapp import LabApp

    LabApp.launch_instance(argv=lab_arguments(args.port, args.token, not args.no_browser))
    return 0
