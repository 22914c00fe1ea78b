"""Placeholder images a person can tell apart: colour, model name and prompt drawn in (Pillow).

Everything here is a pure function of its arguments, so a result file can be rendered again on
demand instead of being kept in memory.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
import struct
import textwrap
import zlib
from collections.abc import Iterator
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

_NAMED_SIZES = {
    "square": (1, 1),
    "square_hd": (1, 1),
    "portrait_4_3": (3, 4),
    "portrait_3_2": (2, 3),
    "portrait_16_9": (9, 16),
    "landscape_4_3": (4, 3),
    "landscape_3_2": (3, 2),
    "landscape_16_9": (16, 9),
    "landscape_21_9": (21, 9),
}
_RATIO_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
_TIER_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*K\s*$", re.IGNORECASE)
_RATIO_FIELDS = ("size", "aspectRatio", "aspect_ratio", "image_size")
_TIER_FIELDS = ("resolution", "image_resolution", "size")
MAX_SIDE = 8192


def parse_ratio(value: object) -> tuple[float, float] | None:
    """``"16:9"`` or a named size (``"landscape_4_3"``) as (w, h); ``None`` for auto/unknown."""
    if not isinstance(value, str):
        return None
    if value in _NAMED_SIZES:
        w, h = _NAMED_SIZES[value]
        return (float(w), float(h))
    m = _RATIO_RE.match(value)
    if m and float(m[1]) > 0 and float(m[2]) > 0:
        return (float(m[1]), float(m[2]))
    return None


def parse_tier(value: object) -> int | None:
    """``"2K"`` as its long side in pixels (2048); ``None`` when it is not a tier."""
    if not isinstance(value, str):
        return None
    m = _TIER_RE.match(value)
    return round(float(m[1]) * 1024) if m else None


def target_size(params: dict, *, long_side: int, source: tuple[int, int] | None = None) -> tuple[int, int]:
    """Pixel size for a request: its aspect field (else the source's, else 1:1) at its tier."""
    ratio = None
    for name in _RATIO_FIELDS:
        ratio = parse_ratio(params.get(name))
        if ratio:
            break
    if ratio is None and source is not None:
        ratio = (float(source[0]), float(source[1]))
    if ratio is None:
        ratio = (1.0, 1.0)
    side = long_side
    for name in _TIER_FIELDS:
        tier = parse_tier(params.get(name))
        if tier:
            side = tier
            break
    side = min(side, MAX_SIDE)
    w, h = ratio
    if w >= h:
        return (side, max(8, _round8(side * h / w)))
    return (max(8, _round8(side * w / h)), side)


def _round8(x: float) -> int:
    return round(x / 8.0) * 8


def colour_for(*parts: str) -> tuple[int, int, int]:
    """A saturated colour derived from the given strings (same strings, same colour)."""
    digest = hashlib.sha256("\n".join(parts).encode()).digest()
    hue = digest[0] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55 + digest[1] / 255.0 * 0.35, 0.75 + digest[2] / 255.0 * 0.2)
    return (int(r * 255), int(g * 255), int(b * 255))


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=max(8, size))
    except (OSError, TypeError, ImportError):  # Pillow built without FreeType
        return ImageFont.load_default()


def render_canvas(
    size: tuple[int, int],
    *,
    model: str,
    prompt: str,
    caption: str,
    index: int = 0,
    source: Image.Image | None = None,
    seed: object = None,
) -> Image.Image:
    """A generated-looking RGB image: gradient and shapes in colours from model+prompt, text drawn in.

    A ``seed`` moves the shapes (as a real model's seed changes the picture, not its subject).

    With ``source`` the result is the source fitted to ``size`` and washed with the colour, so an
    edit visibly relates to its input.
    """
    w, h = size
    c1 = colour_for(model, prompt, str(index))
    c2 = colour_for(prompt, model, "second", str(index))
    salt = "" if seed is None else f"\nseed={seed}"
    digest = hashlib.sha256(f"{model}\n{prompt}\n{index}{salt}".encode()).digest()
    turns = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)
    gradient = Image.linear_gradient("L")
    turn = turns[digest[3] % 4]
    mask = (gradient.transpose(turn) if turn is not None else gradient).resize((w, h))
    img = Image.composite(Image.new("RGB", (w, h), c1), Image.new("RGB", (w, h), c2), mask)
    if source is not None:
        fitted = ImageOps.fit(source.convert("RGB"), (w, h))
        img = Image.blend(fitted, img, 0.35)
    else:
        overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for k in range(6):
            b = digest[4 + 4 * k : 8 + 4 * k]
            cx, cy = b[0] / 255.0 * w, b[1] / 255.0 * h
            r = (0.08 + b[2] / 255.0 * 0.22) * min(w, h)
            fill = (*colour_for(model, prompt, "shape", str(k)), 110 + b[3] % 100)
            if k % 2:
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
            else:
                draw.rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), fill=fill)
        img = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    _variant_marks(img, index, c2)
    # An edit's panel goes on top so the input's own panel (bottom) stays readable beneath it.
    _draw_text(img, model=model, prompt=prompt, caption=caption, colour=c1, at_top=source is not None)
    return img


def _variant_marks(img: Image.Image, index: int, colour: tuple[int, int, int]) -> None:
    """Faint stripes whose angle and spacing depend on the variant, and its number in a badge."""
    w, h = img.size
    side = min(w, h)
    sheet = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    gap = max(6, side // (6 + 2 * (index // 4)))
    width = max(1, gap // 6)
    dx, dy = ((1, 0), (0, 1), (1, 1), (1, -1))[index % 4]
    for k in range(-2 * (w + h) // gap, 2 * (w + h) // gap):
        o = k * gap
        if dy == 0:  # vertical lines
            draw.line((o, 0, o, h), fill=(255, 255, 255, 48), width=width)
        elif dx == 0:  # horizontal lines
            draw.line((0, o, w, o), fill=(255, 255, 255, 48), width=width)
        else:  # diagonals, one way or the other
            draw.line((o, 0, o + dy * h, h), fill=(255, 255, 255, 48), width=width)
    r = max(8, side // 10)
    cx, cy = w - r - max(4, side // 32), h // 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 230), outline=(255, 255, 255, 255))
    label = str(index + 1)
    font = _font(r)
    box = draw.textbbox((0, 0), label, font=font)
    draw.text(
        (cx - (box[2] - box[0]) / 2 - box[0], cy - (box[3] - box[1]) / 2 - box[1]),
        label,
        font=font,
        fill=(255, 255, 255, 255),
    )
    img.paste(Image.alpha_composite(img.convert("RGBA"), sheet).convert(img.mode))


#: Models whose masked edits also shift the colours of the kept area, as the skill document warns
#: 4o edits do; the sandbox copies that, so drift reports and hard composites have something to catch.
DRIFTING_MODELS = frozenset({"gpt4o-image"})


def masked_edit(
    source: Image.Image,
    mask: Image.Image,
    *,
    change: int,
    channel: str,
    drift: bool,
    model: str,
    prompt: str,
    caption: str,
    index: int = 0,
) -> Image.Image:
    """The source at its own size, repainted only where ``mask`` (in the model's convention) says so.

    ``change``/``channel`` are the model's convention (the catalog's ``MaskConvention``). With
    ``drift`` the kept area comes back slightly warmer, as a drifting model returns it.
    """
    base = source.convert("RGB")
    band = mask.convert("RGBA").getchannel("A") if channel == "alpha" else mask.convert("L")
    region = band.point(lambda v: 255 if (v >= 128) == (change == 255) else 0)
    if region.size != base.size:
        region = region.resize(base.size, Image.Resampling.NEAREST)
    painted = render_canvas(base.size, model=model, prompt=prompt, caption=caption, index=index)
    bbox = region.getbbox()
    if bbox is not None:
        # The variant's number where it is sure to show: in the middle of the repainted area.
        px = max(8, min(bbox[2] - bbox[0], bbox[3] - bbox[1]) // 3)
        ImageDraw.Draw(painted).text(
            ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2),
            f"#{index + 1}",
            font=_font(px),
            fill=(255, 255, 255),
            anchor="mm",
            stroke_width=max(1, px // 12),
            stroke_fill=(0, 0, 0),
        )
    kept = base
    if drift:
        r, g, b = base.split()
        warm = (r.point(lambda v: min(255, v + 14)), g.point(lambda v: min(255, v + 4)))
        kept = Image.merge("RGB", (*warm, b.point(lambda v: max(0, v - 14))))
    return Image.composite(painted, kept, region)


def _draw_text(
    img: Image.Image, *, model: str, prompt: str, caption: str, colour: tuple[int, int, int], at_top: bool
) -> None:
    w, h = img.size
    title_px = max(10, min(w, h) // 14)
    body_px = max(8, min(w, h) // 30)
    margin = max(4, min(w, h) // 32)
    chars = max(10, int((w - 2 * margin) / (body_px * 0.55)))
    lines = textwrap.wrap(prompt or "(no prompt)", width=chars)[:6]
    panel_h = title_px + (len(lines) + 1) * int(body_px * 1.3) + 3 * margin
    panel = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(panel)
    top = margin if at_top else max(0, h - panel_h - margin)
    draw.rectangle((margin, top, w - margin, min(h - margin, top + panel_h)), fill=(0, 0, 0, 150))
    sw = title_px
    draw.rectangle((2 * margin, top + margin, 2 * margin + sw, top + margin + sw), fill=(*colour, 255))
    draw.text((3 * margin + sw, top + margin), model, font=_font(title_px), fill=(255, 255, 255, 255))
    y = top + 2 * margin + title_px
    for line in lines:
        draw.text((2 * margin, y), line, font=_font(body_px), fill=(240, 240, 240, 255))
        y += int(body_px * 1.3)
    hexcode = "#{:02x}{:02x}{:02x}".format(*colour)
    draw.text((2 * margin, y), f"{caption}  {hexcode}", font=_font(body_px), fill=(200, 200, 200, 255))
    img.paste(Image.alpha_composite(img.convert("RGBA"), panel).convert(img.mode))


def upscale(source: Image.Image, factor: float, *, model: str, caption: str) -> Image.Image:
    """The source enlarged by ``factor`` (capped at ``MAX_SIDE``), sharpened, with a small label."""
    w, h = source.size
    factor = max(1.0, min(factor, MAX_SIDE / max(w, h)))
    big = source.convert("RGB").resize((int(w * factor), int(h * factor)), Image.Resampling.LANCZOS)
    big = big.filter(ImageFilter.UnsharpMask(radius=2, percent=80))
    draw = ImageDraw.Draw(big)
    px = max(10, min(big.size) // 40)
    draw.text((px, px), f"{model} x{factor:g}  {caption}", font=_font(px), fill=(255, 255, 255))
    return big


def remove_background(source: Image.Image) -> Image.Image:
    """RGBA: pixels close to the border colour become transparent; falls back to an oval cut-out."""
    rgb = source.convert("RGB")
    w, h = rgb.size
    border = [rgb.getpixel((x, y)) for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
    corners = [c for c in border if isinstance(c, tuple)]
    bg = tuple(sorted(c[i] for c in corners)[len(corners) // 2] for i in range(3))
    diff = ImageChops.difference(rgb, Image.new("RGB", (w, h), bg)).convert("L")
    alpha = diff.point(lambda v: 255 if v > 40 else 0)
    lo, hi = alpha.getextrema()
    opaque = sum(alpha.histogram()[255:]) / float(w * h)
    if lo == hi or opaque > 0.97 or opaque < 0.03:
        alpha = Image.new("L", (w, h), 0)
        ImageDraw.Draw(alpha).ellipse((w * 0.15, h * 0.1, w * 0.85, h * 0.9), fill=255)
    out = rgb.convert("RGBA")
    out.putalpha(alpha.filter(ImageFilter.GaussianBlur(1)))
    return out


def encode(img: Image.Image, fmt: str) -> bytes:
    """PNG or JPEG bytes (fast settings: these are placeholders)."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.convert("RGB").save(buf, "JPEG", quality=85)
    else:
        img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=1)
def bomb_png() -> bytes:
    """A small valid PNG that declares 20000 x 20000 pixels (a decompression bomb)."""
    side = 20000
    row = b"\x00" + b"\x00" * (side // 8)  # filter byte + 1-bit greyscale row
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


_PAD_CHUNK = 1 << 16


def padded_stream(data: bytes, fmt: str, total: int) -> tuple[int, Iterator[bytes]]:
    """(length, chunks) of ``data`` grown to at least ``total`` bytes with ignorable filler.

    PNG gets a private ancillary chunk before IEND; JPEG gets comment segments after SOI. The
    filler is produced lazily, so a large padded file never sits in memory.
    """
    extra = total - len(data)
    if extra <= 0:
        return len(data), iter([data])
    if fmt == "jpeg":
        seg = 65533  # max COM payload
        count = -(-extra // (seg + 4))

        def jpeg() -> Iterator[bytes]:
            yield data[:2]
            piece = b"\xff\xfe" + struct.pack(">H", seg + 2) + b"\x00" * seg
            for _ in range(count):
                yield piece
            yield data[2:]

        return len(data) + count * (seg + 4), jpeg()
    body_len = max(0, extra - 12)
    crc = _zero_crc(b"kiEp", body_len)

    def png() -> Iterator[bytes]:
        yield data[:-12]
        yield struct.pack(">I", body_len) + b"kiEp"
        left = body_len
        zeros = b"\x00" * _PAD_CHUNK
        while left > 0:
            n = min(left, _PAD_CHUNK)
            yield zeros[:n]
            left -= n
        yield struct.pack(">I", crc)
        yield data[-12:]

    return len(data) + body_len + 12, png()


@lru_cache(maxsize=8)
def _zero_crc(kind: bytes, length: int) -> int:
    crc = zlib.crc32(kind)
    zeros = b"\x00" * _PAD_CHUNK
    left = length
    while left > 0:
        n = min(left, _PAD_CHUNK)
        crc = zlib.crc32(zeros[:n], crc)
        left -= n
    return crc & 0xFFFFFFFF


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type from magic bytes, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def decode(data: bytes) -> Image.Image | None:
    """A Pillow image of ``data`` (loaded), or ``None`` when it is not an image Pillow reads."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.copy()
    except Exception:  # any undecodable input is simply "not an image" for the emulator
        return None


__all__ = [
    "DRIFTING_MODELS",
    "bomb_png",
    "colour_for",
    "decode",
    "encode",
    "masked_edit",
    "padded_stream",
    "parse_ratio",
    "parse_tier",
    "remove_background",
    "render_canvas",
    "sniff_mime",
    "target_size",
    "upscale",
]
