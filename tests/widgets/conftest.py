"""Fixtures for the widget tests: a fast sandbox behind a fresh session, and a Studio on it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def sandbox(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """KIE_SANDBOX=1 in a tmp project; tasks finish in a fraction of a second; a fresh session."""
    from kie_widgets import runner
    from kie_widgets.jobs import PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig
    from kie_widgets.session import use_session

    monkeypatch.setenv("KIE_SANDBOX", "1")
    box = Sandbox(SandboxConfig(waiting=0.05, queuing=0.05, generating=0.2, invisible_for=0.0, seed=11))
    runner.configure(
        transport=box.transport, schedule=PollSchedule(bands=((math.inf, 0.05, 0.1),), grace=5.0)
    )
    use_session(None)
    yield box
    use_session(None)
    runner.shutdown()
    runner.configure()


class FakeShell:
    """What ``capture`` reads in a kernel: the parent message of the cell being run."""

    def __init__(self, cell_id: str) -> None:
        self.kernel = self
        self.user_ns: dict[str, Any] = {}
        self.parent_header: dict[str, Any] = {}
        self._parent = {
            "header": {"msg_type": "execute_request"},
            "metadata": {"cellId": cell_id, "kie": {"scene_id": 4}},
            "content": {},
        }

    def get_parent(self, channel: str = "shell") -> dict[str, Any]:
        return self._parent


@pytest.fixture
def studio(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Studio made in a cell with id ``studio-cell`` (as JupyterLab would report it)."""
    from kie_widgets.widgets import _studio

    monkeypatch.setattr(_studio, "_shell", lambda: FakeShell("studio-cell"))
    return _studio.Studio()


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``predicate`` until it holds (events reach widgets on the session's delivery thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
