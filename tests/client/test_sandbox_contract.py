"""Contract tests: KieAPI end to end against the sandbox's in-process transport, on a fake clock.

Each family is created, polled through its states, downloaded, refreshed and billed; the sandbox's
scripted faults check the retry rules from the server's side (how many tasks really exist).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from PIL import Image

from kie_widgets.client import KieAPI, RateLimiter, RetryPolicy, TaskStatus
from kie_widgets.clock import FakeClock
from kie_widgets.config import SANDBOX_API_KEY, Secret, Settings
from kie_widgets.errors import (
    KieAuthError,
    KieInsufficientCreditsError,
    KieNotFoundError,
    KieRequestError,
    KieServerError,
    KieSubmitUncertainError,
    KieUnavailableError,
)
from kie_widgets.sandbox import Fault, Sandbox, SandboxConfig

CREATE = {
    "gpt4o": "/api/v1/gpt4o-image/generate",
    "flux-kontext": "/api/v1/flux/kontext/generate",
    "market": "/api/v1/jobs/createTask",
}
BODIES: dict[str, dict[str, Any]] = {
    "gpt4o": {"prompt": "a red fox in snow", "size": "3:2"},
    "flux-kontext": {"prompt": "a blue whale", "aspectRatio": "16:9", "model": "flux-kontext-max"},
    "market": {"model": "google/imagen4", "input": {"prompt": "a green owl", "aspect_ratio": "9:16"}},
}
ORDER = ["pending", "queued", "generating", "success"]


def small_png() -> bytes:
    """A real 64x48 PNG to upload as an edit input."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def edit_body(family: str, url: str) -> dict[str, Any]:
    """A wire body that edits the image at ``url`` in ``family``."""
    if family == "gpt4o":
        return {"prompt": "make it night", "size": "1:1", "filesUrl": [url]}
    if family == "flux-kontext":
        return {"prompt": "make it night", "inputImage": url, "model": "flux-kontext-pro"}
    return {"model": "google/nano-banana-edit", "input": {"prompt": "make it night", "image_urls": [url]}}


@pytest.fixture
def clock() -> FakeClock:
    """One fake clock for the sandbox and the client."""
    return FakeClock()


@pytest.fixture
def make_pair(clock: FakeClock) -> Callable[..., tuple[Sandbox, KieAPI]]:
    """A sandbox (config fields as keyword arguments) and a KieAPI wired to it."""
    made: list[tuple[Sandbox, KieAPI]] = []

    def make(
        *, key: str = SANDBOX_API_KEY, retry: RetryPolicy | None = None, **config: Any
    ) -> tuple[Sandbox, KieAPI]:
        sb = Sandbox(SandboxConfig(**config), clock=clock)
        settings = Settings(api_key=Secret(key), key_source="sandbox", sandbox=True)
        api = KieAPI(
            settings,
            transport=sb.transport,
            clock=clock,
            retry=retry or RetryPolicy(jitter=0.0),
            limiter=RateLimiter(clock=clock),
        )
        made.append((sb, api))
        return sb, api

    return make


@pytest.fixture
async def pair(make_pair: Callable[..., tuple[Sandbox, KieAPI]]) -> AsyncIterator[tuple[Sandbox, KieAPI]]:
    """A default sandbox and its client."""
    sb, api = make_pair()
    async with api:
        yield sb, api
    assert sb.errors == []


async def follow(api: KieAPI, clock: FakeClock, family: str, task_id: str) -> list[TaskStatus]:
    """Poll every 0.5 s of fake time until the task is done; every status seen."""
    seen = [await api.status(family, task_id)]
    while not seen[-1].done:
        await clock.sleep(0.5)
        seen.append(await api.status(family, task_id))
        assert len(seen) < 200, "the task never finished"
    return seen


async def download(api: KieAPI, url: str) -> bytes:
    """A whole result file."""
    async with api.stream(url) as chunks:
        return b"".join([chunk async for chunk in chunks])


def decoded(data: bytes) -> Image.Image:
    """The downloaded bytes as a loaded Pillow image."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("family", list(CREATE))
@pytest.mark.anyio
async def test_family_end_to_end(family: str, pair: tuple[Sandbox, KieAPI], clock: FakeClock) -> None:
    """Create, wait out the invisible record, pass through the states, download a real image, pay."""
    sb, api = pair
    before = await api.credits()
    task_id = await api.create(family, CREATE[family], BODIES[family])
    seen = await follow(api, clock, family, task_id)

    assert seen[0].not_visible_yet
    assert seen[0].state == "pending"
    states = [s.state for s in seen]
    assert states[-1] == "success"
    assert [ORDER.index(s) for s in states] == sorted(ORDER.index(s) for s in states)
    assert "generating" in states
    final = seen[-1]
    assert final.task_id == task_id
    assert final.family == family
    assert final.progress == 1.0
    assert final.result_urls
    assert final.cost_time_ms is not None
    assert final.cost_time_ms > 0

    for url in final.result_urls:
        image = decoded(await download(api, url))
        assert image.format in {"PNG", "JPEG"}
        assert image.width > 0
        assert image.height > 0

    charged = sb.tasks[task_id].charged
    assert charged > 0
    assert await api.credits() == pytest.approx(before - charged)
    creates = [r for r in sb.requests if r.path == CREATE[family]]
    assert len(creates) == 1
    assert creates[0].json == BODIES[family]
    assert all(r.authorized for r in sb.requests if r.path.startswith("/api/v1/"))


@pytest.mark.parametrize("family", list(CREATE))
@pytest.mark.anyio
async def test_upload_then_edit(
    family: str, make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """An uploaded local image is accepted as the input of an edit in every family."""
    sb, api = make_pair(strict_input_urls=True)
    async with api:
        url = await api.upload(small_png(), filename="input.jpg", content_type="image/jpeg")
        assert url.endswith(".png")  # named after the bytes, not the caller's name
        assert decoded(await download(api, url)).size == (64, 48)
        task_id = await api.create(family, CREATE[family], edit_body(family, url))
        final = (await follow(api, clock, family, task_id))[-1]
    assert final.state == "success", final
    assert sb.tasks[task_id].inputs == (url,)


@pytest.mark.parametrize("family", list(CREATE))
@pytest.mark.anyio
async def test_expired_result_link_is_refreshed(
    family: str, pair: tuple[Sandbox, KieAPI], clock: FakeClock
) -> None:
    """After a result URL expires, stream() says so and fresh_download_url() gives a working link."""
    sb, api = pair
    task_id = await api.create(family, CREATE[family], BODIES[family])
    url = (await follow(api, clock, family, task_id))[-1].result_urls[0]
    clock.advance(sb.config.result_url_ttl + 60)
    with pytest.raises(KieNotFoundError, match="fresh_download_url"):
        await download(api, url)
    fresh = await api.fresh_download_url(url, family=family, task_id=task_id)
    assert fresh != url
    assert decoded(await download(api, fresh)).format in {"PNG", "JPEG"}


@pytest.mark.parametrize("invisible_code", [422, 404])
@pytest.mark.parametrize("http_errors", [False, True], ids=["envelope codes", "real HTTP statuses"])
@pytest.mark.anyio
async def test_not_yet_visible_record_in_both_error_styles(
    invisible_code: int, http_errors: bool, make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """The invisible-record window reads as pending whether kie says 404/422 in the body or in HTTP."""
    _sb, api = make_pair(invisible_code=invisible_code, http_errors=http_errors)
    async with api:
        task_id = await api.create("market", CREATE["market"], BODIES["market"])
        seen = await follow(api, clock, "market", task_id)
    assert seen[0].not_visible_yet
    assert seen[-1].state == "success"


@pytest.mark.anyio
async def test_real_http_error_statuses_map_like_envelope_codes(
    make_pair: Callable[..., tuple[Sandbox, KieAPI]],
) -> None:
    """With real HTTP statuses a wrong key is still KieAuthError and a bad body KieRequestError."""
    sb, api = make_pair(http_errors=True, key="not-the-sandbox-key")
    async with api:
        with pytest.raises(KieAuthError):
            await api.create("market", CREATE["market"], BODIES["market"])
    sb, api = make_pair(http_errors=True)
    async with api:
        with pytest.raises(KieRequestError):
            await api.create("market", CREATE["market"], {"model": "google/imagen4", "input": {}})
    assert sb.tasks == {}


@pytest.mark.anyio
async def test_wrong_key_is_an_auth_error(make_pair: Callable[..., tuple[Sandbox, KieAPI]]) -> None:
    """The sandbox's 401 envelope becomes KieAuthError with the what-to-do sentence."""
    _sb, api = make_pair(key="wrong-key-1234567890")
    async with api:
        with pytest.raises(KieAuthError, match="KIE_API_KEY"):
            await api.credits()


@pytest.mark.anyio
async def test_bot_filter_lets_our_user_agent_through(
    make_pair: Callable[..., tuple[Sandbox, KieAPI]],
) -> None:
    """With the 1010 filter on for library default User-Agents, our descriptive one passes."""
    sb, api = make_pair(block_default_user_agents=True)
    async with api:
        assert await api.credits() == sb.config.credits


# -- faults, counted on the sandbox's side -----------------------------------------------------------

CREATE_FAULTS: list[tuple[str, Fault, type[Exception] | None, int, int]] = [
    # id, fault, error (None = recovers), create requests seen by kie, tasks that exist afterwards
    ("HTTP 429 twice", Fault("http", 429, route="create", times=2), None, 3, 1),
    ("envelope 429", Fault("envelope", 429, route="create"), None, 2, 1),
    ("connection refused", Fault("connect", route="create"), None, 2, 1),
    ("read timeout after processing", Fault("timeout", route="create"), KieSubmitUncertainError, 1, 1),
    ("reset after arrival", Fault("reset", route="create"), KieSubmitUncertainError, 1, 0),
    (
        "HTTP 502 after processing",
        Fault("http", 502, route="create", processed=True),
        KieSubmitUncertainError,
        1,
        1,
    ),
    ("HTTP 503 gateway page", Fault("http", 503, route="create"), KieSubmitUncertainError, 1, 0),
    ("envelope 402", Fault("envelope", 402, route="create"), KieInsufficientCreditsError, 1, 0),
    ("envelope 455", Fault("envelope", 455, route="create"), KieUnavailableError, 1, 0),
]


@pytest.mark.parametrize(
    ("fault", "error", "sent", "tasks"), [f[1:] for f in CREATE_FAULTS], ids=[f[0] for f in CREATE_FAULTS]
)
@pytest.mark.anyio
async def test_create_faults_never_create_a_task_twice(
    fault: Fault,
    error: type[Exception] | None,
    sent: int,
    tasks: int,
    make_pair: Callable[..., tuple[Sandbox, KieAPI]],
) -> None:
    """Each create fault ends in the right outcome, with kie seeing the expected number of creates."""
    sb, api = make_pair(faults=[fault])
    async with api:
        if error is None:
            task_id = await api.create("market", CREATE["market"], BODIES["market"])
            assert task_id in sb.tasks
        else:
            with pytest.raises(error):
                await api.create("market", CREATE["market"], BODIES["market"])
    assert len([r for r in sb.requests if r.path == CREATE["market"]]) == sent
    assert len(sb.tasks) == tasks
    assert sb.errors == []


STATUS_FAULTS: list[tuple[str, Fault]] = [
    ("HTTP 503 twice", Fault("http", 503, route="status", times=2)),
    ("HTTP 429", Fault("http", 429, route="status")),
    ("envelope 455", Fault("envelope", 455, route="status")),
    ("envelope 500", Fault("envelope", 500, route="status")),
    ("envelope 550", Fault("envelope", 550, route="status")),
    ("connection reset", Fault("reset", route="status")),
    ("read timeout", Fault("timeout", route="status")),
]


@pytest.mark.parametrize("fault", [f for _, f in STATUS_FAULTS], ids=[i for i, _ in STATUS_FAULTS])
@pytest.mark.anyio
async def test_status_faults_are_ridden_out(
    fault: Fault, make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """Transient status failures are retried inside status(); the task still completes."""
    sb, api = make_pair(faults=[fault], invisible_for=0.0)
    async with api:
        task_id = await api.create("market", CREATE["market"], BODIES["market"])
        assert (await follow(api, clock, "market", task_id))[-1].state == "success"
    assert sb.faults[0].hits == (fault.times or 1)  # the sandbox keeps its own copy of each fault


@pytest.mark.parametrize("code", [501, 408])
@pytest.mark.anyio
async def test_terminal_envelope_codes_fail_the_task(
    code: int, make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """An envelope 501/408 on a status read is a failed TaskStatus with the code, not an exception."""
    _sb, api = make_pair(faults=[Fault("envelope", code, route="status", skip=1)], invisible_for=0.0)
    async with api:
        task_id = await api.create("market", CREATE["market"], BODIES["market"])
        final = (await follow(api, clock, "market", task_id))[-1]
    assert final.state == "failed"
    assert final.fail_code == str(code)


@pytest.mark.parametrize("family", list(CREATE))
@pytest.mark.anyio
async def test_failed_tasks_report_code_and_message_and_cost_nothing(
    family: str, make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """A task that runs and fails reads as failed with kie's code and message; no credits are taken."""
    _sb, api = make_pair(faults=[Fault("fail", 501)])
    async with api:
        before = await api.credits()
        task_id = await api.create(family, CREATE[family], BODIES[family])
        final = (await follow(api, clock, family, task_id))[-1]
        after = await api.credits()
    assert final.state == "failed"
    assert final.fail_code == "501"
    assert final.fail_message
    assert after == before


@pytest.mark.anyio
async def test_truncated_download_before_the_first_chunk_is_fetched_again(
    pair: tuple[Sandbox, KieAPI], clock: FakeClock
) -> None:
    """A result file cut off before the first chunk completes is downloaded again, whole."""
    sb, api = pair
    task_id = await api.create("market", CREATE["market"], BODIES["market"])
    url = (await follow(api, clock, "market", task_id))[-1].result_urls[0]
    fault = sb.add_fault(Fault("truncate"))
    data = await download(api, url)
    assert fault.hits == 1
    assert decoded(data).format in {"PNG", "JPEG"}


@pytest.mark.anyio
async def test_expired_fault_on_a_file_is_not_found(pair: tuple[Sandbox, KieAPI], clock: FakeClock) -> None:
    """A file host answering as an expired signed link raises KieNotFoundError at once."""
    sb, api = pair
    task_id = await api.create("gpt4o", CREATE["gpt4o"], BODIES["gpt4o"])
    url = (await follow(api, clock, "gpt4o", task_id))[-1].result_urls[0]
    sb.add_fault(Fault("expired"))
    files_before = len([r for r in sb.requests if r.path.startswith("/results/")])
    with pytest.raises(KieNotFoundError):
        await download(api, url)
    assert len([r for r in sb.requests if r.path.startswith("/results/")]) == files_before + 1


@pytest.mark.anyio
async def test_sixty_concurrent_creates_meet_no_429_from_the_sandbox_limiter(
    make_pair: Callable[..., tuple[Sandbox, KieAPI]],
) -> None:
    """The client's limiter keeps 60 concurrent creates inside the sandbox's 20-per-10-s window."""
    sb, api = make_pair(rate_limit=(20, 10.0))
    async with api:
        ids = await asyncio.gather(
            *(api.create("market", CREATE["market"], BODIES["market"]) for _ in range(60))
        )
    creates = [r for r in sb.requests if r.path == CREATE["market"]]
    assert len(set(ids)) == 60 == len(sb.tasks)
    assert len(creates) == 60  # not one was rejected and sent again


@pytest.mark.anyio
async def test_upload_faults_are_retried(make_pair: Callable[..., tuple[Sandbox, KieAPI]]) -> None:
    """An upload that meets a 502 and an envelope 500 still arrives, as one stored file."""
    sb, api = make_pair(faults=[Fault("http", 502, route="upload"), Fault("envelope", 500, route="upload")])
    async with api:
        url = await api.upload(small_png(), filename="in.png", content_type="image/png")
    assert url.startswith("https://")
    assert len(sb.uploads) == 1


@pytest.mark.anyio
async def test_4o_quickstart_result_key_is_read(
    make_pair: Callable[..., tuple[Sandbox, KieAPI]], clock: FakeClock
) -> None:
    """A 4o record that lists its URLs under response.result_urls (the quickstart's spelling) succeeds."""
    _sb, api = make_pair(gpt4o_result_key="result_urls")
    async with api:
        task_id = await api.create("gpt4o", CREATE["gpt4o"], BODIES["gpt4o"])
        final = (await follow(api, clock, "gpt4o", task_id))[-1]
        assert decoded(await download(api, final.result_urls[0])).format in {"PNG", "JPEG"}
    assert "result_urls" in final.raw["response"]


@pytest.mark.anyio
async def test_large_upload_streams_through_the_sandbox(pair: tuple[Sandbox, KieAPI]) -> None:
    """A file above the base64 threshold goes up as multipart and comes back byte for byte."""
    sb, api = pair
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 6000
    url = await api.upload(data, filename="big.png", content_type="image/png")
    assert [r.path for r in sb.requests] == ["/api/file-stream-upload"]
    assert await download(api, url) == data


@pytest.mark.anyio
async def test_required_field_as_500_is_a_server_error_not_uncertain(
    make_pair: Callable[..., tuple[Sandbox, KieAPI]],
) -> None:
    """kie's envelope 500 "This field is required" (HTTP 200) is kie's answer: no task, no retry."""
    sb, api = make_pair(required_as_500=True)
    async with api:
        with pytest.raises(KieServerError, match="required"):
            await api.create("market", CREATE["market"], {"model": "google/imagen4", "input": {}})
    assert sb.tasks == {}
    assert len(sb.requests) == 1
