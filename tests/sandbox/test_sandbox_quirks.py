"""kie's quirks, auth, the credit ledger, the create limiter, expiring URLs and download links."""

from __future__ import annotations

import httpx
import pytest
from sandbox_helpers import (
    BODIES,
    CREATE,
    HEADERS,
    MakeSandbox,
    client_for,
    create,
    image_of,
    record,
    result_urls,
)

from kie_widgets.catalog import spec_for_request
from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("code", "msg"), [(422, "recordInfo is null"), (404, "Task not found")])
async def test_record_is_invisible_right_after_create(
    make_sandbox: MakeSandbox, clock: FakeClock, code: int, msg: str
) -> None:
    """For invisible_for seconds a new task's record answers 422 "recordInfo is null" (or 404)."""
    sb = make_sandbox(invisible_for=2.0, invisible_code=code)
    async with client_for(sb) as http:
        task_id = await create(http, "market")
        first = await record(http, "market", task_id)
        clock.advance(2.0)
        later = await record(http, "market", task_id)
    assert (first["code"], first["msg"], first["data"]) == (code, msg, None)
    assert later["code"] == 200


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({"User-Agent": "t/1"}, 200, {"code": 401, "msg": "You do not have access permissions"}),
        (
            {"User-Agent": "t/1", "Authorization": "Bearer wrong"},
            200,
            {"code": 401, "msg": "You do not have access permissions"},
        ),
        ({"Authorization": HEADERS["Authorization"], "User-Agent": ""}, 403, "error code: 1010"),
    ],
    ids=["missing-key", "wrong-key", "no-user-agent"],
)
async def test_bad_credentials_are_refused_like_kie(
    sandbox: Sandbox, headers: dict[str, str], status: int, body: object
) -> None:
    """A missing/wrong key gets the 401 envelope; a missing User-Agent the hosts' bare 403 1010."""
    async with client_for(sandbox, headers=headers) as http:
        if not headers.get("User-Agent"):
            http.headers.pop("User-Agent", None)
        r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.status_code == status
    assert (r.json() if status == 200 else r.text) == body
    assert sandbox.tasks == {}


async def test_auth_error_is_http_401_when_http_errors_are_on(make_sandbox: MakeSandbox) -> None:
    """With http_errors the 401 comes as a real HTTP status with the same body."""
    sb = make_sandbox(http_errors=True)
    async with client_for(sb, headers={"User-Agent": "t/1", "Authorization": "Bearer nope"}) as http:
        r = await http.get("/api/v1/chat/credit")
    assert r.status_code == 401
    assert r.json()["code"] == 401


async def test_default_library_user_agent_can_be_blocked(make_sandbox: MakeSandbox) -> None:
    """block_default_user_agents refuses python-httpx's own User-Agent with 403 1010."""
    sb = make_sandbox(block_default_user_agents=True)
    async with client_for(sb, headers={"Authorization": HEADERS["Authorization"]}) as http:
        r = await http.get("/api/v1/chat/credit")
    assert (r.status_code, r.text) == (403, "error code: 1010")


async def test_key_never_appears_in_the_request_log(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """The request log keeps whether the key was accepted, never the key itself."""
    await create(http, "market")
    assert sandbox.requests[-1].authorized is True
    assert "sandbox-key" not in repr(sandbox.requests)


def test_config_repr_hides_the_api_key_and_the_webhook_key() -> None:
    """A SandboxConfig shown in a log or traceback never carries the accepted key or the HMAC key."""
    shown = repr(SandboxConfig(api_key="real-key-123", webhook_hmac_key="hmac-456"))
    assert "real-key-123" not in shown
    assert "hmac-456" not in shown


async def test_success_is_debited_at_the_catalog_price(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Each finished task costs exactly spec.price(body); nothing is debited before success."""
    expected = 0.0
    for family in ("gpt4o", "flux", "market"):
        await create(http, family)
        expected += spec_for_request(CREATE[family], BODIES[family]).price(BODIES[family])
    assert sandbox.balance == 1000
    clock.advance(30)
    assert sandbox.balance == pytest.approx(1000 - expected)
    assert (await http.get("/api/v1/chat/credit")).json()["data"] == pytest.approx(1000 - expected)


async def test_price_override_replaces_the_catalog_price(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """SandboxConfig.prices sets a flat per-request price for a model id."""
    sb = make_sandbox(prices={"google/imagen4": 2.5})
    async with client_for(sb) as http:
        await create(http, "market")
        clock.advance(30)
    assert sb.balance == 997.5


async def test_short_balance_is_refused_with_402_and_no_task(make_sandbox: MakeSandbox) -> None:
    """A create that costs more than the unreserved balance gets 402 and creates nothing."""
    sb = make_sandbox(credits=10)
    async with client_for(sb) as http:
        await create(http, "market")  # imagen4: 8 credits, reserved until it settles
        r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.json()["code"] == 402
    assert len(sb.tasks) == 1


async def test_failed_tasks_are_not_charged(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A task that ends in fail leaves the balance untouched."""
    from kie_widgets.sandbox import Fault

    sandbox.add_fault(Fault("fail", 501))
    task_id = await create(http, "market")
    clock.advance(30)
    data = (await record(http, "market", task_id))["data"]
    assert (data["state"], data["failCode"]) == ("fail", "501")
    assert sandbox.balance == 1000
    assert sandbox.tasks[task_id].charged == 0


async def test_limiter_rejects_the_21st_create_within_10_seconds(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """20 creates per 10 s pass; the 21st gets 429 and is not created; after the window it passes."""
    for _ in range(20):
        await create(http, "market")
        clock.advance(0.1)
    r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.status_code == 200
    assert r.json() == {
        "code": 429,
        "msg": "Your call frequency is too high. Please try again later.",
        "data": None,
    }
    assert len(sandbox.tasks) == 20
    clock.advance(8.1)
    await create(http, "market")
    assert len(sandbox.tasks) == 21


async def test_limiter_429_is_a_real_status_with_retry_after_when_http_errors(
    make_sandbox: MakeSandbox,
) -> None:
    """With http_errors the limiter answers HTTP 429 with Retry-After."""
    sb = make_sandbox(http_errors=True, rate_limit=(1, 10.0))
    async with client_for(sb) as http:
        await create(http, "market")
        r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("family", "body", "fragment"),
    [
        ("gpt4o", {"prompt": "x", "size": "16:9"}, "size"),
        ("gpt4o", {"prompt": "x"}, "size"),
        ("flux", {"aspectRatio": "1:1"}, "prompt"),
        (
            "market",
            {"model": "google/imagen4", "input": {"prompt": "x", "aspect_ratio": "5:1"}},
            "aspect_ratio",
        ),
        ("market", {"model": "seedream/4.5-text-to-image", "input": {"prompt": "x"}}, "quality"),
        ("market", {"model": "google/nano-banana-pro", "input": {"prompt": "x"}}, "model not supported"),
        ("gpt4o", {"prompt": "x", "size": "1:1", "callBackUrl": "ftp://hook"}, "callBackUrl"),
        ("flux", {"prompt": "x", "callBackUrl": "hook.example/k"}, "callBackUrl"),
    ],
)
async def test_invalid_requests_get_422_naming_the_problem(
    sandbox: Sandbox, http: httpx.AsyncClient, family: str, body: dict, fragment: str
) -> None:
    """Wire bodies the catalog rejects come back as 422 with the problem text; nothing is created."""
    r = await http.post(CREATE[family], json=body)
    payload = r.json()
    assert payload["code"] == 422
    assert fragment in payload["msg"]
    assert sandbox.tasks == {}


async def test_required_field_can_answer_500_this_field_is_required(make_sandbox: MakeSandbox) -> None:
    """The opt-in quirk answers a missing required field with 500 "This field is required"."""
    sb = make_sandbox(required_as_500=True)
    async with client_for(sb) as http:
        r = await http.post(CREATE["market"], json={"model": "google/imagen4", "input": {}})
    assert r.json()["code"] == 500
    assert r.json()["msg"] == "This field is required"


async def test_flux_edit_safety_tolerance_out_of_range_is_a_500(http: httpx.AsyncClient) -> None:
    """Flux edit with safetyTolerance above 2 is answered with code 500, as documented."""
    body = {"prompt": "x", "inputImage": "https://example.com/a.png", "safetyTolerance": 5}
    r = await http.post(CREATE["flux"], json=body)
    assert r.json()["code"] == 500
    assert "safetyTolerance" in r.json()["msg"]


async def test_result_urls_expire(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """A result URL answers 403 once result_url_ttl has passed since completion."""
    sb = make_sandbox(result_url_ttl=60)
    async with client_for(sb) as http:
        task_id = await create(http, "market")
        clock.advance(10)
        url = result_urls("market", (await record(http, "market", task_id))["data"])[0]
        fresh = await http.get(url)
        clock.advance(61)
        stale = await http.get(url)
    assert fresh.status_code == 200
    assert stale.status_code == 403
    assert b"expired" in stale.content


async def test_flux_origin_url_lives_ten_minutes(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """Flux's originImageUrl expires after 10 minutes while resultImageUrl still works."""
    task_id = await create(http, "flux")
    clock.advance(10)
    response = (await record(http, "flux", task_id))["data"]["response"]
    clock.advance(601)
    assert (await http.get(response["originImageUrl"])).status_code == 403
    assert (await http.get(response["resultImageUrl"])).status_code == 200


@pytest.mark.parametrize("route", ["/api/v1/common/download-url", "/api/v1/gpt4o-image/download-url"])
async def test_download_url_returns_a_fresh_20_minute_link(
    make_sandbox: MakeSandbox, clock: FakeClock, route: str
) -> None:
    """download-url answers data = a signed URL string that works after the result URL expired, for 20 min."""
    sb = make_sandbox(result_url_ttl=60)
    async with client_for(sb) as http:
        task_id = await create(http, "gpt4o")
        clock.advance(10)
        url = result_urls("gpt4o", (await record(http, "gpt4o", task_id))["data"])[0]
        clock.advance(120)
        assert (await http.get(url)).status_code == 403
        r = await http.post(route, json={"taskId": task_id, "url": url})
        link = r.json()["data"]
        assert isinstance(link, str)
        assert "X-Amz-Expires=1200" in link
        assert image_of((await http.get(link)).content).format == "PNG"
        clock.advance(1201)
        assert (await http.get(link)).status_code == 403


@pytest.mark.parametrize(
    ("route", "body", "msg"),
    [
        ("/api/v1/common/download-url", {"url": "https://example.com/x.png"}, "Only files generated"),
        ("/api/v1/common/download-url", {}, "url is required"),
        ("/api/v1/gpt4o-image/download-url", {"taskId": "nope", "url": "https://x/y.png"}, "record is null"),
        ("/api/v1/gpt4o-image/download-url", {"taskId": ["a"], "url": "https://x/y.png"}, "record is null"),
    ],
)
async def test_download_url_refuses_foreign_or_missing_urls(
    http: httpx.AsyncClient, route: str, body: dict, msg: str
) -> None:
    """download-url answers 422 for URLs kie did not generate or tasks it does not know."""
    payload = (await http.post(route, json=body)).json()
    assert payload["code"] == 422
    assert msg in payload["msg"]


async def test_gpt4o_download_url_before_success_is_422(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """Asking for a download link of an unfinished 4o task answers "record status is not success"."""
    task_id = await create(http, "gpt4o")
    r = await http.post(
        "/api/v1/gpt4o-image/download-url", json={"taskId": task_id, "url": "https://x/0.png"}
    )
    assert r.json()["msg"] == "record status is not success"


async def test_fake_clock_makes_a_long_task_instant(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """A 40-second task finishes by moving the fake clock, with no wall time and no background work."""
    import time

    sb = make_sandbox(model_seconds={"google/imagen4": 40.0})
    started = time.perf_counter()
    async with client_for(sb) as http:
        task_id = await create(http, "market")
        clock.advance(39.9)
        assert (await record(http, "market", task_id))["data"]["state"] == "generating"
        clock.advance(0.2)
        data = (await record(http, "market", task_id))["data"]
    assert data["state"] == "success"
    assert data["costTime"] == 40000
    assert time.perf_counter() - started < 5


async def test_status_read_limiter_is_opt_in(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """read_rate_limit=(10, 1) answers the 11th status read within a second with 429."""
    sb = make_sandbox(read_rate_limit=(10, 1.0), invisible_for=0)
    async with client_for(sb) as http:
        task_id = await create(http, "market")
        codes = [(await record(http, "market", task_id))["code"] for _ in range(11)]
        clock.advance(1.0)
        after = (await record(http, "market", task_id))["code"]
    assert codes == [200] * 10 + [429]
    assert after == 200


async def test_records_older_than_14_days_are_gone(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """After 14 days a record answers 404 and download-url refuses the result."""
    task_id = await create(http, "gpt4o")
    clock.advance(30)
    url = result_urls("gpt4o", (await record(http, "gpt4o", task_id))["data"])[0]
    clock.advance(14 * 24 * 3600)
    assert (await record(http, "gpt4o", task_id))["code"] == 404
    payload = (await http.post("/api/v1/common/download-url", json={"url": url})).json()
    assert payload["code"] == 422
    assert "14 days" in payload["msg"]
