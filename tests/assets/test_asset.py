"""Asset: built from a manifest entry, opens as PIL, and shows a small thumbnail in Jupyter."""

from __future__ import annotations

import base64
import re

import pytest
from kie_assets_helpers import image_bytes

from kie_widgets.assets import Asset, Manifest, save_image_bytes

PARAMS = {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"}


def _asset(manifest: Manifest) -> Asset:
    saved = save_image_bytes(image_bytes("PNG", (1024, 576), noise=True), folder=manifest.images_dir)
    entry = manifest.record_image(
        saved, prompt="<b>a fox</b> " * 20, model="Imagen 4", parameters=PARAMS, scene_id=1, task_id="t-9"
    )
    return Asset.from_entry(entry, manifest)


def test_from_entry_fills_every_field(manifest: Manifest) -> None:
    """id, absolute path, model, prompt, parameters, task id, version and scene come from the entry."""
    asset = _asset(manifest)
    assert asset.id == "img-001"
    assert asset.path == manifest.root / "assets/images/scene-01-img-001-v1.png"
    assert asset.path.is_absolute()
    assert (asset.model, asset.task_id, asset.version, asset.scene_id) == ("Imagen 4", "t-9", 1, 1)
    assert asset.parameters == PARAMS
    assert asset.reused is False
    assert asset.extra["width"] == 1024


def test_pil_returns_a_loaded_image(manifest: Manifest) -> None:
    """pil() gives the full image, already loaded."""
    assert _asset(manifest).pil().size == (1024, 576)


def test_mimebundle_is_a_small_thumbnail_with_an_escaped_caption(manifest: Manifest) -> None:
    """The bundle holds a thumbnail, never the full file, and the caption is HTML-escaped."""
    asset = _asset(manifest)
    bundle = asset._repr_mimebundle_()
    full = asset.path.read_bytes()
    match = re.search(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', bundle["text/html"])
    assert match is not None
    thumb = base64.b64decode(match.group(1))
    assert len(thumb) < len(full) / 4
    assert len(bundle["text/html"]) < 100_000
    assert "<b>" not in bundle["text/html"]
    assert bundle["text/plain"].startswith("img-001 · Imagen 4 · v1 · scene 1")


def test_mimebundle_carries_the_thumbnail_only_once(manifest: Manifest) -> None:
    """Displaying an asset stores one copy of its thumbnail: the captioned figure, no second image."""
    bundle = _asset(manifest)._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/html"].count("base64,") == 1
    assert "<figcaption" in bundle["text/html"]


def test_showing_an_asset_outside_the_assets_folder_writes_nothing_there(
    manifest: Manifest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An entry pointing outside the project gets a thumbnail, but no cache folder beside the file."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    outside = elsewhere / "holiday.png"
    outside.write_bytes(image_bytes("PNG", (640, 480), noise=True))
    entry = manifest.add_image(str(outside), "a beach", "Imagen 4", PARAMS)
    bundle = Asset.from_entry(entry, manifest)._repr_mimebundle_()
    assert "base64," in bundle["text/html"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["holiday.png"]


def test_mimebundle_of_a_missing_file_is_still_readable(manifest: Manifest) -> None:
    """A deleted file gives a plain-text caption that says the preview is unavailable."""
    asset = _asset(manifest)
    asset.path.unlink()
    bundle = asset._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "preview unavailable" in bundle["text/plain"]


def test_manifest_asset_looks_up_by_id(manifest: Manifest) -> None:
    """Manifest.asset(id) gives the Asset of a recorded id and None for an unknown one."""
    made = _asset(manifest)
    assert manifest.asset("img-001") == made
    assert manifest.asset("img-002") is None
