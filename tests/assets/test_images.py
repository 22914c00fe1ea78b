"""Streamed downloads and validation: only whole PNG/JPEG/WebP files within the caps get through."""

from __future__ import annotations

import hashlib
import struct
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kie_assets_helpers import chunked, image_bytes, png_bomb
from PIL import Image

from kie_widgets.assets import SavedImage, save_image_stream, validate_image_file
from kie_widgets.errors import KieImageError

pytestmark = pytest.mark.anyio


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header was edited to claim width x height."""
    data = bytearray(image_bytes("JPEG", (16, 16)))
    pos = 2
    while True:
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xC2:
            data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        pos += 2 + length


def _temps(folder: Path) -> list[Path]:
    return list(folder.glob(".download-*")) if folder.exists() else []


@pytest.mark.parametrize(
    ("fmt", "save", "ext"),
    [
        ("PNG", {}, ".png"),
        ("JPEG", {"quality": 90}, ".jpg"),
        ("WEBP", {"lossless": True}, ".webp"),
        ("WEBP", {}, ".webp"),
    ],
    ids=["png", "jpeg", "webp-lossless", "webp-lossy"],
)
async def test_valid_images_stream_to_a_temp_file_with_their_facts(
    tmp_path: Path, fmt: str, save: dict[str, Any], ext: str
) -> None:
    """PNG, JPEG and WebP stream to a temp file in the folder with the right hash, size and format."""
    data = image_bytes(fmt, (120, 80), **save)
    saved = await save_image_stream(chunked(data, 333), folder=tmp_path / "images", max_bytes=1 << 20)
    assert isinstance(saved, SavedImage)
    assert saved.temp_path.parent == tmp_path / "images"
    assert saved.temp_path.read_bytes() == data
    assert saved.sha256 == hashlib.sha256(data).hexdigest()
    assert (saved.width, saved.height, saved.format, saved.ext, saved.nbytes) == (
        120,
        80,
        fmt,
        ext,
        len(data),
    )


async def test_oversize_download_is_stopped_early_and_removed(tmp_path: Path) -> None:
    """Past max_bytes the stream is abandoned at once and the temp file deleted."""
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield image_bytes("PNG")
        while True:
            pulled += 1
            yield b"\x00" * 1024

    with pytest.raises(KieImageError, match="size cap of 10,000 bytes"):
        await save_image_stream(endless(), folder=tmp_path, max_bytes=10_000)
    assert pulled < 12
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_truncated_image_is_rejected(tmp_path: Path, fmt: str) -> None:
    """A download cut off part-way is refused for every accepted format and leaves no temp file."""
    data = image_bytes(fmt, (200, 150), noise=True)
    with pytest.raises(KieImageError, match=r"(?i)truncated|decodable|damaged"):
        await save_image_stream(chunked(data[: len(data) * 2 // 3]), folder=tmp_path, max_bytes=1 << 20)
    assert _temps(tmp_path) == []


def test_truncated_jpeg_is_rejected_even_when_pillow_loads_truncated_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An end marker inside a metadata segment does not hide a cut-off scan, whatever Pillow allows."""
    from PIL import ImageFile

    data = image_bytes("JPEG", (200, 150), noise=True)
    # An APP1 segment whose payload holds FF D9, as an embedded EXIF thumbnail's end marker would.
    payload = b"Exif\x00\x00" + b"\xff\xd8thumbnail\xff\xd9"
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    tagged = data[:2] + app1 + data[2:]
    path = tmp_path / "cut.jpg"
    path.write_bytes(tagged[: len(tagged) * 2 // 3])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # someone else's process-wide switch
    with pytest.raises(KieImageError, match="truncated"):
        validate_image_file(path)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"<!DOCTYPE html><html><body>403 Forbidden</body></html>", "HTML"),
        (b'{"code": 404, "msg": "file expired"}', "JSON"),
        (b"", "empty"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIF"),
        (b"\x00\x01\x02\x03garbage", "unknown data"),
    ],
    ids=["html", "json", "empty", "gif", "garbage"],
)
async def test_non_images_are_rejected_with_what_they_are(tmp_path: Path, data: bytes, said: str) -> None:
    """An error page, JSON, an empty body, a GIF or garbage is named in the error and not kept."""
    with pytest.raises(KieImageError, match=said):
        await save_image_stream(chunked(data), folder=tmp_path, max_bytes=1 << 20)
    assert _temps(tmp_path) == []


async def test_png_decompression_bomb_is_rejected_before_decoding(tmp_path: Path) -> None:
    """A 100 KB PNG declaring 900 megapixels is refused from its header; Pillow never warns or decodes."""
    data = png_bomb()
    assert len(data) < 200_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would mean Pillow got to see it
        with pytest.raises(KieImageError, match="900,000,000 pixels"):
            await save_image_stream(chunked(data, 65536), folder=tmp_path, max_bytes=1 << 20)
    assert _temps(tmp_path) == []


@pytest.mark.parametrize(
    "data",
    [
        jpeg_claiming(60_000, 60_000),
        b"RIFF"
        + struct.pack("<I", 22)
        + b"WEBPVP8X"
        + struct.pack("<I", 10)
        + bytes(4)
        + (20_000).to_bytes(3, "little") * 2,
    ],
    ids=["jpeg", "webp"],
)
async def test_jpeg_and_webp_bombs_are_rejected_from_their_headers(tmp_path: Path, data: bytes) -> None:
    """JPEG and WebP headers claiming hundreds of megapixels are refused by our cap."""
    with pytest.raises(KieImageError, match="over the cap"):
        await save_image_stream(chunked(data), folder=tmp_path, max_bytes=1 << 20)


async def test_own_pixel_cap_applies_without_touching_pillow(tmp_path: Path) -> None:
    """A caller's max_pixels is enforced and Pillow's global MAX_IMAGE_PIXELS is left as it was."""
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(KieImageError, match="over the cap of 1,000"):
        await save_image_stream(
            chunked(image_bytes("PNG", (64, 48))), folder=tmp_path, max_bytes=1 << 20, max_pixels=1000
        )
    assert before == Image.MAX_IMAGE_PIXELS


async def test_header_and_body_that_disagree_are_rejected(tmp_path: Path) -> None:
    """A PNG signature in front of a JPEG body is not accepted as either."""
    data = b"\x89PNG\r\n\x1a\n" + image_bytes("JPEG")
    with pytest.raises(KieImageError):
        await save_image_stream(chunked(data), folder=tmp_path, max_bytes=1 << 20)


async def test_failing_stream_removes_the_temp_file(tmp_path: Path) -> None:
    """If the network fails mid-stream the error propagates and the partial file is deleted."""

    async def broken() -> AsyncIterator[bytes]:
        yield image_bytes("PNG")[:50]
        raise ConnectionError("reset by peer")

    with pytest.raises(ConnectionError):
        await save_image_stream(broken(), folder=tmp_path, max_bytes=1 << 20)
    assert _temps(tmp_path) == []


def test_validate_image_file_reports_format_and_size(tmp_path: Path) -> None:
    """validate_image_file is usable on its own and returns (format, width, height)."""
    path = tmp_path / "x.webp"
    path.write_bytes(image_bytes("WEBP", (33, 21)))
    assert validate_image_file(path) == ("WEBP", 33, 21)
