"""The shared rate limiter keeps every concurrent call within kie's per-key limits, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from client_helpers import KEY, PATH_CREATE, PATH_RECORD, Router, envelope, raw

from kie_widgets.client import KieAPI, RateLimiter
from kie_widgets.clock import FakeClock, RealClock
from kie_widgets.config import Secret, Settings

BODY = {"model": "z-image", "input": {"prompt": "p", "aspect_ratio": "1:1"}}


def most_in_any_window(times: list[float], period: float) -> int:
    """The largest number of events inside any half-open window (t - period, t]."""
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t - period < u <= t) for t in ordered)


@pytest.mark.anyio
async def test_hundred_concurrent_creates_stay_within_twenty_per_ten_seconds(
    router: Router, make_api: Callable[..., KieAPI], clock: FakeClock
) -> None:
    """100 creates started at once reach kie at most 20 per 10 s, all of them, in five windows."""
    counter = iter(range(1000))
    router.on(PATH_CREATE, lambda request: envelope(200, "success", {"taskId": f"t{next(counter)}"})(request))
    async with make_api() as api:
        ids = await asyncio.gather(*(api.create("market", PATH_CREATE, BODY) for _ in range(100)))
    assert len(set(ids)) == 100
    times = [c.at for c in router.calls_to(PATH_CREATE)]
    assert len(times) == 100
    assert most_in_any_window(times, 10.0) == 20
    # Full use of the limit: batches at 0, 10, 20, 30 and 40 s of fake time.
    assert max(times) == pytest.approx(40.0)
    assert api.limiter.stats["creates"] == 100


@pytest.mark.anyio
async def test_status_reads_stay_within_ten_per_second(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """35 concurrent status reads reach kie at most 10 per second."""
    router.on(PATH_RECORD, envelope(200, "success", {"state": "generating"}))
    async with make_api() as api:
        await asyncio.gather(*(api.status("market", f"t{i}") for i in range(35)))
    times = [c.at for c in router.calls_to(PATH_RECORD)]
    assert len(times) == 35
    assert most_in_any_window(times, 1.0) == 10
    assert max(times) == pytest.approx(3.0)


@pytest.mark.anyio
async def test_creates_and_reads_have_separate_budgets(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Status reads do not use up the create window, and creates do not slow status reads."""
    router.on(PATH_CREATE, envelope(200, "success", {"taskId": "t"}))
    router.on(PATH_RECORD, envelope(200, "success", {"state": "waiting"}))
    async with make_api() as api:
        await asyncio.gather(
            *(api.create("market", PATH_CREATE, BODY) for _ in range(20)),
            *(api.status("market", "t") for _ in range(10)),
        )
    assert {c.at for c in router.calls} == {0.0}


@pytest.mark.anyio
async def test_a_429_pauses_every_concurrent_create(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """After kie answers 429 with Retry-After: 5, no create of any caller goes out for 5 s."""
    router.on(
        PATH_CREATE,
        raw(429, "slow down", headers={"Retry-After": "5"}),
        envelope(200, "success", {"taskId": "t"}),
    )
    async with make_api() as api:
        first = asyncio.ensure_future(api.create("market", PATH_CREATE, BODY))
        await asyncio.sleep(0)  # let the first create meet its 429 before the others start
        for _ in range(5):
            await asyncio.sleep(0)
        others = [api.create("market", PATH_CREATE, BODY) for _ in range(3)]
        await asyncio.gather(first, *others)
    times = [c.at for c in router.calls_to(PATH_CREATE)]
    assert times[0] == 0.0
    assert all(t >= 5.0 for t in times[1:])
    assert len(times) == 5


@pytest.mark.anyio
async def test_limits_are_configurable(clock: FakeClock) -> None:
    """A limiter built for 3 creates per 2 s grants the fourth create at 2 s."""
    limiter = RateLimiter(creates=3, create_period=2.0, clock=clock)
    granted: list[float] = []

    async def take() -> None:
        await limiter.acquire_create()
        granted.append(clock.monotonic())

    await asyncio.gather(*(take() for _ in range(7)))
    assert granted == [0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 4.0]


def test_one_limiter_per_key_and_clock() -> None:
    """KieAPIs of one key share a limiter; another key or another fake clock gets its own."""
    real_a, real_b = RealClock(), RealClock()
    fake = FakeClock()
    key = Secret(KEY)
    shared = RateLimiter.shared(key, real_a)
    assert RateLimiter.shared(Secret(KEY), real_b) is shared
    assert RateLimiter.shared(Secret(KEY + "x"), real_a) is not shared
    assert RateLimiter.shared(key, fake) is not shared
    assert RateLimiter.shared(key, fake) is RateLimiter.shared(key, fake)


@pytest.mark.anyio
async def test_kieapis_of_one_key_share_the_default_limiter(
    settings: Settings, router: Router, clock: FakeClock
) -> None:
    """Two KieAPI objects on one key and clock throttle together: 30 creates take two windows."""
    router.on(PATH_CREATE, envelope(200, "success", {"taskId": "t"}))
    async with (
        KieAPI(settings, transport=router.transport, clock=clock) as one,
        KieAPI(settings, transport=router.transport, clock=clock) as two,
    ):
        assert one.limiter is two.limiter
        await asyncio.gather(
            *(one.create("market", PATH_CREATE, BODY) for _ in range(15)),
            *(two.create("market", PATH_CREATE, BODY) for _ in range(15)),
        )
    times = [c.at for c in router.calls_to(PATH_CREATE)]
    assert most_in_any_window(times, 10.0) == 20
    assert max(times) == pytest.approx(10.0)


def test_limiter_rejects_an_empty_window() -> None:
    """A window with no room or no length is a configuration error."""
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(creates=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(read_period=0.0)


@pytest.mark.anyio
async def test_a_create_counts_from_its_answer_not_from_when_it_was_sent(clock: FakeClock) -> None:
    """Two creates sent at 0 and answered at 3 s keep a 2-per-10-s window closed until 13 s, not 10 s."""
    limiter = RateLimiter(creates=2, create_period=10.0, clock=clock)
    await limiter.open_create()
    await limiter.open_create()
    clock.advance(3.0)
    limiter.close_create()
    limiter.close_create()
    await limiter.open_create()
    assert clock.monotonic() == pytest.approx(13.0)


@pytest.mark.anyio
async def test_a_create_kie_never_counted_gives_its_place_back(clock: FakeClock) -> None:
    """A create that never left (or met a 429) frees its place at once instead of for a whole window."""
    limiter = RateLimiter(creates=1, create_period=10.0, clock=clock)
    await limiter.open_create()
    limiter.close_create(counted=False)
    await limiter.open_create()
    assert clock.monotonic() == 0.0


@pytest.mark.anyio
async def test_creates_in_flight_are_capped_and_the_next_starts_when_one_is_answered(
    clock: FakeClock,
) -> None:
    """With two creates on the wire the third waits for an answer, not for the clock."""
    limiter = RateLimiter(creates_in_flight=2, clock=clock)
    await limiter.open_create()
    await limiter.open_create()
    third = asyncio.ensure_future(limiter.open_create())
    for _ in range(10):
        await asyncio.sleep(0)
    assert not third.done()
    limiter.close_create()
    await asyncio.wait_for(third, 1.0)
    assert clock.monotonic() == 0.0
