"""Input images as bytes: content sniffing and encoding of PIL images and arrays (no Pillow import)."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

from kie_widgets.errors import (
    KieValidationError,
    Problem,
)

if TYPE_CHECKING:
    from kie_widgets.catalog import InputRef


# --------------------------------------------------------------------------------------------
# Input bytes: sniffing and encoding without importing Pillow here

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


def sniff_mime(data: bytes) -> str | None:
    """The image content type of ``data`` from its magic bytes, or None when it is no image we know."""
    for magic, offset, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (mime != "image/webp" or data[:4] == b"RIFF"):
            return mime
    return None


def png_from_array(array: Any) -> bytes:
    """Encode an HxW, HxWx1, HxWx3 or HxWx4 array (uint8, or floats in 0–1) as a PNG."""
    shape = tuple(getattr(array, "shape", ()))
    if len(shape) == 3 and shape[2] == 1:
        array, shape = array[:, :, 0], shape[:2]
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)):
        raise KieValidationError(
            [Problem("images", "an array must be HxW, HxWx3 or HxWx4", value=str(shape))]
        )
    kind = getattr(getattr(array, "dtype", None), "kind", "")
    if kind == "f":
        array = (array.clip(0.0, 1.0) * 255.0 + 0.5).astype("uint8")
    elif str(array.dtype) != "uint8":
        array = array.clip(0, 255).astype("uint8")
    height, width = shape[0], shape[1]
    color = {2: 0, 3: 2, 4: 6}[len(shape) if len(shape) == 2 else {3: 3, 4: 4}[shape[2]]]
    raw = array.tobytes()
    stride = len(raw) // height
    rows = b"".join(b"\x00" + raw[i * stride : (i + 1) * stride] for i in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def encode_pil(image: Any, ref: InputRef) -> bytes:
    """A PIL image as PNG (lossless, keeps alpha); as JPEG only when the PNG is over the model's limit."""
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    png = buf.getvalue()
    fits = ref.max_bytes is None or len(png) <= ref.max_bytes
    jpeg_ok = not ref.mime_types or "image/jpeg" in ref.mime_types
    if fits or not jpeg_ok or getattr(image, "mode", "") not in ("RGB", "L"):
        return png
    buf = io.BytesIO()
    # A photo that is too big as PNG usually fits as a high-quality JPEG (no alpha to lose).
    image.save(buf, format="JPEG", quality=95)
    return buf.getvalue() if buf.tell() < len(png) else png


def fmt_bytes(n: float) -> str:
    """A byte count for people: "812 bytes", "4.2 MB"."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover - the loop always returns
