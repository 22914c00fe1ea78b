"""Deadlines, cancellation and resume(): a paid task is never lost and never collected twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jobs_helpers import creates

from kie_widgets.errors import KieWaitTimeoutError

pytestmark = pytest.mark.anyio


async def test_timeout_leaves_the_task_pending_and_resume_collects_it(
    make_sandbox: Any, make_client: Any, manifest: Any, clock: Any
) -> None:
    """A task slower than its deadline raises KieWaitTimeoutError, stays pending, and resume() gets it."""
    sb = make_sandbox(model_seconds={"google/imagen4": 200.0})
    updates: list[Any] = []
    async with make_client(sb) as kie:
        with pytest.raises(KieWaitTimeoutError) as info:
            await kie.generate("Imagen 4", "a slow sunrise", timeout=60, on_status=updates.append)
        assert info.value.task_id in sb.tasks
        assert info.value.waited is not None
        assert 60 <= info.value.waited <= 61
        assert updates[-1].state == "timeout"
        pending = manifest.pending()
        assert [p["task_id"] for p in pending] == [info.value.task_id]
        assert pending[0]["state"] == "pending"
        assert manifest.entries == []

        assets = await kie.resume()
        assert [a.task_id for a in assets] == [info.value.task_id]
        assert assets[0].prompt == "a slow sunrise"
        assert manifest.pending() == []
        assert await kie.resume() == []
    assert len(creates(sb)) == 1


async def test_default_deadline_comes_from_the_model(make_sandbox: Any, make_client: Any, clock: Any) -> None:
    """Without timeout= the wait ends at the model's default_timeout."""
    sb = make_sandbox(model_seconds={"google/imagen4": 100_000.0})
    async with make_client(sb) as kie:
        limit = kie.plan("Imagen 4", "x").spec.default_timeout
        with pytest.raises(KieWaitTimeoutError) as info:
            await kie.generate("Imagen 4", "a task that never ends")
    assert info.value.waited == pytest.approx(limit, abs=1.0)


async def test_cancellation_leaves_the_task_pending(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """Cancelling a waiting generate (Ctrl-C in a cell) keeps the task pending for resume()."""
    sb = make_sandbox(model_seconds={"google/imagen4": 300.0})
    async with make_client(sb) as kie:
        task = asyncio.ensure_future(kie.generate("Imagen 4", "an interrupted comet", timeout=1000))
        for _ in range(10_000):
            await asyncio.sleep(0)
            if manifest.pending() and kie.jobs:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [p["state"] for p in manifest.pending()] == ["pending"]
        assert manifest.entries == []
        assets = await kie.resume()
    assert len(assets) == 1
    assert len(creates(sb)) == 1


async def test_cancel_during_create_still_journals_the_task(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A cancellation that lands while the create is on the wire waits for its answer and journals it."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        create = kie.api.create
        started = asyncio.Event()

        async def slow_create(*args: Any, **kwargs: Any) -> str:
            started.set()
            await asyncio.sleep(0.05)
            return await create(*args, **kwargs)

        kie.api.create = slow_create
        task = asyncio.ensure_future(kie.generate("Imagen 4", "a cancelled create"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(sb.tasks) == 1
        assert [p["task_id"] for p in manifest.pending()] == list(sb.tasks)


async def test_resume_after_a_crash_between_record_and_complete_records_nothing_twice(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """If the process died after recording but before completing the journal, resume() only completes it."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        real_complete = manifest.journal_complete

        def crash(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("simulated crash before journal_complete")

        manifest.journal_complete = crash
        with pytest.raises(RuntimeError):
            await kie.generate("4o Image", "a crash-safe crane")
        manifest.journal_complete = real_complete
        assert len(manifest.entries) == 1
        assert len(manifest.pending()) == 1

        assets = await kie.resume()
    assert [a.id for a in assets] == [manifest.entries[0]["id"]]
    assert len(manifest.entries) == 1
    assert manifest.pending() == []
    assert len(creates(sb)) == 1


async def test_resume_skips_uncertain_submissions(make_sandbox: Any, make_client: Any, manifest: Any) -> None:
    """An uncertain create has no task id to ask about: resume() leaves it for the user and sends nothing."""
    from kie_widgets.errors import KieSubmitUncertainError
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    sb.add_fault(Fault(kind="timeout", route="create"))
    async with make_client(sb) as kie:
        with pytest.raises(KieSubmitUncertainError) as info:
            await kie.generate("Imagen 4", "a lost letter")
        assert info.value.journal_id
        count = len(sb.requests)
        assert await kie.resume() == []
        assert len(sb.requests) == count
    assert [p["state"] for p in manifest.pending()] == ["uncertain"]


async def test_resume_marks_tasks_kie_failed(make_sandbox: Any, make_client: Any, manifest: Any) -> None:
    """A pending task that failed on kie's side while nobody watched is marked failed by resume()."""
    from kie_widgets.errors import KieTaskFailedError
    from kie_widgets.sandbox import Fault

    sb = make_sandbox(model_seconds={"google/imagen4": 500.0})
    sb.add_fault(Fault(kind="fail", code=501))
    async with make_client(sb) as kie:
        with pytest.raises(KieWaitTimeoutError):
            await kie.generate("Imagen 4", "a doomed task", timeout=30)
        report = await kie.resume()
    assert len(report.failed) == 1
    assert isinstance(report.errors[0], KieTaskFailedError)
    assert list(report) == []
    assert manifest.pending() == []
    assert manifest.entries == []


async def test_a_record_not_visible_yet_is_waited_out(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """kie's 'recordInfo is null' for 60 s after create is a propagation delay, not a failure."""
    sb = make_sandbox(invisible_for=60.0, model_seconds={"google/imagen4": 70.0})
    async with make_client(sb) as kie:
        assets = await kie.generate("Imagen 4", "a shy deer")
    assert len(assets) == 1
    assert manifest.pending() == []


async def test_a_record_that_never_appears_fails_after_the_grace_period(
    make_sandbox: Any, make_client: Any, manifest: Any, clock: Any
) -> None:
    """A task kie still does not show after the grace period is reported missing and marked failed."""
    from kie_widgets.errors import KieNotFoundError

    sb = make_sandbox(invisible_for=10_000.0, model_seconds={"google/imagen4": 20_000.0})
    async with make_client(sb) as kie:
        with pytest.raises(KieNotFoundError):
            await kie.generate("Imagen 4", "a ghost", timeout=3600)
        grace = kie.schedule.grace
    assert grace <= clock.monotonic() <= grace + 30
    assert manifest.pending() == []
    assert [r["state"] for r in manifest.journal()] == ["failed"]


async def test_a_journal_that_cannot_be_written_does_not_abandon_a_paid_task(
    make_sandbox: Any, make_client: Any, manifest: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal locked right after a create does not abandon the task: it is collected and logged by id."""
    from kie_widgets.errors import KieManifestLockError

    def locked(*args: Any, **kwargs: Any) -> None:
        raise KieManifestLockError("the manifest lock was not acquired")

    manifest.journal_submit = locked
    sb = make_sandbox()
    async with make_client(sb) as kie:
        assets = await kie.generate("Imagen 4", "a stubborn mule")
    assert len(assets) == 1
    assert assets[0].task_id in caplog.text
