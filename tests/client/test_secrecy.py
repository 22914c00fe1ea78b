"""The API key goes into the Authorization header of kie's hosts and nowhere else: not into reprs,
errors, traceback locals, logs, or requests to other hosts."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from client_helpers import (
    KEY,
    PATH_CREATE,
    PATH_CREDIT,
    PATH_RECORD,
    Router,
    content,
    envelope,
    fail,
    raw,
)

from kie_widgets.client import USER_AGENT, KieAPI, RetryPolicy
from kie_widgets.config import Settings
from kie_widgets.errors import KieConfigError, KieError

BODY = {"model": "z-image", "input": {"prompt": "p", "aspect_ratio": "1:1"}}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def leaks(exc: BaseException) -> list[str]:
    """Where the key shows in an exception: its text, attributes, chain and every traceback local."""
    found: list[str] = []
    needle = KEY.encode()

    def check(label: str, value: Any) -> None:
        try:
            text = repr(value)
        except Exception:  # a half-built object in a frame; its repr is nobody's output
            return
        if KEY in text:
            found.append(label)
        requests = [value] if isinstance(value, httpx.Request) else []
        if isinstance(value, httpx.Response):
            requests.append(value.request)
        for request in requests:
            if any(needle in v for _, v in request.headers.raw):
                found.append(f"{label} (raw request headers)")

    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        err = pending.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        check("str", str(err))
        check("repr", err)
        for name, value in vars(err).items():
            check(f"attribute {name}", value)
        tb = err.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            for name, value in frame.f_locals.items():
                check(f"{frame.f_code.co_name}:{name}", value)
            tb = tb.tb_next
        pending += [e for e in (err.__cause__, err.__context__) if e is not None]
    return found


SCENARIOS: list[tuple[str, str, Callable[..., Any], Callable[[KieAPI], Awaitable[Any]]]] = [
    ("401 on create", PATH_CREATE, envelope(401, "bad key"), lambda a: a.create("market", PATH_CREATE, BODY)),
    (
        "uncertain create",
        PATH_CREATE,
        fail(httpx.ReadTimeout),
        lambda a: a.create("market", PATH_CREATE, BODY),
    ),
    (
        "connect failure",
        PATH_CREATE,
        fail(httpx.ConnectError),
        lambda a: a.create("market", PATH_CREATE, BODY),
    ),
    ("1010 on credits", PATH_CREDIT, raw(403, "error code: 1010"), lambda a: a.credits()),
    ("transient until exhausted", PATH_CREDIT, raw(503, "busy"), lambda a: a.credits()),
    ("garbage record", PATH_RECORD, envelope(200, "ok", {"state": "??"}), lambda a: a.status("market", "t")),
    (
        "upload refused",
        "/api/file-base64-upload",
        envelope(401, "bad key", success=False),
        lambda a: a.upload(PNG, filename="a.png", content_type="image/png"),
    ),
]


@pytest.mark.parametrize(("path", "reply", "call"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
@pytest.mark.anyio
async def test_errors_never_hold_the_key(
    path: str,
    reply: Callable[..., Any],
    call: Callable[[KieAPI], Awaitable[Any]],
    router: Router,
    make_api: Callable[..., KieAPI],
) -> None:
    """No error text, attribute, chained exception or traceback local shows the key."""
    router.on(path, reply)
    async with make_api(retry=RetryPolicy(read_attempts=2, create_attempts=2, jitter=0.0)) as api:
        with pytest.raises(KieError) as caught:
            await call(api)
    assert router.calls, "the scenario must have sent a request (with the key) to be meaningful"
    assert leaks(caught.value) == []


@pytest.mark.anyio
async def test_stream_errors_never_hold_the_key_even_on_the_api_host(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A failed download from kie's own host (which gets the key) leaks it nowhere."""
    router.on("/files/a.png", raw(404, "gone"))
    async with make_api() as api:
        with pytest.raises(KieError) as caught:
            async with api.stream("https://api.kie.ai/files/a.png") as chunks:
                await chunks.__anext__()
    assert router.calls[0].headers["authorization"] == f"Bearer {KEY}"
    assert leaks(caught.value) == []


@pytest.mark.anyio
async def test_reprs_never_show_the_key(make_api: Callable[..., KieAPI], settings: Settings) -> None:
    """The client, its settings, its auth and its limiter print a masked key at most."""
    async with make_api() as api:
        texts = [repr(api), str(api), repr(settings), repr(api._client.auth), repr(api.limiter)]
    assert all(KEY not in t for t in texts)
    assert KEY[-4:] in repr(api)  # the masked tail tells which key is in use


@pytest.mark.anyio
async def test_key_goes_only_to_kie_hosts(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """The API and upload hosts get the Bearer header; result-file hosts and redirects get no key."""
    router.on(PATH_CREDIT, envelope(200, "success", 1))
    router.on("/api/file-base64-upload", envelope(200, "ok", {"downloadUrl": "https://t.example/x.png"}))
    router.on("/r/a.png", content(PNG))
    router.on(
        "/redirect", lambda request: httpx.Response(302, headers={"Location": "https://cdn.example/r/a.png"})
    )
    async with make_api() as api:
        await api.credits()
        await api.upload(PNG, filename="a.png", content_type="image/png")
        for url in ("https://tempfile.aiquickdraw.com/r/a.png", "https://api.kie.ai/redirect"):
            async with api.stream(url) as chunks:
                assert b"".join([c async for c in chunks]) == PNG
    auth = {(c.host, c.path): c.headers.get("authorization") for c in router.calls}
    assert auth[("api.kie.ai", PATH_CREDIT)] == f"Bearer {KEY}"
    assert auth[("kieai.redpandaai.co", "/api/file-base64-upload")] == f"Bearer {KEY}"
    assert auth[("tempfile.aiquickdraw.com", "/r/a.png")] is None
    assert auth[("cdn.example", "/r/a.png")] is None


@pytest.mark.anyio
async def test_every_request_has_a_descriptive_user_agent(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """The User-Agent names kie_widgets, httpx and Python with their versions."""
    router.on(PATH_CREDIT, envelope(200, "success", 1))
    async with make_api() as api:
        await api.credits()
    assert router.calls[0].headers["user-agent"] == USER_AGENT
    assert re.fullmatch(r"kie_widgets/[\w.]+ httpx/[\w.]+ python/\d+\.\d+\.\d+\S*", USER_AGENT)


@pytest.mark.anyio
async def test_logs_never_show_the_key(
    router: Router, make_api: Callable[..., KieAPI], caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logs of kie_widgets, httpx and httpcore over a busy session do not contain the key."""
    caplog.set_level(logging.DEBUG)
    router.on(PATH_CREATE, raw(429, "slow"), envelope(200, "success", {"taskId": "t"}))
    router.on(PATH_RECORD, raw(503, "busy"), envelope(200, "success", {"state": "generating"}))
    router.on("/api/file-base64-upload", envelope(200, "ok", {"downloadUrl": "https://t.example/x.png"}))
    async with make_api() as api:
        await api.create("market", PATH_CREATE, BODY)
        await api.status("market", "t")
        await api.upload(PNG, filename="a.png", content_type="image/png")
    assert any(r.name.startswith("kie_widgets.client") for r in caplog.records)
    assert any(r.name.startswith("httpx") for r in caplog.records)
    assert KEY not in caplog.text
    assert all(KEY not in repr(r.args) for r in caplog.records)


@pytest.mark.anyio
async def test_missing_key_fails_before_sending(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """Without a key, a create or an upload raises KieConfigError and nothing goes out."""
    no_key = Settings(api_key=None, key_source="none")
    async with make_api(settings=no_key) as api:
        with pytest.raises(KieConfigError, match="KIE_API_KEY"):
            await api.create("market", PATH_CREATE, BODY)
        with pytest.raises(KieConfigError):
            await api.upload(PNG, filename="a.png", content_type="image/png")
    assert router.calls == []


@pytest.mark.parametrize(
    "bad", ["\n", " ", "\t", "é", "\r\n"], ids=["newline", "space", "tab", "non-ascii", "crlf"]
)
@pytest.mark.anyio
async def test_a_key_that_cannot_be_a_header_is_a_config_error_that_shows_only_its_mask(
    bad: str, router: Router, make_api: Callable[..., KieAPI], settings: Settings
) -> None:
    """A key with a character illegal in a header is refused before sending; the error shows its mask."""
    import dataclasses

    from kie_widgets.config import Secret

    key = KEY[:10] + bad + KEY[10:]
    broken = dataclasses.replace(settings, api_key=Secret(key))
    router.on(PATH_CREATE, envelope(200, "ok", {"taskId": "t1"}))
    router.on(PATH_RECORD, envelope(200, "ok", {"state": "waiting"}))
    async with make_api(settings=broken) as api:
        for call in (lambda: api.create("market", PATH_CREATE, BODY), lambda: api.status("market", "t1")):
            with pytest.raises(KieConfigError) as info:
                await call()
            text = str(info.value)
            assert KEY[:10] not in text
            assert KEY[10:] not in text
            assert Secret(key).masked() in text
    assert router.calls == []


@pytest.mark.anyio
async def test_transport_error_text_that_quotes_the_key_is_scrubbed(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """An httpx/h11 error whose text quotes the key reaches the user with the key masked."""
    from kie_widgets.errors import KieSubmitUncertainError

    router.on(PATH_CREATE, fail(httpx.RemoteProtocolError, f"illegal header value b'Bearer {KEY}'"))
    async with make_api() as api:
        with pytest.raises(KieSubmitUncertainError) as info:
            await api.create("market", PATH_CREATE, BODY)
    assert KEY not in str(info.value)
    assert "****" in str(info.value)
