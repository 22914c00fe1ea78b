"""Request dispatch per kie API family: create, record-info, credits, download-url and the upload host.

``route_of`` names the route of a path (the names faults target); ``KieRoutes.dispatch`` answers
an authorised request. Creates are validated against the catalog's specs exactly as kie would
judge the wire body, then limited, priced and turned into tasks.
"""

from __future__ import annotations

import hashlib

from kie_widgets.catalog import raw_spec, spec_for_request
from kie_widgets.errors import KieValidationError
from kie_widgets.sandbox._faults import FaultBook
from kie_widgets.sandbox._files import FILE_PREFIXES, FileStore
from kie_widgets.sandbox._ledger import Ledger
from kie_widgets.sandbox._records import Incoming, Reply
from kie_widgets.sandbox._state import SandboxState
from kie_widgets.sandbox._tasks import new_task, plan_failure, status_record, task_for
from kie_widgets.sandbox._uploads import UPLOAD_ROUTES, UploadHost
from kie_widgets.sandbox._wire import json_object, json_reply, number

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


def route_of(path: str) -> str:
    """The route name of ``path`` (one of ``_faults.ROUTES``)."""
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


class KieRoutes:
    """The API host's and the upload host's routes, behind authentication and fault injection."""

    def __init__(
        self, state: SandboxState, ledger: Ledger, faults: FaultBook, files: FileStore, uploads: UploadHost
    ) -> None:
        self._state = state
        self._ledger = ledger
        self._faults = faults
        self._files = files
        self._uploads = uploads

    def dispatch(self, route: str, req: Incoming) -> Reply:
        """Answer one authorised request on ``route`` (files are served apart, unauthenticated)."""
        state, path = self._state, req.path
        if route == "create":
            if req.method != "POST":
                return state.envelope(405, "Method not allowed")
            return self._create(CREATE_ROUTES[path], path, req)
        if route == "status":
            if req.method != "GET":
                return state.envelope(405, "Method not allowed")
            return self._status(STATUS_ROUTES[path], req)
        if route == "credit":
            return json_reply(200, {"code": 200, "msg": "success", "data": number(self._ledger.balance)})
        if route == "download-url":
            if req.method != "POST":
                return state.envelope(405, "Method not allowed")
            return self._files.download_url(DOWNLOAD_ROUTES[path], req)
        if route == "upload":
            if req.method != "POST":
                return state.upload_error(405, "Method not allowed")
            return self._uploads.handle(path, req)
        if path.startswith("/api/"):
            return state.envelope(404, f"Not found: {path}")
        return Reply(404, {"content-type": "text/plain"}, b"404 page not found")

    def _create(self, family: str, endpoint: str, req: Incoming) -> Reply:
        state, cfg = self._state, self._state.config
        body = json_object(req.body, empty=b"null")
        if isinstance(body, str):
            return state.envelope(400, body)
        model = body.get("model")
        if family == "market" and not model:
            return state.envelope(422, "model is required")
        # A model this kie knows and the catalog does not: nothing to check its fields against.
        extra = family == "market" and isinstance(model, str) and model in cfg.extra_models
        try:
            spec = raw_spec(str(model)) if extra else spec_for_request(endpoint, body)
        except KieValidationError as exc:  # an unknown model; other catalog errors are sandbox bugs
            return state.envelope(422, f"model not supported: {model!r}" if model else str(exc))
        problems = [] if extra else spec.check_wire(body)
        if problems:
            text = "; ".join(problems)
            if family == "flux-kontext" and "safetyTolerance" in text:
                return state.envelope(500, text)
            if cfg.required_as_500 and "is required" in text:
                return state.envelope(500, "This field is required")
            return state.envelope(422, text)
        now = state.clock.time()
        if cfg.rate_limit is not None and self._ledger.creates.full(now, cfg.rate_limit):
            return state.envelope(429)
        price = float(cfg.prices.get(spec.id, spec.price(body)))
        if not self._ledger.covers(price, state.tasks.values()):
            return state.envelope(402)
        self._ledger.creates.add(now)
        digest = hashlib.sha256(f"{state.rng.random()}:{len(state.tasks)}:{spec.id}".encode()).hexdigest()
        task, fetched = new_task(
            digest[:32],
            family,
            endpoint,
            spec,
            body,
            price=price,
            now=now,
            phases=cfg.durations(spec.id),
            layers=cfg.layers,
        )
        missing = [u for u in fetched if self._files.fetch(u) is None]
        if missing and (cfg.strict_input_urls or any(self._files.is_ours(u) for u in missing)):
            plan_failure(task, 451, None)
        fail = self._faults.pick("create", endpoint, frozenset({"fail"}))
        if fail is not None:
            plan_failure(task, fail.code or (500 if family == "gpt4o" else 501), fail.message)
        state.tasks[task.task_id] = task
        return json_reply(200, {"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    def _status(self, family: str, req: Incoming) -> Reply:
        state, cfg = self._state, self._state.config
        task_id = req.query.get("taskId")
        if not task_id:
            return state.envelope(400, "taskId is required")
        now = state.clock.time()
        if cfg.read_rate_limit is not None:
            if self._ledger.reads.full(now, cfg.read_rate_limit):
                return state.envelope(429)
            self._ledger.reads.add(now)
        task = task_for(state.tasks, family, task_id)
        if task is None or now > task.created + cfg.record_ttl:
            return state.envelope(404, "Task not found")
        if now < task.created + cfg.invisible_for:
            code = cfg.invisible_code
            return state.envelope(code, "recordInfo is null" if code == 422 else "Task not found")
        return json_reply(200, {"code": 200, "msg": "success", "data": status_record(task, now, cfg)})


__all__ = ["CREATE_ROUTES", "CREDIT_ROUTE", "DOWNLOAD_ROUTES", "STATUS_ROUTES", "KieRoutes", "route_of"]
