"""The blocking facade: from plain code, inside a running loop, from another thread, and Ctrl-C."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kie_widgets import runner
from kie_widgets.clock import FakeClock
from kie_widgets.jobs import PollSchedule

FAKE_KEY = "kie-test-key-runner-9Hd2Kq7Lx"


@pytest.fixture
def sandbox_clock() -> FakeClock:
    """The clock the loop thread's client and the sandbox share."""
    return FakeClock()


@pytest.fixture
def facade(project: Path, sandbox_clock: FakeClock) -> Iterator[Any]:
    """The runner configured onto a fresh sandbox; shut down afterwards."""
    from kie_widgets.assets import Manifest
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    sb = Sandbox(SandboxConfig(api_key=FAKE_KEY), clock=sandbox_clock)
    manifest = Manifest(project / "assets" / "manifest.json")
    runner.configure(api_key=FAKE_KEY, transport=sb.transport, clock=sandbox_clock, manifest=manifest)
    yield sb, manifest
    runner.configure()


def test_generate_blocks_and_returns_assets(facade: Any) -> None:
    """A plain call waits for the images and returns recorded assets."""
    sb, manifest = facade
    assets = runner.generate("Imagen 4", "a plain-script owl")
    assert len(assets) == 1
    assert assets[0].path.is_file()
    assert manifest.get(assets[0].id) is not None
    assert runner.credits() == pytest.approx(sb.balance)


def test_generate_works_inside_a_running_event_loop(facade: Any) -> None:
    """Called from a coroutine (as in a Jupyter cell, whose loop is running) it neither fails nor hangs."""

    async def cell() -> Any:
        assert asyncio.get_running_loop().is_running()
        return runner.generate("Imagen 4", "an owl in a running loop")

    assets = asyncio.run(cell())
    assert [a.prompt for a in assets] == ["an owl in a running loop"]


def test_generate_works_from_a_second_thread(facade: Any) -> None:
    """Widget callbacks run on other threads; two threads at once both get their results."""
    results: dict[str, Any] = {}

    def worker(name: str) -> None:
        try:
            results[name] = runner.generate("Flux Kontext Pro", f"an owl from {name}")
        except BaseException as exc:  # the assertion below shows it
            results[name] = exc

    threads = [threading.Thread(target=worker, args=(f"thread-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0].prompt for r in results.values()) == ["an owl from thread-0", "an owl from thread-1"]


def test_submit_returns_a_future_at_once(facade: Any) -> None:
    """submit() hands work to the loop thread and returns a concurrent future without waiting."""
    client = runner.get_client()
    future = runner.submit(client.generate, "Imagen 4", "a submitted owl")
    assets = future.result(timeout=30)
    assert assets[0].prompt == "a submitted owl"
    assert runner.get_client() is client


def test_blocking_call_on_the_loop_thread_is_refused(facade: Any) -> None:
    """A blocking call from the loop's own thread would deadlock, so it raises at once instead."""

    async def inside() -> float:
        return runner.credits()

    with pytest.raises(RuntimeError, match="await"):
        runner.submit(inside).result(timeout=10)


def test_no_global_asyncio_patching(facade: Any) -> None:
    """Using the facade never imports nest_asyncio or replaces asyncio's functions."""
    run_before = asyncio.run
    runner.generate("Imagen 4", "an unpatched owl")
    assert "nest_asyncio" not in sys.modules
    assert asyncio.run is run_before


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_ctrl_c_cancels_and_leaves_the_task_pending(project: Path) -> None:
    """KeyboardInterrupt while blocking cancels the wait, re-raises, and keeps the task for resume()."""
    from kie_widgets.assets import Manifest
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    # Real time here: the interrupt has to land while the call is really blocking.
    sb = Sandbox(SandboxConfig(api_key=FAKE_KEY, waiting=0.1, queuing=0.1, generating=0.6, invisible_for=0.0))
    manifest = Manifest(project / "assets" / "manifest.json")
    fast = PollSchedule(bands=((math.inf, 0.05, 0.1),), grace=5.0)
    runner.configure(api_key=FAKE_KEY, transport=sb.transport, manifest=manifest, schedule=fast)
    try:
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            runner.generate("Imagen 4", "an interrupted owl", timeout=30)
        timer.join()
        pending = manifest.pending()
        assert [p["state"] for p in pending] == ["pending"]
        assert manifest.entries == []
        assets = runner.resume()
        assert [a.task_id for a in assets] == [pending[0]["task_id"]]
        assert manifest.pending() == []
    finally:
        runner.configure()


def test_shutdown_cancels_running_work_and_keeps_it_pending(facade: Any) -> None:
    """configure()/shutdown() while a generation waits cancels it; the paid task stays in the journal."""
    sb, manifest = facade
    sb.config.model_seconds = {"google/imagen4": 1e12}
    future = runner.submit(runner.get_client().generate, "Imagen 4", "an owl cut short", timeout=1e12)
    for _ in range(500):
        if manifest.pending():
            break
        threading.Event().wait(0.01)
    runner.shutdown()
    assert future.cancelled() or isinstance(future.exception(timeout=5), BaseException)
    assert [p["state"] for p in manifest.pending()] == ["pending"]


def test_shutdown_while_a_create_is_on_the_wire_journals_it_as_uncertain(project: Path) -> None:
    """Shutting down (as at interpreter exit) while kie has a create but no answer yet keeps it journaled."""
    import httpx

    from kie_widgets.assets import Manifest
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    clock = FakeClock()
    sb = Sandbox(SandboxConfig(api_key=FAKE_KEY), clock=clock)
    manifest = Manifest(project / "assets" / "manifest.json")

    class AnswerNeverComes(httpx.AsyncBaseTransport):
        """kie receives the create (and charges it), but its answer is still on the way back."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await sb.transport.handle_async_request(request)
            if request.url.path.endswith("/createTask"):
                await asyncio.get_running_loop().create_future()
            return response

    runner.configure(api_key=FAKE_KEY, transport=AnswerNeverComes(), clock=clock, manifest=manifest)
    try:
        future = runner.submit(runner.get_client().generate, "Imagen 4", "an owl at exit")
        for _ in range(500):
            if sb.tasks:
                break
            threading.Event().wait(0.01)
        assert len(sb.tasks) == 1
        runner.shutdown()
        assert future.cancelled() or isinstance(future.exception(timeout=5), BaseException)
        assert [p["state"] for p in manifest.pending()] == ["uncertain"]
    finally:
        runner.configure()


def test_blocking_generate_obeys_the_notebook_budget(facade: Any) -> None:
    """kw.generate charges the current session's budget: over it, nothing is sent; within it, it runs."""
    import kie_widgets as kw
    from kie_widgets.errors import KieBudgetError
    from kie_widgets.session import current_session, use_session

    sb, manifest = facade
    use_session(None)
    try:
        budget = current_session().budget
        budget.limit = 0.5
        with pytest.raises(KieBudgetError, match="budget"):
            kw.generate("Imagen 4", "an owl over budget", n=2)
        assert sb.requests == []
        assert manifest.entries == []
        assert manifest.journal() == []
        budget.limit = 1000.0
        kw.generate("Imagen 4", "an owl within budget")
        assert budget.spent > 0
        spent = budget.spent
        budget.limit = spent
        with pytest.raises(KieBudgetError):
            kw.generate("Imagen 4", "one owl too many")
    finally:
        use_session(None)
