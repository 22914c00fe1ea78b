"""Scripted kie.ai answers for the client tests: a router over ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from kie_widgets.clock import FakeClock

#: A realistic-looking key; every secrecy test searches for it.
KEY = "kie-live-7f3a9c21b8e44d0f9a6e5c3b2d1f0e9a"
BASE = "https://api.kie.ai"
UPLOAD = "https://kieai.redpandaai.co"

Reply = Callable[[httpx.Request], httpx.Response]

PATH_CREATE = "/api/v1/jobs/createTask"
PATH_RECORD = "/api/v1/jobs/recordInfo"
PATH_CREDIT = "/api/v1/chat/credit"


def envelope(
    code: int = 200,
    msg: str = "success",
    data: Any = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Reply:
    """A reply with kie's JSON envelope (HTTP 200 unless ``status`` says otherwise)."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": code, "msg": msg, "data": data, **extra}, headers=headers)

    return reply


def raw(status: int, text: str = "", headers: dict[str, str] | None = None) -> Reply:
    """A reply with a plain body (a proxy's error page, Cloudflare's 1010, a file)."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=text, headers=headers)

    return reply


def content(body: bytes, status: int = 200) -> Reply:
    """A reply carrying bytes (a result file)."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    return reply


def fail(exc_type: type[httpx.TransportError], message: str = "scripted failure") -> Reply:
    """A reply that raises a transport error, as a broken network would."""

    def reply(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return reply


class BrokenStream(httpx.AsyncByteStream):
    """A body that yields ``good`` and then breaks off with a read error."""

    def __init__(self, good: bytes) -> None:
        self.good = good

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.good
        raise httpx.ReadError("connection reset mid-body")


@dataclass
class Call:
    """One request the router saw."""

    method: str
    host: str
    path: str
    params: dict[str, str]
    headers: httpx.Headers
    body: bytes
    at: float

    def json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.body)


@dataclass
class Router:
    """Replies scripted per path: each request takes the next reply, the last one repeats."""

    clock: FakeClock
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, path: str, *replies: Reply) -> Router:
        """Script the replies for ``path``."""
        self.routes[path] = list(replies)
        return self

    def calls_to(self, path: str) -> list[Call]:
        """The requests made to ``path``."""
        return [c for c in self.calls if c.path == path]

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        body = request.read()
        self.calls.append(
            Call(
                request.method,
                request.url.host,
                request.url.path,
                dict(request.url.params),
                request.headers,
                body,
                self.clock.monotonic(),
            )
        )
        queue = self.routes.get(request.url.path)
        if not queue:
            return httpx.Response(404, text="no route scripted")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(request)

    @property
    def transport(self) -> httpx.MockTransport:
        """The transport to hand to KieAPI."""
        return httpx.MockTransport(self.handler)
