"""Every scripted fault kind, by request count and by rate, and the --faults syntax."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sandbox_helpers import BODIES, CREATE, MakeSandbox, client_for, create, image_of, record, result_urls

from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Fault, Sandbox, parse_faults

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault("http", 429, route="create"), 429, 429),
        (Fault("http", 500, route="create"), 500, None),
        (Fault("http", 502, route="create"), 502, None),
        (Fault("http", 503, route="create"), 503, None),
        (Fault("envelope", 402, route="create"), 200, 402),
        (Fault("envelope", 422, route="create"), 200, 422),
        (Fault("envelope", 455, route="create"), 200, 455),
        (Fault("envelope", 500, route="create"), 200, 500),
        (Fault("envelope", 501, route="create"), 200, 501),
        (Fault("envelope", 550, route="create"), 200, 550),
    ],
    ids=lambda v: f"{v.kind}-{v.code}" if isinstance(v, Fault) else None,
)
async def test_status_faults_on_create_answer_without_creating(
    sandbox: Sandbox, http: httpx.AsyncClient, fault: Fault, status: int, code: int | None
) -> None:
    """An unprocessed HTTP/envelope fault answers its status or code and creates no task."""
    sandbox.add_fault(fault)
    r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.status_code == status
    if code is None:
        assert "text/html" in r.headers["content-type"]
    else:
        assert r.json()["code"] == code
    assert sandbox.tasks == {}
    await create(http, "market")
    assert len(sandbox.tasks) == 1
    assert fault.hits == 1


async def test_http_429_fault_carries_retry_after(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """An HTTP 429 fault sends a Retry-After header (the value given, else 1)."""
    sandbox.add_fault(Fault("http", 429, route="create", retry_after=3))
    r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.headers["retry-after"] == "3"


async def test_processed_fault_creates_the_task_but_answers_an_error(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """With processed=True a 502 comes back although the task exists (the client's uncertain path)."""
    sandbox.add_fault(Fault("http", 502, route="create", processed=True))
    r = await http.post(CREATE["market"], json=BODIES["market"])
    assert r.status_code == 502
    assert len(sandbox.tasks) == 1


async def test_read_timeout_fault_creates_the_task(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """A timeout on create raises ReadTimeout in the client, yet the task was created (and will be paid)."""
    sandbox.add_fault(Fault("timeout", route="create"))
    with pytest.raises(httpx.ReadTimeout):
        await http.post(CREATE["gpt4o"], json=BODIES["gpt4o"])
    assert len(sandbox.tasks) == 1


@pytest.mark.parametrize(("kind", "error"), [("reset", httpx.ReadError), ("connect", httpx.ConnectError)])
async def test_connection_faults_raise_and_create_nothing(
    sandbox: Sandbox, http: httpx.AsyncClient, kind: str, error: type[Exception]
) -> None:
    """A reset raises ReadError and a refused connection ConnectError; neither creates a task."""
    sandbox.add_fault(Fault(kind, route="create"))
    with pytest.raises(error):
        await http.post(CREATE["market"], json=BODIES["market"])
    assert sandbox.tasks == {}


async def test_status_faults_are_transient(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A 455 on a status read does not change the task: the next read answers normally."""
    task_id = await create(http, "market")
    clock.advance(2)
    sandbox.add_fault(Fault("envelope", 455, route="status"))
    assert (await record(http, "market", task_id))["code"] == 455
    assert (await record(http, "market", task_id))["code"] == 200


async def test_envelope_501_on_status_fails_the_task_for_good(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A 501 in a record is terminal: the task ends in fail and is never charged."""
    task_id = await create(http, "market")
    clock.advance(2)
    sandbox.add_fault(Fault("envelope", 501, route="status"))
    first = await record(http, "market", task_id)
    clock.advance(30)
    later = (await record(http, "market", task_id))["data"]
    assert first["code"] == 501
    assert first["data"]["state"] == "fail"
    assert later["state"] == "fail"
    assert sandbox.balance == 1000


@pytest.mark.parametrize(
    ("family", "check"),
    [
        ("gpt4o", lambda d: (d["successFlag"], d["status"], d["errorCode"]) == (2, "GENERATE_FAILED", 500)),
        ("flux", lambda d: (d["successFlag"], d["errorCode"]) == (3, 501)),
        (
            "market",
            lambda d: (d["state"], d["failCode"], d["failMsg"]) == ("fail", "501", "Generation failed."),
        ),
    ],
)
async def test_fail_fault_ends_each_family_in_its_failure_shape(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    clock: FakeClock,
    family: str,
    check: Callable[[dict[str, Any]], bool],
) -> None:
    """A "fail" fault makes the next task fail with the family's own failure fields."""
    sandbox.add_fault(Fault("fail"))
    task_id = await create(http, family)
    clock.advance(30)
    assert check((await record(http, family, task_id))["data"])


async def test_content_policy_failure_is_create_task_failed(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A 400 failure on 4o reports CREATE_TASK_FAILED (flag 2), on Flux successFlag 2."""
    sandbox.add_fault(Fault("fail", 400, times=2))
    ids = {f: await create(http, f) for f in ("gpt4o", "flux")}
    clock.advance(30)
    gpt = (await record(http, "gpt4o", ids["gpt4o"]))["data"]
    flux = (await record(http, "flux", ids["flux"]))["data"]
    assert (gpt["successFlag"], gpt["status"]) == (2, "CREATE_TASK_FAILED")
    assert flux["successFlag"] == 2


async def test_early_failure_record_was_last_updated_when_it_failed(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A task that fails while waiting reports updateTime = completeTime, not a later phase change."""
    sandbox.add_fault(Fault("fail", 400))
    task_id = await create(http, "market")
    clock.advance(30)
    data = (await record(http, "market", task_id))["data"]
    assert data["state"] == "fail"
    assert data["updateTime"] == data["completeTime"]


async def _result_url(http: httpx.AsyncClient, clock: FakeClock) -> str:
    task_id = await create(http, "market")
    clock.advance(30)
    return result_urls("market", (await record(http, "market", task_id))["data"])[0]


async def test_truncated_download_breaks_off_half_way(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A truncate fault announces the full length, sends half and ends like a dropped connection."""
    url = await _result_url(http, clock)
    sandbox.add_fault(Fault("truncate"))
    received = bytearray()
    announced: list[int] = []

    async def download() -> None:
        async with http.stream("GET", url) as response:
            announced.append(int(response.headers["content-length"]))
            async for chunk in response.aiter_raw():
                received.extend(chunk)

    with pytest.raises(httpx.RemoteProtocolError):
        await download()
    announced_length = announced[0]
    assert 0 < len(received) < announced_length
    assert len((await http.get(url)).content) == announced_length


async def test_non_image_download_is_html_labelled_png(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A notimage fault serves an HTML page with Content-Type image/png."""
    url = await _result_url(http, clock)
    sandbox.add_fault(Fault("notimage"))
    r = await http.get(url)
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"<!DOCTYPE html>")


async def test_bomb_download_declares_huge_dimensions(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A bomb fault serves a small PNG whose header claims 20000 x 20000 pixels."""
    from PIL import Image

    url = await _result_url(http, clock)
    sandbox.add_fault(Fault("bomb"))
    r = await http.get(url)
    assert len(r.content) < 2_000_000
    assert int.from_bytes(r.content[16:20], "big") == 20000
    with pytest.raises(Image.DecompressionBombError):
        image_of(r.content)


async def test_expired_fault_answers_like_an_expired_link(
    sandbox: Sandbox, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """An expired fault answers 403 for a URL that is otherwise still valid."""
    url = await _result_url(http, clock)
    sandbox.add_fault(Fault("expired"))
    assert (await http.get(url)).status_code == 403
    assert (await http.get(url)).status_code == 200


async def test_skip_and_times_pick_which_requests_are_hit(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """skip lets the first N through, times bounds how many are hit after that."""
    fault = sandbox.add_fault(Fault("envelope", 500, route="credit", skip=1, times=2))
    codes = [(await http.get("/api/v1/chat/credit")).json()["code"] for _ in range(5)]
    assert codes == [200, 500, 500, 200, 200]
    assert fault.exhausted


async def test_rate_faults_hit_about_that_share(make_sandbox: MakeSandbox) -> None:
    """A 30% rate fault hits roughly 30% of 400 matching requests (seeded, so repeatable)."""
    sb = make_sandbox(faults=parse_faults("envelope:500@credit%30"), seed=7)
    async with client_for(sb) as http:
        codes = [(await http.get("/api/v1/chat/credit")).json()["code"] for _ in range(400)]
    assert 80 <= codes.count(500) <= 160


async def test_faults_from_config_are_fresh_per_sandbox(make_sandbox: MakeSandbox) -> None:
    """Two sandboxes built from one config each get their own fault counters."""
    faults = [Fault("envelope", 500, route="credit")]
    first, second = make_sandbox(faults=faults), make_sandbox(faults=faults)
    for sb in (first, second):
        async with client_for(sb) as http:
            assert (await http.get("/api/v1/chat/credit")).json()["code"] == 500


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("http:429@create*2", [Fault("http", 429, route="create", times=2)]),
        ("envelope:455@status%10", [Fault("envelope", 455, route="status", times=None, rate=0.1)]),
        ("timeout@create+3", [Fault("timeout", route="create", skip=3)]),
        ("http:502@create!", [Fault("http", 502, route="create", processed=True)]),
        ("bomb, truncate*inf", [Fault("bomb"), Fault("truncate", times=None)]),
        ("fail:501", [Fault("fail", 501, route="create")]),
        ("reset@create|status*3%50", [Fault("reset", route="create|status", times=3, rate=0.5)]),
        ("", []),
    ],
)
def test_fault_spec_parses(spec: str, expected: list[Fault]) -> None:
    """The --faults syntax KIND[:CODE][@ROUTE][*TIMES][%PCT][+SKIP][!] maps to Fault objects."""
    assert parse_faults(spec) == expected


@pytest.mark.parametrize(
    "spec", ["boom", "http@create", "http:200", "envelope", "http:429@create*x", "reset%150"]
)
def test_bad_fault_specs_are_rejected(spec: str) -> None:
    """Unknown kinds, missing codes and malformed counts raise ValueError."""
    with pytest.raises(ValueError, match=r"."):
        parse_faults(spec)


@pytest.mark.parametrize(("code", "status"), [(402, 402), (422, 422), (455, 503), (500, 500), (550, 503)])
async def test_http_errors_mode_turns_envelope_codes_into_statuses(
    make_sandbox: MakeSandbox, code: int, status: int
) -> None:
    """With http_errors, an error envelope travels with a matching real HTTP status (455/550 as 503)."""
    sb = make_sandbox(http_errors=True, faults=[Fault("envelope", code, route="credit")])
    async with client_for(sb) as http:
        r = await http.get("/api/v1/chat/credit")
    assert r.status_code == status
    assert r.json()["code"] == code
