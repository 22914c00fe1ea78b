"""Nothing unchecked reaches kie: every bad input is refused before the first request (issue 11 item 1).

Each case counts what the sandbox received (every request, uploads included) and what the manifest
and the journal hold afterwards: zero of each.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kie_widgets.errors import KieValidationError

pytestmark = pytest.mark.anyio


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _good_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def _good_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


def _bomb() -> bytes:
    """A 40000x40000 PNG whose few bytes would decode to 4.8 GB."""
    rows = zlib.compress(b"\x00" * 40001 * 4, 9)
    return _png(40000, 40000, rows)


IMAGE_CASES: dict[str, Callable[[], bytes]] = {
    "truncated PNG": lambda: _good_png()[: len(_good_png()) // 2],
    "bare PNG signature": lambda: b"\x89PNG\r\n\x1a\n",
    "PNG decompression bomb": _bomb,
    "truncated JPEG": lambda: _good_jpeg()[: len(_good_jpeg()) // 2],
    "PNG with a broken IDAT": lambda: _png(8, 8, b"not zlib at all"),
}

NAN = float("nan")

# (case id, generate keyword arguments, the field the error must name)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("n as text", {"n": "2"}, "n"),
    ("n fractional", {"n": 2.5}, "n"),
    ("n zero", {"n": 0}, "n"),
    ("n a bool", {"n": True}, "n"),
    ("n 2000", {"n": 2000}, "n"),
    ("n a million", {"n": 10**6}, "n"),
    ("timeout text", {"timeout": "abc"}, "timeout"),
    ("timeout negative", {"timeout": -1}, "timeout"),
    ("timeout nan", {"timeout": NAN}, "timeout"),
    ("timeout infinite", {"timeout": math.inf}, "timeout"),
    ("scene_id nan", {"scene_id": NAN}, "scene_id"),
    ("scene_id infinite", {"scene_id": math.inf}, "scene_id"),
    ("scene_id an object", {"scene_id": object()}, "scene_id"),
    ("context nan", {"context": {"cell_id": NAN}}, "context"),
    ("context an object", {"context": {"cell_metadata": {"x": object()}}}, "context"),
    ("context not a dict", {"context": ["cell"]}, "context"),
    ("empty prompt", {"prompt": ""}, "prompt"),
    ("whitespace prompt", {"prompt": " \n\t "}, "prompt"),
    ("lone surrogate in the prompt", {"prompt": "a fox \ud83d in snow"}, "prompt"),
    ("lone surrogate in the negative prompt", {"negative_prompt": "blur \udc00"}, "negative_prompt"),
    ("a URL without a host", {"model": "Flux Kontext Pro", "images": ["https://"]}, "images"),
    ("an upper-case URL without a host", {"model": "Flux Kontext Pro", "images": ["HTTPS://"]}, "images"),
]


def _assert_nothing_happened(sandbox: Any, manifest: Any) -> None:
    assert sandbox.requests == [], [getattr(r, "path", r) for r in sandbox.requests]
    assert manifest.entries == []
    assert manifest.journal() == []


@pytest.mark.parametrize(("kwargs", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bad_request_values_are_refused_before_any_request(
    kie: Any, sandbox: Any, manifest: Any, kwargs: dict[str, Any], field: str
) -> None:
    """A bad value fails as a KieValidationError naming its field; kie gets nothing, nothing is written."""
    kwargs = dict(kwargs)
    model = kwargs.pop("model", "Imagen 4")
    prompt = kwargs.pop("prompt", "a fox in the snow")
    with pytest.raises(KieValidationError) as info:
        await kie.generate(model, prompt, **kwargs)
    assert field in {p.field for p in info.value.problems} or f"{field}:" in str(info.value)
    _assert_nothing_happened(sandbox, manifest)


@pytest.mark.parametrize("make", list(IMAGE_CASES.values()), ids=list(IMAGE_CASES))
@pytest.mark.parametrize("as_file", [False, True], ids=["bytes", "file"])
async def test_broken_input_images_are_decoded_and_refused_before_upload(
    kie: Any, sandbox: Any, manifest: Any, project: Path, make: Callable[[], bytes], as_file: bool
) -> None:
    """A truncated image, a bare signature or a decompression bomb is refused before it is uploaded."""
    data = make()
    source: Any = data
    if as_file:
        source = project / "input.png"
        source.write_bytes(data)
    with pytest.raises(KieValidationError) as info:
        await kie.edit(source, "make it blue", model="Flux Kontext Pro")
    assert "images" in {p.field for p in info.value.problems}
    _assert_nothing_happened(sandbox, manifest)


async def test_a_sound_input_image_still_goes_through(kie: Any, sandbox: Any, manifest: Any) -> None:
    """The decode check passes a whole PNG: it is uploaded and the edit is recorded."""
    assets = await kie.edit(_good_png(), "make it blue", model="Flux Kontext Pro")
    assert len(assets) == 1
    assert len(manifest.entries) == 1


def test_upper_case_scheme_is_a_url_not_a_local_path() -> None:
    """``HTTPS://host/a.png`` is sent as a URL (scheme in lower case), not looked up on disk."""
    from kie_widgets.catalog import plan

    planned = plan("Flux Kontext Pro", "make it blue", images=["HTTPS://example.com/a.png"])
    assert planned.body["inputImage"] == "https://example.com/a.png"
    assert planned.uploads == ()


async def test_the_per_request_cap_on_n_is_configurable(
    make_client: Any, sandbox: Any, manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KIE_MAX_IMAGES lowers (or raises) the cap on n; the refusal says how to change it."""
    monkeypatch.setenv("KIE_MAX_IMAGES", "3")
    async with make_client(sandbox) as kie:
        with pytest.raises(KieValidationError, match="KIE_MAX_IMAGES"):
            await kie.generate("Imagen 4", "a fox", n=4)
        _assert_nothing_happened(sandbox, manifest)
    monkeypatch.setenv("KIE_MAX_IMAGES", "100")
    async with make_client(sandbox) as kie:
        assert len(kie.plan_request("Imagen 4", "a fox", n=70)) == 70


def test_a_bad_cap_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """KIE_MAX_IMAGES must be a whole number of at least 1."""
    from kie_widgets.config import load_settings
    from kie_widgets.errors import KieConfigError

    monkeypatch.setenv("KIE_MAX_IMAGES", "lots")
    with pytest.raises(KieConfigError, match="KIE_MAX_IMAGES"):
        load_settings()
