"""Drive real JupyterLab 4 and Notebook 7 in Debian's Chromium with Playwright's sync API.

Usage in a test under ``tests/browser/`` (the fixtures live in ``tests/browser/conftest.py``)::

    from browser_helpers import NotebookPage, expect

    def test_something(notebook_page: NotebookPage) -> None:     # runs in Lab, then in Notebook 7
        '''One sentence saying what the browser proves.'''
        cells = ["import ipywidgets as w", "w.Button(description='Go')"]
        notebook_page.run_notebook("t.ipynb", cells)  # write, open, Run All: waits for kernel and cells
        notebook_page.output(1).get_by_role("button", name="Go").click()   # search outputs, not sources
        notebook_page.run_cell(0)                 # re-run one cell (Ctrl+Enter), waits for its result
        assert "..." in notebook_page.output_text(0)
        notebook_page.screenshot("after-click")   # printed path, under tests/browser/screenshots/
        saved = notebook_page.save_and_read()     # the .ipynb as the front end wrote it (nbformat node)

``notebook_page`` sits on ``jupyter_server``, parametrised over Lab and Notebook 7 (one server each
per test module); to pin one front end, take ``new_page`` and call ``new_page(lab)`` or
``new_page(notebook7)``. Assert on the page with ``playwright.sync_api.expect`` (30 s timeout here),
and on ``notebook_page.unexpected_page_errors() == []``. Screenshots are named
``<test>-<lab|notebook7>-<name>.png``. The kernels run this checkout's ``kie_widgets`` against the
offline sandbox (``KIE_SANDBOX=1``, ``KIE_PROJECT_ROOT=<server root>``), never with a real key.
Chromium is Debian's ``/usr/bin/chromium``; nothing downloads a browser. The waits below each say
which front-end race they avoid.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Flags known to work here: no sandbox (we run as root), no GPU, no background traffic or first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "kie-browser-test"
# Generous because two cores are shared: kernel start and first widget render can take several seconds.
TIMEOUT_MS = 30_000
SERVER_START_TIMEOUT_S = 60.0

Frontend = Literal["lab", "notebook7"]
_SERVER_APP: dict[Frontend, str] = {"lab": "lab", "notebook7": "notebook"}
# Settings read by the notification plugin of both front ends: no news toast over the bottom right.
_NO_NEWS = '{"fetchNews": "false", "checkForUpdates": false}'
# Never hand a developer's key or endpoints to a kernel under test; let HOME alone place every
# Jupyter/IPython directory, so nothing of the developer's (old tabs, settings, history) leaks in.
_SCRUBBED_ENV = (
    "KIE_API_KEY",
    "KIE_BASE_URL",
    "KIE_UPLOAD_URL",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "JUPYTERLAB_SETTINGS_DIR",
    "JUPYTERLAB_WORKSPACES_DIR",
    "IPYTHONDIR",
)


def ci_is_set() -> bool:
    """Whether we run in CI (``CI`` set to anything but empty/false/0), where a skip must be a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_requirements(frontend: Frontend | None = None) -> list[str]:
    """What this machine lacks to run the browser tests (for ``frontend``, or for any), in words."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    needed = ["jupyterlab", "playwright"]
    if frontend == "notebook7":
        needed.append("notebook")
    missing += [f"python package {name!r}" for name in needed if importlib.util.find_spec(name) is None]
    return missing


def require_browser(frontend: Frontend | None = None) -> None:
    """Skip when Chromium or the front end is missing here; under CI, fail instead: a skip would hide it."""
    missing = missing_requirements(frontend)
    if not missing:
        return
    reason = "browser tests need " + ", ".join(missing)
    if ci_is_set():
        pytest.fail(reason + " (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a Python 3 notebook whose code cells are ``cells`` (in order) to ``path``; returns ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@dataclass
class JupyterServer:
    """A JupyterLab or Notebook 7 server on the loopback, with its own HOME and project root."""

    frontend: Frontend
    root: Path
    home: Path
    port: int = field(default_factory=free_port)
    token: str = TOKEN
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The server's combined stdout/stderr (kernel tracebacks land here too)."""
        return self.home / "server.log"

    def notebook_url(self, path: str) -> str:
        """The URL that opens ``path`` (relative to the root) in this front end, logged in by token."""
        if self.frontend == "lab":
            # ?reset: never restore tabs from an earlier workspace.
            return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"
        return f"{self.base_url}/notebooks/{path}?token={self.token}"

    def environment(self) -> dict[str, str]:
        """The server's (and so its kernels') environment: own HOME, sandbox on, this checkout first."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        pythonpath = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env.update(
            HOME=str(self.home),
            KIE_SANDBOX="1",
            KIE_PROJECT_ROOT=str(self.root),
            PYTHONPATH=os.pathsep.join(pythonpath),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> None:
        """Start the server and return once ``/api/status`` answers; raise with the log tail otherwise."""
        settings = self.home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(_NO_NEWS)
        (self.root / "assets").mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "jupyter",
            _SERVER_APP[self.frontend],
            "--no-browser",
            "--allow-root",
            "--expose-app-in-browser",  # window.jupyterapp: the waits read the notebook model
            f"--ServerApp.token={self.token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.environment(), cwd=self.root, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.frontend} exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.frontend} did not answer in {SERVER_START_TIMEOUT_S} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server by its PID (it shuts its kernels down), killing it if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (after a test, so idle kernels don't pile up on two cores)."""
        for kernel in self._api("GET", "/api/kernels"):
            self._api("DELETE", f"/api/kernels/{kernel['id']}")

    def _api(self, method: str, path: str) -> Any:
        """Call the server's REST API with the token; the decoded JSON answer (None when empty)."""
        request = urllib.request.Request(
            f"{self.base_url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server log, for failure messages."""
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# Model-side checks through window.jupyterapp; the same shell API in Lab and Notebook 7.
_JS_PANEL = "const panel = window.jupyterapp.shell.currentWidget;"
_JS_ALL_DONE = (
    "() => {" + _JS_PANEL + "if (!panel || !panel.content || !panel.content.model) return false;"
    " const cells = Array.from(panel.content.model.cells).filter(c => c.type === 'code');"
    " return cells.every(c => c.executionCount !== null && c.executionState !== 'running')"
    "   && panel.sessionContext.session?.kernel?.status === 'idle'; }"
)
_JS_EXECUTION_COUNT = (
    "(i) => {" + _JS_PANEL + "const c = panel.content.model.cells.get(i);"
    " return c.executionState === 'running' ? null : c.executionCount; }"
)
_JS_SAVE = "async () => {" + _JS_PANEL + "await panel.context.save(); return panel.context.path; }"


@dataclass
class NotebookPage:
    """A Chromium page showing one notebook in a Jupyter front end, with waits that are known to hold."""

    page: Any  # playwright.sync_api.Page: Playwright is imported only once the fixtures found it
    server: JupyterServer
    screenshot_prefix: str = ""
    path: str = ""
    page_errors: list[str] = field(default_factory=list)

    def unexpected_page_errors(self) -> list[str]:
        """Uncaught page errors, minus the one Notebook 7 always logs (``reading 'schema'``)."""
        return [e for e in self.page_errors if "reading 'schema'" not in e]

    @property
    def cells(self) -> Any:
        """Locator of the notebook's cells, in order (``.nth(i)`` is cell ``i``)."""
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")

    def open(self, path: str) -> None:
        """Open ``path`` (relative to the server root) and wait until its kernel is connected and idle."""
        self.path = path
        self.page.goto(self.server.notebook_url(path))
        self.wait_for_kernel()

    def run_notebook(self, name: str, cells: list[str]) -> None:
        """Write ``cells`` as notebook ``name`` into the server root, open it and Run All."""
        write_notebook(self.server.root / name, cells)
        self.open(name)
        self.run_all()

    def wait_for_kernel(self) -> None:
        """Wait for a connected kernel: the indicator says idle before that, and Run All would do nothing."""
        self.page.wait_for_function(
            """() => {
                const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
                const name = document.querySelector('.jp-Toolbar-kernelName');
                const text = name ? name.textContent.trim() : '';
                return indicator && indicator.getAttribute('data-status') === 'idle'
                    && text !== '' && text !== 'No Kernel' && window.jupyterapp !== undefined;
            }""",
            timeout=TIMEOUT_MS,
        )

    def menu(self, top: str, item: str) -> None:
        """Click menu bar entry ``top``, then its item ``item`` (e.g. ``"Run"``, ``"Run All Cells"``)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
        self.page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()

    def run_all(self) -> None:
        """Run > Run All Cells, then wait until every code cell has run and the kernel is idle."""
        self.menu("Run", "Run All Cells")
        self.wait_until_idle()

    def wait_until_idle(self) -> None:
        """Wait until every code cell has an execution count, none is running, and the kernel is idle."""
        self.page.wait_for_function(_JS_ALL_DONE, timeout=TIMEOUT_MS)

    def run_cell(self, index: int) -> None:
        """Run cell ``index`` alone (select it, Ctrl+Enter) and wait until it has finished."""
        before = json.dumps(self.page.evaluate(_JS_EXECUTION_COUNT, index))  # null if never run
        cell = self.cells.nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        # Ctrl+Enter, not Shift+Enter: on the last cell Lab would append a new, never-run cell.
        self.page.keyboard.press("Control+Enter")
        finished = (
            f"() => {{ const n = ({_JS_EXECUTION_COUNT})({index}); return n !== null && n !== {before}; }}"
        )
        self.page.wait_for_function(finished, timeout=TIMEOUT_MS)
        self.wait_until_idle()

    def output(self, index: int) -> Any:
        """Locator of cell ``index``'s output area, scrolled into view (Notebook 7 renders lazily).

        Look for widgets here rather than in the whole page: the cell's source has the same texts.
        """
        cell = self.cells.nth(index)
        cell.scroll_into_view_if_needed()
        output = cell.locator(".jp-OutputArea")
        output.wait_for(state="attached", timeout=TIMEOUT_MS)
        return output

    def output_text(self, index: int) -> str:
        """The visible text of cell ``index``'s output area."""
        return str(self.output(index).inner_text())

    def save_and_read(self) -> Any:
        """Save through the front end, wait until it is written, and return the file as nbformat reads it."""
        path = self.page.evaluate(_JS_SAVE)
        target = self.server.root / path
        # The save promise resolves after the server has renamed its temporary file into place;
        # reading earlier can make it "recover" the temporary file and leave <name>.ipynb.invalid.
        invalid = target.with_name(target.name + ".invalid")
        assert not invalid.exists(), f"the server recovered a half-written save: {invalid}"
        return nbformat.read(target, as_version=4)

    def screenshot(self, name: str) -> Path:
        """Save a full-page PNG as ``tests/browser/screenshots/<prefix><ui>-<name>.png``; returns the path."""
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"{self.screenshot_prefix}{self.server.frontend}-{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        print(f"screenshot: {target}")
        return target


def expect(target: Any) -> Any:
    """``playwright.sync_api.expect``, imported on use: without Playwright, collection still works and
    the fixtures skip (or, under CI, fail) with a clear reason instead of an import error."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def launch_chromium(playwright: Any, home: Path) -> Any:
    """Launch Debian's Chromium with the flags above and its own HOME; returns the Playwright Browser."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        env={**os.environ, "HOME": str(home)},
    )
