"""What kind of image some bytes are, from their first bytes: the package's one table of signatures.

It imports nothing, so every layer may use it without an arrow pointing the wrong way (the client
must not import ``assets``, yet names its uploads by their bytes): the client types its uploads
with it, jobs check a request's inputs with it, assets check downloads with it. Each caller then
decides which of these types it accepts. The sandbox keeps a sniffer of its own on purpose: an
emulator that shared this table would agree with a client that misread a type, and hide the bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple


class ImageType(NamedTuple):
    """One image type: Pillow's format name, the content type and the file extension we give it."""

    format: str
    mime: str
    ext: str


PNG = ImageType("PNG", "image/png", ".png")
JPEG = ImageType("JPEG", "image/jpeg", ".jpg")
WEBP = ImageType("WEBP", "image/webp", ".webp")
GIF = ImageType("GIF", "image/gif", ".gif")
BMP = ImageType("BMP", "image/bmp", ".bmp")
TIFF = ImageType("TIFF", "image/tiff", ".tiff")

#: Every type the table knows, the formats kie's results come in first.
IMAGE_TYPES: tuple[ImageType, ...] = (PNG, JPEG, WEBP, GIF, BMP, TIFF)

#: The types by content type, for callers that only have a declared type.
BY_MIME: Mapping[str, ImageType] = MappingProxyType({t.mime: t for t in IMAGE_TYPES})

# Each signature is a set of (offset, bytes) that must all match; WebP is a RIFF container whose
# form type says WEBP, so "RIFF" alone (WAVE, AVI) is not enough.
_SIGNATURES: tuple[tuple[tuple[tuple[int, bytes], ...], ImageType], ...] = (
    (((0, b"\x89PNG\r\n\x1a\n"),), PNG),
    (((0, b"\xff\xd8\xff"),), JPEG),
    (((0, b"RIFF"), (8, b"WEBP")), WEBP),
    (((0, b"GIF87a"),), GIF),
    (((0, b"GIF89a"),), GIF),
    (((0, b"BM"),), BMP),
    (((0, b"II*\x00"),), TIFF),
    (((0, b"MM\x00*"),), TIFF),
)


def sniff_image_type(data: bytes) -> ImageType | None:
    """The type of the image that ``data`` starts with, or ``None`` when no signature matches."""
    for parts, kind in _SIGNATURES:
        if all(data[offset : offset + len(magic)] == magic for offset, magic in parts):
            return kind
    return None
