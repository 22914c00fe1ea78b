"""Retry decisions per failure kind (DESIGN.md §6): a paid create is never sent twice after it may have
arrived; reads retry transient failures with capped, jittered backoff and honour Retry-After."""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import format_datetime

import httpx
import pytest
from client_helpers import PATH_CREATE, PATH_CREDIT, PATH_RECORD, Reply, Router, envelope, fail, raw

from kie_widgets.client import KieAPI, Retry, RetryKind, RetryPolicy, parse_retry_after, run_with_retry
from kie_widgets.clock import FakeClock
from kie_widgets.errors import (
    KieAPIError,
    KieAuthError,
    KieError,
    KieInsufficientCreditsError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieSubmitUncertainError,
    KieTransportError,
    KieUnavailableError,
)

BODY = {"model": "z-image", "input": {"prompt": "a lighthouse", "aspect_ratio": "1:1"}}
CREATED = envelope(200, "success", {"taskId": "task-1"})

# (id, first reply, error expected when it repeats forever, requests sent when it repeats forever)
# Five create attempts by default: connect failures and 429s use all of them, nothing else does.
CREATE_FAILURES: list[tuple[str, Reply, type[Exception], int]] = [
    ("connect error", fail(httpx.ConnectError), KieTransportError, 5),
    ("connect timeout", fail(httpx.ConnectTimeout), KieTransportError, 5),
    ("pool timeout", fail(httpx.PoolTimeout), KieTransportError, 5),
    ("HTTP 429", raw(429, "Too Many Requests"), KieRateLimitError, 5),
    ("envelope 429", envelope(429, "rate limited"), KieRateLimitError, 5),
    ("read timeout", fail(httpx.ReadTimeout), KieSubmitUncertainError, 1),
    ("write timeout", fail(httpx.WriteTimeout), KieSubmitUncertainError, 1),
    ("dropped after sending", fail(httpx.RemoteProtocolError), KieSubmitUncertainError, 1),
    ("read error", fail(httpx.ReadError), KieSubmitUncertainError, 1),
    ("write error", fail(httpx.WriteError), KieSubmitUncertainError, 1),
    ("HTTP 500", raw(500, "Internal Server Error"), KieSubmitUncertainError, 1),
    ("HTTP 502", raw(502, "Bad Gateway"), KieSubmitUncertainError, 1),
    ("HTTP 503", raw(503, "Service Unavailable"), KieSubmitUncertainError, 1),
    ("HTTP 504", raw(504, "Gateway Timeout"), KieSubmitUncertainError, 1),
    (
        "HTTP 500 with an envelope",
        envelope(500, "This field is required", status=500),
        KieSubmitUncertainError,
        1,
    ),
    ("success without a task id", envelope(200, "success", {}), KieSubmitUncertainError, 1),
    ("truncated success body", raw(200, '{"code": 200, "msg": "succ'), KieSubmitUncertainError, 1),
    ("envelope 500", envelope(500, "server error"), KieServerError, 1),
    ("envelope 455", envelope(455, "maintenance"), KieUnavailableError, 1),
    ("envelope 550", envelope(550, "queue full"), KieUnavailableError, 1),
    ("envelope 401", envelope(401, "You do not have access permissions"), KieAuthError, 1),
    ("envelope 402", envelope(402, "insufficient credits"), KieInsufficientCreditsError, 1),
    ("envelope 422", envelope(422, "aspect_ratio is invalid"), KieRequestError, 1),
    ("HTTP 403 1010", raw(403, "error code: 1010"), KieAuthError, 1),
]
RETRIED = {"connect error", "connect timeout", "pool timeout", "HTTP 429", "envelope 429"}


@pytest.mark.parametrize(
    ("reply", "error", "sent"), [c[1:] for c in CREATE_FAILURES], ids=[c[0] for c in CREATE_FAILURES]
)
@pytest.mark.anyio
async def test_create_failure_kinds_end_in_the_right_error_after_the_right_number_of_sends(
    reply: Reply, error: type[Exception], sent: int, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Only failures that surely never created a task are sent again; the rest are sent exactly once."""
    router.on(PATH_CREATE, reply)
    async with make_api() as api:
        with pytest.raises(error):
            await api.create("market", PATH_CREATE, BODY)
    assert len(router.calls_to(PATH_CREATE)) == sent


@pytest.mark.parametrize(
    ("kind", "reply", "error"), [c[:3] for c in CREATE_FAILURES], ids=[c[0] for c in CREATE_FAILURES]
)
@pytest.mark.anyio
async def test_create_recovers_only_from_failures_that_never_created_a_task(
    kind: str, reply: Reply, error: type[Exception], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """After one failure then a success, a task id comes back only if the failure was safe to retry."""
    router.on(PATH_CREATE, reply, CREATED)
    async with make_api() as api:
        if kind in RETRIED:
            assert await api.create("market", PATH_CREATE, BODY) == "task-1"
            assert len(router.calls_to(PATH_CREATE)) == 2
        else:
            with pytest.raises(error):
                await api.create("market", PATH_CREATE, BODY)
            assert len(router.calls_to(PATH_CREATE)) == 1


@pytest.mark.anyio
async def test_uncertain_create_says_what_to_do_and_is_never_resent(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A read timeout after sending raises KieSubmitUncertainError naming the endpoint, and sends once."""
    router.on(PATH_CREATE, fail(httpx.ReadTimeout, "timed out"), CREATED)
    async with make_api() as api:
        with pytest.raises(KieSubmitUncertainError) as caught:
            await api.create("market", PATH_CREATE, BODY)
    assert caught.value.endpoint == PATH_CREATE
    assert "ReadTimeout" in str(caught.value)
    assert "kie.ai/logs" in str(caught.value)
    assert len(router.calls_to(PATH_CREATE)) == 1


@pytest.mark.anyio
async def test_create_sends_the_body_as_json_to_the_family_endpoint(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A create is one JSON POST of exactly the given body."""
    path = "/api/v1/flux/kontext/generate"
    router.on(path, CREATED)
    body = {"prompt": "a red fox", "aspectRatio": "16:9", "model": "flux-kontext-max"}
    async with make_api() as api:
        assert await api.create("flux-kontext", path, body) == "task-1"
    (call,) = router.calls
    assert call.method == "POST"
    assert call.json() == body
    assert call.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_create_refuses_an_endpoint_of_another_family(make_api: Callable[..., KieAPI]) -> None:
    """A family/endpoint mismatch is a validation error and nothing is sent."""
    from kie_widgets.errors import KieValidationError

    async with make_api() as api:
        with pytest.raises(KieValidationError, match="createTask"):
            await api.create("market", "/api/v1/gpt4o-image/generate", BODY)


@pytest.mark.anyio
async def test_create_honours_retry_after_on_429(
    router: Router, make_api: Callable[..., KieAPI], clock: FakeClock
) -> None:
    """After a 429 with Retry-After: 7 the create is sent again 7 s later on the fake clock."""
    router.on(PATH_CREATE, raw(429, "slow down", headers={"Retry-After": "7"}), CREATED)
    async with make_api() as api:
        assert await api.create("market", PATH_CREATE, BODY) == "task-1"
    first, second = router.calls_to(PATH_CREATE)
    assert second.at - first.at == pytest.approx(7.0)


@pytest.mark.anyio
async def test_create_429_with_a_huge_retry_after_gives_up_at_once(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A Retry-After beyond the policy's cap ends the retries and reports how long kie asked for."""
    router.on(PATH_CREATE, raw(429, "slow down", headers={"Retry-After": "3600"}), CREATED)
    async with make_api() as api:
        with pytest.raises(KieRateLimitError) as caught:
            await api.create("market", PATH_CREATE, BODY)
    assert caught.value.retry_after == 3600.0
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_connect_failures_back_off_exponentially_up_to_the_cap(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Without jitter the waits between connect retries are base, base*2, ... capped at max_delay."""
    router.on(PATH_CREATE, fail(httpx.ConnectError))
    policy = RetryPolicy(create_attempts=6, base_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.0)
    async with make_api(retry=policy) as api:
        with pytest.raises(KieTransportError):
            await api.create("market", PATH_CREATE, BODY)
    times = [c.at for c in router.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([1.0, 2.0, 4.0, 5.0, 5.0])


# Reads -------------------------------------------------------------------------------------------

READ_TRANSIENT: list[tuple[str, Reply]] = [
    ("connect error", fail(httpx.ConnectError)),
    ("read timeout", fail(httpx.ReadTimeout)),
    ("dropped connection", fail(httpx.RemoteProtocolError)),
    ("HTTP 429", raw(429, "Too Many Requests")),
    ("HTTP 500", raw(500, "oops")),
    ("HTTP 502", raw(502, "Bad Gateway")),
    ("HTTP 503", raw(503, "Service Unavailable")),
    ("envelope 429", envelope(429, "rate limited")),
    ("envelope 455", envelope(455, "maintenance")),
    ("envelope 500", envelope(500, "server error")),
    ("envelope 550", envelope(550, "queue full")),
    ("proxy page", raw(200, "<html>proxy</html>")),
]


@pytest.mark.parametrize("reply", [r for _, r in READ_TRANSIENT], ids=[i for i, _ in READ_TRANSIENT])
@pytest.mark.anyio
async def test_status_reads_retry_transient_failures(
    reply: Reply, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A status read that fails transiently twice succeeds on the third send."""
    router.on(PATH_RECORD, reply, reply, envelope(200, "success", {"state": "generating"}))
    async with make_api() as api:
        status = await api.status("market", "t-1")
    assert status.state == "generating"
    assert len(router.calls) == 3


@pytest.mark.parametrize("reply", [r for _, r in READ_TRANSIENT], ids=[i for i, _ in READ_TRANSIENT])
@pytest.mark.anyio
async def test_reads_give_up_after_the_budget(
    reply: Reply, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A read that keeps failing stops after read_attempts sends with a KieError."""
    router.on(PATH_CREDIT, reply)
    async with make_api(retry=RetryPolicy(read_attempts=3, jitter=0.0)) as api:
        with pytest.raises((KieAPIError, KieTransportError)):
            await api.credits()
    assert len(router.calls) == 3


READ_FATAL: list[tuple[str, Reply, type[Exception]]] = [
    ("envelope 401", envelope(401, "You do not have access permissions"), KieAuthError),
    ("HTTP 401", raw(401, "Unauthorized"), KieAuthError),
    ("envelope 402", envelope(402, "insufficient credits"), KieInsufficientCreditsError),
    ("envelope 404", envelope(404, "not found"), KieNotFoundError),
    ("envelope 422", envelope(422, "url is not a kie url"), KieRequestError),
    ("HTTP 403 1010", raw(403, "error code: 1010"), KieAuthError),
    ("envelope 505", envelope(505, "feature disabled"), KieRequestError),
]


@pytest.mark.parametrize(("reply", "error"), [r[1:] for r in READ_FATAL], ids=[r[0] for r in READ_FATAL])
@pytest.mark.anyio
async def test_reads_fail_fast_on_errors_a_retry_cannot_fix(
    reply: Reply, error: type[Exception], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """401/402/404/422 and friends raise after a single request."""
    router.on("/api/v1/common/download-url", reply)
    async with make_api() as api:
        with pytest.raises(error):
            await api.fresh_download_url(
                "https://tempfile.aiquickdraw.com/a.png", family="market", task_id=None
            )
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_reads_honour_retry_after_seconds(
    router: Router, make_api: Callable[..., KieAPI], clock: FakeClock
) -> None:
    """A 503 with Retry-After: 12 makes the next read wait exactly 12 s on the fake clock."""
    router.on(PATH_CREDIT, raw(503, "busy", headers={"Retry-After": "12"}), envelope(200, "success", 5))
    async with make_api() as api:
        assert await api.credits() == 5.0
    first, second = router.calls
    assert second.at - first.at == pytest.approx(12.0)


@pytest.mark.anyio
async def test_reads_honour_retry_after_as_an_http_date(
    router: Router, make_api: Callable[..., KieAPI], clock: FakeClock
) -> None:
    """A Retry-After HTTP date 20 s ahead makes the next read wait 20 s."""
    when = format_datetime(datetime.fromtimestamp(clock.time() + 20, tz=timezone.utc), usegmt=True)
    router.on(PATH_CREDIT, raw(429, "later", headers={"Retry-After": when}), envelope(200, "success", 5))
    async with make_api() as api:
        assert await api.credits() == 5.0
    first, second = router.calls
    assert second.at - first.at == pytest.approx(20.0, abs=1.0)


@pytest.mark.anyio
async def test_jittered_waits_stay_within_their_bounds(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """With jitter 0.5 each wait lies between half and all of its exponential ceiling."""
    router.on(PATH_CREDIT, raw(503, "busy"))
    policy = RetryPolicy(read_attempts=5, base_delay=1.0, multiplier=2.0, max_delay=4.0, jitter=0.5)
    async with make_api(retry=policy) as api:
        with pytest.raises(KieUnavailableError):
            await api.credits()
    times = [c.at for c in router.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, ceiling in zip(gaps, [1.0, 2.0, 4.0, 4.0], strict=True):
        assert ceiling / 2 <= gap <= ceiling


def test_backoff_is_capped_and_jittered() -> None:
    """RetryPolicy.backoff grows by the multiplier, stops at max_delay and takes off up to jitter."""
    policy = RetryPolicy(base_delay=0.5, multiplier=2.0, max_delay=8.0, jitter=0.25)
    assert [policy.backoff(n, 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.backoff(10, 0.999) == pytest.approx(8.0 * (1 - 0.25 * 0.999))
    assert policy.backoff(10_000, 0.0) == 8.0


def test_retry_after_replaces_backoff_until_its_cap() -> None:
    """A server's Retry-After is used as is, unless it exceeds max_retry_after (then: stop)."""
    policy = RetryPolicy(max_retry_after=30.0)
    assert policy.wait_before(0, 0.3, 12.0) == 12.0
    assert policy.wait_before(3, 0.3, 0.0) == 0.0
    assert policy.wait_before(0, 0.3, 31.0) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
    ],
)
def test_retry_after_header_forms(header: str | None, expected: float | None) -> None:
    """Retry-After is read as delta-seconds or as an HTTP date relative to now."""
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc).timestamp()
    assert parse_retry_after(header, now) == expected


def test_retry_policy_rejects_nonsense() -> None:
    """A policy with no attempts or a jitter outside [0, 1] is refused when built."""
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy(read_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


# The one retry loop ------------------------------------------------------------------------------

FILE_URL = "https://tempfile.aiquickdraw.com/r/result.png"
FILE_PATH = "/r/result.png"
UPLOAD_PATH = "/api/file-base64-upload"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _download(api: KieAPI) -> bytes:
    """Read a whole result file through the client's stream."""
    async with api.stream(FILE_URL) as chunks:
        return b"".join([chunk async for chunk in chunks])


# Each kind of call, the path it sends to, and how it is called.
CALLS: dict[str, tuple[str, Callable[[KieAPI], Awaitable[object]]]] = {
    "create": (PATH_CREATE, lambda api: api.create("market", PATH_CREATE, BODY)),
    "read": (PATH_CREDIT, lambda api: api.credits()),
    "upload": (UPLOAD_PATH, lambda api: api.upload(PNG, filename="in.png", content_type="image/png")),
    "download": (FILE_PATH, _download),
}
# Budgets that tell the kinds apart: a create gets 4 sends, every other call 3.
MATRIX_POLICY = RetryPolicy(create_attempts=4, read_attempts=3, jitter=0.0)

# (failure, reply repeated forever, sends per kind of call): the whole of DESIGN.md §6 in one table.
MATRIX: list[tuple[str, Reply, dict[str, int]]] = [
    ("connect error", fail(httpx.ConnectError), {"create": 4, "read": 3, "upload": 3, "download": 3}),
    ("read timeout", fail(httpx.ReadTimeout), {"create": 1, "read": 3, "upload": 3, "download": 3}),
    (
        "dropped connection",
        fail(httpx.RemoteProtocolError),
        {"create": 1, "read": 3, "upload": 3, "download": 3},
    ),
    ("HTTP 429", raw(429, "Too Many Requests"), {"create": 4, "read": 3, "upload": 3, "download": 3}),
    ("HTTP 503", raw(503, "Service Unavailable"), {"create": 1, "read": 3, "upload": 3, "download": 3}),
    ("HTTP 401", raw(401, "Unauthorized"), {"create": 1, "read": 1, "upload": 1, "download": 1}),
    ("HTTP 402", raw(402, "Payment Required"), {"create": 1, "read": 1, "upload": 1, "download": 1}),
    ("HTTP 404", raw(404, "Not Found"), {"create": 1, "read": 1, "upload": 1, "download": 1}),
    ("HTTP 422", raw(422, "Unprocessable"), {"create": 1, "read": 1, "upload": 1, "download": 1}),
]
MATRIX_CASES = [
    (f"{failure} / {kind}", reply, kind, sends[kind]) for failure, reply, sends in MATRIX for kind in CALLS
]


@pytest.mark.parametrize(
    ("reply", "kind", "sends"), [c[1:] for c in MATRIX_CASES], ids=[c[0] for c in MATRIX_CASES]
)
@pytest.mark.anyio
async def test_each_kind_of_call_retries_exactly_the_failures_design_allows(
    reply: Reply, kind: str, sends: int, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A failure that repeats forever is sent the kind's budget of times if retryable, else once."""
    path, call = CALLS[kind]
    router.on(path, reply)
    async with make_api(retry=MATRIX_POLICY) as api:
        with pytest.raises(KieError):
            await call(api)
    assert len(router.calls_to(path)) == sends


@pytest.mark.parametrize("kind", list(CALLS))
@pytest.mark.anyio
async def test_each_kind_of_call_waits_what_retry_after_says(
    kind: str, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """After a 429 with Retry-After: 9, every kind of call is sent again exactly 9 s later."""
    path, call = CALLS[kind]
    success = {
        "create": CREATED,
        "read": envelope(200, "success", 5),
        "upload": envelope(200, "ok", {"downloadUrl": "https://tempfile.redpandaai.co/x.png"}, success=True),
        "download": lambda request: httpx.Response(200, content=PNG),
    }[kind]
    router.on(path, raw(429, "slow down", headers={"Retry-After": "9"}), success)
    async with make_api(retry=MATRIX_POLICY) as api:
        await call(api)
    first, second = router.calls_to(path)
    assert second.at - first.at == pytest.approx(9.0)


class _Script:
    """An attempt function that plays a list of outcomes (a value, a ``Retry`` or an error to raise)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


BUDGETS = RetryPolicy(create_attempts=2, read_attempts=3, download_attempts=4, jitter=0.0)


@pytest.mark.parametrize(("kind", "attempts"), [("create", 2), ("read", 3), ("download", 4)])
@pytest.mark.anyio
async def test_run_with_retry_uses_the_budget_of_its_kind(kind: RetryKind, attempts: int) -> None:
    """A failure that stays retryable is tried the policy's number of times for the kind, then raised."""
    error = KieServerError("busy")
    script = _Script(Retry(error))
    with pytest.raises(KieServerError) as caught:
        await run_with_retry(
            script, kind=kind, policy=BUDGETS, clock=FakeClock(), rng=random.Random(1), what="t"
        )
    assert caught.value is error
    assert script.calls == attempts


@pytest.mark.parametrize(
    ("kind", "policy", "waits"),
    [
        ("read", RetryPolicy(read_attempts=6, base_delay=1.0, max_delay=5.0, jitter=0.0), [1, 2, 4, 5, 5]),
        ("create", RetryPolicy(create_attempts=4, base_delay=0.5, max_delay=1.5, jitter=0.0), [0.5, 1, 1.5]),
        (
            "download",
            RetryPolicy(download_attempts=5, download_base_delay=2.0, download_max_delay=6.0, jitter=0.0),
            [2, 4, 6, 6],
        ),
        ("download", RetryPolicy(jitter=0.0), [2, 4]),  # the defaults: what jobs waited before
    ],
)
@pytest.mark.anyio
async def test_run_with_retry_backs_off_up_to_the_cap_of_its_kind(
    kind: RetryKind, policy: RetryPolicy, waits: list[float]
) -> None:
    """Waits double from the kind's base delay and stop growing at its cap."""
    clock = FakeClock()
    times: list[float] = []

    async def attempt() -> Retry:
        times.append(clock.monotonic())
        return Retry(KieUnavailableError("down"))

    with pytest.raises(KieUnavailableError):
        await run_with_retry(attempt, kind=kind, policy=policy, clock=clock, rng=random.Random(1), what="t")
    assert [b - a for a, b in itertools.pairwise(times)] == pytest.approx(waits)


@pytest.mark.anyio
async def test_run_with_retry_honours_retry_after_and_gives_up_beyond_its_cap() -> None:
    """A Retry-After replaces the backoff; one beyond max_retry_after raises at once."""
    clock = FakeClock()
    policy = RetryPolicy(max_retry_after=30.0, jitter=0.0)
    started = clock.monotonic()
    script = _Script(Retry(KieRateLimitError("later"), 12.0), "done")
    assert (
        await run_with_retry(script, kind="read", policy=policy, clock=clock, rng=random.Random(), what="t")
        == "done"
    )
    assert clock.monotonic() - started == pytest.approx(12.0)
    too_long = _Script(Retry(KieRateLimitError("much later"), 31.0), "done")
    with pytest.raises(KieRateLimitError):
        await run_with_retry(too_long, kind="read", policy=policy, clock=clock, rng=random.Random(), what="t")
    assert too_long.calls == 1


@pytest.mark.anyio
async def test_run_with_retry_raises_an_attempts_own_error_without_retrying() -> None:
    """An attempt that raises (a failure a retry cannot fix) ends the loop after that one attempt."""
    script = _Script(Retry(KieServerError("busy")), KieAuthError("bad key"), "never")
    with pytest.raises(KieAuthError):
        await run_with_retry(
            script,
            kind="read",
            policy=RetryPolicy(jitter=0.0),
            clock=FakeClock(),
            rng=random.Random(),
            what="t",
        )
    assert script.calls == 2


@pytest.mark.anyio
async def test_run_with_retry_lets_the_caller_wait_elsewhere() -> None:
    """With a pause hook the loop hands over each wait and its error instead of sleeping."""
    clock = FakeClock()
    error = KieRateLimitError("429")
    handed: list[tuple[float, KieError]] = []

    async def pause(wait: float, failed: KieError) -> None:
        handed.append((wait, failed))

    script = _Script(Retry(error), Retry(error), "task-9")
    policy = RetryPolicy(base_delay=1.0, jitter=0.0)
    started = clock.monotonic()
    result = await run_with_retry(
        script, kind="create", policy=policy, clock=clock, rng=random.Random(), what="t", pause=pause
    )
    assert result == "task-9"
    assert handed == [(1.0, error), (2.0, error)]
    assert clock.monotonic() == started


@pytest.mark.parametrize("kind", ["create", "read", "download"])
def test_a_policy_of_none_tries_every_kind_once(kind: RetryKind) -> None:
    """RetryPolicy.none() gives one attempt to creates, reads and downloads alike."""
    assert RetryPolicy.none().attempts(kind) == 1


def test_retry_policy_refuses_a_download_budget_of_zero() -> None:
    """Downloads need at least one attempt, like every other kind of call."""
    with pytest.raises(ValueError, match="downloads"):
        RetryPolicy(download_attempts=0)
