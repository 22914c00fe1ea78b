"""The ``Sandbox`` object: the front door of every request, and the parts it wires together.

``Sandbox.handle`` takes one ``Incoming`` request and returns a ``Reply``; the in-process httpx
transport and the real HTTP server both translate to and from these. Here a request is logged,
faults are drawn, the User-Agent and key are checked, then ``KieRoutes`` answers it (files are
served by ``FileStore`` without a key). Task state is a pure function of clock time, so nothing
runs in the background in-process: a ``FakeClock`` jump is all it takes for a 40-second task to
finish. ``settle()`` books what finished since the last request (debits, callbacks) in completion
order.
"""

from __future__ import annotations

import hmac
import json
import random
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

from kie_widgets.clock import Clock, RealClock
from kie_widgets.sandbox._callbacks import CallbackQueue
from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._faults import (
    FILE_FAULTS,
    REQUEST_FAULTS,
    UNHANDLED_FAULTS,
    Fault,
    FaultBook,
    network_reply,
)
from kie_widgets.sandbox._files import FileStore
from kie_widgets.sandbox._ledger import Ledger
from kie_widgets.sandbox._records import CallbackRecord, Incoming, Reply, RequestRecord, StoredFile
from kie_widgets.sandbox._routes import STATUS_ROUTES, KieRoutes, route_of
from kie_widgets.sandbox._state import SandboxState
from kie_widgets.sandbox._tasks import SandboxTask, fail_now, status_record, task_for
from kie_widgets.sandbox._transport import SandboxTransport
from kie_widgets.sandbox._uploads import UPLOAD_ROUTES, UploadHost
from kie_widgets.sandbox._wire import ENVELOPE_MESSAGES, json_reply

_MAX_LOG = 20_000
_DEFAULT_UA_PREFIXES = ("python-httpx/", "python-urllib/", "python-requests/")


class Sandbox:
    """An offline kie.ai: the API host, the upload host and the file hosts in one object.

    ``transport`` plugs it into an ``httpx.AsyncClient`` in-process; ``SandboxServer`` serves it on
    a loopback socket. ``tasks``, ``requests``, ``callbacks`` and ``balance`` are there to inspect.
    """

    def __init__(self, config: SandboxConfig | None = None, clock: Clock | None = None) -> None:
        config = config or SandboxConfig()
        self._state = SandboxState(config, clock or RealClock(), random.Random(config.seed))
        self.api_key: str = config.api_key
        self.requests: list[RequestRecord] = []
        #: unexpected exceptions inside the emulator (each also answered as an envelope 500)
        self.errors: list[str] = []
        self._ledger = Ledger(config.credits)
        self._faults = FaultBook(config.faults, self._state.rng)
        self._files = FileStore(self._state)
        self._callbacks = CallbackQueue(self._state)
        self._routes = KieRoutes(
            self._state, self._ledger, self._faults, self._files, UploadHost(self._state, self._files)
        )
        self._transport: SandboxTransport | None = None

    def __repr__(self) -> str:
        return f"Sandbox(tasks={len(self.tasks)}, balance={self._ledger.balance:g}, clock={self.clock!r})"

    # ---------------------------------------------------------------- public
    @property
    def config(self) -> SandboxConfig:
        """The configuration this sandbox runs with."""
        return self._state.config

    @property
    def clock(self) -> Clock:
        """The clock every task state is read from."""
        return self._state.clock

    @property
    def tasks(self) -> dict[str, SandboxTask]:
        """Every task created, by task id."""
        return self._state.tasks

    @property
    def uploads(self) -> dict[str, StoredFile]:
        """Every uploaded file, by the path it is served at."""
        return self._files.uploads

    @property
    def callbacks(self) -> list[CallbackRecord]:
        """Every callback queued so far, with what came of its delivery."""
        return self._callbacks.records

    @property
    def faults(self) -> list[Fault]:
        """The faults this sandbox runs with, with their ``hits`` so far."""
        return self._faults.faults

    @property
    def transport(self) -> SandboxTransport:
        """An ``httpx.AsyncBaseTransport`` that answers every host from this sandbox."""
        if self._transport is None:
            self._transport = SandboxTransport(self)
        return self._transport

    @property
    def balance(self) -> float:
        """Credits left, after booking every task finished by now."""
        with self._state.lock:
            self.settle()
            return self._ledger.balance

    @balance.setter
    def balance(self, value: float) -> None:
        with self._state.lock:
            self._ledger.balance = float(value)

    def add_fault(self, fault: Fault) -> Fault:
        """Script one more fault (see ``Fault``); returns it so its ``hits`` can be inspected."""
        with self._state.lock:
            self._faults.faults.append(fault)
        return fault

    def set_public_base(self, url: str) -> None:
        """Make every file URL point at ``url`` (the real server's own address)."""
        url = url.rstrip("/")
        with self._state.lock:
            self._state.config = replace(self.config, result_base=url, upload_file_base=url, signed_base=url)

    def settle(self) -> None:
        """Book every task that ended by now: debit successes, release failures, queue callbacks."""
        with self._state.lock:
            for task in self._ledger.settle(self.tasks.values(), self.clock.time()):
                if task.callback_url:
                    self._callbacks.queue(task)

    def take_callbacks(self) -> list[CallbackRecord]:
        """Callbacks queued by ``settle`` and not yet handed to a sender."""
        with self._state.lock:
            return self._callbacks.take()

    def spawn_callbacks(self) -> None:
        """Start sending queued callbacks on the running event loop (fire and forget)."""
        records = self.take_callbacks()
        if records:
            self._callbacks.start(records)

    async def flush(self) -> None:
        """Settle now and wait until every callback started on this loop has been sent."""
        self.settle()
        self.spawn_callbacks()
        await self._callbacks.wait()

    async def deliver(self, record: CallbackRecord) -> None:
        """POST one callback, retrying up to ``callback_retries`` times on non-2xx or errors."""
        await self._callbacks.deliver(record)

    # ---------------------------------------------------------- front door
    def handle(self, req: Incoming) -> Reply:
        """Answer one request (thread-safe)."""
        try:
            return self._handle(req)
        except Exception as exc:  # the emulator must answer, not die; the test suite checks `errors`
            self.errors.append("".join(traceback.format_exception(exc)))
            return self._state.envelope(500, f"Sandbox internal error: {type(exc).__name__}")

    def _handle(self, req: Incoming) -> Reply:
        route = route_of(req.path)
        with self._state.lock:
            self.settle()
            record = self._log(req)
            fault = self._faults.pick(route, req.path, FILE_FAULTS if route == "file" else REQUEST_FAULTS)
            if fault is not None and not fault.processed and fault.kind in UNHANDLED_FAULTS:
                return self._fault_reply(fault, route, req)
        if route == "file":
            return self._files.serve(req, fault)
        with self._state.lock:
            if req.path.startswith("/api/"):
                ua = (req.headers.get("user-agent") or "").strip()
                record.user_agent = ua or None
                if not ua or (
                    self.config.block_default_user_agents and ua.lower().startswith(_DEFAULT_UA_PREFIXES)
                ):
                    return Reply(403, {"content-type": "text/plain; charset=UTF-8"}, b"error code: 1010")
                record.authorized = self._authorized(req)
                if not record.authorized:
                    return self._auth_error(req.path)
            reply = self._routes.dispatch(route, req)
            if fault is not None:
                if fault.kind == "timeout":
                    return Reply(action="timeout", delay=fault.delay)
                return self._fault_reply(fault, route, req)
            return reply

    def _log(self, req: Incoming) -> RequestRecord:
        body: Any = None
        if req.body and "json" in (req.headers.get("content-type") or ""):
            try:
                body = json.loads(req.body)
            except ValueError:
                body = None
        if isinstance(body, dict) and isinstance(body.get("base64Data"), str):
            # The log lives as long as the sandbox: keep what was sent, not the file itself.
            body = {**body, "base64Data": f"<{len(body['base64Data'])} characters>"}
        record = RequestRecord(req.method, req.host, req.path, dict(req.query), body, self.clock.time())
        self.requests.append(record)
        if len(self.requests) > _MAX_LOG:
            del self.requests[: _MAX_LOG // 2]  # a long server run must not grow without bound
        return record

    def _authorized(self, req: Incoming) -> bool:
        header = req.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    def _auth_error(self, path: str) -> Reply:
        body = {"code": 401, "msg": "You do not have access permissions"}
        if path in UPLOAD_ROUTES:
            body = {"success": False, **body}
        return json_reply(401 if self.config.http_errors else 200, body)

    def _fault_reply(self, fault: Fault, route: str, req: Incoming) -> Reply:
        reply = network_reply(fault)
        if reply is not None:
            return reply
        code = fault.code or 500
        if route == "upload":
            return self._state.upload_error(code, fault.message or ENVELOPE_MESSAGES.get(code, "error"))
        data = None
        if route == "status" and code in (501, 408):
            # kie reports a generation failure or timeout in the record itself: the task ends here.
            task = task_for(self.tasks, STATUS_ROUTES[req.path], req.query.get("taskId"))
            if task is not None:
                now = self.clock.time()
                if fail_now(task, code, now):
                    self.settle()
                data = status_record(task, now, self.config)
        return self._state.envelope(code, fault.message, data)


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process-wide sandbox behind ``KIE_SANDBOX=1``: real clock, tasks finish in about 2 s."""
    global _shared
    with _shared_lock:
        if _shared is None:
            config = SandboxConfig(
                waiting=0.3, queuing=0.3, generating=1.4, invisible_for=0.3, seed=int(time.time_ns() % 2**32)
            )
            _shared = Sandbox(config)
        return _shared


__all__ = ["Sandbox", "shared_sandbox"]
