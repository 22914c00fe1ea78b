"""Callbacks to callBackUrl: each family's documented body, HMAC signature, retries, duplicates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from sandbox_helpers import BODIES, MakeSandbox, client_for, create

from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Fault, Sandbox, webhook_signature

pytestmark = pytest.mark.anyio
HOOK = "https://hooks.example.test/kie"


class Receiver:
    """A callback endpoint on its own transport that records what arrives; can fail N times first."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.fail_first = fail_first
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return httpx.Response(500)
        self.received.append((dict(request.headers), json.loads(request.content)))
        return httpx.Response(200, json={"status": "received"})


def _with_hook(family: str) -> dict[str, Any]:
    return {**BODIES[family], "callBackUrl": HOOK}


async def _finish(
    make_sandbox: MakeSandbox,
    clock: FakeClock,
    family: str,
    receiver: Receiver | None = None,
    *,
    wait: float = 30,
    **config: Any,
) -> tuple[Sandbox, Receiver, str]:
    """Create one task with a callBackUrl on a new sandbox, let ``wait`` seconds pass, send callbacks."""
    receiver = receiver or Receiver()
    sb = make_sandbox(callback_transport=receiver.transport, **config)
    async with client_for(sb) as http:
        task_id = await create(http, family, _with_hook(family))
        clock.advance(wait)
        await sb.flush()
    return sb, receiver, task_id


@pytest.mark.parametrize("family", ["gpt4o", "flux", "market"])
async def test_no_callback_before_the_task_ends(
    make_sandbox: MakeSandbox, clock: FakeClock, family: str
) -> None:
    """Nothing is sent while the task runs."""
    _, receiver, _ = await _finish(make_sandbox, clock, family, wait=3)
    assert receiver.received == []


async def test_gpt4o_callback_uses_info_result_urls(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """4o's success callback carries data.info.result_urls (snake case, unlike the record)."""
    _, receiver, task_id = await _finish(make_sandbox, clock, "gpt4o")
    [(_, body)] = receiver.received
    assert body["code"] == 200
    assert body["data"]["taskId"] == task_id
    assert len(body["data"]["info"]["result_urls"]) == 1


async def test_flux_callback_has_origin_and_result_urls(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """Flux's callback carries info.originImageUrl and info.resultImageUrl and BFL's message."""
    _, receiver, _ = await _finish(make_sandbox, clock, "flux")
    [(_, body)] = receiver.received
    assert body["msg"] == "BFL image generated successfully."
    assert set(body["data"]["info"]) == {"originImageUrl", "resultImageUrl"}


async def test_market_callback_is_shaped_like_the_record(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """Market's callback body equals the recordInfo envelope of the finished task."""
    sb, receiver, task_id = await _finish(make_sandbox, clock, "market")
    async with client_for(sb) as http:
        record = (await http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id})).json()
    [(_, body)] = receiver.received
    assert body == {**record, "data": {**record["data"], "updateTime": body["data"]["updateTime"]}}
    assert json.loads(body["data"]["param"])["callBackUrl"] == HOOK


@pytest.mark.parametrize(("family", "code"), [("gpt4o", 500), ("flux", 501), ("market", 501)])
async def test_failure_callbacks_carry_the_failure(
    make_sandbox: MakeSandbox, clock: FakeClock, family: str, code: int
) -> None:
    """A failed task's callback has the failure code and, for 4o/Flux, info null."""
    _, receiver, _ = await _finish(make_sandbox, clock, family, faults=[Fault("fail")])
    [(_, body)] = receiver.received
    assert body["code"] == code
    if family == "market":
        assert body["data"]["state"] == "fail"
    else:
        assert body["data"]["info"] is None


async def test_callbacks_are_signed_with_the_hmac_key(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """X-Webhook-Signature = base64(HMAC-SHA256(taskId + "." + X-Webhook-Timestamp, key))."""
    _, receiver, task_id = await _finish(make_sandbox, clock, "market", webhook_hmac_key="whsec-test")
    [(headers, _)] = receiver.received
    stamp = headers["x-webhook-timestamp"]
    expected = base64.b64encode(
        hmac.new(b"whsec-test", f"{task_id}.{stamp}".encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["x-webhook-signature"] == expected == webhook_signature(task_id, stamp, "whsec-test")
    assert int(stamp) == int(clock.time())


async def test_unsigned_callbacks_have_no_signature_headers(
    make_sandbox: MakeSandbox, clock: FakeClock
) -> None:
    """Without a key no signature headers are sent."""
    _, receiver, _ = await _finish(make_sandbox, clock, "market")
    [(headers, _)] = receiver.received
    assert "x-webhook-signature" not in headers


@pytest.mark.parametrize(("fail_first", "delivered", "attempts"), [(2, True, 3), (9, False, 4)])
async def test_callbacks_retry_three_times_then_stop(
    make_sandbox: MakeSandbox, clock: FakeClock, fail_first: int, delivered: bool, attempts: int
) -> None:
    """A non-2xx answer is retried up to 3 more times; after that kie gives up."""
    sb, _, _ = await _finish(make_sandbox, clock, "market", Receiver(fail_first=fail_first))
    [record] = sb.callbacks
    assert (record.delivered, record.attempts) == (delivered, attempts)


async def test_callbacks_can_be_duplicated(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """callback_duplicates sends each callback twice, as kie may."""
    _, receiver, _ = await _finish(make_sandbox, clock, "gpt4o", callback_duplicates=True)
    assert len(receiver.received) == 2
    assert receiver.received[0][1] == receiver.received[1][1]


async def test_callback_is_sent_when_nobody_polls(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """flush() settles by clock time alone, so a callback-only client gets its result."""
    receiver = Receiver()
    sb = make_sandbox(callback_transport=receiver.transport)
    async with client_for(sb) as http:
        await create(http, "market", _with_hook("market"))
    clock.advance(30)
    await sb.flush()
    assert len(receiver.received) == 1


class _ClosableTransport(httpx.AsyncBaseTransport):
    """A transport that refuses requests once closed (as a real pooled transport would)."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.closed:
            raise RuntimeError("transport used after close")
        return await self.receiver.transport.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True


async def test_a_configured_callback_transport_serves_many_deliveries(
    make_sandbox: MakeSandbox, clock: FakeClock
) -> None:
    """Delivering one callback does not close the shared callback transport for the next."""
    receiver = Receiver()
    transport = _ClosableTransport(receiver)
    sb = make_sandbox(callback_transport=transport)
    async with client_for(sb) as http:
        for _ in range(3):
            await create(http, "market", _with_hook("market"))
            clock.advance(30)
            await sb.flush()
    assert len(receiver.received) == 3
    assert transport.closed is False
