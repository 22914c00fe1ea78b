"""Fixtures for the notebook tests: a real IPython shell with the extension, over a fast sandbox."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import Recorder


@pytest.fixture
def fast_sandbox(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """KIE_SANDBOX=1 in a tmp project, with a sandbox whose tasks finish in a fraction of a second."""
    from kie_widgets import runner
    from kie_widgets.jobs import PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    monkeypatch.setenv("KIE_SANDBOX", "1")
    sandbox = Sandbox(SandboxConfig(waiting=0.05, queuing=0.05, generating=0.2, invisible_for=0.0, seed=7))
    schedule = PollSchedule(bands=((math.inf, 0.05, 0.1),), grace=5.0)
    runner.configure(transport=sandbox.transport, schedule=schedule)
    yield sandbox
    runner.shutdown()
    runner.configure()


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
