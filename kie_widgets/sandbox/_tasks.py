"""The task state machine: what one task was asked, how it will end, and how kie reports it at a time t.

A task's state is a pure function of clock time (waiting, queuing, generating, then success or
fail), so nothing runs in the background: reading the record at t is all it takes. The three API
families report the same task in three record shapes (``status_record``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._wire import dumps, ms

#: kie's failure messages by failCode/errorCode
FAIL_MESSAGES = {
    400: "Your content was flagged by the content policy; change the prompt or the input image.",
    408: "The task timed out: the upstream gave no result for more than 10 minutes.",
    451: "Failed to fetch the image. Kindly verify any access limits set by you or your service provider.",
    455: "The service is under maintenance.",
    500: "Internal error, please try again later.",
    501: "Generation failed.",
    550: "Connection denied: the task queue is full.",
}
#: codes kie reports before the task reaches the generator (it fails while still waiting)
_EARLY_FAILURES = (400, 451)
_MASK_FIELDS = {"maskUrl", "mask_url", "reference_mask_urls"}


@dataclass
class SandboxTask:
    """One task: what was asked, when, and how it will end. Its state is computed from the clock."""

    task_id: str
    family: str
    endpoint: str
    model_id: str
    model_name: str
    mode: str
    body: dict[str, Any]
    created: float
    phases: tuple[float, float, float]
    n: int
    price: float
    fmt: str
    prompt: str
    inputs: tuple[str, ...]
    callback_url: str | None
    #: the model's wire fields with kie's documented defaults filled in (what the image follows)
    params: dict[str, Any] = field(default_factory=dict)
    #: mask URLs, and the model's mask convention (catalog data) they are read in
    masks: tuple[str, ...] = ()
    mask_convention: Any = None
    fail_code: int | None = None
    fail_message: str | None = None
    failed_at: float | None = None
    settled: bool = False
    charged: float = 0.0

    @property
    def ends(self) -> float:
        """Clock time at which the task reaches success or fail."""
        if self.failed_at is not None:
            return self.failed_at
        return self.created + sum(self.phases)

    def state(self, now: float) -> str:
        """Market state name at ``now``: waiting, queuing, generating, success or fail."""
        if now >= self.ends:
            return "fail" if self.fail_code is not None else "success"
        waiting, queuing, _ = self.phases
        if now < self.created + waiting:
            return "waiting"
        if now < self.created + waiting + queuing:
            return "queuing"
        return "generating"

    def progress(self, now: float) -> float:
        """Fraction of the generating phase done (1.0 on success)."""
        state = self.state(now)
        if state == "success":
            return 1.0
        waiting, queuing, generating = self.phases
        start = self.created + waiting + queuing
        if generating <= 0 or now <= start:
            return 0.0
        return min(0.99, (now - start) / generating)

    def updated(self, now: float) -> float:
        """Time of the last state change at or before ``now``."""
        if now >= self.ends:
            return self.ends  # an early failure skips the later phases' marks
        waiting, queuing, _ = self.phases
        marks = [self.created, self.created + waiting, self.created + waiting + queuing]
        return max(m for m in marks if m <= now)


def task_for(tasks: Mapping[str, SandboxTask], family: str, task_id: Any) -> SandboxTask | None:
    """The task ``task_id`` names if it belongs to ``family`` (kie keeps the families apart)."""
    # A JSON body can carry any type here; only a string can name a task.
    task = tasks.get(task_id) if isinstance(task_id, str) else None
    if task is None or task.family != family:
        return None
    return task


def file_ext(task: SandboxTask) -> str:
    """The file extension of the task's results."""
    return "jpg" if task.fmt == "jpeg" else "png"


def result_url(task: SandboxTask, index: int, base: str) -> str:
    """Where result ``index`` of a task is served below ``base``."""
    return f"{base}/results/{task.task_id}/{index}.{file_ext(task)}"


def origin_url(task: SandboxTask, base: str) -> str:
    """Where Flux Kontext's short-lived ``originImageUrl`` of a task is served below ``base``."""
    return f"{base}/results/{task.task_id}/origin.{file_ext(task)}"


def _documented_defaults(spec: Any) -> dict[str, Any]:
    """The catalog's documented defaults of a model's wire fields (empty if it has none)."""
    out: dict[str, Any] = {}
    for f in getattr(spec, "fields", ()):
        if getattr(f, "has_default", False):
            out[f.name] = f.default
    return out


def new_task(
    task_id: str,
    family: str,
    endpoint: str,
    spec: Any,
    body: dict[str, Any],
    *,
    price: float,
    now: float,
    phases: tuple[float, float, float],
    layers: int = 3,
) -> tuple[SandboxTask, tuple[str, ...]]:
    """A task for an accepted create body, and every URL kie would fetch for it (masks included)."""
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
    task = SandboxTask(
        task_id=task_id,
        family=family,
        endpoint=endpoint,
        model_id=spec.id,
        model_name=spec.display_name,
        mode=spec.mode,
        body=body,
        created=now,
        phases=phases,
        # kie decides how many layers a decomposition returns; the catalog can only estimate.
        n=layers if spec.mode == "layer-decomposition" else max(1, int(spec.outputs(body))),
        price=price,
        fmt=fmt,
        prompt=str(fields.get("prompt") or ""),
        params=params,
        inputs=inputs,
        masks=masks,
        mask_convention=spec.mask_convention,
        callback_url=body.get("callBackUrl") if isinstance(body.get("callBackUrl"), str) else None,
    )
    return task, (*inputs, *masks)


def plan_failure(task: SandboxTask, code: int, message: str | None) -> None:
    """Make a new task fail with ``code``: early for a refused input, else half way through generating."""
    waiting, queuing, generating = task.phases
    task.fail_code = code
    task.fail_message = message or FAIL_MESSAGES.get(code, "Generation failed.")
    task.failed_at = task.created + (
        waiting + queuing + generating / 2 if code not in _EARLY_FAILURES else waiting
    )


def fail_now(task: SandboxTask, code: int, now: float) -> bool:
    """Make a running task fail with ``code`` at ``now``; ``False`` if it had already ended."""
    if task.state(now) in {"success", "fail"}:
        return False
    task.fail_code, task.fail_message, task.failed_at = code, FAIL_MESSAGES[code], now
    return True


def status_record(task: SandboxTask, now: float, config: SandboxConfig) -> dict[str, Any]:
    """The task's record as its family's record-info route reports it at ``now``."""
    state = task.state(now)
    done = state in {"success", "fail"}
    base = config.result_base
    urls = [result_url(task, i, base) for i in range(task.n)] if state == "success" else []
    if task.family == "market":
        return {
            "taskId": task.task_id,
            "model": task.model_id,
            "state": state,
            "param": dumps(task.body),
            "resultJson": dumps({"resultUrls": urls}) if state == "success" else None,
            "failCode": str(task.fail_code) if state == "fail" else "",
            "failMsg": task.fail_message if state == "fail" else "",
            "costTime": ms(task.ends - task.created) if done else None,
            "completeTime": ms(task.ends) if done else None,
            "createTime": ms(task.created),
            "updateTime": ms(task.updated(now)),
        }
    early = task.fail_code in _EARLY_FAILURES
    record: dict[str, Any] = {
        "taskId": task.task_id,
        "paramJson": dumps(task.body),
        "completeTime": _stamp(task.family, task.ends, config) if done else None,
        "createTime": _stamp(task.family, task.created, config),
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
            record["response"] = {config.gpt4o_result_key: urls}
    else:
        record["successFlag"] = {"success": 1, "fail": 2 if early else 3}.get(state, 0)
        if state == "success":
            record["response"] = {"originImageUrl": origin_url(task, base), "resultImageUrl": urls[0]}
    return record


def _stamp(family: str, seconds: float, config: SandboxConfig) -> int | str:
    """A 4o/Flux record time: ms (OpenAPI) or the docs examples' text form, per config."""
    if config.timestamps != "text":
        return ms(seconds)
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    if family == "gpt4o":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "FAIL_MESSAGES",
    "SandboxTask",
    "fail_now",
    "file_ext",
    "new_task",
    "origin_url",
    "plan_failure",
    "result_url",
    "status_record",
    "task_for",
]
