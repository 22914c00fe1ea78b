"""What an upload is called and what type it declares: both decided by the bytes, never the name."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType

from kie_widgets.imagetype import BY_MIME, sniff_image_type

#: Extensions for the content types a caller may declare when the bytes are not recognised.
EXTENSIONS: Mapping[str, str] = MappingProxyType({mime: kind.ext for mime, kind in BY_MIME.items()})


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(content type, extension)`` from the magic numbers of ``data``, or ``None`` if unknown."""
    kind = sniff_image_type(data)
    return (kind.mime, kind.ext) if kind is not None else None


def unique_name(filename: str, data: bytes, ext: str, now: float) -> str:
    """A file name that never repeats: a safe stem, the content hash and the time in ms.

    kie's upload host overwrites a re-used name while its CDN may keep serving the old bytes, so two
    different uploads must never share a name; the hash also keeps a name stable per content.
    """
    stem = PurePosixPath(filename.replace("\\", "/")).stem or "upload"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:40] or "upload"
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"{stem}-{digest}-{int(now * 1000)}{ext}"
