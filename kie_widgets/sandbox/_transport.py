"""The in-process way in: an ``httpx.AsyncBaseTransport`` that answers every host from a ``Sandbox``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import httpx

from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._files import FILE_PREFIXES
from kie_widgets.sandbox._records import Incoming, Reply


class Answering(Protocol):
    """What the transport needs of a sandbox (``Sandbox`` is one; naming it here would close a loop)."""

    @property
    def config(self) -> SandboxConfig:
        """The configuration (the transport reads ``latency``)."""
        ...

    def handle(self, req: Incoming) -> Reply:
        """Answer one request."""
        ...

    def spawn_callbacks(self) -> None:
        """Start sending the callbacks queued while answering."""
        ...


class _ReplyStream(httpx.AsyncByteStream):
    """A reply body handed out chunk by chunk; a truncated one ends in the error a socket would give."""

    def __init__(self, chunks: Iterator[bytes], *, cut: int | None, expected: int) -> None:
        self._chunks = chunks
        self._cut = cut
        self._expected = expected

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for chunk in self._chunks:
            if self._cut is not None and sent + len(chunk) >= self._cut:
                if self._cut > sent:
                    yield chunk[: self._cut - sent]
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body "
                    f"(received {self._cut} bytes, expected {self._expected})"
                )
            sent += len(chunk)
            yield chunk
            await asyncio.sleep(0)


class SandboxTransport(httpx.AsyncBaseTransport):
    """Routes by path and answers for any host (api.kie.ai, the upload host, the file hosts)."""

    def __init__(self, sandbox: Answering) -> None:
        self.sandbox = sandbox

    def __repr__(self) -> str:
        return f"SandboxTransport({self.sandbox!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, or fail the way a network would when a fault says so."""
        body = await request.aread()
        incoming = Incoming(
            method=request.method,
            host=request.url.host,
            path=request.url.path,
            query=dict(request.url.params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        latency = self.sandbox.config.latency
        if latency > 0:
            await asyncio.sleep(latency)
        if incoming.path.startswith(FILE_PREFIXES):
            # Rendering a result (up to 4K) takes real CPU time; keep it off the event loop.
            reply = await asyncio.to_thread(self.sandbox.handle, incoming)
        else:
            reply = self.sandbox.handle(incoming)
        self.sandbox.spawn_callbacks()
        return _to_response(reply, request)


def _to_response(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.action == "connect":
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    if reply.action == "reset":
        raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
    if reply.action == "timeout":
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    headers = dict(reply.headers)
    headers["content-length"] = str(reply.content_length)
    if request.method == "HEAD":
        return httpx.Response(reply.status, headers=headers, request=request)
    cut = reply.cut if reply.action == "truncate" else None
    stream = _ReplyStream(reply.chunks(), cut=cut, expected=reply.content_length)
    return httpx.Response(reply.status, headers=headers, stream=stream, request=request)


__all__ = ["SandboxTransport"]
