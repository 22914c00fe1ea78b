"""Thumbnails for inline display: long side at most 512 px, a few tens of KB, cached beside the images.

A thumbnail is cached in ``<image folder>/.thumbs/`` under a name that holds the source's content
hash, so replacing the source (same name, new bytes) makes a new thumbnail and drops the old one.
Opaque images become JPEG (small for photographs); images with transparency become a 256-colour PNG.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
from pathlib import Path

from kie_widgets.assets._preview import shrink
from kie_widgets.assets.images import DECODE_SLOTS, MIME_TYPES, check_header, sha256_file
from kie_widgets.errors import KieImageError

MAX_SIDE = 512
THUMBS_DIRNAME = ".thumbs"
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
    from PIL import Image

    # Thumbnails may be asked of any file; refuse a bomb from its header before Pillow decodes it.
    try:
        check_header(path)
    except KieImageError as exc:
        raise KieImageError(f"{exc} (no thumbnail was made)") from None
    with DECODE_SLOTS, Image.open(path, formats=list(MIME_TYPES)) as source:
        source.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced scale, much faster
        return shrink(source, max_side, fmt)


def _cache_name(path: Path, max_side: int, fmt: str | None, digest: str, mime: str) -> Path:
    ext = ".png" if mime == "image/png" else ".jpg"
    return (
        path.parent / THUMBS_DIRNAME / f"{path.name}.{max_side}.{(fmt or 'auto').lower()}.{digest[:16]}{ext}"
    )


def store_preview(path: Path, sha256: str, preview: tuple[bytes, str], *, max_side: int = MAX_SIDE) -> None:
    """Cache a thumbnail made while the file was validated, as ``thumbnail`` would have made it.

    The file's hash is known from the download, so the first display neither decodes nor hashes it.
    """
    st = path.stat()
    _hash_memo[(str(path.absolute()), st.st_ino, st.st_size, st.st_mtime_ns)] = sha256
    data, mime = preview
    _write_cached(path, _cache_name(path, max_side, None, sha256, mime), data)


def _write_cached(path: Path, cached: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        cached.parent.mkdir(exist_ok=True)
        stem = cached.name.rsplit(".", 2)[0]
        for old in cached.parent.glob(glob.escape(stem) + ".*"):
            with contextlib.suppress(OSError):
                old.unlink()  # a thumbnail of an earlier version of this file
        tmp = cached.parent / f".{stem}.{secrets.token_hex(4)}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, cached)


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
    for mime in ("image/jpeg", "image/png"):
        cached = _cache_name(path, max_side, fmt, digest, mime)
        if cached.is_file():
            with contextlib.suppress(OSError):
                return cached.read_bytes(), mime
    data, mime = _render(path, max_side, fmt)
    _write_cached(path, _cache_name(path, max_side, fmt, digest, mime), data)
    return data, mime


def thumbnail_png(path: str | os.PathLike[str], *, max_side: int = MAX_SIDE) -> bytes:
    """A PNG thumbnail (256 colours, long side at most ``max_side``) for widgets that need PNG."""
    return thumbnail(path, max_side=max_side, fmt="PNG")[0]
