"""`make lab`: JupyterLab opens every notebooks/*.py as a notebook, saves it back unchanged, and runs a page with no
parameters against the book `make book` left.

One JupyterLab (``python -m mer_utils lab``, headless, on 127.0.0.1) serves a copy of the session's tiny book
(conftest.py's ``tiny_book``).  Its contents API must hand each notebook over as a notebook with its
``parameters`` cell tagged, and take it back without changing the ``.py`` file or writing an ``.ipynb``
beside it; a kernel the lab starts for ``notebooks/data_corpus.py`` runs every cell as it stands (every
parameter ``None``: the package defaults) in the repository root, on the tiny book's data and split; and in
Chromium the file opens as a notebook, not as text (a screenshot is saved under the checkout's build/lab/).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from books import copy_book, make_environment
from conftest import REPO

SCREENSHOT = REPO / "build" / "lab" / "data_corpus.png"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A JupyterLab started by ``python -m mer_utils lab`` in ``repo``, and its REST API."""

    def __init__(self, repo: Path, log: Path):
        self.repo, self.port, self.token = repo, free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [str(repo / ".venv" / "bin" / "python"), "-m", "mer_utils", "lab", "--no-browser",
             "--port", str(self.port), "--token", self.token],
            cwd=repo, env=make_environment(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get("api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise AssertionError(f"JupyterLab did not start: {log.read_text()[-3000:]}") from None
                time.sleep(0.5)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def get(self, path: str) -> dict:
        return self.request("GET", path)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tiny_book, tmp_path_factory):
    repo = copy_book(tiny_book, tmp_path_factory.mktemp("lab") / "repo")
    server = Lab(repo, repo.parent / "lab.log")
    yield server
    server.close()


def run_cells(lab: Lab, kernel_id: str, sources: list[str]) -> list[dict]:
    """Run each source in the kernel through the lab's websocket, in order; every reply's content and outputs."""
    import websocket

    socket_ = websocket.create_connection(
        f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels?token={lab.token}", timeout=300)
    replies = []
    try:
        for source in sources:
            msg_id = uuid.uuid4().hex
            socket_.send(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": msg_id,
                           "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            outputs, reply, idle = [], None, False
            while reply is None or not idle:  # the reply (shell) may come before the last output (iopub)
                message = json.loads(socket_.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["msg_type"]
                if kind in ("display_data", "execute_result", "stream", "error"):
                    outputs.append(message["content"])
                elif kind == "execute_reply":
                    reply = message["content"]
                elif kind == "status":
                    idle = message["content"]["execution_state"] == "idle"
            replies.append({**reply, "outputs": outputs})
    finally:
        socket_.close()
    return replies


@pytest.mark.slow
def test_every_notebook_opens_as_a_notebook_with_its_parameters_cell_and_saves_back_unchanged(lab):
    notebooks = sorted((lab.repo / "notebooks").glob("*.py"))
    assert len(notebooks) >= 9
    for path in notebooks:
        before = path.read_bytes()
        model = lab.get(f"api/contents/notebooks/{path.name}")
        assert model["type"] == "notebook" and model["format"] == "json", path.name
        cells = model["content"]["cells"]
        tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and tagged[0]["cell_type"] == "code", path.name
        lab.request("PUT", f"api/contents/notebooks/{path.name}", {"type": "notebook", "content": model["content"]})
        assert path.read_bytes() == before, f"{path.name} changed when saved unchanged from JupyterLab"
    assert not list((lab.repo / "notebooks").glob("*.ipynb")), "an .ipynb was written beside the .py files"


@pytest.mark.slow
def test_a_page_runs_cell_by_cell_with_no_parameters_on_the_last_make_book(lab):
    model = lab.get("api/contents/notebooks/data_corpus.py")
    sources = [c["source"] for c in model["content"]["cells"] if c["cell_type"] == "code"]
    session = lab.request("POST", "api/sessions", {"path": "notebooks/data_corpus.py", "type": "notebook",
                                                   "name": "data_corpus.py", "kernel": {"name": "python3"}})
    try:
        replies = run_cells(lab, session["kernel"]["id"], [*sources, "import os; print(os.getcwd())"])
    finally:
        lab.request("DELETE", f"api/sessions/{session['id']}")
    failed = [(i, r.get("ename"), r.get("evalue")) for i, r in enumerate(replies) if r["status"] != "ok"]
    assert not failed, failed
    assert replies[-1]["outputs"][-1]["text"].strip() == str(lab.repo), "the kernel runs in the repository root"
    shown = json.dumps([r["outputs"] for r in replies[:-1]])
    assert "Synthetic data" in shown and "an audio file: **24**" in shown, "the tiny book's SynthDEAM (24 songs)"


@pytest.mark.slow
def test_jupyterlab_shows_a_notebook_py_as_a_notebook_in_chromium(lab):
    from test_browser import check_book

    reason = check_book.browser_missing()
    if reason:
        pytest.skip(f"no browser: {reason}")
    cells = len(lab.get("api/contents/notebooks/data_corpus.py")["content"]["cells"])
    with check_book.start_browser() as driver:
        check_book._set_viewport(driver, 1400, 900)
        driver.get(f"{lab.url}/lab/tree/notebooks/data_corpus.py?token={lab.token}")
        shown = 0
        deadline = time.monotonic() + 90
        while shown < cells and time.monotonic() < deadline:
            time.sleep(0.5)
            shown = driver.execute_script("return document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length;")
        editors = driver.execute_script("return document.querySelectorAll('.jp-FileEditor').length;")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
    assert shown == cells and editors == 0, f"{shown} of {cells} cells shown as a notebook, {editors} text editor(s)"


def test_the_lab_settings_open_python_files_as_notebooks_and_keep_the_reader_s_other_settings(tmp_path):
    from mer_utils.lab import lab_settings_path, write_lab_settings

    path = lab_settings_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                                "@jupyterlab/docmanager-extension:plugin": {"autosave": False}}))
    write_lab_settings(tmp_path)
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/docmanager-extension:plugin"] == {
        "autosave": False, "defaultViewers": {"python": "Jupytext Notebook"}}
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}


def test_the_lab_serves_the_repository_on_127_0_0_1_with_kernels_in_its_root():
    from mer_utils.lab import RepositoryRootKernels, lab_arguments

    args = lab_arguments(port=9999, token="t", open_browser=False)
    assert f"--ServerApp.root_dir={REPO}" in args and "--ServerApp.ip=127.0.0.1" in args
    assert "--ServerApp.kernel_manager_class=mer_utils.lab.RepositoryRootKernels" in args
    assert {"--ServerApp.port=9999", "--IdentityProvider.token=t", "--ServerApp.open_browser=False"} <= set(args)
    kernels = RepositoryRootKernels(root_dir=str(REPO))
    assert kernels.cwd_for_path("notebooks/data_corpus.py") == str(REPO)
