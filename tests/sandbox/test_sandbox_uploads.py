"""The upload host (stream, URL, base64), served uploads, and edits that relate to their input."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from sandbox_helpers import MakeSandbox, client_for, create, image_of, record, result_urls

from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Sandbox

pytestmark = pytest.mark.anyio
UPLOAD = "https://kieai.redpandaai.co"


def _png(size: tuple[int, int] = (300, 200), colour: tuple[int, int, int] = (250, 250, 250)) -> bytes:
    im = Image.new("RGB", size, colour)
    im.paste((200, 30, 30), (100, 50, 200, 150))  # a red "subject" on a plain background
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


async def _upload(http: httpx.AsyncClient, data: bytes, name: str = "cat.png") -> dict:
    r = await http.post(
        f"{UPLOAD}/api/file-stream-upload",
        files={"file": (name, data, "image/png")},
        data={"uploadPath": "images/user-uploads", "fileName": name},
    )
    return dict(r.json())


async def test_stream_upload_answers_kie_shape_and_serves_the_bytes(http: httpx.AsyncClient) -> None:
    """A multipart upload answers success/code/data.downloadUrl, and the URL serves the same bytes."""
    data = _png()
    payload = await _upload(http, data)
    assert (payload["success"], payload["code"]) == (True, 200)
    info = payload["data"]
    assert (info["fileName"], info["fileSize"], info["mimeType"]) == ("cat.png", len(data), "image/png")
    assert info["filePath"] == "images/user-uploads/cat.png"
    served = await http.get(info["downloadUrl"])
    assert served.content == data


async def test_base64_upload_accepts_bare_and_data_url_forms(http: httpx.AsyncClient) -> None:
    """base64Data may be bare or a data: URL."""
    data = _png()
    for raw in (base64.b64encode(data).decode(), "data:image/png;base64," + base64.b64encode(data).decode()):
        r = await http.post(
            f"{UPLOAD}/api/file-base64-upload",
            json={"base64Data": raw, "uploadPath": "images", "fileName": "b.png"},
        )
        assert (await http.get(r.json()["data"]["downloadUrl"])).content == data


async def test_request_log_keeps_the_length_of_base64_uploads_not_the_data(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """The long-lived request log records a base64 upload's size, so uploads do not pile up in memory."""
    raw = base64.b64encode(_png((600, 400))).decode()
    await http.post(f"{UPLOAD}/api/file-base64-upload", json={"base64Data": raw, "uploadPath": "images"})
    logged = sandbox.requests[-1].json
    assert logged == {"base64Data": f"<{len(raw)} characters>", "uploadPath": "images"}


async def test_malformed_base64_gets_the_opaque_atob_error(http: httpx.AsyncClient) -> None:
    """Line breaks in base64 fail with kie's opaque atob message."""
    raw = base64.encodebytes(_png()).decode()  # has newlines
    r = await http.post(f"{UPLOAD}/api/file-base64-upload", json={"base64Data": raw, "uploadPath": "images"})
    assert r.json()["success"] is False
    assert "atob" in r.json()["msg"]


async def test_url_upload_copies_a_sandbox_file(http: httpx.AsyncClient) -> None:
    """file-url-upload fetches URLs the sandbox serves."""
    first = (await _upload(http, _png()))["data"]["downloadUrl"]
    r = await http.post(f"{UPLOAD}/api/file-url-upload", json={"fileUrl": first, "uploadPath": "copies"})
    assert r.json()["success"] is True
    assert (await http.get(r.json()["data"]["downloadUrl"])).content == _png()


async def test_url_upload_of_an_outside_url_fails_like_an_unreachable_fetch(http: httpx.AsyncClient) -> None:
    """There is no outside network: other URLs fail as kie does when it cannot fetch them."""
    r = await http.post(
        f"{UPLOAD}/api/file-url-upload", json={"fileUrl": "https://example.com/x.png", "uploadPath": "x"}
    )
    assert (r.json()["success"], r.json()["code"]) == (False, 500)
    assert "could not fetch" in r.json()["msg"]


@pytest.mark.parametrize(
    ("path", "kwargs", "msg"),
    [
        (
            "/api/file-stream-upload",
            {"data": {"uploadPath": "x"}, "files": {"other": ("a", b"1")}},
            "file is required",
        ),
        ("/api/file-base64-upload", {"json": {"base64Data": "aGk="}}, "uploadPath is required"),
        ("/api/file-url-upload", {"json": {"uploadPath": "x"}}, "fileUrl is required"),
    ],
)
async def test_upload_parameter_errors_are_400(
    http: httpx.AsyncClient, path: str, kwargs: dict, msg: str
) -> None:
    """Missing upload fields answer success false, code 400 and a message naming the field."""
    payload = (await http.post(UPLOAD + path, **kwargs)).json()
    assert (payload["success"], payload["code"]) == (False, 400)
    assert msg in payload["msg"]


async def test_upload_get_is_method_not_allowed(http: httpx.AsyncClient) -> None:
    """A GET on an upload path answers 405 in the upload envelope."""
    assert (await http.get(f"{UPLOAD}/api/file-stream-upload")).json()["code"] == 405


async def test_uploads_are_served_with_the_type_of_their_name(http: httpx.AsyncClient) -> None:
    """The upload host takes the served Content-Type from the file name, not the bytes (quirk)."""
    info = (await _upload(http, _png(), name="photo.jpg"))["data"]
    assert (await http.get(info["downloadUrl"])).headers["content-type"] == "image/jpeg"


async def test_uploads_expire_after_a_day(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """An uploaded file is gone after upload_ttl (24 h)."""
    url = (await _upload(http, _png()))["data"]["downloadUrl"]
    clock.advance(24 * 3600 + 1)
    assert (await http.get(url)).status_code == 403


async def test_uploads_need_the_key(sandbox: Sandbox) -> None:
    """The upload host refuses a missing key with the 401 envelope."""
    async with client_for(sandbox, headers={"User-Agent": "t/1"}) as http:
        payload = (await http.post(f"{UPLOAD}/api/file-base64-upload", json={})).json()
    assert (payload["success"], payload["code"]) == (False, 401)


async def test_upscale_enlarges_an_uploaded_input(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """topaz/image-upscale with factor 2 returns the uploaded image at twice its size."""
    url = (await _upload(http, _png((300, 200))))["data"]["downloadUrl"]
    body = {"model": "topaz/image-upscale", "input": {"image_url": url, "upscale_factor": "2"}}
    task_id = await create(http, "market", body)
    clock.advance(30)
    out = image_of(
        (await http.get(result_urls("market", (await record(http, "market", task_id))["data"])[0])).content
    )
    assert out.size == (600, 400)


async def test_remove_background_gives_transparency_around_the_subject(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """recraft/remove-background returns RGBA: the plain background clear, the subject opaque."""
    url = (await _upload(http, _png((300, 200))))["data"]["downloadUrl"]
    task_id = await create(http, "market", {"model": "recraft/remove-background", "input": {"image": url}})
    clock.advance(30)
    out = image_of(
        (await http.get(result_urls("market", (await record(http, "market", task_id))["data"])[0])).content
    )
    assert out.mode == "RGBA"
    assert out.getchannel("A").getpixel((5, 5)) == 0
    assert out.getchannel("A").getpixel((150, 100)) == 255


async def test_edit_keeps_the_input_visible(http: httpx.AsyncClient, clock: FakeClock) -> None:
    """A Flux edit of an uploaded image keeps its aspect ratio and resembles it."""
    url = (await _upload(http, _png((300, 200), colour=(10, 10, 10))))["data"]["downloadUrl"]
    task_id = await create(http, "flux", {"prompt": "make it pop", "inputImage": url})
    clock.advance(30)
    data = (await record(http, "flux", task_id))["data"]
    out = image_of((await http.get(data["response"]["resultImageUrl"])).content).convert("RGB")
    assert out.size == (1024, 680)
    x, y = out.width // 2, out.height // 3
    red, green = out.getchannel("R").getpixel((x, y)), out.getchannel("G").getpixel((x, y))
    assert isinstance(red, int)
    assert isinstance(green, int)
    assert red > green + 40


async def test_expired_upload_as_input_fails_the_task_with_451(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """An input URL the sandbox served but that expired fails the task with 451 (cannot fetch)."""
    url = (await _upload(http, _png()))["data"]["downloadUrl"]
    clock.advance(24 * 3600 + 1)
    task_id = await create(http, "gpt4o", {"prompt": "x", "size": "1:1", "filesUrl": [url]})
    clock.advance(30)
    data = (await record(http, "gpt4o", task_id))["data"]
    assert (data["successFlag"], data["errorCode"]) == (2, 451)


@pytest.mark.parametrize(("strict", "flag"), [(False, 1), (True, 2)])
async def test_outside_input_urls_fail_only_when_strict(
    make_sandbox: MakeSandbox, clock: FakeClock, strict: bool, flag: int
) -> None:
    """Made-up input URLs succeed by default and fail with 451 under strict_input_urls."""
    sb = make_sandbox(strict_input_urls=strict)
    async with client_for(sb) as http:
        task_id = await create(
            http, "gpt4o", {"prompt": "x", "size": "1:1", "filesUrl": ["https://example.com/a.png"]}
        )
        clock.advance(30)
        data = (await record(http, "gpt4o", task_id))["data"]
    assert data["successFlag"] == flag


async def test_padded_results_reach_the_requested_size_and_still_decode(
    make_sandbox: MakeSandbox, clock: FakeClock
) -> None:
    """image_bytes pads result files (for download benchmarks) without breaking the image."""
    sb = make_sandbox(image_bytes=3_000_000)
    async with client_for(sb) as http:
        ids = [
            await create(http, "market"),
            await create(
                http,
                "market",
                {"model": "google/nano-banana", "input": {"prompt": "p", "output_format": "jpeg"}},
            ),
        ]
        clock.advance(30)
        for task_id in ids:
            url = result_urls("market", (await record(http, "market", task_id))["data"])[0]
            content = (await http.get(url)).content
            assert len(content) >= 3_000_000
            assert image_of(content).size[0] > 0
