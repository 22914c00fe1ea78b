"""Fan-out: n images from one-image models, lists of requests, partial failure, the rate limit."""

from __future__ import annotations

from typing import Any

import pytest
from jobs_helpers import creates, extra

from kie_widgets.errors import KieBatchError, KieTaskFailedError

pytestmark = pytest.mark.anyio


async def test_n_on_a_one_image_model_sends_n_concurrent_requests(
    kie: Any, sandbox: Any, manifest: Any, clock: Any
) -> None:
    """n=4 on Imagen 4 sends four creates at once and records four images under one recipe."""
    sent_at: list[float] = []
    create = kie.api.create

    async def spy(*args: Any, **kwargs: Any) -> str:
        sent_at.append(clock.monotonic())
        return await create(*args, **kwargs)

    kie.api.create = spy
    assets = await kie.generate("Imagen 4", "four foxes", n=4)
    assert len(assets) == 4
    assert len({a.task_id for a in assets}) == 4
    assert len(creates(sandbox)) == 4
    assert max(sent_at) - min(sent_at) < 1.0  # concurrent, not one after another
    recipes = {manifest.get(a.id)["id"] and extra(manifest.get(a.id), "recipe") for a in assets}
    assert len(recipes) == 1
    again = await kie.generate("Imagen 4", "four foxes", n=4, reuse=True)
    assert sorted(a.id for a in again) == sorted(a.id for a in assets)
    assert len(creates(sandbox)) == 4


async def test_variants_of_one_call_share_a_batch_and_other_calls_do_not(kie: Any, manifest: Any) -> None:
    """Every image of one generate() call records the same batch id; a second call gets its own."""
    first = await kie.generate("Imagen 4", "two kites", n=2)
    second = await kie.generate("Imagen 4", "two kites", n=2)
    batches = [{extra(manifest.get(a.id), "batch") for a in call} for call in (first, second)]
    assert all(len(b) == 1 and None not in b for b in batches)
    assert batches[0] != batches[1]


async def test_n_on_a_multi_image_model_is_one_request(kie: Any, sandbox: Any) -> None:
    """A model that makes several images per request (4o nVariants) gets one create for n=2."""
    plan = kie.plan("4o Image", "two cats", n=2)
    if plan.n != 2:
        pytest.skip("the catalog does not offer n=2 in one 4o request")
    assets = await kie.generate("4o Image", "two cats", n=2)
    assert len(assets) == 2
    assert len(creates(sandbox)) == 1
    assert assets[0].task_id == assets[1].task_id


async def test_partial_failure_keeps_every_success(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """One failed task of four: three images are recorded and KieBatchError carries them and the error."""
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    sb.add_fault(Fault(kind="fail", code=501, times=1))
    async with make_client(sb) as kie:
        with pytest.raises(KieBatchError) as info:
            await kie.generate("Imagen 4", "four owls", n=4)
    err = info.value
    assert len(err.assets) == 3
    assert len(err.errors) == 1
    assert isinstance(err.errors[0], KieTaskFailedError)
    assert all(a.path.is_file() for a in err.assets)
    assert len(manifest.entries) == 3
    assert manifest.pending() == []
    assert len(creates(sb)) == 4


async def test_lists_of_requests_run_concurrently(kie: Any, sandbox: Any, clock: Any) -> None:
    """generate_many runs different models side by side and returns every result."""
    assets = await kie.generate_many(
        [
            {"model": "Imagen 4", "prompt": "a boat"},
            {"model": "Flux Kontext Pro", "prompt": "a car"},
            {"model": "4o Image", "prompt": "a plane"},
        ]
    )
    assert sorted(a.prompt for a in assets) == ["a boat", "a car", "a plane"]
    assert len(creates(sandbox)) == 3
    # Sequential runs would take three task durations; concurrent ones take about one.
    assert clock.monotonic() < 2 * 20.0


async def test_fan_out_stays_within_the_create_limit(make_sandbox: Any, make_client: Any, clock: Any) -> None:
    """30 requests against 20 creates per 10 s: no 429 reaches the user and all 30 succeed."""
    sb = make_sandbox(rate_limit=(20, 10.0))
    async with make_client(sb) as kie:
        assets = await kie.generate("Imagen 4", "thirty stars", n=30, timeout=3600)
    assert len(assets) == 30
    assert len(sb.tasks) == 30
    assert len(creates(sb)) == 30  # the limiter paced them: kie never had to refuse one


async def test_creates_arriving_late_never_trip_kies_limit(
    make_sandbox: Any, clock: Any, manifest: Any
) -> None:
    """Creates of one window that reach kie late do not make the next window's creates early (no 429)."""
    import httpx
    from jobs_helpers import FAKE_KEY

    from kie_widgets.jobs import KieClient

    sb = make_sandbox(rate_limit=(20, 10.0))

    class LateArrival(httpx.AsyncBaseTransport):
        """The first burst of creates spends 0.4 s (fake time) on the way to kie; later ones none."""

        sent = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/createTask"):
                LateArrival.sent += 1
                if LateArrival.sent <= 20:
                    await clock.sleep(0.4)
            return await sb.transport.handle_async_request(request)

    async with KieClient(api_key=FAKE_KEY, transport=LateArrival(), clock=clock, manifest=manifest) as kie:
        assets = await kie.generate("Imagen 4", "forty-five comets", n=45, timeout=3600)
    assert len(assets) == 45
    assert len(creates(sb)) == 45, "kie refused some creates with 429"


async def test_at_most_eight_creates_are_on_the_wire_at_once(
    make_sandbox: Any, clock: Any, manifest: Any
) -> None:
    """A big fan-out never opens a flood of simultaneous creates (each lost one would be uncertain)."""
    import httpx
    from jobs_helpers import FAKE_KEY

    from kie_widgets.jobs import KieClient

    sb = make_sandbox(rate_limit=None, credits=10_000.0)
    live = peak = 0

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal live, peak
            is_create = request.url.path.endswith("/createTask")
            live += is_create
            peak = max(peak, live)
            try:
                await clock.sleep(0.05)
                return await sb.transport.handle_async_request(request)
            finally:
                live -= is_create

    async with KieClient(api_key=FAKE_KEY, transport=Counting(), clock=clock, manifest=manifest) as kie:
        assets = await kie.generate("Imagen 4", "a flock of forty", n=40, timeout=3600)
    assert len(assets) == 40
    assert 1 < peak <= 8


@pytest.mark.slow
def test_clients_on_two_event_loops_share_one_create_pace(project: Any, manifest: Any) -> None:
    """Two clients of one key on two loops (the runner's and a cell's) share one pace and wake each other."""
    import asyncio
    import math
    import threading

    from jobs_helpers import FAKE_KEY

    from kie_widgets.client import KieAPI, RateLimiter
    from kie_widgets.config import load_settings
    from kie_widgets.jobs import KieClient, PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    sb = Sandbox(
        SandboxConfig(
            api_key=FAKE_KEY,
            waiting=0.0,
            queuing=0.0,
            generating=0.05,
            invisible_for=0.0,
            rate_limit=(4, 1.0),
        )
    )
    # One create on the wire at a time: every place is handed from one loop to the other.
    limiter = RateLimiter(creates=4, create_period=1.0, creates_in_flight=1)
    settings = load_settings(api_key=FAKE_KEY)
    fast = PollSchedule(bands=((math.inf, 0.05, 0.1),))
    results: dict[int, Any] = {}

    def run(index: int) -> None:
        async def go() -> Any:
            api = KieAPI(settings, transport=sb.transport, limiter=limiter)
            async with KieClient(settings=settings, api=api, manifest=manifest, schedule=fast) as kie:
                return await kie.generate("Imagen 4", f"loop {index}", n=5, timeout=60)

        try:
            results[index] = asyncio.run(go())
        except BaseException as exc:  # shown by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, list) and len(r) == 5 for r in results.values()), results
    assert len(creates(sb)) == 10, "kie refused some creates with 429"


async def test_n_above_a_models_per_request_maximum_uses_the_fewest_requests(kie: Any, sandbox: Any) -> None:
    """4o makes at most 4 images per request, so n=8 is two requests of four and n=3 is 2 + 1."""
    eight = await kie.generate("4o Image", "eight cranes", n=8)
    assert len(eight) == 8
    assert sorted(r.json.get("nVariants", 1) for r in creates(sandbox)) == [4, 4]
    three = await kie.generate("4o Image", "three cranes", n=3)
    assert len(three) == 3
    assert sorted(r.json.get("nVariants", 1) for r in creates(sandbox)[2:]) == [1, 2]


async def test_fanned_out_requests_do_not_repeat_one_seed(kie: Any, sandbox: Any) -> None:
    """n requests with seed=10 send seeds 10, 11, 12: the same seed three times would buy one image thrice."""
    await kie.generate("google/imagen4-fast", "three seeds", n=3, seed=10)
    assert sorted(r.json["input"]["seed"] for r in creates(sandbox)) == [10, 11, 12]
