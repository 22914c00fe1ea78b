"""Self-describing files: the id and recipe travel with the image, and recipe_from reads them back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kie_assets_helpers import image_bytes
from PIL import Image

from kie_widgets.assets import (
    Manifest,
    export_tagged,
    recipe_from,
    recipe_hash,
    save_image_bytes,
    validate_image_file,
)
from kie_widgets.assets.meta import embedded, sidecar_path, tagged_bytes
from kie_widgets.errors import KieValidationError

PARAMS = {"size": "1:1", "endpoint": "/api/v1/jobs/createTask"}
SECRET = "sk-live-do-not-leak-1234567890"


def _record(manifest: Manifest, data: bytes, **extra: object) -> dict[str, object]:
    saved = save_image_bytes(data, folder=manifest.images_dir)
    recipe = recipe_hash("google/imagen4", {"prompt": "a fox", "seed": 7}, [])
    return manifest.record_image(
        saved,
        prompt="a fox",
        model="Imagen 4",
        parameters=PARAMS,
        scene_id=2,
        model_id="google/imagen4",
        params={"prompt": "a fox", "seed": 7, "api_key": SECRET},
        seed=7,
        recipe=recipe,
        task_id="task-1",
        **extra,
    )


def test_record_writes_a_sidecar_and_leaves_the_archive_bytes_alone(manifest: Manifest) -> None:
    """The provider's bytes stay as they were (sha256 unchanged) and an .xmp sidecar describes them."""
    data = image_bytes("PNG", (50, 40))
    entry = _record(manifest, data)
    path = manifest.root / str(entry["filename"])
    assert path.read_bytes() == data
    side = sidecar_path(path)
    assert side.is_file()
    assert b'kie:assetId="img-001"' in side.read_bytes()
    assert SECRET.encode() not in side.read_bytes()


def test_recipe_from_reads_the_sidecar(manifest: Manifest) -> None:
    """recipe_from(path) answers from the sidecar with id, model, prompt, parameters and recipe hash."""
    entry = _record(manifest, image_bytes())
    info = recipe_from(manifest.root / str(entry["filename"]), manifest=manifest)
    assert info["source"] == "sidecar"
    assert info["asset_id"] == "img-001"
    assert (info["model"], info["prompt"], info["model_id"], info["seed"]) == (
        "Imagen 4",
        "a fox",
        "google/imagen4",
        7,
    )
    assert info["recipe"] == entry["kie"]["recipe"]  # type: ignore[index]
    assert info["params"]["api_key"] == "***"


def test_recipe_from_asset_id_uses_the_manifest(manifest: Manifest) -> None:
    """An asset id is looked up in the manifest."""
    _record(manifest, image_bytes())
    info = recipe_from("img-001", manifest=manifest)
    assert info["source"] == "manifest"
    assert info["model_id"] == "google/imagen4"


def test_recipe_from_a_stripped_copy_finds_the_manifest_by_content(
    manifest: Manifest, tmp_path: Path
) -> None:
    """A copy elsewhere without metadata or sidecar is recognised by its content hash."""
    entry = _record(manifest, image_bytes("JPEG"))
    copy = tmp_path / "elsewhere.jpg"
    shutil.copyfile(manifest.root / str(entry["filename"]), copy)
    info = recipe_from(copy, manifest=manifest)
    assert info["source"] == "manifest"
    assert info["asset_id"] == "img-001"


def test_recipe_from_unknown_input_says_where_it_looked(manifest: Manifest, tmp_path: Path) -> None:
    """An unknown id or an unrelated file is a KieUnknownImageError (a lookup miss, not an "Invalid
    request") naming the manifest."""
    from kie_widgets.errors import KieUnknownImageError

    with pytest.raises(KieUnknownImageError, match="No recipe") as info:
        recipe_from("img-042", manifest=manifest)
    assert not isinstance(info.value, KieValidationError)
    assert "Invalid request" not in str(info.value)
    assert isinstance(info.value, LookupError)
    stranger = tmp_path / "stranger.png"
    stranger.write_bytes(image_bytes("PNG", (9, 9)))
    with pytest.raises(KieUnknownImageError, match=str(manifest.path)):
        recipe_from(stranger, manifest=manifest)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_recipe_from_a_re_saved_copy_finds_the_manifest_by_its_pixels(
    manifest: Manifest, tmp_path: Path, fmt: str
) -> None:
    """A copy re-saved losslessly (other bytes, no metadata, no sidecar) is recognised by its pixels."""
    from PIL import Image

    entry = _record(manifest, image_bytes("PNG", (24, 16)))
    _record(manifest, image_bytes("PNG", (16, 24)))  # another image, another size: never decoded
    copy = tmp_path / f"resaved.{fmt.lower()}"
    with Image.open(manifest.root / str(entry["filename"])) as im:
        options = {"lossless": True} if fmt == "WEBP" else {"compress_level": 0}
        im.save(copy, format=fmt, **options)
    assert copy.read_bytes() != (manifest.root / str(entry["filename"])).read_bytes()
    info = recipe_from(copy, manifest=manifest)
    assert info["source"] == "manifest"
    assert info["asset_id"] == entry["id"]


@pytest.mark.parametrize(
    ("fmt", "save"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 85}),
        ("WEBP", {"quality": 80}),
        ("WEBP", {"lossless": True}),
        ("RGBA-WEBP", {"lossless": True}),
    ],
    ids=["png", "jpeg", "webp-lossy", "webp-lossless", "webp-alpha"],
)
def test_tagged_copy_embeds_the_description_with_identical_pixels(
    manifest: Manifest, tmp_path: Path, fmt: str, save: dict[str, object]
) -> None:
    """export_tagged embeds id and recipe, the copy decodes to the same pixels, the archive is untouched."""
    if fmt == "RGBA-WEBP":
        import io

        buf = io.BytesIO()
        Image.new("RGBA", (30, 20), (10, 20, 30, 128)).save(buf, "WEBP", **save)
        data = buf.getvalue()
    else:
        data = image_bytes(fmt, (96, 64), noise=True, **save)
    entry = _record(manifest, data)
    source = manifest.root / str(entry["filename"])
    copy = export_tagged("img-001", tmp_path / f"tagged{source.suffix}", manifest=manifest)
    assert source.read_bytes() == data
    validate_image_file(copy)
    with Image.open(source) as a, Image.open(copy) as b:
        assert (a.mode, a.size) == (b.mode, b.size)
        assert a.tobytes() == b.tobytes()
    found = embedded(copy)
    assert found is not None
    assert found["asset_id"] == "img-001"
    assert found["recipe"] == entry["kie"]["recipe"]  # type: ignore[index]
    assert SECRET.encode() not in copy.read_bytes()
    moved = tmp_path / "moved" / copy.name
    moved.parent.mkdir()
    shutil.move(copy, moved)
    assert recipe_from(moved, manifest=manifest)["source"] == "embedded"


def test_tagged_bytes_refuses_non_images() -> None:
    """Only PNG, JPEG and WebP can carry a description."""
    from kie_widgets.errors import KieImageError

    with pytest.raises(KieImageError):
        tagged_bytes(b"GIF89a....", {"asset_id": "img-001"})
