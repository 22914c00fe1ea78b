"""The emulator's state machine and routes, independent of how requests arrive.

``Sandbox.handle`` takes one ``Incoming`` request and returns a ``Reply``; the in-process httpx
transport and the real HTTP server both translate to and from these. Task state is a pure function
of clock time read at each request, so nothing runs in the background in-process: a ``FakeClock``
jump is all it takes for a 40-second task to finish. ``settle()`` books what finished since the
last request (debits, callbacks) in completion order.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import mimetypes
import random
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from kie_widgets.clock import Clock, RealClock
from kie_widgets.errors import KieValidationError
from kie_widgets.sandbox import _images
from kie_widgets.sandbox._config import Fault, SandboxConfig
from kie_widgets.sandbox._records import (
    CallbackRecord,
    Incoming,
    Reply,
    RequestRecord,
    SandboxTask,
    StoredFile,
)

if TYPE_CHECKING:
    from PIL import Image

GPT4O_CREATE = "/api/v1/gpt4o-image/generate"
FLUX_CREATE = "/api/v1/flux/kontext/generate"
MARKET_CREATE = "/api/v1/jobs/createTask"
CREATE_ROUTES = {GPT4O_CREATE: "gpt4o", FLUX_CREATE: "flux-kontext", MARKET_CREATE: "market"}
STATUS_ROUTES = {
    "/api/v1/gpt4o-image/record-info": "gpt4o",
    "/api/v1/flux/kontext/record-info": "flux-kontext",
    "/api/v1/jobs/recordInfo": "market",
}
CREDIT_ROUTE = "/api/v1/chat/credit"
DOWNLOAD_ROUTES = {"/api/v1/gpt4o-image/download-url": "gpt4o", "/api/v1/common/download-url": "common"}
UPLOAD_ROUTES = ("/api/file-stream-upload", "/api/file-url-upload", "/api/file-base64-upload")
FILE_PREFIXES = ("/results/", "/signed/", "/kieai/")

_FAIL_MESSAGES = {
    400: "Your content was flagged by the content policy; change the prompt or the input image.",
    408: "The task timed out: the upstream gave no result for more than 10 minutes.",
    451: "Failed to fetch the image. Kindly verify any access limits set by you or your service provider.",
    455: "The service is under maintenance.",
    500: "Internal error, please try again later.",
    501: "Generation failed.",
    550: "Connection denied: the task queue is full.",
}
_ENVELOPE_MESSAGES = {
    400: "Bad request",
    401: "You do not have access permissions",
    402: "The current credits are insufficient. Please top up.",
    404: "Not found",
    405: "Method not allowed",
    408: "Task timed out",
    422: "Validation error",
    429: "Your call frequency is too high. Please try again later.",
    433: "The usage limit set for this API key has been reached.",
    455: "Service unavailable: the system is under maintenance.",
    500: "Internal server error",
    501: "Generation failed",
    505: "This feature is disabled",
    550: "Connection denied: the task was rejected because the queue is full.",
}
_GATEWAY_PAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}
_MASK_FIELDS = {"maskUrl", "mask_url", "reference_mask_urls"}
_MAX_LOG = 20_000
_RENDER_BUDGET = 64 * 1024 * 1024
_DEFAULT_UA_PREFIXES = ("python-httpx/", "python-urllib/", "python-requests/")


def _documented_defaults(spec: Any) -> dict[str, Any]:
    """The catalog's documented defaults of a model's wire fields (empty if it has none)."""
    out: dict[str, Any] = {}
    for f in getattr(spec, "fields", ()):
        if getattr(f, "has_default", False):
            out[f.name] = f.default
    return out


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


class Sandbox:
    """An offline kie.ai: the API host, the upload host and the file hosts in one object.

    ``transport`` plugs it into an ``httpx.AsyncClient`` in-process; ``SandboxServer`` serves it on
    a loopback socket. ``tasks``, ``requests``, ``callbacks`` and ``balance`` are there to inspect.
    """

    def __init__(self, config: SandboxConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock: Clock = clock or RealClock()
        self.api_key: str = self.config.api_key
        self.tasks: dict[str, SandboxTask] = {}
        self.requests: list[RequestRecord] = []
        self.callbacks: list[CallbackRecord] = []
        self.uploads: dict[str, StoredFile] = {}
        #: unexpected exceptions inside the emulator (each also answered as an envelope 500)
        self.errors: list[str] = []
        self.faults: list[Fault] = [replace(f) for f in self.config.faults]
        self._balance = float(self.config.credits)
        self._creates: deque[float] = deque()
        self._reads: deque[float] = deque()
        self._signed: dict[str, tuple[str, int, float]] = {}
        self._rng = random.Random(self.config.seed)
        self._lock = threading.RLock()
        self._renders: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._render_bytes = 0
        self._pending: list[CallbackRecord] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._transport: httpx.AsyncBaseTransport | None = None

    def __repr__(self) -> str:
        return f"Sandbox(tasks={len(self.tasks)}, balance={self._balance:g}, clock={self.clock!r})"

    # ---------------------------------------------------------------- public
    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """An ``httpx.AsyncBaseTransport`` that answers every host from this sandbox."""
        if self._transport is None:
            from kie_widgets.sandbox._transport import SandboxTransport

            self._transport = SandboxTransport(self)
        return self._transport

    @property
    def balance(self) -> float:
        """Credits left, after booking every task finished by now."""
        with self._lock:
            self.settle()
            return self._balance

    @balance.setter
    def balance(self, value: float) -> None:
        with self._lock:
            self._balance = float(value)

    def add_fault(self, fault: Fault) -> Fault:
        """Script one more fault (see ``Fault``); returns it so its ``hits`` can be inspected."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def set_public_base(self, url: str) -> None:
        """Make every file URL point at ``url`` (the real server's own address)."""
        url = url.rstrip("/")
        with self._lock:
            self.config = replace(self.config, result_base=url, upload_file_base=url, signed_base=url)

    def settle(self) -> None:
        """Book every task that ended by now: debit successes, release failures, queue callbacks."""
        with self._lock:
            now = self.clock.time()
            due = sorted(
                (t for t in self.tasks.values() if not t.settled and t.ends <= now), key=lambda t: t.ends
            )
            for task in due:
                task.settled = True
                if task.fail_code is None:
                    self._balance -= task.price
                    task.charged = task.price
                if task.callback_url:
                    record = self._callback_for(task)
                    self.callbacks.append(record)
                    self._pending.append(record)
                    if self.config.callback_duplicates:
                        twin = replace(record, headers=dict(record.headers))
                        self.callbacks.append(twin)
                        self._pending.append(twin)

    def take_callbacks(self) -> list[CallbackRecord]:
        """Callbacks queued by ``settle`` and not yet handed to a sender."""
        with self._lock:
            out, self._pending = self._pending, []
            return out

    def spawn_callbacks(self) -> None:
        """Start sending queued callbacks on the running event loop (fire and forget)."""
        records = self.take_callbacks()
        if not records:
            return
        loop = asyncio.get_running_loop()
        for record in records:
            task = loop.create_task(self.deliver(record))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def flush(self) -> None:
        """Settle now and wait until every callback started on this loop has been sent."""
        self.settle()
        self.spawn_callbacks()
        loop = asyncio.get_running_loop()
        mine = [t for t in list(self._inflight) if t.get_loop() is loop]
        if mine:
            await asyncio.gather(*mine)

    async def deliver(self, record: CallbackRecord) -> None:
        """POST one callback, retrying up to ``callback_retries`` times on non-2xx or errors."""
        cfg = self.config
        payload = _dumps(record.body).encode()
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

    # --------------------------------------------------------------- dispatch
    def handle(self, req: Incoming) -> Reply:
        """Answer one request (thread-safe)."""
        try:
            return self._handle(req)
        except Exception as exc:  # the emulator must answer, not die; the test suite checks `errors`
            self.errors.append("".join(traceback.format_exception(exc)))
            return self._envelope(500, f"Sandbox internal error: {type(exc).__name__}")

    def _handle(self, req: Incoming) -> Reply:
        route = self._route(req.method, req.path)
        with self._lock:
            self.settle()
            record = self._log(req)
            kinds = {"http", "envelope", "reset", "connect", "timeout"}
            if route == "file":
                kinds |= {"truncate", "notimage", "bomb", "expired"}
            fault = self._pick_fault(route, req.path, kinds)
            if (
                fault is not None
                and not fault.processed
                and fault.kind in {"http", "envelope", "reset", "connect"}
            ):
                return self._fault_reply(fault, route, req)
        if route == "file":
            return self._serve_file(req, fault)
        with self._lock:
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
            reply = self._dispatch(route, req)
            if fault is not None:
                if fault.kind == "timeout":
                    return Reply(action="timeout", delay=fault.delay)
                return self._fault_reply(fault, route, req)
            return reply

    @staticmethod
    def _route(method: str, path: str) -> str:
        if path in CREATE_ROUTES:
            return "create"
        if path in STATUS_ROUTES:
            return "status"
        if path == CREDIT_ROUTE:
            return "credit"
        if path in DOWNLOAD_ROUTES:
            return "download-url"
        if path in UPLOAD_ROUTES:
            return "upload"
        if path.startswith(FILE_PREFIXES):
            return "file"
        return "other"

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
        return self._json(401 if self.config.http_errors else 200, body)

    def _dispatch(self, route: str, req: Incoming) -> Reply:
        path = req.path
        if route == "create":
            if req.method != "POST":
                return self._envelope(405, "Method not allowed")
            return self._create(CREATE_ROUTES[path], path, req)
        if route == "status":
            if req.method != "GET":
                return self._envelope(405, "Method not allowed")
            return self._status(STATUS_ROUTES[path], req)
        if route == "credit":
            return self._json(200, {"code": 200, "msg": "success", "data": _number(self._balance)})
        if route == "download-url":
            if req.method != "POST":
                return self._envelope(405, "Method not allowed")
            return self._download_url(DOWNLOAD_ROUTES[path], req)
        if route == "upload":
            if req.method != "POST":
                return self._upload_error(405, "Method not allowed")
            return self._upload(path, req)
        if path.startswith("/api/"):
            return self._envelope(404, f"Not found: {path}")
        return Reply(404, {"content-type": "text/plain"}, b"404 page not found")

    # ------------------------------------------------------------ responses
    def _json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return Reply(status, {"content-type": "application/json", **(headers or {})}, _dumps(body).encode())

    def _http_status(self, code: int) -> int:
        if not self.config.http_errors or code == 200:
            return 200
        if code in (455, 550) or not 400 <= code <= 599:
            return 503
        return code

    def _envelope(self, code: int, msg: str | None = None, data: Any = None) -> Reply:
        headers = {"retry-after": "1"} if code == 429 and self.config.http_errors else None
        body = {"code": code, "msg": msg or _ENVELOPE_MESSAGES.get(code, "error"), "data": data}
        return self._json(self._http_status(code), body, headers)

    def _fault_reply(self, fault: Fault, route: str, req: Incoming) -> Reply:
        if fault.kind in {"reset", "connect"}:
            return Reply(action=fault.kind)
        code = fault.code or 500
        if fault.kind == "http":
            headers: dict[str, str] = {}
            if fault.retry_after is not None or code == 429:
                headers["retry-after"] = f"{fault.retry_after if fault.retry_after is not None else 1:g}"
            if code == 429:
                body = {"code": 429, "msg": fault.message or _ENVELOPE_MESSAGES[429], "data": None}
                return self._json(429, body, headers)
            page = _GATEWAY_PAGES.get(code, f"{code} Error")
            html = (
                f"<html>\r\n<head><title>{page}</title></head>\r\n<body>\r\n"
                f"<center><h1>{page}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            )
            return Reply(code, {"content-type": "text/html", **headers}, html.encode())
        # envelope
        data = None
        if route == "status" and code in (501, 408):
            task = self._task_for(STATUS_ROUTES[req.path], req.query.get("taskId"))
            if task is not None:
                now = self.clock.time()
                if task.state(now) not in {"success", "fail"}:
                    task.fail_code, task.fail_message, task.failed_at = code, _FAIL_MESSAGES[code], now
                    self.settle()
                data = self._record(task, now)
        if route == "upload":
            return self._upload_error(code, fault.message or _ENVELOPE_MESSAGES.get(code, "error"))
        return self._envelope(code, fault.message, data)

    def _pick_fault(self, route: str, path: str, kinds: set[str]) -> Fault | None:
        for fault in self.faults:
            if fault.kind not in kinds or fault.exhausted or not fault.matches(route, path):
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            if fault.rate is not None and self._rng.random() >= fault.rate:
                continue
            fault.hits += 1
            return fault
        return None

    # ---------------------------------------------------------------- create
    def _create(self, family: str, endpoint: str, req: Incoming) -> Reply:
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            return self._envelope(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return self._envelope(400, "Request body must be a JSON object")
        from kie_widgets.catalog import raw_spec, spec_for_request

        model = body.get("model")
        if family == "market" and not model:
            return self._envelope(422, "model is required")
        # A model this kie knows and the catalog does not: nothing to check its fields against.
        extra = family == "market" and isinstance(model, str) and model in self.config.extra_models
        try:
            spec = raw_spec(str(model)) if extra else spec_for_request(endpoint, body)
        except KieValidationError as exc:  # an unknown model; other catalog errors are sandbox bugs
            return self._envelope(422, f"model not supported: {model!r}" if model else str(exc))
        problems = [] if extra else spec.check_wire(body)
        if problems:
            text = "; ".join(problems)
            if family == "flux-kontext" and "safetyTolerance" in text:
                return self._envelope(500, text)
            if self.config.required_as_500 and "is required" in text:
                return self._envelope(500, "This field is required")
            return self._envelope(422, text)
        now = self.clock.time()
        limit = self.config.rate_limit
        if limit is not None:
            count, window = limit
            while self._creates and self._creates[0] <= now - window:
                self._creates.popleft()
            if len(self._creates) >= count:
                return self._envelope(429)
        price = float(self.config.prices.get(spec.id, spec.price(body)))
        # Credits of running tasks are spoken for: kie refuses a create the balance cannot cover.
        reserved = sum(t.price for t in self.tasks.values() if not t.settled)
        if self._balance - reserved < price:
            return self._envelope(402)
        self._creates.append(now)
        task = self._new_task(family, endpoint, spec, body, price, now)
        fail = self._pick_fault("create", endpoint, {"fail"})
        if fail is not None:
            code = fail.code or (500 if family == "gpt4o" else 501)
            self._plan_failure(task, code, fail.message)
        self.tasks[task.task_id] = task
        return self._json(200, {"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    def _new_task(
        self, family: str, endpoint: str, spec: Any, body: dict[str, Any], price: float, now: float
    ) -> SandboxTask:
        raw_input = body.get("input")
        fields: dict[str, Any] = raw_input if family == "market" and isinstance(raw_input, dict) else body
        # Every URL-valued field except the callback is an input kie would fetch; masks are kept
        # apart so an edit is drawn from its image, not from its mask.
        found: dict[bool, list[str]] = {True: [], False: []}
        for key, raw in fields.items():
            if key == "callBackUrl":
                continue
            for value in raw if isinstance(raw, list) else [raw]:
                if isinstance(value, str) and value.startswith(("http://", "https://")):
                    found[key in _MASK_FIELDS].append(value)
        inputs, masks = tuple(found[False]), tuple(found[True])
        # What the model does with omitted fields (aspect, tier, format) follows kie's documented defaults.
        params = {**_documented_defaults(spec), **fields}
        fmt_raw = str(params.get("outputFormat") or params.get("output_format") or "").lower()
        fmt = "jpeg" if fmt_raw in {"jpeg", "jpg"} else "png"
        if not fmt_raw and family == "flux-kontext":
            fmt = "jpeg"  # Flux Kontext's documented default
        if spec.mode in {"remove-background", "layer-decomposition"}:
            fmt = "png"
        digest = hashlib.sha256(f"{self._rng.random()}:{len(self.tasks)}:{spec.id}".encode()).hexdigest()
        task = SandboxTask(
            task_id=digest[:32],
            family=family,
            endpoint=endpoint,
            model_id=spec.id,
            model_name=spec.display_name,
            mode=spec.mode,
            body=body,
            created=now,
            phases=self.config.durations(spec.id),
            # kie decides how many layers a decomposition returns; the catalog can only estimate.
            n=self.config.layers if spec.mode == "layer-decomposition" else max(1, int(spec.outputs(body))),
            price=price,
            fmt=fmt,
            prompt=str(fields.get("prompt") or ""),
            params=params,
            inputs=inputs,
            callback_url=body.get("callBackUrl") if isinstance(body.get("callBackUrl"), str) else None,
        )
        missing = [u for u in (*inputs, *masks) if self._fetch_internal(u) is None]
        if missing and (self.config.strict_input_urls or any(self._is_ours(u) for u in missing)):
            self._plan_failure(task, 451, None)
        return task

    def _plan_failure(self, task: SandboxTask, code: int, message: str | None) -> None:
        waiting, queuing, generating = task.phases
        task.fail_code = code
        task.fail_message = message or _FAIL_MESSAGES.get(code, "Generation failed.")
        task.failed_at = task.created + (
            waiting + queuing + generating / 2 if code not in (400, 451) else waiting
        )

    # ---------------------------------------------------------------- status
    def _task_for(self, family: str, task_id: Any) -> SandboxTask | None:
        # A JSON body can carry any type here; only a string can name a task.
        task = self.tasks.get(task_id) if isinstance(task_id, str) else None
        if task is None or task.family != family:
            return None
        return task

    def _status(self, family: str, req: Incoming) -> Reply:
        task_id = req.query.get("taskId")
        if not task_id:
            return self._envelope(400, "taskId is required")
        now = self.clock.time()
        limit = self.config.read_rate_limit
        if limit is not None:
            count, window = limit
            while self._reads and self._reads[0] <= now - window:
                self._reads.popleft()
            if len(self._reads) >= count:
                return self._envelope(429)
            self._reads.append(now)
        task = self._task_for(family, task_id)
        if task is None or now > task.created + self.config.record_ttl:
            return self._envelope(404, "Task not found")
        if now < task.created + self.config.invisible_for:
            code = self.config.invisible_code
            return self._envelope(code, "recordInfo is null" if code == 422 else "Task not found")
        return self._json(200, {"code": 200, "msg": "success", "data": self._record(task, now)})

    def _record(self, task: SandboxTask, now: float) -> dict[str, Any]:
        state = task.state(now)
        done = state in {"success", "fail"}
        urls = [self._result_url(task, i) for i in range(task.n)] if state == "success" else []
        if task.family == "market":
            return {
                "taskId": task.task_id,
                "model": task.model_id,
                "state": state,
                "param": _dumps(task.body),
                "resultJson": _dumps({"resultUrls": urls}) if state == "success" else None,
                "failCode": str(task.fail_code) if state == "fail" else "",
                "failMsg": task.fail_message if state == "fail" else "",
                "costTime": _ms(task.ends - task.created) if done else None,
                "completeTime": _ms(task.ends) if done else None,
                "createTime": _ms(task.created),
                "updateTime": _ms(task.updated(now)),
            }
        early = task.fail_code in (400, 451)
        record: dict[str, Any] = {
            "taskId": task.task_id,
            "paramJson": _dumps(task.body),
            "completeTime": self._stamp(task.family, task.ends) if done else None,
            "createTime": self._stamp(task.family, task.created),
            "response": None,
            "errorCode": task.fail_code if state == "fail" else None,
            "errorMessage": task.fail_message if state == "fail" else "",
        }
        if task.family == "gpt4o":
            flag = {"success": 1, "fail": 2}.get(state, 0)
            status = {"success": "SUCCESS", "fail": "CREATE_TASK_FAILED" if early else "GENERATE_FAILED"}
            record.update(successFlag=flag, status=status.get(state, "GENERATING"))
            record["progress"] = f"{task.progress(now):.2f}"
            if state == "success":
                record["response"] = {self.config.gpt4o_result_key: urls}
        else:
            record["successFlag"] = {"success": 1, "fail": 2 if early else 3}.get(state, 0)
            if state == "success":
                record["response"] = {"originImageUrl": self._origin_url(task), "resultImageUrl": urls[0]}
        return record

    def _stamp(self, family: str, seconds: float) -> int | str:
        """A 4o/Flux record time: ms (OpenAPI) or the docs examples' text form, per config."""
        if self.config.timestamps != "text":
            return _ms(seconds)
        moment = datetime.fromtimestamp(seconds, timezone.utc)
        if family == "gpt4o":
            return moment.strftime("%Y-%m-%d %H:%M:%S")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _callback_for(self, task: SandboxTask) -> CallbackRecord:
        ok = task.fail_code is None
        now = task.ends
        if task.family == "market":
            code = 200 if ok else (task.fail_code or 501)
            body: dict[str, Any] = {
                "code": code,
                "msg": "success" if ok else task.fail_message,
                "data": self._record(task, now),
            }
        elif task.family == "gpt4o":
            urls = [self._result_url(task, i) for i in range(task.n)]
            body = {
                "code": 200 if ok else task.fail_code,
                "msg": "success" if ok else task.fail_message,
                "data": {"taskId": task.task_id, "info": {"result_urls": urls} if ok else None},
            }
        else:
            info = {"originImageUrl": self._origin_url(task), "resultImageUrl": self._result_url(task, 0)}
            body = {
                "code": 200 if ok else task.fail_code,
                "msg": "BFL image generated successfully." if ok else task.fail_message,
                "data": {"taskId": task.task_id, "info": info if ok else None},
            }
        headers = {"content-type": "application/json", "user-agent": "kie-sandbox-callback/1.0"}
        key = self.config.webhook_hmac_key
        if key:
            stamp = str(int(self.clock.time()))
            headers["x-webhook-timestamp"] = stamp
            headers["x-webhook-signature"] = webhook_signature(task.task_id, stamp, key)
        return CallbackRecord(task.callback_url or "", task.task_id, task.family, body, headers)

    # ------------------------------------------------------------- file URLs
    def _ext(self, task: SandboxTask) -> str:
        return "jpg" if task.fmt == "jpeg" else "png"

    def _result_url(self, task: SandboxTask, index: int) -> str:
        return f"{self.config.result_base}/results/{task.task_id}/{index}.{self._ext(task)}"

    def _origin_url(self, task: SandboxTask) -> str:
        return f"{self.config.result_base}/results/{task.task_id}/origin.{self._ext(task)}"

    def _is_ours(self, url: str) -> bool:
        parts = urlsplit(url)
        cfg = self.config
        base_hosts = {urlsplit(b).netloc for b in (cfg.result_base, cfg.upload_file_base, cfg.signed_base)}
        return parts.netloc in base_hosts and parts.path.startswith(FILE_PREFIXES)

    def _locate(self, path: str) -> tuple[str, Any, float] | None:
        """(kind, target, expires_at) for a file path: ("result", (task, name), t) or ("upload", file, t)."""
        parts = path.split("/")
        if path.startswith("/results/") and len(parts) == 4:
            task = self.tasks.get(parts[2])
            if task is None or task.state(self.clock.time()) != "success":
                return None
            name = parts[3].rsplit(".", 1)[0]
            if name == "origin" and task.family == "flux-kontext":
                return ("result", (task, 0), task.ends + self.config.origin_url_ttl)
            if not name.isdigit() or int(name) >= task.n:
                return None
            return ("result", (task, int(name)), task.ends + self.config.result_url_ttl)
        if path.startswith("/signed/") and len(parts) == 4:
            link = self._signed.get(parts[2])
            if link is None or link[0] not in self.tasks:
                return None
            return ("result", (self.tasks[link[0]], link[1]), link[2])
        if path.startswith("/kieai/"):
            stored = self.uploads.get(path)
            if stored is None:
                return None
            return ("upload", stored, stored.stored + self.config.upload_ttl)
        return None

    def _fetch_internal(self, url: str) -> bytes | None:
        """The bytes behind a URL this sandbox serves and that has not expired, else ``None``."""
        if not self._is_ours(url):
            return None
        with self._lock:
            found = self._locate(urlsplit(url).path)
        if found is None or self.clock.time() > found[2]:
            return None
        kind, target, _ = found
        if kind == "upload":
            return bytes(target.data)
        task, index = target
        return self._render(task, index)[0]

    def _serve_file(self, req: Incoming, fault: Fault | None) -> Reply:
        if req.method not in {"GET", "HEAD"}:
            return Reply(405, {"content-type": "text/plain"}, b"Method Not Allowed")
        with self._lock:
            found = self._locate(req.path)
        now = self.clock.time()
        if (fault is not None and fault.kind == "expired") or (found is not None and now > found[2]):
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b"<Message>Request has expired</Message></Error>"
            )
            return Reply(403, {"content-type": "application/xml"}, body)
        if found is None:
            body = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>'
            return Reply(404, {"content-type": "application/xml"}, body)
        if fault is not None and fault.kind == "bomb":
            return Reply(200, {"content-type": "image/png"}, _images.bomb_png())
        if fault is not None and fault.kind == "notimage":
            html = (
                b"<!DOCTYPE html><html><head><title>Access denied</title></head><body>Blocked</body></html>"
            )
            return Reply(200, {"content-type": "image/png"}, html)
        kind, target, _ = found
        if kind == "upload":
            reply = Reply(200, {"content-type": target.mime}, target.data)
        else:
            task, index = target
            data, fmt = self._render(task, index)
            length, stream = _images.padded_stream(data, fmt, self.config.image_bytes)
            reply = Reply(200, {"content-type": f"image/{fmt}"}, stream=stream, length=length)
        if fault is not None and fault.kind == "truncate":
            reply.action, reply.cut = "truncate", max(1, reply.content_length // 2)
        if fault is not None and fault.kind == "timeout":
            return Reply(action="timeout", delay=fault.delay)
        return reply

    # ---------------------------------------------------------- rendering
    def _render(self, task: SandboxTask, index: int) -> tuple[bytes, str]:
        key = (task.task_id, str(index))
        with self._lock:
            if key in self._renders:
                self._renders.move_to_end(key)
                return self._renders[key]
        image = self._draw(task, index)
        result = (_images.encode(image, task.fmt), task.fmt)
        with self._lock:
            if key not in self._renders:
                self._renders[key] = result
                self._render_bytes += len(result[0])
            # Renders are deterministic, so evicting one only costs a re-render later.
            while self._render_bytes > _RENDER_BUDGET and len(self._renders) > 1:
                _, (old, _) = self._renders.popitem(last=False)
                self._render_bytes -= len(old)
        return result

    def _source_image(self, task: SandboxTask) -> Image.Image | None:
        for url in task.inputs:
            data = self._fetch_internal(url)
            if data is not None:
                return _images.decode(data)
        return None

    def _draw(self, task: SandboxTask, index: int) -> Image.Image:
        fields = task.params
        source = self._source_image(task)
        caption = f"kie sandbox · {task.task_id[:8]} · {index + 1}/{task.n}"
        if task.mode == "upscale":
            raw = fields.get("upscale_factor") or fields.get("scale") or 2
            try:
                factor = float(raw)
            except (TypeError, ValueError):
                factor = 2.0
            base = source or _images.render_canvas(
                _images.target_size(fields, long_side=self.config.long_side // 2),
                model=task.model_name,
                prompt=task.prompt or "upscale",
                caption=caption,
                index=index,
            )
            return _images.upscale(base, factor, model=task.model_name, caption=caption)
        if task.mode == "remove-background":
            base = source or _images.render_canvas(
                (self.config.long_side, self.config.long_side),
                model=task.model_name,
                prompt=task.prompt or "remove background",
                caption=caption,
                index=index,
            )
            return _images.remove_background(base)
        size = _images.target_size(
            fields, long_side=self.config.long_side, source=source.size if source is not None else None
        )
        image = _images.render_canvas(
            size, model=task.model_name, prompt=task.prompt, caption=caption, index=index, source=source
        )
        if task.mode == "layer-decomposition" and index > 0:
            return _images.remove_background(image)
        return image

    # ---------------------------------------------------------- download-url
    def _download_url(self, which: str, req: Incoming) -> Reply:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return self._envelope(400, "Request body is not valid JSON")
        if not isinstance(body, dict):
            return self._envelope(400, "Request body must be a JSON object")
        url = body.get("url") or body.get("imageUrl")
        if not isinstance(url, str) or not url:
            return self._envelope(422, "url is required")
        path = urlsplit(url).path
        found = self._locate(path) if self._is_ours(url) and path.startswith("/results/") else None
        if which == "gpt4o":
            task_id = body.get("taskId") or (path.split("/")[2] if path.startswith("/results/") else None)
            task = self._task_for("gpt4o", task_id)
            if task is None:
                return self._envelope(422, "record is null")
            if task.state(self.clock.time()) != "success":
                return self._envelope(422, "record status is not success")
            if found is None or found[1][0] is not task:
                return self._envelope(422, "result is empty: the url is not a result of this task")
        elif found is None:
            return self._envelope(422, "Only files generated by kie.ai are supported")
        task, index = found[1]
        now = self.clock.time()
        if now > task.ends + self.config.record_ttl:
            return self._envelope(422, "Only records within 14 days are supported")
        token = hashlib.sha256(f"{task.task_id}:{index}:{now}:{self._rng.random()}".encode()).hexdigest()[:24]
        expires = now + self.config.download_url_ttl
        self._signed[token] = (task.task_id, index, expires)
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        signature = hashlib.sha256(token.encode()).hexdigest()
        link = (
            f"{self.config.signed_base}/signed/{token}/{index}.{self._ext(task)}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={int(self.config.download_url_ttl)}"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
        return self._json(200, {"code": 200, "msg": "success", "data": link})

    # ---------------------------------------------------------------- upload
    def _upload_error(self, code: int, msg: str) -> Reply:
        return self._json(self._http_status(code), {"success": False, "code": code, "msg": msg, "data": None})

    def _upload(self, path: str, req: Incoming) -> Reply:
        original: str | None = None
        if path == "/api/file-stream-upload":
            ctype = req.headers.get("content-type") or ""
            if "multipart/form-data" not in ctype:
                return self._upload_error(400, "Content-Type must be multipart/form-data")
            form = parse_multipart(req.body, ctype)
            if "file" not in form:
                return self._upload_error(400, "file is required")
            original, data = form["file"]
            fields = {k: v[1].decode("utf-8", "replace") for k, v in form.items() if k != "file"}
        else:
            try:
                fields = json.loads(req.body or b"{}")
            except ValueError:
                return self._upload_error(400, "Request body is not valid JSON")
            if not isinstance(fields, dict):
                return self._upload_error(400, "Request body must be a JSON object")
            if path == "/api/file-base64-upload":
                raw = fields.get("base64Data")
                if not isinstance(raw, str) or not raw:
                    return self._upload_error(400, "base64Data is required")
                if raw.startswith("data:") and "," in raw:
                    raw = raw.split(",", 1)[1]
                try:
                    data = base64.b64decode(raw, validate=True)
                except (binascii.Error, ValueError):
                    return self._upload_error(
                        500,
                        "Base64 decoding failed: InvalidCharacterError: Failed to execute 'atob' on "
                        "'Window': The string to be decoded is not correctly encoded.",
                    )
            else:
                url = fields.get("fileUrl")
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    return self._upload_error(400, "fileUrl is required and must be an http(s) URL")
                fetched = self._fetch_internal(url)
                if fetched is None:
                    return self._upload_error(500, f"File download failed: could not fetch {url} within 30 s")
                data = fetched
                original = urlsplit(url).path.rsplit("/", 1)[-1] or None
        upload_path = str(fields.get("uploadPath") or "").strip("/")
        if not upload_path:
            return self._upload_error(400, "uploadPath is required")
        if len(data) > self.config.max_upload_bytes:
            return self._upload_error(
                400, f"File too large: {len(data)} bytes (limit {self.config.max_upload_bytes})"
            )
        name = str(fields.get("fileName") or "").strip().rsplit("/", 1)[-1]
        if not name:
            sniffed = _images.sniff_mime(data)
            ext = mimetypes.guess_extension(sniffed) if sniffed else None
            if original and "." in original:
                ext = "." + original.rsplit(".", 1)[1]
            name = f"{hashlib.sha256(data).hexdigest()[:16]}{ext or '.bin'}"
        # The upload host sets the served type from the name, not the bytes (a peer-observed quirk).
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        file_path = f"/kieai/sandbox/{upload_path}/{name}"
        now = self.clock.time()
        self.uploads[file_path] = StoredFile(bytes(data), mime, now, file_path)
        url_out = f"{self.config.upload_file_base}{file_path}"
        stamp = (
            datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{int(now * 1000) % 1000:03d}Z"
        )
        info = {
            "fileId": hashlib.sha256(f"{file_path}:{now}".encode()).hexdigest()[:24],
            "fileName": name,
            "originalName": original or name,
            "filePath": f"{upload_path}/{name}",
            "uploadPath": upload_path,
            "downloadUrl": url_out,
            "fileUrl": url_out,
            "fileSize": len(data),
            "mimeType": mime,
            "uploadedAt": stamp,
        }
        return self._json(
            200, {"success": True, "code": 200, "msg": "File uploaded successfully", "data": info}
        )


class _Borrowed(httpx.AsyncBaseTransport):
    """A transport used by a client that does not own it: closing the client leaves it open."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request to the shared transport."""
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Leave the shared transport open."""


def webhook_signature(task_id: str, timestamp: str, key: str) -> str:
    """kie's webhook signature: base64(HMAC-SHA256(taskId + "." + timestamp, key))."""
    mac = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, bytes)`` of a multipart/form-data body (binary-safe)."""
    boundary = ""
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    out: dict[str, tuple[str | None, bytes]] = {}
    if not boundary:
        return out
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for item in line.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    if k == "name":
                        name = v.strip('"')
                    elif k == "filename":
                        filename = v.strip('"')
        if name:
            out[name] = (filename, data)
    return out


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


__all__ = [
    "CallbackRecord",
    "Incoming",
    "Reply",
    "RequestRecord",
    "Sandbox",
    "SandboxTask",
    "StoredFile",
    "parse_multipart",
    "shared_sandbox",
    "webhook_signature",
]
