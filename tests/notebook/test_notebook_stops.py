"""What the magic says when waiting stops or a create is uncertain (issue 11 items 4, 5 and 10)."""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import Recorder

from kie_widgets.assets import Manifest

Shell = tuple[InteractiveShell, Recorder]


@pytest.fixture
def slow_sandbox(shell: Shell) -> Iterator[Any]:
    """The shell's runner pointed at a sandbox whose tasks take a minute (waiting can be stopped)."""
    from kie_widgets import runner
    from kie_widgets.jobs import PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(waiting=0.05, queuing=0.05, generating=60.0, invisible_for=0.0, seed=3))
    runner.configure(transport=sandbox.transport, schedule=PollSchedule(bands=((math.inf, 0.05, 0.1),)))
    yield sandbox
    runner.configure()


def _creates(sandbox: Any) -> list[Any]:
    return [r for r in sandbox.requests if r.method == "POST" and "createTask" in r.path]


def test_ctrl_c_while_waiting_is_one_line_and_the_task_stays_pending(
    shell: Shell, slow_sandbox: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel interrupt stops waiting with one line (no traceback) that says the task still runs at kie."""
    ip, rec = shell
    real_wait = concurrent.futures.wait
    manifest = Manifest(project / "assets" / "manifest.json")

    def interrupted_once_the_task_is_journaled(*args: Any, **kwargs: Any) -> Any:
        if any(r.get("state") == "pending" for r in manifest.pending()):
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "wait", interrupted_once_the_task_is_journaled)
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("kie_image", "imagen4", "a lighthouse nobody waited for")
    monkeypatch.undo()
    text = str(info.value)
    assert "still running at kie" in text
    assert "%kie_image resume" in text
    assert "\n" not in text
    assert "failed" not in rec.texts()
    assert "stopped waiting" in rec.texts()
    assert [r["state"] for r in manifest.pending()] == ["pending"]


def test_rerunning_a_cell_after_an_uncertain_create_needs_force(shell: Shell, fast_sandbox: Any) -> None:
    """After a create that timed out, the same cell is refused with a pointer to resume; --force sends."""
    from kie_widgets.sandbox import Fault

    ip, _ = shell
    fast_sandbox.add_fault(Fault(kind="timeout", route="create"))
    with pytest.raises(UsageError):
        ip.run_cell_magic("kie_image", "imagen4", "a harbour on a flaky line")
    assert len(_creates(fast_sandbox)) == 1
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("kie_image", "imagen4", "a harbour on a flaky line")
    assert "resume" in str(info.value)
    assert "--force" in str(info.value)
    assert len(_creates(fast_sandbox)) == 1
    ip.run_cell_magic("kie_image", "imagen4 --force --out forced", "a harbour on a flaky line")
    assert len(ip.user_ns["forced"]) == 1
    assert len(_creates(fast_sandbox)) == 2


def test_resume_says_what_stays_open(shell: Shell, fast_sandbox: Any) -> None:
    """%kie_image resume lists an uncertain create with what to check at kie, instead of hiding it."""
    from kie_widgets.sandbox import Fault

    ip, rec = shell
    fast_sandbox.add_fault(Fault(kind="timeout", route="create"))
    with pytest.raises(UsageError):
        ip.run_cell_magic("kie_image", "imagen4", "a harbour on a flaky line")
    ip.run_line_magic("kie_image", "resume")
    assert "uncertain:" in rec.texts()
    assert "kie.ai/logs" in rec.texts()


def test_resume_after_a_restart_on_the_wire_is_not_nothing_to_resume(
    shell: Shell, fast_sandbox: Any, project: Path
) -> None:
    """A kernel that died while its create was on the wire left a 'sending' record: resume says so."""
    ip, rec = shell
    manifest = Manifest(project / "assets" / "manifest.json")
    manifest.journal_sending(
        [
            (
                "sending-20260101000000-0a0b0c",
                {
                    "family": "market",
                    "model_id": "google/imagen4",
                    "model": "Imagen 4",
                    "endpoint": "/api/v1/jobs/createTask",
                    "body": {"model": "google/imagen4", "input": {"prompt": "a harbour"}},
                    "recipe": "r1-" + "ab" * 32,
                    "context": {},
                },
            )
        ]
    )
    ip.run_line_magic("kie_image", "resume")
    assert "Nothing to resume" not in rec.texts()
    assert "uncertain:" in rec.texts()
    assert "a harbour" in rec.texts()
