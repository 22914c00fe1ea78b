"""Fixtures for the notebook tests: a real IPython shell with the extension, over a fast sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import Recorder


@pytest.fixture
def fast_sandbox(session_sandbox: Any) -> Any:
    """KIE_SANDBOX=1 in a tmp project, tasks done in a fraction of a second (tests/conftest.py)."""
    return session_sandbox


@pytest.fixture
def shell(fast_sandbox: Any) -> Iterator[tuple[InteractiveShell, Recorder]]:
    """A real InteractiveShell with ``%load_ext kie_widgets`` run, recording its display output."""
    import kie_widgets

    ip = InteractiveShell.instance()
    recorder = Recorder()
    saved = ip.display_pub
    ip.display_pub = recorder
    ip.run_line_magic("load_ext", "kie_widgets")
    yield ip, recorder
    ip.run_line_magic("unload_ext", "kie_widgets")
    ip.display_pub = saved
    if hasattr(ip, "parent_header"):
        del ip.parent_header
    kie_widgets.last = []
