"""Masks as pixels: loading, importing, scaling, and converting between conventions before upload.

Inside kie_widgets a mask is a greyscale ("L") PIL image of the source's exact size, 255 where the
image is to change and 0 where it is kept (``catalog.OUR_MASK``). Each mask-taking model reads masks
in its own convention (``ModelSpec.mask_convention``, data in the catalog); the conversion and the
size check against the source happen here, the only place outside the sandbox that decodes pixels.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kie_widgets.catalog import OUR_MASK, MaskConvention, MaskPlan
from kie_widgets.errors import KieImageError, KieValidationError, Problem

if TYPE_CHECKING:
    from PIL import Image

#: Formats a mask or a source may arrive in, as Pillow names them.
_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
_MAX_PIXELS = 80_000_000


class ModelMask(bytes):
    """PNG bytes of a mask already in one model's convention (what ``MaskEditor.mask_for`` returns).

    ``plan()`` reads ``kie_mask_convention`` and so never converts such a mask a second time.
    """

    kie_mask_convention: MaskConvention
    model: str

    def __new__(cls, data: bytes, convention: MaskConvention, model: str) -> ModelMask:
        obj = super().__new__(cls, data)
        obj.kie_mask_convention = convention
        obj.model = model
        return obj


def open_image(source: Any, *, what: str = "image") -> Image.Image:
    """A loaded PIL image from a path, bytes, a PIL image or anything with ``.path`` (an ``Asset``)."""
    from PIL import Image

    if hasattr(source, "save") and hasattr(source, "mode") and hasattr(source, "size"):
        return source.copy()
    if hasattr(source, "path") and not isinstance(source, (str, os.PathLike)):
        source = source.path
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream: Any = io.BytesIO(bytes(source))
        name = f"the {what} data"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise KieValidationError([Problem(what, "file not found", str(source))])
        stream, name = path, path.name
    else:
        raise KieValidationError(
            [Problem(what, f"cannot read a {type(source).__name__}", None, "a path, bytes or a PIL image")]
        )
    try:
        with Image.open(stream, formats=list(_FORMATS)) as im:
            if im.width * im.height > _MAX_PIXELS:
                raise KieImageError(
                    f"{name} has {im.width}x{im.height} pixels, over the cap of {_MAX_PIXELS:,}."
                )
            im.load()
            return im.copy()
    except (OSError, SyntaxError, ValueError) as exc:
        raise KieImageError(f"{name} is not a PNG, JPEG, WebP or GIF image Pillow can read ({exc}).") from exc


def image_size(source: Any) -> tuple[int, int] | None:
    """(width, height) of an image from its header only (no decoding); None when it cannot be told."""
    from PIL import Image

    from kie_widgets.assets.images import check_header

    if hasattr(source, "save") and hasattr(source, "size"):
        width, height = source.size
        return int(width), int(height)
    if hasattr(source, "path") and not isinstance(source, (str, os.PathLike)):
        source = source.path
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            # Image.open reads the header and stops: the pixels are decoded only on load().
            with Image.open(io.BytesIO(bytes(source)), formats=list(_FORMATS)) as im:
                return im.size
        if isinstance(source, (str, os.PathLike)) and Path(source).expanduser().is_file():
            _fmt, width, height = check_header(Path(source).expanduser())
            return width, height
    except (OSError, SyntaxError, ValueError, KieImageError, Image.DecompressionBombError):
        return None  # a bomb is refused with its reason when the inputs are decoded, before upload
    return None


def binary(mask: Image.Image) -> Image.Image:
    """A mode "L" copy with every pixel 0 or 255 (threshold at the middle grey)."""
    return mask.convert("L").point(lambda v: 255 if v >= 128 else 0)


def from_convention(image: Image.Image, convention: MaskConvention = OUR_MASK) -> Image.Image:
    """A mask in ``convention`` (any mode) as our binary "L" mask (255 = change)."""
    from PIL import Image

    if convention.channel == "alpha":
        if "A" not in image.getbands() and "transparency" not in image.info:
            raise KieValidationError(
                [Problem("mask", "has no alpha channel", image.mode, convention.describe())]
            )
        grey = image.convert("RGBA").getchannel("A")
    elif "A" in image.getbands() or "transparency" in image.info:
        # Painted strokes on a transparent sheet: what is transparent counts as "keep".
        rgba = image.convert("RGBA")
        sheet = Image.new("RGBA", rgba.size, (convention.keep,) * 3 + (255,))
        grey = Image.alpha_composite(sheet, rgba).convert("L")
    else:
        grey = image.convert("L")
    ours = binary(grey)
    return ours if convention.change == 255 else ours.point(lambda v: 255 - v)


def to_convention(mask: Image.Image, convention: MaskConvention) -> Image.Image:
    """Our mask (255 = change) as an image in ``convention``: "L", or RGBA whose alpha carries it."""
    from PIL import Image

    ours = binary(mask)
    grey = ours if convention.change == 255 else ours.point(lambda v: 255 - v)
    if convention.channel == "grey":
        return grey
    out = Image.new("RGBA", ours.size, (0, 0, 0, 255))
    out.putalpha(grey)
    return out


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes (lossless, so a mask stays binary)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def scale_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Our mask at ``size``, resized with nearest neighbour and thresholded so it stays 0/255."""
    from PIL import Image

    if tuple(mask.size) == tuple(size):
        return binary(mask)
    return binary(mask.convert("L").resize(size, Image.Resampling.NEAREST))


def from_alpha(image: Any, *, transparent_means_change: bool = True) -> Image.Image:
    """Our mask from an image's alpha channel (transparent = change by default, as inpainting tools do)."""
    convention = MaskConvention(change=0 if transparent_means_change else 255, channel="alpha")
    return from_convention(open_image(image, what="mask"), convention)


def shape_mask(
    size: tuple[int, int], box: tuple[float, float, float, float], *, shape: str = "rectangle"
) -> Image.Image:
    """Our mask of ``size`` with one filled rectangle or ellipse; ``box`` is (x0, y0, x1, y1) in pixels."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = box
    if not (x1 > x0 and y1 > y0):
        raise KieValidationError(
            [Problem("box", "must have x1 > x0 and y1 > y0", tuple(box), "(x0, y0, x1, y1) in pixels")]
        )
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    # ImageDraw boxes include their last pixel; ours end before x1/y1 like Python ranges.
    corners = (x0, y0, x1 - 1, y1 - 1)
    if shape == "ellipse":
        draw.ellipse(corners, fill=255)
    elif shape == "rectangle":
        draw.rectangle(corners, fill=255)
    else:
        raise KieValidationError([Problem("shape", "unknown shape", shape, "rectangle, ellipse")])
    return mask


def model_mask(mask: Image.Image, convention: MaskConvention, model: str) -> ModelMask:
    """Our mask as PNG bytes in ``convention``, tagged so ``plan()`` sends them as they are."""
    return ModelMask(encode_png(to_convention(mask, convention)), convention, model)


def prepare_mask(raw: bytes, conversion: MaskPlan, image_raw: bytes | None, *, model: str) -> bytes:
    """The mask bytes to upload: read in ``conversion.given``, size-checked, written in ``conversion.wanted``.

    Raises ``KieValidationError`` naming both sizes when the model needs the mask at the image's size
    and it is not.
    """
    mask = from_convention(open_image(raw, what="mask"), conversion.given)
    if conversion.wanted.same_size and image_raw is not None:
        size = image_size(image_raw)
        if size is not None and tuple(mask.size) != size:
            raise KieValidationError(
                [
                    Problem(
                        "mask",
                        f"is {mask.width}×{mask.height} but the image is {size[0]}×{size[1]}; "
                        f"{model} needs both the same size",
                        f"{mask.width}×{mask.height}",
                        f"{size[0]}×{size[1]}",
                        model,
                    )
                ],
                model=model,
            )
    return encode_png(to_convention(mask, conversion.wanted))


__all__ = [
    "ModelMask",
    "binary",
    "encode_png",
    "from_alpha",
    "from_convention",
    "image_size",
    "model_mask",
    "open_image",
    "prepare_mask",
    "scale_mask",
    "shape_mask",
    "to_convention",
]
