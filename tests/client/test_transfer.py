"""Uploads, fresh download links and result-file streams."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import httpx
import pytest
from client_helpers import UPLOAD, BrokenStream, Router, content, envelope, fail, raw

from kie_widgets.client import BASE64_MAX_BYTES, KieAPI, RetryPolicy, sniff, unique_name
from kie_widgets.clock import FakeClock
from kie_widgets.errors import (
    KieAPIError,
    KieAuthError,
    KieImageError,
    KieNotFoundError,
    KieRequestError,
    KieTransportError,
    KieValidationError,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64
B64 = "/api/file-base64-upload"
STREAM = "/api/file-stream-upload"
FILE_URL = "https://tempfile.aiquickdraw.com/r/abc.png"
FILE_PATH = "/r/abc.png"


UPLOADED_URL = "https://tempfile.redpandaai.co/kie-widgets/uploads/x.png"


def uploaded(url: str = UPLOADED_URL, **data: object) -> Callable:
    """The upload host's success answer."""
    return envelope(
        200,
        "File uploaded successfully",
        {"fileName": "x.png", "downloadUrl": url, **data},
        success=True,
    )


# -- uploads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime", "ext"),
    [(PNG, "image/png", ".png"), (JPEG, "image/jpeg", ".jpg"), (WEBP, "image/webp", ".webp")],
)
def test_content_type_comes_from_magic_numbers(data: bytes, mime: str, ext: str) -> None:
    """PNG, JPEG and WebP are told apart by their first bytes."""
    assert sniff(data) == (mime, ext)


def test_unknown_bytes_are_not_guessed() -> None:
    """Bytes without a known signature give no content type."""
    assert sniff(b"hello world, not an image") is None
    assert sniff(b"RIFF\x00\x00\x00\x00WAVE") is None


@pytest.mark.anyio
async def test_small_upload_goes_as_base64_with_the_sniffed_type(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A small PNG misnamed .jpg is sent as base64 with image/png and a unique .png name."""
    router.on(B64, uploaded())
    async with make_api() as api:
        url = await api.upload(PNG, filename="holiday photo.jpg", content_type="image/jpeg")
    assert url == UPLOADED_URL
    (call,) = router.calls
    assert call.host == "kieai.redpandaai.co"
    sent = call.json()
    assert sent["base64Data"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert sent["uploadPath"] == "kie-widgets/uploads"
    assert re.fullmatch(r"holiday-photo-[0-9a-f]{16}-\d+\.png", sent["fileName"])


@pytest.mark.anyio
async def test_large_upload_is_streamed_as_multipart(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A file above the base64 threshold goes to the stream endpoint as multipart form data."""
    big = JPEG + b"\x01" * BASE64_MAX_BYTES
    router.on(STREAM, uploaded("https://tempfile.redpandaai.co/kie-widgets/uploads/big.jpg"))
    async with make_api() as api:
        url = await api.upload(big, filename="big.png", content_type="image/png")
    assert url.endswith("big.jpg")
    (call,) = router.calls
    assert call.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b"Content-Type: image/jpeg" in call.body
    assert re.search(rb'name="file"; filename="big-[0-9a-f]{16}-\d+\.jpg"', call.body)
    assert b'name="uploadPath"\r\n\r\nkie-widgets/uploads' in call.body
    assert big in call.body


@pytest.mark.anyio
async def test_unrecognised_bytes_use_the_declared_type(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """When the bytes have no known signature, the caller's content type and its extension are used."""
    router.on(B64, uploaded())
    async with make_api() as api:
        await api.upload(b"GIF87a....", filename="anim", content_type="image/gif")
        await api.upload(b"\x00\x01\x02 raw", filename="blob.dat", content_type="application/x-raw")
    first, second = (c.json() for c in router.calls)
    assert first["base64Data"].startswith("data:image/gif;base64,")
    assert first["fileName"].endswith(".gif")
    assert second["base64Data"].startswith("data:application/x-raw;base64,")
    assert second["fileName"].endswith(".dat")


@pytest.mark.anyio
async def test_upload_names_never_repeat(
    router: Router, make_api: Callable[..., KieAPI], clock: FakeClock
) -> None:
    """Different bytes under one name, and the same bytes a moment later, get different file names."""
    router.on(B64, uploaded())
    async with make_api() as api:
        await api.upload(PNG, filename="a.png", content_type="image/png")
        await api.upload(PNG + b"\x01", filename="a.png", content_type="image/png")
        clock.advance(0.002)
        await api.upload(PNG, filename="a.png", content_type="image/png")
    names = [c.json()["fileName"] for c in router.calls]
    assert len(set(names)) == 3


def test_unique_name_is_safe_for_any_input_name() -> None:
    """Path separators, spaces and odd characters never reach the upload host's file name."""
    name = unique_name("../../etc/pa ss?wd.png", b"x", ".png", 1.5)
    assert "/" not in name
    assert name.startswith("pa-ss-wd-")
    assert name.endswith("-1500.png")
    assert unique_name("", b"x", ".jpg", 0).startswith("upload-")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (envelope(400, "uploadPath is required", success=False), KieRequestError),
        (envelope(401, "You do not have access permissions", success=False), KieAuthError),
        (envelope(200, "ok", {"fileName": "x"}, success=True), KieAPIError),
        (envelope(200, "weird", {"downloadUrl": "https://x/y.png"}, success=False), KieAPIError),
    ],
    ids=["code 400", "code 401", "no downloadUrl", "success false"],
)
@pytest.mark.anyio
async def test_upload_checks_success_code_and_download_url(
    reply: Callable, error: type[Exception], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """The upload host's success flag, code and data.downloadUrl are all checked."""
    router.on(B64, reply)
    async with make_api() as api:
        with pytest.raises(error):
            await api.upload(PNG, filename="a.png", content_type="image/png")
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_upload_retries_transient_failures(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """An upload that meets a 503 and a dropped connection is sent again and succeeds."""
    router.on(B64, raw(503, "busy"), fail(httpx.RemoteProtocolError), uploaded())
    async with make_api() as api:
        assert (await api.upload(PNG, filename="a.png", content_type="image/png")).startswith("https://")
    assert len(router.calls) == 3


@pytest.mark.anyio
async def test_empty_upload_is_refused_before_sending(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Uploading zero bytes is a validation error and nothing is sent."""
    async with make_api() as api:
        with pytest.raises(KieValidationError, match="empty"):
            await api.upload(b"", filename="a.png", content_type="image/png")
    assert router.calls == []


@pytest.mark.anyio
async def test_upload_quickstart_shape_with_file_url_is_accepted(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """The quickstart's answer (fileUrl, no downloadUrl) still yields a URL."""
    router.on(B64, envelope(200, "ok", {"fileId": "f1", "fileUrl": "https://tempfile.redpandaai.co/f1.png"}))
    async with make_api() as api:
        url = await api.upload(PNG, filename="a.png", content_type="image/png")
    assert url == "https://tempfile.redpandaai.co/f1.png"


# -- fresh download links --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_4o_fresh_link_uses_its_own_endpoint(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A 4o task's link is refreshed by POSTing taskId and url to the 4o download-url endpoint."""
    signed = "https://acct.r2.cloudflarestorage.com/a.png?X-Amz-Expires=1200"
    router.on("/api/v1/gpt4o-image/download-url", envelope(200, "success", signed))
    async with make_api() as api:
        assert await api.fresh_download_url(FILE_URL, family="gpt4o", task_id="t4o") == signed
    (call,) = router.calls
    assert call.json() == {"taskId": "t4o", "url": FILE_URL}


@pytest.mark.anyio
async def test_4o_fresh_link_falls_back_to_the_common_endpoint(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """When the 4o endpoint refuses (422), the common download-url endpoint is asked instead."""
    router.on("/api/v1/gpt4o-image/download-url", envelope(422, "record is null"))
    router.on("/api/v1/common/download-url", envelope(200, "success", "https://signed.example/a.png"))
    async with make_api() as api:
        url = await api.fresh_download_url(FILE_URL, family="gpt4o", task_id="t4o")
    assert url == "https://signed.example/a.png"
    assert [c.path for c in router.calls] == [
        "/api/v1/gpt4o-image/download-url",
        "/api/v1/common/download-url",
    ]
    assert router.calls[1].json() == {"url": FILE_URL}


@pytest.mark.parametrize("family", ["market", "flux-kontext"])
@pytest.mark.anyio
async def test_other_families_use_the_common_endpoint(
    family: str, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Market and Flux links are refreshed through /api/v1/common/download-url."""
    router.on("/api/v1/common/download-url", envelope(200, "success", {"downloadUrl": "https://s.example/a"}))
    async with make_api() as api:
        assert await api.fresh_download_url(FILE_URL, family=family, task_id="t") == "https://s.example/a"
    assert router.calls[0].json() == {"url": FILE_URL}


@pytest.mark.anyio
async def test_fresh_link_that_is_not_a_url_is_rejected(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A download-url answer without a URL raises instead of returning junk."""
    router.on("/api/v1/common/download-url", envelope(200, "success", 42))
    async with make_api() as api:
        with pytest.raises(KieAPIError, match="expected a URL"):
            await api.fresh_download_url(FILE_URL, family="market", task_id=None)


# -- result-file streams ---------------------------------------------------------------------------


async def read_all(api: KieAPI, url: str, **kw: int) -> list[bytes]:
    """Every chunk of a stream."""
    async with api.stream(url, **kw) as chunks:
        return [chunk async for chunk in chunks]


@pytest.mark.anyio
async def test_stream_yields_bounded_chunks(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A 300 KB file arrives whole, in chunks of at most the chunk size."""
    body = bytes(range(256)) * 1200
    router.on(FILE_PATH, content(body))
    async with make_api() as api:
        default = await read_all(api, FILE_URL)
        small = await read_all(api, FILE_URL, chunk_size=10)
    assert b"".join(default) == body
    assert max(map(len, default)) <= 64 * 1024
    assert b"".join(small) == body
    assert max(map(len, small)) <= 1024  # chunk sizes are clamped to [1 KiB, 1 MiB]


@pytest.mark.parametrize(
    "failure",
    [raw(503, "busy"), raw(429, "slow"), fail(httpx.ConnectError), fail(httpx.ReadTimeout)],
    ids=["503", "429", "connect error", "read timeout"],
)
@pytest.mark.anyio
async def test_stream_retries_before_the_first_byte(
    failure: Callable, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Failures before any byte arrived are retried like reads."""
    router.on(FILE_PATH, failure, content(PNG))
    async with make_api() as api:
        assert b"".join(await read_all(api, FILE_URL)) == PNG
    assert len(router.calls) == 2


async def consume(api: KieAPI, url: str, into: list[bytes]) -> None:
    """Read a stream chunk by chunk into ``into`` (so a test sees what arrived before a failure)."""
    async with api.stream(url) as chunks:
        async for chunk in chunks:
            into.append(chunk)


@pytest.mark.anyio
async def test_stream_broken_after_the_first_byte_is_a_truncated_file_and_not_retried(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A body that breaks after the first chunk raises KieImageError (truncated), fetched only once."""
    good = PNG + b"\x00" * 70_000
    router.on(FILE_PATH, lambda request: httpx.Response(200, stream=BrokenStream(good)), content(good))
    received: list[bytes] = []
    async with make_api() as api:
        with pytest.raises(KieImageError, match="broke off"):
            await consume(api, FILE_URL, received)
    assert received == [good[: 64 * 1024]]
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_stream_break_before_the_first_chunk_is_retried(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A body that breaks before the caller got any chunk is fetched again and arrives whole."""
    router.on(FILE_PATH, lambda request: httpx.Response(200, stream=BrokenStream(PNG)), content(PNG))
    received: list[bytes] = []
    async with make_api() as api:
        await consume(api, FILE_URL, received)
    assert b"".join(received) == PNG
    assert len(router.calls) == 2


@pytest.mark.parametrize("status", [401, 403, 404, 410])
@pytest.mark.anyio
async def test_expired_links_say_to_get_a_fresh_one(
    status: int, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A result link that is gone raises KieNotFoundError pointing at fresh_download_url, without retrying."""
    router.on(FILE_PATH, raw(status, "<Error><Code>AccessDenied</Code></Error>"))
    async with make_api() as api:
        with pytest.raises(KieNotFoundError, match="fresh_download_url"):
            await read_all(api, FILE_URL + "?X-Amz-Signature=deadbeef")
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_stream_error_messages_drop_signed_query_strings(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A signed link's query (its credentials) never appears in an error message."""
    router.on(FILE_PATH, raw(404, "gone"))
    async with make_api() as api:
        with pytest.raises(KieNotFoundError) as caught:
            await read_all(api, FILE_URL + "?X-Amz-Signature=deadbeef")
    assert "deadbeef" not in str(caught.value)
    assert FILE_URL in str(caught.value)


@pytest.mark.anyio
async def test_stream_gives_up_after_the_read_budget(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A file host that keeps failing is tried read_attempts times."""
    router.on(FILE_PATH, fail(httpx.ConnectError))
    async with make_api(retry=RetryPolicy(read_attempts=3, jitter=0.0)) as api:
        with pytest.raises(KieTransportError):
            await read_all(api, FILE_URL)
    assert len(router.calls) == 3


@pytest.mark.anyio
async def test_stream_follows_redirects_to_the_file(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A CDN redirect is followed to the file."""
    router.on(
        FILE_PATH,
        lambda request: httpx.Response(302, headers={"Location": "https://cdn.example/real.png"}),
    )
    router.on("/real.png", content(PNG))
    async with make_api() as api:
        assert b"".join(await read_all(api, FILE_URL)) == PNG


@pytest.mark.anyio
async def test_upload_goes_to_the_upload_host(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """Uploads use the configured upload host, not the API host."""
    router.on(B64, uploaded())
    async with make_api() as api:
        await api.upload(PNG, filename="a.png", content_type="image/png")
    assert str(httpx.URL(UPLOAD).host) == router.calls[0].host
