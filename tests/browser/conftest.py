"""Fixtures for the browser tests: Jupyter servers, Debian's Chromium and pages (see browser_helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    TIMEOUT_MS,
    Frontend,
    JupyterServer,
    NotebookPage,
    launch_chromium,
    require_browser,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here that uses Chromium is a slow ``browser`` test (``-m "not browser"`` skips them)."""
    for item in items:
        if HERE in item.path.parents and "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium under Playwright's sync API, with its own HOME, for one test module."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    # expect() has its own 5 s default, separate from the page's timeout.
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-home"))
        yield browser
        browser.close()


def _serve(frontend: Frontend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """Start a server for ``frontend`` with a fresh root and HOME; stop it by PID afterwards."""
    require_browser(frontend)
    server = JupyterServer(
        frontend=frontend,
        root=tmp_path_factory.mktemp(f"{frontend}-root"),
        home=tmp_path_factory.mktemp(f"{frontend}-home"),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A JupyterLab 4 server shared by the tests of one module."""
    yield from _serve("lab", tmp_path_factory)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A Notebook 7 server shared by the tests of one module."""
    yield from _serve("notebook7", tmp_path_factory)


@pytest.fixture(scope="module", params=["lab", "notebook7"])
def jupyter_server(request: pytest.FixtureRequest) -> JupyterServer:
    """Each test runs once in JupyterLab 4 and once in Notebook 7 (one server each per module)."""
    server: JupyterServer = request.getfixturevalue(request.param)
    return server


@pytest.fixture
def new_page(
    chromium: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[[JupyterServer], NotebookPage]]:
    """Open a fresh browser context and page on a server; screenshots are named after the test."""
    contexts: list[Any] = []
    servers: list[JupyterServer] = []

    def open_page(server: JupyterServer) -> NotebookPage:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        servers.append(server)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        notebook_page = NotebookPage(page, server, screenshot_prefix=f"{request.node.originalname}-")
        page.on("pageerror", lambda error: notebook_page.page_errors.append(str(error)))
        return notebook_page

    yield open_page
    for context in contexts:
        context.close()
    for server in servers:
        server.shutdown_kernels()


@pytest.fixture
def notebook_page(
    new_page: Callable[[JupyterServer], NotebookPage], jupyter_server: JupyterServer
) -> NotebookPage:
    """A page on ``jupyter_server`` (so the test runs in Lab and in Notebook 7)."""
    return new_page(jupyter_server)
