"""Results come back in request order, and each records its request and variant (issue 11 item 9)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from jobs_helpers import FAKE_KEY

pytestmark = pytest.mark.anyio


async def test_generate_returns_request_order_even_when_the_first_task_finishes_last(
    make_sandbox: Any, clock: Any, manifest: Any
) -> None:
    """n=3 where the first task is slowest: assets come back variant 0, 1, 2, in the creates' order."""
    from kie_widgets.jobs import KieClient

    sb = make_sandbox()
    created: list[str] = []

    class FirstIsSlow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await sb.transport.handle_async_request(request)
            if request.url.path.endswith("/createTask"):
                await response.aread()
                created.append(response.json()["data"]["taskId"])
            elif created and f"/results/{created[0]}/" in request.url.path:
                await asyncio.sleep(0.3)  # real time: the first task's file arrives after the others
            return response

    async with KieClient(api_key=FAKE_KEY, transport=FirstIsSlow(), clock=clock, manifest=manifest) as kie:
        assets = await kie.generate("Imagen 4", "three foxes in a row", n=3, timeout=3600)
    assert [a.task_id for a in assets] == created
    completion = [e["kie"]["task_id"] for e in manifest.entries]
    assert completion[-1] == created[0], "the scenario must make the first task finish last"
    by_task = {e["kie"]["task_id"]: e["kie"] for e in manifest.entries}
    assert [by_task[t]["variant"] for t in created] == [0, 1, 2]
    assert {by_task[t]["request"] for t in created} == {0}
    assert len({by_task[t]["batch"] for t in created}) == 1


async def test_a_multi_image_request_numbers_its_variants(kie: Any, manifest: Any) -> None:
    """4o Image with n=2 is one task with two results: variants 0 and 1, in kie's result order."""
    assets = await kie.generate("4o Image", "two owls", n=2)
    assert [manifest.get(a.id)["kie"]["variant"] for a in assets] == [0, 1]
