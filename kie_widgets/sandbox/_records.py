"""What the emulator exchanges and keeps: requests, replies, tasks, callbacks and uploaded files.

Plain records; every behaviour lives in ``_core.Sandbox``. A task's state is a pure function of
clock time, so ``SandboxTask`` answers "what state is it in at t" without anything running.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Incoming:
    """One request as the emulator sees it (header names lower-case)."""

    method: str
    host: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Reply:
    """One answer. ``action`` asks the carrier to misbehave instead of (or while) answering:
    ``"connect"``/``"reset"`` (no answer), ``"timeout"`` (hold, then no answer) or ``"truncate"``
    (send ``cut`` bytes of the body, then drop the connection)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterator[bytes] | None = None
    length: int | None = None
    action: str | None = None
    delay: float = 0.0
    cut: int = 0

    def chunks(self) -> Iterator[bytes]:
        """The body as chunks (streams stay lazy)."""
        if self.stream is not None:
            yield from self.stream
        elif self.body:
            yield self.body

    @property
    def content_length(self) -> int:
        """Length of the full body."""
        return self.length if self.length is not None else len(self.body)


@dataclass
class RequestRecord:
    """One logged request. The Authorization header is never kept, only whether it was accepted;
    an uploaded file's base64 text is kept as its length only."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    json: Any
    at: float
    authorized: bool | None = None
    user_agent: str | None = None


@dataclass
class CallbackRecord:
    """One callback kie would send to ``callBackUrl``, and what came of it."""

    url: str
    task_id: str
    family: str
    body: dict[str, Any]
    headers: dict[str, str]
    attempts: int = 0
    status: int | None = None
    delivered: bool = False
    error: str | None = None


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


@dataclass
class StoredFile:
    """An uploaded file kept by the sandbox."""

    data: bytes
    mime: str
    stored: float
    path: str


__all__ = ["CallbackRecord", "Incoming", "Reply", "RequestRecord", "SandboxTask", "StoredFile"]
