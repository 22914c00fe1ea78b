"""Thumbnails for inline display: long side at most 512 px, a few tens of KB, cached beside the images.

A thumbnail is cached in ``<image folder>/.thumbs/`` under a name that holds the source's content
hash, so replacing the source (same name, new bytes) makes a new thumbnail and drops the old one.
Opaque images become JPEG (small for photographs); images with transparency become a 256-colour PNG.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import secrets
from pathlib import Path

from kie_widgets.assets.images import MIME_TYPES, check_header, sha256_file
from kie_widgets.errors import KieImageError

MAX_SIDE = 512
THUMBS_DIRNAME = ".thumbs"
_JPEG_QUALITY = 80
# (path, inode, size, mtime_ns) -> sha256: hashing a large file on every display would be wasteful.
_hash_memo: dict[tuple[str, int, int, int], str] = {}


def source_hash(path: Path) -> str:
    """The SHA-256 of ``path``, memoised per (inode, size, mtime) in this process."""
    st = path.stat()
    key = (str(path.absolute()), st.st_ino, st.st_size, st.st_mtime_ns)
    digest = _hash_memo.get(key)
    if digest is None:
        digest = sha256_file(path)
        if len(_hash_memo) > 4096:
            _hash_memo.clear()
        _hash_memo[key] = digest
    return digest


def _render(path: Path, max_side: int, fmt: str | None) -> tuple[bytes, str]:
    from PIL import Image, ImageOps

    # Thumbnails may be asked of any file; refuse a bomb from its header before Pillow decodes it.
    try:
        check_header(path)
    except KieImageError as exc:
        raise KieImageError(f"{exc} (no thumbnail was made)") from None
    with Image.open(path, formats=list(MIME_TYPES)) as source:
        source.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced scale, much faster
        source.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        im = ImageOps.exif_transpose(source)  # a camera-rotated JPEG shows upright
        has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
        out = io.BytesIO()
        if fmt == "PNG" or (fmt is None and has_alpha):
            small = im.convert("RGBA" if has_alpha else "RGB").quantize(
                colors=256, method=Image.Quantize.FASTOCTREE
            )
            small.save(out, format="PNG", optimize=True)
            return out.getvalue(), "image/png"
        im.convert("RGB").save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
        return out.getvalue(), "image/jpeg"


def thumbnail(
    path: str | os.PathLike[str], *, max_side: int = MAX_SIDE, fmt: str | None = None, cache: bool = True
) -> tuple[bytes, str]:
    """(bytes, mime type) of a thumbnail of ``path`` whose long side is at most ``max_side`` pixels.

    ``fmt="PNG"`` forces PNG; by default opaque images give JPEG. Cached in ``.thumbs/`` beside the
    image and rebuilt when the image's content hash changes; an unwritable cache is skipped, and
    ``cache=False`` (a file outside the assets folder) neither reads nor writes one.
    """
    path = Path(path)
    if not cache:
        return _render(path, max_side, fmt)
    digest = source_hash(path)
    kind = fmt or "auto"
    cache_dir = path.parent / THUMBS_DIRNAME
    stem = f"{path.name}.{max_side}.{kind.lower()}"
    for ext, mime in ((".jpg", "image/jpeg"), (".png", "image/png")):
        cached = cache_dir / f"{stem}.{digest[:16]}{ext}"
        if cached.is_file():
            with contextlib.suppress(OSError):
                return cached.read_bytes(), mime
    data, mime = _render(path, max_side, fmt)
    ext = ".png" if mime == "image/png" else ".jpg"
    with contextlib.suppress(OSError):
        cache_dir.mkdir(exist_ok=True)
        for old in cache_dir.glob(glob.escape(stem) + ".*"):
            with contextlib.suppress(OSError):
                old.unlink()  # a thumbnail of an earlier version of this file
        tmp = cache_dir / f".{stem}.{secrets.token_hex(4)}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, cache_dir / f"{stem}.{digest[:16]}{ext}")
    return data, mime


def thumbnail_png(path: str | os.PathLike[str], *, max_side: int = MAX_SIDE) -> bytes:
    """A PNG thumbnail (256 colours, long side at most ``max_side``) for widgets that need PNG."""
    return thumbnail(path, max_side=max_side, fmt="PNG")[0]
