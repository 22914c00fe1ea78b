"""Masked edits end to end against the sandbox: conversion, size checks, shape, drift and composite."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import creates
from PIL import Image, ImageChops

from kie_widgets.assets.drift import drift_report, record_composite
from kie_widgets.assets.masks import shape_mask
from kie_widgets.errors import KieValidationError

pytestmark = pytest.mark.anyio

BOX = (40, 30, 120, 90)


def _source(path: Path, size: tuple[int, int] = (200, 150)) -> Path:
    """A source photo stand-in with some structure, saved as PNG."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    image.paste((30, 160, 90), (0, 0, size[0] // 3, size[1]))
    image.save(path)
    return path


def _uploaded_mask(sandbox: Any) -> Image.Image:
    """The mask file the sandbox received last (the second upload of a masked edit)."""
    masks = [f for f in sandbox.uploads.values() if Image.open(io.BytesIO(f.data)).mode == "L"]
    return Image.open(io.BytesIO(masks[-1].data))


@pytest.mark.parametrize("model", ["4o Image", "Ideogram V3 Edit"])
async def test_the_mask_is_uploaded_in_the_models_convention(
    kie: Any, sandbox: Any, project: Path, model: str
) -> None:
    """Our mask (white = change) reaches kie as the model reads it: black inside the box, white outside."""
    source = _source(project / "src.png")
    await kie.edit(source, "a window", model=model, mask=shape_mask((200, 150), BOX))
    sent = _uploaded_mask(sandbox)
    assert sent.size == (200, 150)
    assert sent.getpixel((50, 40)) == 0
    assert sent.getpixel((5, 5)) == 255


@pytest.mark.parametrize("model", ["4o Image", "Ideogram V3 Edit"])
async def test_a_mask_of_another_size_is_refused_before_anything_is_sent(
    kie: Any, sandbox: Any, project: Path, model: str
) -> None:
    """A 100×100 mask for a 200×150 image fails naming both sizes; no upload, no create."""
    source = _source(project / "src.png")
    with pytest.raises(KieValidationError) as info:
        await kie.edit(source, "a window", model=model, mask=Image.new("L", (100, 100), 255))
    assert "100×100" in str(info.value)
    assert "200×150" in str(info.value)
    assert sandbox.requests == []


async def test_the_sandbox_repaints_only_the_masked_region(kie: Any, project: Path) -> None:
    """An Ideogram masked edit comes back at the source's size with every pixel outside the mask kept."""
    source = _source(project / "src.png")
    mask = shape_mask((200, 150), BOX)
    (result,) = await kie.edit(source, "a window", model="Ideogram V3 Edit", mask=mask)
    report = drift_report(source, result, mask)
    assert report.clean
    assert report.source_size == report.result_size == (200, 150)
    inside = ImageChops.difference(result.pil().convert("RGB"), Image.open(source).convert("RGB"))
    assert inside.crop(BOX).getbbox() is not None


async def test_a_4o_masked_edit_drifts_and_the_composite_removes_the_drift(
    kie: Any, manifest: Any, project: Path
) -> None:
    """4o (as the sandbox emulates it) shifts colours outside the mask; the recorded composite does not."""
    source = _source(project / "src.png")
    mask = shape_mask((200, 150), BOX)
    (edit,) = await kie.edit(source, "a window", model="4o Image", mask=mask)
    drift = drift_report(source, edit, mask)
    assert drift.changed_share > 0.5
    assert drift.mean_shift[2] < -5
    assert drift.largest_region is not None
    fixed = record_composite(manifest, edit, source, mask)
    assert drift_report(source, fixed, mask).clean
    entry = manifest.get(fixed.id)
    assert entry["kie"]["operation"] == "composite"
    assert entry["kie"]["parents"] == [edit.id]
    assert fixed.path.is_file()
    inside_kept = ImageChops.difference(fixed.pil().convert("RGB"), edit.pil().convert("RGB"))
    assert inside_kept.crop(BOX).getbbox() is None


async def test_a_4o_edit_of_a_wide_source_is_asked_for_3_2(kie: Any, sandbox: Any, project: Path) -> None:
    """The client reads the source's header, so a 16:9 source gets 4o's nearest ratio, not 1:1."""
    source = _source(project / "wide.png", (320, 180))
    await kie.edit(source, "at dusk", model="4o Image")
    assert creates(sandbox)[-1].json["size"] == "3:2"


async def test_variants_of_one_request_differ_visibly(kie: Any, project: Path) -> None:
    """Two variants of one 4o edit differ in a large share of their pixels."""
    source = _source(project / "src.png")
    first, second = await kie.edit(source, "at dusk", model="4o Image", n=2)
    a, b = first.pil().convert("L"), second.pil().convert("L")
    changed = ImageChops.difference(a, b).point(lambda v: 255 if v > 12 else 0).histogram()[255]
    assert changed / (a.width * a.height) > 0.05


async def test_an_unmasked_edit_derives_from_its_source(kie: Any, project: Path) -> None:
    """A Flux Kontext edit of a half-green, half-dark image keeps that split visible."""
    path = project / "split.png"
    image = Image.new("RGB", (256, 256), (10, 10, 10))
    image.paste((20, 230, 20), (0, 0, 128, 256))
    image.save(path)
    (result,) = await kie.edit(path, "make it pop", model="Flux Kontext Pro")
    out = result.pil().convert("RGB").resize((256, 256))
    left, right = out.crop((10, 140, 100, 240)), out.crop((156, 140, 246, 240))
    from PIL import ImageStat

    assert ImageStat.Stat(left).mean[1] > ImageStat.Stat(right).mean[1] + 60
