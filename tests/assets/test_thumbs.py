"""Thumbnails: small, bounded, cached beside the images and rebuilt when the image changes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from kie_assets_helpers import image_bytes
from PIL import Image

from kie_widgets.assets import thumbnail, thumbnail_png
from kie_widgets.assets.thumbs import THUMBS_DIRNAME


@pytest.mark.parametrize(
    ("fmt", "size"), [("PNG", (2048, 1152)), ("JPEG", (1536, 2048)), ("WEBP", (1024, 1024))]
)
def test_thumbnail_is_bounded_and_small(tmp_path: Path, fmt: str, size: tuple[int, int]) -> None:
    """A photo-like image of any accepted format gives a JPEG of at most 512 px and under 60 KB."""
    path = tmp_path / f"big.{fmt.lower()}"
    path.write_bytes(image_bytes(fmt, size, noise=True))
    data, mime = thumbnail(path)
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 512
        assert abs(im.size[0] / im.size[1] - size[0] / size[1]) < 0.01
    assert len(data) < 60_000


def test_transparent_images_get_a_png_thumbnail(tmp_path: Path) -> None:
    """An image with an alpha channel keeps it, as a palette PNG."""
    path = tmp_path / "cutout.png"
    Image.new("RGBA", (800, 600), (0, 128, 255, 100)).save(path)
    data, mime = thumbnail(path)
    assert mime == "image/png"
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (512, 384)
        assert im.convert("RGBA").getpixel((10, 10))[3] < 255


def test_thumbnail_png_is_png(tmp_path: Path) -> None:
    """thumbnail_png always answers PNG bytes within the size bound."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes("JPEG", (1000, 700), noise=True))
    data = thumbnail_png(path, max_side=256)
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 256


def test_thumbnail_is_cached_and_rebuilt_when_the_source_changes(tmp_path: Path) -> None:
    """The second call reads the cache; new bytes under the same name replace the cached thumbnail."""
    path = tmp_path / "scene.png"
    path.write_bytes(image_bytes("PNG", (900, 600)))
    thumbnail(path)
    [cached] = list((tmp_path / THUMBS_DIRNAME).iterdir())
    cached.write_bytes(b"marker: served from the cache")
    assert thumbnail(path)[0] == b"marker: served from the cache"
    Image.new("RGB", (600, 900), "blue").save(path)
    fresh, _ = thumbnail(path)
    with Image.open(io.BytesIO(fresh)) as im:
        assert im.size == (341, 512)
    assert len(list((tmp_path / THUMBS_DIRNAME).iterdir())) == 1


def test_thumbnail_refuses_a_decompression_bomb(tmp_path: Path) -> None:
    """A file whose header declares a huge image gets no thumbnail and is never decoded."""
    from kie_assets_helpers import png_bomb

    from kie_widgets.errors import KieImageError

    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(20_000))
    with pytest.raises(KieImageError, match="no thumbnail"):
        thumbnail(path)


def test_camera_rotated_jpeg_thumbnail_is_upright(tmp_path: Path) -> None:
    """A JPEG with EXIF orientation 6 (rotated 90°) gets a thumbnail in its displayed orientation."""
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (1000, 500), "green").save(path, exif=exif)
    data, _ = thumbnail(path)
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (256, 512)
