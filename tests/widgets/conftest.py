"""Fixtures for the widget tests: a fast sandbox behind a fresh session, and a Studio on it."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def sandbox(session_sandbox: Any) -> Any:
    """The fast sandbox behind a fresh session (``session_sandbox`` in tests/conftest.py)."""
    return session_sandbox


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
