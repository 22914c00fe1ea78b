"""Cancellation at the await points between create and journal never loses a paid (or maybe paid) task.

A create cancelled while on the wire is pinned where it happens for real, in
tests/runner/test_runner.py (a shutdown at interpreter exit).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jobs_helpers import creates

from kie_widgets.errors import KieInsufficientCreditsError

pytestmark = pytest.mark.anyio


async def _cancel_everything_started_since(before: set[asyncio.Task[Any]]) -> None:
    """Cancel every task started since ``before`` and wait for them, as a runner shutting down does."""
    started = asyncio.all_tasks() - before - {asyncio.current_task()}
    for task in started:
        task.cancel()
    await asyncio.gather(*started, return_exceptions=True)


async def _until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.002)  # real time: journal writes run on worker threads
    raise AssertionError("the condition never came true")


async def test_a_create_cancelled_while_waiting_for_the_limiter_leaves_no_journal_record(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A create that never left (cancelled while queued for a place in the rate limit) is not journaled."""
    from kie_widgets.client import RateLimiter

    sb = make_sandbox()
    async with make_client(sb) as kie:
        kie.api.limiter = RateLimiter(creates_in_flight=1, clock=kie.clock)
        await kie.api.limiter.open_create()  # another create is on the wire and holds the one place
        before = asyncio.all_tasks()
        call = asyncio.ensure_future(kie.generate("Imagen 4", "an owl still in the queue"))
        for _ in range(50):
            await asyncio.sleep(0)
        await _cancel_everything_started_since(before)
        kie.api.limiter.close_create()
    assert call.cancelled()
    assert manifest.pending() == []
    assert creates(sb) == []


async def test_a_submit_journal_write_cancelled_before_it_ran_is_written_anyway(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A task kie created is journaled pending even when the journal write is cancelled while queued."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        # Once kie answered, another manifest write of this client holds the turn, so journal_submit
        # has to queue (the intent was journaled before the create, while the turn was free).
        lock = kie._record_lock = asyncio.Lock()
        real_create = kie.api.create

        async def create_then_hold_the_turn(*args: Any, **kwargs: Any) -> str:
            task_id: str = await real_create(*args, **kwargs)
            await lock.acquire()
            return task_id

        kie.api.create = create_then_hold_the_turn
        before = asyncio.all_tasks()
        call = asyncio.ensure_future(kie.generate("Imagen 4", "an owl whose journal entry had to wait"))
        await _until(lambda: len(sb.tasks) == 1 and lock.locked())
        for _ in range(20):
            await asyncio.sleep(0)
        await _cancel_everything_started_since(before)
        kie._record_lock.release()
    assert call.cancelled()
    pending = manifest.pending()
    assert [p["state"] for p in pending] == ["pending"]
    assert pending[0]["task_id"] in sb.tasks


async def test_402_on_create_carries_the_plans_estimate_and_the_balance(
    make_sandbox: Any, make_client: Any
) -> None:
    """Too few credits: the error names what the request costs (from the plan) and what is left."""
    sb = make_sandbox(credits=0.5)
    async with make_client(sb) as kie:
        estimate = kie.plan("Imagen 4", "an owl on credit").estimated_credits
        with pytest.raises(KieInsufficientCreditsError) as caught:
            await kie.generate("Imagen 4", "an owl on credit")
    assert caught.value.estimated_cost == pytest.approx(estimate)
    assert caught.value.balance == pytest.approx(0.5)
    assert f"{estimate:g} credits" in str(caught.value)
