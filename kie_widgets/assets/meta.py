"""Self-describing files: the asset id and recipe travel with the image, never the API key.

The downloaded file is kept byte-for-byte as the provider sent it (its sha256 is in the manifest), so
the description goes into:

- a sidecar ``<image>.xmp`` beside it (an XMP packet, the photo-tool convention), written on record;
- on request, a tagged copy (``lookup.export_tagged``) with the same XMP/text embedded in the image
  itself: a PNG ``iTXt`` chunk, a JPEG APP1 XMP segment, a WebP ``XMP`` chunk. The chunk is inserted
  at the byte level; the image data bytes are copied unchanged, so the pixels are identical (tested).

This module encodes and decodes descriptions and knows nothing of the manifest store (which writes
sidecars through it); ``lookup.recipe_from`` reads a description back from a file or the manifest.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

from kie_widgets.assets.images import sniff_format, webp_size
from kie_widgets.assets.record import AssetRecord
from kie_widgets.assets.schema import scrub
from kie_widgets.errors import KieImageError

XMP_NAMESPACE = "https://kie-widgets.invalid/ns/1.0/"
PNG_KEYWORD = "kie:recipe"
_XMP_APP1_ID = b"http://ns.adobe.com/xap/1.0/\x00"
_RECIPE_RE = re.compile(r"<kie:recipe>(.*?)</kie:recipe>", re.DOTALL)


def describe(entry: dict[str, Any]) -> dict[str, Any]:
    """The payload a file carries about itself: its manifest entry's place and its record's carried fields."""
    record = AssetRecord.from_entry(entry)
    payload: dict[str, Any] = {
        "asset_id": entry.get("id"),
        "model": record.model,
        "prompt": record.prompt,
        "parameters": entry.get("parameters"),
        "scene_id": record.scene_id,
        "version": entry.get("version"),
        "created_at": entry.get("created_at"),
    }
    payload.update(record.carried())
    return scrub(payload)


def xmp_packet(payload: dict[str, Any]) -> bytes:
    """An XMP packet holding ``payload`` as JSON in ``kie:recipe`` (plus the id and hash as attributes)."""
    body = html.escape(json.dumps(payload, ensure_ascii=False, sort_keys=True), quote=False)
    attrs = f'kie:assetId="{html.escape(str(payload.get("asset_id") or ""))}"'
    if payload.get("recipe"):
        attrs += f' kie:recipeHash="{html.escape(str(payload["recipe"]))}"'
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:kie="{XMP_NAMESPACE}" {attrs}>'
        f"<kie:recipe>{body}</kie:recipe>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def parse_xmp(data: bytes) -> dict[str, Any] | None:
    """The payload of a packet written by ``xmp_packet`` (regex, no XML parser on untrusted input)."""
    match = _RECIPE_RE.search(data.decode("utf-8", "replace"))
    if not match:
        return None
    try:
        value = json.loads(html.unescape(match.group(1)))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def sidecar_path(image: Path) -> Path:
    """``scene-01-img-003-v1.png.xmp`` for ``scene-01-img-003-v1.png``."""
    return image.with_name(image.name + ".xmp")


def write_sidecar(image: Path, entry: dict[str, Any]) -> Path:
    """Write (atomically) the XMP sidecar describing ``image``; return its path."""
    target = sidecar_path(image)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(xmp_packet(describe(entry)))
    os.replace(tmp, target)
    return target


# -- embedding into a copy -------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _tag_png(data: bytes, payload: dict[str, Any]) -> bytes:
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translation NUL.
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    chunk = _png_chunk(b"iTXt", PNG_KEYWORD.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text)
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def _tag_jpeg(data: bytes, payload: dict[str, Any]) -> bytes:
    segment_data = _XMP_APP1_ID + xmp_packet(payload)
    if len(segment_data) + 2 > 0xFFFF:
        raise KieImageError("The description is too long for one JPEG XMP segment.")
    segment = b"\xff\xe1" + struct.pack(">H", len(segment_data) + 2) + segment_data
    pos = 2
    if data[2:4] == b"\xff\xe0":  # keep JFIF's APP0 first, as the standard requires
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    return data[:pos] + segment + data[pos:]


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def _tag_webp(data: bytes, payload: dict[str, Any]) -> bytes:
    body = data[12:]
    first = body[:4]
    xmp = _riff_chunk(b"XMP ", xmp_packet(payload))
    if first == b"VP8X":
        flags = body[8] | 0x04
        body = body[:8] + bytes([flags]) + body[9:] + xmp
    else:
        width, height = webp_size(io.BytesIO(data), len(data))
        alpha = 0
        if first == b"VP8L":
            bits = int.from_bytes(body[9:13], "little")
            alpha = 0x10 if (bits >> 28) & 1 else 0
        vp8x = (
            bytes([0x04 | alpha, 0, 0, 0])
            + (width - 1).to_bytes(3, "little")
            + (height - 1).to_bytes(3, "little")
        )
        body = _riff_chunk(b"VP8X", vp8x) + body + xmp
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def tagged_bytes(data: bytes, payload: dict[str, Any]) -> bytes:
    """``data`` with ``payload`` embedded; the image data bytes themselves are copied unchanged."""
    fmt = sniff_format(data[:32])
    if fmt == "PNG":
        return _tag_png(data, payload)
    if fmt == "JPEG":
        return _tag_jpeg(data, payload)
    if fmt == "WEBP":
        return _tag_webp(data, payload)
    raise KieImageError("Only PNG, JPEG and WebP files can carry a description.")


# -- reading back ------------------------------------------------------------------------------


def _png_text(data: bytes) -> dict[str, Any] | None:
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"iTXt" and chunk.startswith(PNG_KEYWORD.encode("latin-1") + b"\x00"):
            rest = chunk[len(PNG_KEYWORD) + 1 :]
            if rest[:1] == b"\x00":  # uncompressed; skip flag, method, language and translation
                text = rest[2:].split(b"\x00", 2)[-1]
                try:
                    value = json.loads(text.decode("utf-8"))
                except ValueError:
                    return None
                return value if isinstance(value, dict) else None
        if kind in (b"IDAT", b"IEND"):
            return None
        pos += 12 + length
    return None


def embedded(path: Path) -> dict[str, Any] | None:
    """The description embedded in an image file, or ``None``."""
    with open(path, "rb") as fh:
        data = fh.read(8 << 20)  # metadata sits before the image data; never read a huge file whole
    fmt = sniff_format(data[:32])
    if fmt == "PNG":
        return _png_text(data)
    if fmt in ("JPEG", "WEBP") and b"<kie:recipe>" in data:
        return parse_xmp(data[data.index(b"<?xpacket") if b"<?xpacket" in data else 0 :])
    return None
