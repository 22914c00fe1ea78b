"""Callbacks: the POST kie sends to ``callBackUrl`` when a task ends, signed when a webhook key is set.

Each family sends its own body shape. Delivery retries on errors and non-2xx answers; the
in-process transport starts deliveries on the running loop and does not wait for them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import replace
from typing import Any

import httpx

from kie_widgets.sandbox._records import CallbackRecord
from kie_widgets.sandbox._state import SandboxState
from kie_widgets.sandbox._tasks import SandboxTask, origin_url, result_url, status_record
from kie_widgets.sandbox._wire import dumps


def webhook_signature(task_id: str, timestamp: str, key: str) -> str:
    """kie's webhook signature: base64(HMAC-SHA256(taskId + "." + timestamp, key))."""
    mac = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class CallbackQueue:
    """Every callback queued so far (``records``), those not yet handed to a sender, and those in flight."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.records: list[CallbackRecord] = []
        self._pending: list[CallbackRecord] = []
        self._inflight: set[asyncio.Task[None]] = set()

    def queue(self, task: SandboxTask) -> None:
        """Queue the callback of a task that just ended (twice when the config asks for duplicates)."""
        record = self._callback_for(task)
        self.records.append(record)
        self._pending.append(record)
        if self._state.config.callback_duplicates:
            twin = replace(record, headers=dict(record.headers))
            self.records.append(twin)
            self._pending.append(twin)

    def take(self) -> list[CallbackRecord]:
        """Callbacks queued and not yet handed to a sender."""
        out, self._pending = self._pending, []
        return out

    def start(self, records: list[CallbackRecord]) -> None:
        """Start sending ``records`` on the running event loop (fire and forget)."""
        loop = asyncio.get_running_loop()
        for record in records:
            task = loop.create_task(self.deliver(record))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def wait(self) -> None:
        """Wait until every delivery started on this loop has finished."""
        loop = asyncio.get_running_loop()
        mine = [t for t in list(self._inflight) if t.get_loop() is loop]
        if mine:
            await asyncio.gather(*mine)

    async def deliver(self, record: CallbackRecord) -> None:
        """POST one callback, retrying up to ``callback_retries`` times on non-2xx or errors."""
        cfg = self._state.config
        payload = dumps(record.body).encode()
        # A configured transport is shared by every delivery, so closing one client must not close it.
        transport = _Borrowed(cfg.callback_transport) if cfg.callback_transport is not None else None
        async with httpx.AsyncClient(transport=transport, timeout=cfg.callback_timeout) as client:
            for attempt in range(1 + max(0, cfg.callback_retries)):
                if attempt and cfg.callback_retry_delay > 0:
                    await asyncio.sleep(cfg.callback_retry_delay)
                record.attempts += 1
                try:
                    response = await client.post(record.url, content=payload, headers=record.headers)
                except httpx.HTTPError as exc:
                    record.error = f"{type(exc).__name__}: {exc}"
                    continue
                record.status = response.status_code
                if 200 <= response.status_code < 300:
                    record.delivered = True
                    record.error = None
                    return
                record.error = f"HTTP {response.status_code}"

    def _callback_for(self, task: SandboxTask) -> CallbackRecord:
        cfg = self._state.config
        ok = task.fail_code is None
        base = cfg.result_base
        body: dict[str, Any]
        if task.family == "market":
            code = 200 if ok else (task.fail_code or 501)
            body = {
                "code": code,
                "msg": "success" if ok else task.fail_message,
                "data": status_record(task, task.ends, cfg),
            }
        elif task.family == "gpt4o":
            urls = [result_url(task, i, base) for i in range(task.n)]
            body = {
                "code": 200 if ok else task.fail_code,
                "msg": "success" if ok else task.fail_message,
                "data": {"taskId": task.task_id, "info": {"result_urls": urls} if ok else None},
            }
        else:
            info = {"originImageUrl": origin_url(task, base), "resultImageUrl": result_url(task, 0, base)}
            body = {
                "code": 200 if ok else task.fail_code,
                "msg": "BFL image generated successfully." if ok else task.fail_message,
                "data": {"taskId": task.task_id, "info": info if ok else None},
            }
        headers = {"content-type": "application/json", "user-agent": "kie-sandbox-callback/1.0"}
        key = cfg.webhook_hmac_key
        if key:
            stamp = str(int(self._state.clock.time()))
            headers["x-webhook-timestamp"] = stamp
            headers["x-webhook-signature"] = webhook_signature(task.task_id, stamp, key)
        return CallbackRecord(task.callback_url or "", task.task_id, task.family, body, headers)


class _Borrowed(httpx.AsyncBaseTransport):
    """A transport used by a client that does not own it: closing the client leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request to the shared transport."""
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Leave the shared transport open."""


__all__ = ["CallbackQueue", "webhook_signature"]
