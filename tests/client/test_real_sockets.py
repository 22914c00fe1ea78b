"""KieAPI over real loopback sockets against the sandbox server: httpx's own network errors are
classified the same way as the scripted ones (connect refused, reset, read timeout)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import kie_widgets.client._api as api_module
from kie_widgets.client import KieAPI, RateLimiter, RetryPolicy
from kie_widgets.clock import FakeClock
from kie_widgets.config import SANDBOX_API_KEY, Secret, Settings
from kie_widgets.errors import KieSubmitUncertainError, KieTransportError
from kie_widgets.sandbox import Fault, Sandbox, SandboxConfig, SandboxServer

CREATE = "/api/v1/jobs/createTask"
BODY = {"model": "google/imagen4", "input": {"prompt": "a lantern", "aspect_ratio": "1:1"}}


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock for both sides; only network waits take wall time."""
    return FakeClock()


@pytest.fixture
def serve(clock: FakeClock) -> Iterator[Callable[..., SandboxServer]]:
    """Start the sandbox on a loopback port with the given faults; stopped after the test."""
    started: list[SandboxServer] = []

    def start(*faults: Fault) -> SandboxServer:
        srv = SandboxServer(Sandbox(SandboxConfig(faults=list(faults)), clock=clock)).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
        assert srv.sandbox.errors == []


def make_api(url: str, clock: FakeClock, **kw: Any) -> KieAPI:
    """A KieAPI whose API and upload hosts are ``url``."""
    settings = Settings(api_key=Secret(SANDBOX_API_KEY), key_source="sandbox", base_url=url, upload_url=url)
    kw.setdefault("retry", RetryPolicy(jitter=0.0))
    return KieAPI(settings, clock=clock, limiter=RateLimiter(clock=clock), **kw)


@pytest.mark.anyio
async def test_market_task_end_to_end_over_sockets(
    serve: Callable[..., SandboxServer], clock: FakeClock
) -> None:
    """Create, poll, download and refresh a Market task through a real HTTP connection."""
    server = serve()
    async with make_api(server.url, clock) as api:
        task_id = await api.create("market", CREATE, BODY)
        status = await api.status("market", task_id)
        while not status.done:
            await clock.sleep(1.0)
            status = await api.status("market", task_id)
        assert status.state == "success"
        async with api.stream(status.result_urls[0]) as chunks:
            data = b"".join([c async for c in chunks])
        assert data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"
        fresh = await api.fresh_download_url(status.result_urls[0], family="market", task_id=task_id)
        assert fresh.startswith(server.url)
    api_calls = [r for r in server.sandbox.requests if r.path.startswith("/api/")]
    assert all(r.authorized for r in api_calls)


@pytest.mark.anyio
async def test_refused_connection_is_retried_then_reported(clock: FakeClock) -> None:
    """A closed port gives httpx's ConnectError: retried per policy, then KieTransportError."""
    url = f"http://127.0.0.1:{free_port()}"
    async with make_api(url, clock, retry=RetryPolicy(create_attempts=3, jitter=0.0)) as api:
        with pytest.raises(KieTransportError, match="not sent"):
            await api.create("market", CREATE, BODY)
    assert clock.monotonic() == pytest.approx(0.5 + 1.0)  # two backoff waits, on the fake clock


@pytest.mark.anyio
async def test_reset_after_the_request_arrived_is_uncertain(
    serve: Callable[..., SandboxServer], clock: FakeClock
) -> None:
    """A real connection reset after sending is uncertain: one create reached the server, none resent."""
    server = serve(Fault("reset", route="create"))
    async with make_api(server.url, clock) as api:
        with pytest.raises(KieSubmitUncertainError):
            await api.create("market", CREATE, BODY)
    assert len([r for r in server.sandbox.requests if r.path == CREATE]) == 1


@pytest.mark.anyio
async def test_real_read_timeout_on_create_is_uncertain_and_the_task_exists(
    serve: Callable[..., SandboxServer], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kie processed the create but never answered: the client reports uncertainty and does not resend."""
    server = serve(Fault("timeout", route="create", delay=3.0))
    monkeypatch.setattr(api_module, "DEFAULT_TIMEOUT", api_module.httpx.Timeout(0.3, connect=2.0))
    async with make_api(server.url, clock) as api:
        with pytest.raises(KieSubmitUncertainError, match="ReadTimeout"):
            await api.create("market", CREATE, BODY)
    assert len([r for r in server.sandbox.requests if r.path == CREATE]) == 1
    assert len(server.sandbox.tasks) == 1


@pytest.mark.anyio
async def test_real_429s_are_retried_after_retry_after(
    serve: Callable[..., SandboxServer], clock: FakeClock
) -> None:
    """Two real HTTP 429 answers are waited out (Retry-After on the fake clock) and one task results."""
    server = serve(Fault("http", 429, route="create", times=2))
    async with make_api(server.url, clock) as api:
        task_id = await api.create("market", CREATE, BODY)
    assert list(server.sandbox.tasks) == [task_id]
    assert len([r for r in server.sandbox.requests if r.path == CREATE]) == 3
