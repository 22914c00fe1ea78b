"""Each API family's routes and response shapes, end to end over the in-process transport."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sandbox_helpers import BODIES, CREATE, MakeSandbox, client_for, create, image_of, record, result_urls

from kie_widgets.catalog import spec_for_request
from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Sandbox

pytestmark = pytest.mark.anyio


async def test_market_task_walks_waiting_queuing_generating_success(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """A Market record moves through kie's states with JSON-string param/resultJson and ms times."""
    task_id = await create(http, "market")
    seen = []
    clock.advance(0.6)  # past the record-not-yet-visible window
    for _ in range(10):
        data = (await record(http, "market", task_id))["data"]
        seen.append(data["state"])
        clock.advance(1.0)
    assert seen[0] == "waiting"
    assert "queuing" in seen
    assert "generating" in seen
    assert seen[-1] == "success"
    assert json.loads(data["param"]) == BODIES["market"]
    assert isinstance(data["resultJson"], str)
    assert data["costTime"] == 8000
    assert data["completeTime"] - data["createTime"] == 8000
    assert data["createTime"] == 1_700_000_000_000
    assert data["failCode"] == ""
    assert data["failMsg"] == ""
    assert data["model"] == "google/imagen4"


async def test_market_record_before_success_has_no_result(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """While generating, resultJson, costTime and completeTime are null."""
    task_id = await create(http, "market")
    clock.advance(5.0)
    data = (await record(http, "market", task_id))["data"]
    assert data["state"] == "generating"
    assert data["resultJson"] is None
    assert data["costTime"] is None
    assert data["completeTime"] is None


async def test_gpt4o_record_has_success_flag_status_and_string_progress(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """4o answers successFlag 0 with GENERATING and rising string progress, then 1/SUCCESS/"1.00"."""
    task_id = await create(http, "gpt4o")
    progress = []
    for _ in range(9):
        clock.advance(1.0)
        data = (await record(http, "gpt4o", task_id))["data"]
        progress.append(data["progress"])
        if data["successFlag"] == 0:
            assert data["status"] == "GENERATING"
            assert data["response"] is None
    assert all(isinstance(p, str) and len(p) == 4 for p in progress)
    assert [float(p) for p in progress] == sorted(float(p) for p in progress)
    assert data["successFlag"] == 1
    assert data["status"] == "SUCCESS"
    assert data["progress"] == "1.00"
    assert json.loads(data["paramJson"]) == BODIES["gpt4o"]
    assert len(data["response"]["resultUrls"]) == 1


async def test_gpt4o_result_key_can_be_snake_case(make_sandbox: MakeSandbox, clock: FakeClock) -> None:
    """The quickstart's response.result_urls variant is available for client tests."""
    sb = make_sandbox(gpt4o_result_key="result_urls")
    async with httpx.AsyncClient(transport=sb.transport, base_url="https://api.kie.ai") as http:
        http.headers.update({"Authorization": "Bearer sandbox-key", "User-Agent": "t/1"})
        task_id = await create(http, "gpt4o")
        clock.advance(20)
        data = (await record(http, "gpt4o", task_id))["data"]
    assert list(data["response"]) == ["result_urls"]


async def test_gpt4o_variants_give_one_url_each(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """nVariants=4 yields four distinct result URLs (the catalog's output count)."""
    body = {"prompt": "four cats", "size": "1:1", "nVariants": 4}
    task_id = await create(http, "gpt4o", body)
    clock.advance(20)
    data = (await record(http, "gpt4o", task_id))["data"]
    urls = data["response"]["resultUrls"]
    assert len(urls) == len(set(urls)) == spec_for_request(CREATE["gpt4o"], body).outputs(body)


async def test_flux_record_has_origin_and_result_urls(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """Flux answers successFlag 0 then 1 with response.originImageUrl and resultImageUrl."""
    task_id = await create(http, "flux")
    clock.advance(2)
    data = (await record(http, "flux", task_id))["data"]
    assert data["successFlag"] == 0
    assert data["response"] is None
    clock.advance(10)
    data = (await record(http, "flux", task_id))["data"]
    assert data["successFlag"] == 1
    assert set(data["response"]) == {"originImageUrl", "resultImageUrl"}
    assert json.loads(data["paramJson"])["model"] == "flux-kontext-max"


@pytest.mark.parametrize(
    ("family", "body", "size", "fmt"),
    [
        ("gpt4o", {"prompt": "p", "size": "2:3"}, (680, 1024), "PNG"),
        ("flux", {"prompt": "p", "aspectRatio": "21:9"}, (1024, 440), "JPEG"),
        ("flux", {"prompt": "p"}, (1024, 576), "JPEG"),  # documented defaults: 16:9, jpeg
        ("market", {"model": "google/imagen4-fast", "input": {"prompt": "p"}}, (1024, 576), "PNG"),
        ("market", {"model": "nano-banana-2", "input": {"prompt": "p"}}, (1024, 1024), "JPEG"),
        ("flux", {"prompt": "p", "aspectRatio": "1:1", "outputFormat": "png"}, (1024, 1024), "PNG"),
        (
            "market",
            {"model": "google/imagen4", "input": {"prompt": "p", "aspect_ratio": "16:9"}},
            (1024, 576),
            "PNG",
        ),
        (
            "market",
            {"model": "nano-banana-pro", "input": {"prompt": "p", "aspect_ratio": "4:3", "resolution": "2K"}},
            (2048, 1536),
            "PNG",
        ),
        (
            "market",
            {"model": "google/nano-banana", "input": {"prompt": "p", "output_format": "jpeg"}},
            (1024, 1024),
            "JPEG",
        ),
        (
            "market",
            {"model": "qwen/text-to-image", "input": {"prompt": "p", "image_size": "portrait_16_9"}},
            (576, 1024),
            "PNG",
        ),
    ],
)
async def test_result_file_is_a_real_image_of_the_requested_shape(
    http: httpx.AsyncClient, clock: FakeClock, family: str, body: dict, size: tuple[int, int], fmt: str
) -> None:
    """The result file decodes with Pillow at the requested aspect ratio, tier and format."""
    task_id = await create(http, family, body)
    clock.advance(30)
    data = (await record(http, family, task_id))["data"]
    response = await http.get(result_urls(family, data)[0])
    assert response.status_code == 200
    image = image_of(response.content)
    assert (image.size, image.format) == (size, fmt)
    assert response.headers["content-type"] == f"image/{fmt.lower()}"


async def test_results_differ_by_prompt_and_model(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """Two prompts, or two models with one prompt, give visibly different pixels."""
    bodies = [
        {"model": "google/imagen4", "input": {"prompt": "a lighthouse"}},
        {"model": "google/imagen4", "input": {"prompt": "a volcano"}},
        {"model": "google/imagen4-ultra", "input": {"prompt": "a lighthouse"}},
    ]
    ids = [await create(http, "market", b) for b in bodies]
    clock.advance(30)
    images = []
    for task_id in ids:
        url = result_urls("market", (await record(http, "market", task_id))["data"])[0]
        images.append(image_of((await http.get(url)).content).convert("RGB").resize((32, 32)))
    pixels = [im.tobytes() for im in images]
    assert pixels[0] != pixels[1]
    assert pixels[0] != pixels[2]


async def test_credit_endpoint_returns_the_balance_as_a_number(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    """GET /api/v1/chat/credit answers data = the balance as a JSON number."""
    r = await http.get("/api/v1/chat/credit")
    assert r.json() == {"code": 200, "msg": "success", "data": 1000}


async def test_status_routes_do_not_cross_families(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """A Market task id is unknown to the 4o and Flux record routes (404)."""
    task_id = await create(http, "market")
    clock.advance(20)
    assert (await record(http, "gpt4o", task_id))["code"] == 404
    assert (await record(http, "flux", task_id))["code"] == 404
    assert (await record(http, "market", task_id))["code"] == 200


async def test_missing_task_id_is_a_400(http: httpx.AsyncClient) -> None:
    """A record read without taskId is refused with 400."""
    r = await http.get("/api/v1/jobs/recordInfo")
    assert r.json()["code"] == 400


async def test_unknown_api_path_and_wrong_method_are_envelope_errors(http: httpx.AsyncClient) -> None:
    """Unknown /api paths answer 404 and a GET on a create route 405, both in the envelope."""
    assert (await http.get("/api/v1/veo/generate")).json()["code"] == 404
    assert (await http.get("/api/v1/jobs/createTask")).json()["code"] == 405


@pytest.mark.parametrize(
    ("family", "pattern"),
    [("gpt4o", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"), ("flux", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")],
)
async def test_text_timestamps_follow_the_docs_examples(
    make_sandbox: MakeSandbox, clock: FakeClock, family: str, pattern: str
) -> None:
    """timestamps="text" gives 4o "YYYY-MM-DD HH:MM:SS" and Flux ISO times (the documented conflict)."""
    sb = make_sandbox(timestamps="text")
    async with client_for(sb) as http:
        task_id = await create(http, family)
        clock.advance(30)
        data = (await record(http, family, task_id))["data"]
    assert re.match(pattern, data["createTime"])
    assert re.match(pattern, data["completeTime"])
