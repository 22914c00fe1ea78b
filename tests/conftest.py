"""Shared fixtures: every test runs in a throwaway project root, offline, with no real key."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's key, base URLs or project settings."""
    for name in ("KIE_API_KEY", "KIE_BASE_URL", "KIE_UPLOAD_URL", "KIE_SANDBOX", "KIE_PROJECT_ROOT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project root (with an ``assets/`` folder) as the working directory."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIE_PROJECT_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Jupyter uses)."""
    return "asyncio"


@pytest.fixture
def session_sandbox(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """KIE_SANDBOX=1 in a tmp project, a sandbox whose tasks take a fraction of a second, a fresh session."""
    from kie_widgets import runner
    from kie_widgets.jobs import PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig
    from kie_widgets.session import use_session

    monkeypatch.setenv("KIE_SANDBOX", "1")
    box = Sandbox(SandboxConfig(waiting=0.05, queuing=0.05, generating=0.2, invisible_for=0.0, seed=11))
    schedule = PollSchedule(bands=((math.inf, 0.05, 0.1),), grace=5.0)
    runner.configure(transport=box.transport, schedule=schedule)
    use_session(None)
    yield box
    use_session(None)
    runner.shutdown()
    runner.configure()


def _wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def wait_until() -> Callable[..., None]:
    """``wait_until(predicate)``: poll until it holds (events reach front ends on other threads)."""
    return _wait_until
