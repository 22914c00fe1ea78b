"""Streamed downloads and image validation: nothing reaches the assets folder unless it is a sound image.

Validation, in order: the magic bytes say PNG, JPEG or WebP; our own header parser reads the
dimensions and enforces our pixel cap *before* Pillow decodes anything (Pillow's global
``MAX_IMAGE_PIXELS`` is never touched); the container is checked for truncation; Pillow, allowed only
the detected format (``formats=``), must agree on format and size and pass ``verify()``; then the file is
reopened and fully decoded with ``load()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import os
import re
import secrets
import struct
import threading
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from kie_widgets.assets._preview import shrink
from kie_widgets.errors import KieImageError
from kie_widgets.imagetype import GIF, JPEG, PNG, WEBP, sniff_image_type

#: Our default pixel cap (width x height). Pillow's own warning threshold is about 89.5 megapixels;
#: staying under it means a file Pillow would warn about never reaches Pillow.
DEFAULT_MAX_PIXELS = 80_000_000
#: Formats we accept, as Pillow names them, with the file extension we give them.
_ACCEPTED = (PNG, JPEG, WEBP)
EXTENSIONS = {kind.format: kind.ext for kind in _ACCEPTED}
MIME_TYPES = {kind.format: kind.mime for kind in _ACCEPTED}

#: Full decodes running at once, process-wide. A decoded 4K image takes 25-33 MB; sixteen results
#: finishing together must not all be decoded at the same moment. Two keep both cores busy.
DECODE_SLOTS = threading.BoundedSemaphore(2)
# Downloads are validated on these two threads only, not on any worker of the loop's pool: the C
# allocator keeps memory a thread freed for that thread's reuse, so decodes spread over sixteen
# threads would hold sixteen images' worth of memory long after each decode is done.
_decode_pool: concurrent.futures.ThreadPoolExecutor | None = None
_decode_pool_lock = threading.Lock()


def _decoder() -> concurrent.futures.ThreadPoolExecutor:
    global _decode_pool
    with _decode_pool_lock:
        if _decode_pool is None:
            _decode_pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="kie-decode"
            )
        return _decode_pool


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class SavedImage:
    """A validated download waiting in a temp file inside the assets folder, not yet recorded."""

    temp_path: Path
    sha256: str
    width: int
    height: int
    format: str
    ext: str
    nbytes: int
    #: A thumbnail made by the validating decode, (bytes, mime type), cached when the file is recorded.
    preview: tuple[bytes, str] | None = field(default=None, repr=False, compare=False)

    @property
    def mime_type(self) -> str:
        """``image/png``, ``image/jpeg`` or ``image/webp``."""
        return MIME_TYPES[self.format]

    def discard(self) -> None:
        """Delete the temp file (when the download will not be recorded)."""
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def sniff_format(head: bytes) -> str | None:
    """``"PNG"``, ``"JPEG"`` or ``"WEBP"`` from a file's first bytes, or ``None``."""
    kind = sniff_image_type(head)
    return kind.format if kind in _ACCEPTED else None


def _what_is_it(head: bytes) -> str:
    text = head.lstrip()[:16].lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg")):
        return "an HTML/XML document (often an error page or an expired link)"
    if text.startswith((b"{", b"[")):
        return "JSON (often an error message)"
    kind = sniff_image_type(head)
    if kind is not None:  # an image, just not of a format we accept
        return f"a {kind.format}"
    if not head:
        return "empty"
    return f"unknown data starting with {head[:8].hex(' ')}"


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise KieImageError("The image is truncated: its header ends early.")
    return data


def _jpeg_segments(fh: BinaryIO) -> Iterator[tuple[int, int]]:
    """(marker, offset of its data) for each header segment, up to and including the start of scan.

    ``fh`` is at the segment's data when the marker is yielded; the walk seeks on by itself.
    """
    fh.seek(2)
    while True:
        byte = _read_exact(fh, 1)
        if byte != b"\xff":
            raise KieImageError("The JPEG is damaged: a segment marker is missing.")
        marker = _read_exact(fh, 1)[0]
        while marker == 0xFF:  # fill bytes
            marker = _read_exact(fh, 1)[0]
        if marker == 0xD8 or marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if marker == 0xD9:
            raise KieImageError("The JPEG has no frame header before its image data.")
        (length,) = struct.unpack(">H", _read_exact(fh, 2))
        if length < 2:
            raise KieImageError("The JPEG is damaged: a segment length is invalid.")
        start = fh.tell()
        yield marker, start
        if marker == 0xDA:
            return
        fh.seek(start + length - 2)


def _jpeg_size(fh: BinaryIO) -> tuple[int, int]:
    for marker, _start in _jpeg_segments(fh):
        if marker in _JPEG_SOF:
            _precision, height, width = struct.unpack(">BHH", _read_exact(fh, 5))
            return width, height
        if marker == 0xDA:
            break
    raise KieImageError("The JPEG has no frame header before its image data.")


def webp_size(fh: BinaryIO, file_size: int) -> tuple[int, int]:
    """(width, height) of a WebP from its RIFF header; ``KieImageError`` if truncated or damaged."""
    fh.seek(4)
    (riff_size,) = struct.unpack("<I", _read_exact(fh, 4))
    if riff_size + 8 > file_size:
        raise KieImageError(
            f"The WebP is truncated: its header announces {riff_size + 8} bytes, the file has {file_size}."
        )
    fh.seek(12)
    chunk = _read_exact(fh, 8)[:4]
    data = _read_exact(fh, 10)
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[4:7], "little")
        height = 1 + int.from_bytes(data[7:10], "little")
    elif chunk == b"VP8L":
        if data[0] != 0x2F:
            raise KieImageError("The WebP is damaged: bad lossless signature.")
        bits = int.from_bytes(data[1:5], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        if data[3:6] != b"\x9d\x01\x2a":
            raise KieImageError("The WebP is damaged: bad lossy start code.")
        width = int.from_bytes(data[6:8], "little") & 0x3FFF
        height = int.from_bytes(data[8:10], "little") & 0x3FFF
    else:
        raise KieImageError(f"The WebP starts with an unknown chunk {chunk!r}.")
    return width, height


def header_size(path: Path, fmt: str) -> tuple[int, int]:
    """(width, height) from the file's header alone, without decoding; ``KieImageError`` if unreadable."""
    with open(path, "rb") as fh:
        if fmt == "PNG":
            fh.seek(8)
            head = _read_exact(fh, 16)
            if head[4:8] != b"IHDR":
                raise KieImageError("The PNG is damaged: it does not start with an IHDR chunk.")
            width, height = struct.unpack(">II", head[8:16])
            return width, height
        if fmt == "JPEG":
            return _jpeg_size(fh)
        return webp_size(fh, os.fstat(fh.fileno()).st_size)


def _jpeg_has_end(path: Path) -> bool:
    # Pillow's ImageFile.LOAD_TRUNCATED_IMAGES is a process-wide switch someone else may have turned
    # on; a JPEG without an end-of-image marker after the start of its scan is truncated whatever it
    # says. (An earlier FF D9, say in an embedded EXIF thumbnail, does not count.)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        scan = max(start for _marker, start in _jpeg_segments(fh))
        tail_from = max(scan, size - 65536)
        fh.seek(tail_from)
        return b"\xff\xd9" in fh.read()


def check_header(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> tuple[str, int, int]:
    """(format, width, height) from the magic bytes and the header alone, before any decoding.

    Raises ``KieImageError`` for a file that is not PNG, JPEG or WebP, a damaged header, an empty
    image, or more pixels than ``max_pixels`` (default ``DEFAULT_MAX_PIXELS``).
    """
    path = Path(path)
    cap = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    with open(path, "rb") as fh:
        head = fh.read(32)
    fmt = sniff_format(head)
    if fmt is None:
        raise KieImageError(f"{path.name} is not a PNG, JPEG or WebP image: it is {_what_is_it(head)}.")
    width, height = header_size(path, fmt)
    if width <= 0 or height <= 0:
        raise KieImageError(f"{path.name} declares an empty image ({width}x{height}).")
    if width * height > cap:
        raise KieImageError(
            f"{path.name} declares {width}x{height} = {width * height:,} pixels, over the cap of "
            f"{cap:,} (a decompression bomb or an unexpectedly large image); it was not decoded."
        )
    return fmt, width, height


def validate_image_file(
    path: str | os.PathLike[str], *, max_pixels: int | None = None
) -> tuple[str, int, int]:
    """Check that ``path`` is a complete PNG, JPEG or WebP within the pixel cap; return (format, w, h).

    Raises ``KieImageError`` saying what is wrong (not an image, wrong type, truncated, too many
    pixels, undecodable). Pillow's global settings are not changed.
    """
    fmt, width, height, _preview = validate_with_preview(path, max_pixels=max_pixels, preview_side=None)
    return fmt, width, height


def validate_with_preview(
    path: str | os.PathLike[str], *, max_pixels: int | None = None, preview_side: int | None
) -> tuple[str, int, int, tuple[bytes, str] | None]:
    """``validate_image_file``, and from the same decode a thumbnail fitting ``preview_side``.

    One decode does both: a JPEG is decoded at the reduced scale the thumbnail needs (libjpeg still
    reads every scan, so damage is still found), other formats in full, then shrunk. Full decodes
    wait for one of ``DECODE_SLOTS``, so many large results never sit decoded in memory at once.
    """
    from PIL import Image  # deferred: Pillow is heavy and only needed here

    path = Path(path)
    fmt, width, height = check_header(path, max_pixels=max_pixels)
    if fmt == "JPEG" and not _jpeg_has_end(path):
        raise KieImageError(f"{path.name} is a truncated JPEG (no end-of-image marker).")
    preview = None
    try:
        with Image.open(path, formats=[fmt]) as im:
            if im.format != fmt or im.size != (width, height):
                raise KieImageError(
                    f"{path.name}: Pillow reads {im.format} {im.size}, the header says {fmt} "
                    f"{(width, height)}; refusing an ambiguous file."
                )
            im.verify()
        with DECODE_SLOTS, Image.open(path, formats=[fmt]) as im:
            if preview_side is not None:
                im.draft("RGB", (preview_side, preview_side))
            im.load()
            if preview_side is not None:
                preview = shrink(im, preview_side, None)
    except KieImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        raise KieImageError(f"{path.name} is not a decodable {fmt}: {exc}.") from exc
    return fmt, width, height, preview


async def save_image_stream(
    chunks: AsyncIterable[bytes],
    *,
    folder: Path,
    max_bytes: int,
    max_pixels: int | None = None,
    preview_side: int | None = None,
    label: str | None = None,
) -> SavedImage:
    """Stream ``chunks`` to a temp file inside ``folder``, hash it, validate it; never hold it in memory.

    With ``preview_side``, the validating decode also makes a thumbnail (``SavedImage.preview``).
    ``label`` (a task id and result index, ``download_label``) goes into the temp name, so a temp file
    a crash leaves behind still says whose paid result it is (``verify(repair=True)`` records it).

    More than ``max_bytes`` bytes, or a file that fails ``validate_image_file``, raises
    ``KieImageError`` and removes the temp file (as does cancellation). The caller moves the result
    into place with ``Manifest.record_image`` (or ``SavedImage.discard()`` it).
    """
    folder = Path(folder)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    tag = f"{label}-" if label and _LABEL.fullmatch(label) else ""
    temp = folder / f".download-{tag}{secrets.token_hex(8)}.part"
    digest = hashlib.sha256()
    total = 0
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                total += len(chunk)
                if total > max_bytes:
                    raise KieImageError(
                        f"The download exceeded the size cap of {max_bytes:,} bytes; it was stopped."
                    )
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            await asyncio.to_thread(os.fsync, fd)  # can take a while on a busy disk: not on the loop
        finally:
            os.close(fd)
        check = functools.partial(
            validate_with_preview, temp, max_pixels=max_pixels, preview_side=preview_side
        )
        fmt, width, height, preview = await asyncio.get_running_loop().run_in_executor(_decoder(), check)
    except KieImageError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        # The temp name means nothing to the user (the file is gone): say what was downloaded.
        raise KieImageError(exc.message.replace(temp.name, "the downloaded file"), hint=exc.hint) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return SavedImage(
        temp_path=temp,
        sha256=digest.hexdigest(),
        width=width,
        height=height,
        format=fmt,
        ext=EXTENSIONS[fmt],
        nbytes=total,
        preview=preview,
    )


_LABEL = re.compile(r"[A-Za-z0-9_-]+-\d+")
_LABELLED_TEMP = re.compile(r"\.download-(?P<task>[A-Za-z0-9_-]+)-(?P<index>\d+)-[0-9a-f]{16}\.part")


def download_label(task_id: str, index: int) -> str | None:
    """The temp-name label of result ``index`` of ``task_id`` (None when the id cannot be in a name)."""
    label = f"{task_id}-{index}"
    return label if _LABEL.fullmatch(label) else None


def parse_download_label(name: str) -> tuple[str, int] | None:
    """(task id, result index) from a labelled temp file's name, or None."""
    found = _LABELLED_TEMP.fullmatch(name)
    return (found["task"], int(found["index"])) if found else None


def saved_from_file(path: Path, *, max_pixels: int | None = None) -> SavedImage:
    """A ``SavedImage`` for a whole, valid image on disk (a leftover temp file), or ``KieImageError``."""
    fmt, width, height = validate_image_file(path, max_pixels=max_pixels)
    return SavedImage(path, sha256_file(path), width, height, fmt, EXTENSIONS[fmt], path.stat().st_size)


def save_image_bytes(data: bytes, *, folder: Path, max_pixels: int | None = None) -> SavedImage:
    """The blocking twin of ``save_image_stream`` for data already in memory (uploads, tests, imports)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".download-{secrets.token_hex(8)}.part"
    try:
        with open(temp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        fmt, width, height = validate_image_file(temp, max_pixels=max_pixels)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return SavedImage(temp, hashlib.sha256(data).hexdigest(), width, height, fmt, EXTENSIONS[fmt], len(data))


def validate_image_bytes(data: bytes, *, max_pixels: int | None = None) -> tuple[str, int, int]:
    """``validate_image_file`` for bytes in memory (a request's inputs, before they are uploaded and paid).

    PNG, JPEG and WebP get the full check; a GIF (kie takes it as an input) gets the pixel cap from its
    header and a full decode. Raises ``KieImageError`` saying what is wrong.
    """
    import tempfile

    kind = sniff_image_type(data)
    if kind == GIF:
        return _validate_gif(data, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
    # The file checks seek and reopen; a private temp file keeps one implementation of them.
    with tempfile.TemporaryDirectory(prefix="kie-input-") as folder:
        path = Path(folder) / "input image"
        path.write_bytes(data)
        return validate_image_file(path, max_pixels=max_pixels)


def _validate_gif(data: bytes, cap: int) -> tuple[str, int, int]:
    import io

    from PIL import Image

    if len(data) < 13:
        raise KieImageError("The GIF is truncated: its header ends early.")
    width, height = struct.unpack("<HH", data[6:10])
    if width <= 0 or height <= 0 or width * height > cap:
        raise KieImageError(
            f"The GIF declares {width}x{height} pixels (the cap is {cap:,}); it was not decoded."
        )
    try:
        with Image.open(io.BytesIO(data), formats=["GIF"]) as im:
            im.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError) as exc:
        raise KieImageError(f"The GIF is not decodable: {exc}.") from exc
    return "GIF", width, height


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
