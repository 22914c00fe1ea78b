"""What an upload is called and what type it declares: both decided by the bytes, never the name."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType

#: Signature -> (content type, extension). WebP needs a second check (bytes 8-12), see ``sniff``.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"BM", "image/bmp", ".bmp"),
    (b"II*\x00", "image/tiff", ".tiff"),
    (b"MM\x00*", "image/tiff", ".tiff"),
)

#: Extensions for the content types a caller may declare when the bytes are not recognised.
EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {
        "image/png": ".png",
        "image/jpeg": ".jpg",
        "image/webp": ".webp",
        "image/gif": ".gif",
        "image/bmp": ".bmp",
        "image/tiff": ".tiff",
    }
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` from the magic numbers of ``data``, or ``None`` if unknown."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    for magic, content_type, ext in _MAGIC:
        if data.startswith(magic):
            return content_type, ext
    return None


def unique_name(filename: str, data: bytes, ext: str, now: float) -> str:
    """A file name that never repeats: a safe stem, the content hash and the time in ms.

    kie's upload host overwrites a re-used name while its CDN may keep serving the old bytes, so two
    different uploads must never share a name; the hash also keeps a name stable per content.
    """
    stem = PurePosixPath(filename.replace("\\", "/")).stem or "upload"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:40] or "upload"
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"{stem}-{digest}-{int(now * 1000)}{ext}"
