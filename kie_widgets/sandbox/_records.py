"""What the emulator exchanges and keeps: requests, replies, callbacks and uploaded files.

Plain records, free of behaviour; a task and its state machine live in ``_tasks``.
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
class StoredFile:
    """An uploaded file kept by the sandbox."""

    data: bytes
    mime: str
    stored: float
    path: str


__all__ = ["CallbackRecord", "Incoming", "Reply", "RequestRecord", "StoredFile"]
