"""Inputs: loading, checking and uploading the images a request names, and encoding them as bytes.

``InputsMixin`` is the part of ``KieClient`` that turns a plan's inputs (paths, bytes, PIL images,
arrays, asset ids) into checked bytes with their parent assets, and uploads them once per content.
The functions below it sniff and encode image bytes without importing Pillow.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import uuid
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kie_widgets.errors import KieValidationError, Problem
from kie_widgets.imagetype import BY_MIME, GIF, JPEG, PNG, WEBP, sniff_image_type
from kie_widgets.jobs._model import Prepared

if TYPE_CHECKING:
    from kie_widgets.assets import Manifest
    from kie_widgets.catalog import InputRef, Plan
    from kie_widgets.client import KieAPI
    from kie_widgets.clock import Clock


class InputsMixin:
    """Input preparation and uploads for ``KieClient`` (which provides the attributes below)."""

    api: KieAPI
    clock: Clock
    #: Upload URL and client-clock time, by the SHA-256 of the uploaded bytes.
    _uploads: dict[str, tuple[str, float]]

    if TYPE_CHECKING:

        @property
        def manifest(self) -> Manifest: ...

    async def _prepare(
        self,
        plan: Plan,
        *,
        operation: str | None,
        scene_id: int | str | None,
        context: Mapping[str, Any] | None,
    ) -> Prepared:
        """Load and check every input (all problems at once), and hash the recipe. Nothing is sent."""
        from kie_widgets.assets import recipe_hash

        data: list[tuple[InputRef, bytes, str]] = []
        parents: list[str] = []
        problems: list[Problem] = []
        for ref in plan.uploads:
            try:
                raw, parent = await asyncio.to_thread(self._input_bytes, ref)
            except KieValidationError as exc:
                problems.extend(exc.problems)
                continue
            except OSError as exc:
                problems.append(Problem(ref.field, f"cannot read {ref.source!s}: {exc.strerror}"))
                continue
            if parent:
                parents.append(parent)
            mime = sniff_mime(raw)
            if mime is None:
                problems.append(
                    Problem(ref.field, "is not a PNG, JPEG, WebP or GIF image", model=plan.display_name)
                )
                continue
            decode_problem = await asyncio.to_thread(_decode_problem, raw)
            if decode_problem is not None:
                problems.append(Problem(ref.field, decode_problem, model=plan.display_name))
                continue
            if ref.mime_types and mime not in ref.mime_types:
                problems.append(
                    Problem(
                        ref.field,
                        f"{mime} is not accepted by {plan.display_name}",
                        value=mime,
                        allowed=", ".join(ref.mime_types),
                    )
                )
            if ref.max_bytes and len(raw) > ref.max_bytes:
                problems.append(
                    Problem(
                        ref.field,
                        f"{fmt_bytes(len(raw))} is over {plan.display_name}'s limit of "
                        f"{fmt_bytes(ref.max_bytes)}",
                        value=len(raw),
                    )
                )
            data.append((ref, raw, mime))
        if not problems and any(ref.mask is not None for ref, _, _ in data):
            data = await asyncio.to_thread(convert_masks, data, plan.display_name)
        if problems:
            raise KieValidationError(problems, model=plan.display_name)
        for url in _urls_in(plan.body):
            parent = self._parent_for_url(url)
            if parent:
                parents.append(parent)
        input_hashes = [hashlib.sha256(raw).hexdigest() for _, raw, _ in data]
        recipe = recipe_hash(plan.model_id, plan.params, input_hashes)
        ctx = {k: v for k, v in (context or {}).items() if v is not None}
        op = operation or ("generate" if plan.spec.mode == "text-to-image" else plan.spec.mode)
        return Prepared(plan, op, data, parents, recipe, scene_id, ctx)

    def _input_bytes(self, ref: InputRef) -> tuple[bytes, str | None]:
        """The bytes of one input and, for a manifest asset, its id (the new image's parent)."""
        source = ref.source
        if ref.kind == "asset":
            entry = self.manifest.get(str(source))
            if entry is None:
                raise KieValidationError([Problem(ref.field, f"no asset {source!r} in the manifest")])
            return (self.manifest.root / entry["filename"]).read_bytes(), str(source)
        if ref.kind == "bytes":
            return bytes(source), None
        if ref.kind == "pil":
            return encode_pil(source, ref), None
        if ref.kind == "array":
            return png_from_array(source), None
        path = Path(source).expanduser()
        return path.read_bytes(), self._parent_for_path(path)

    def _source_size(self, params: Mapping[str, Any]) -> tuple[int, int] | None:
        """Pixel size of the image an edit starts from (read from its header), for plan()'s shape keeping."""
        from kie_widgets.assets.masks import image_size

        images = params.get("images")
        first = params.get("image")
        if first is None and isinstance(images, (list, tuple)) and images:
            first = images[0]
        elif first is None and images is not None and not isinstance(images, (list, tuple)):
            first = images
        if isinstance(first, str) and first.startswith("img-"):
            entry = self.manifest.get(first)
            first = self.manifest.root / entry["filename"] if entry else None
        if first is None or (isinstance(first, str) and first.startswith(("http://", "https://"))):
            return None
        return image_size(first)

    def _parent_for_path(self, path: Path) -> str | None:
        try:
            rel = path.resolve().relative_to(self.manifest.root.resolve()).as_posix()
        except (ValueError, OSError):
            return None
        for entry in self.manifest.entries:
            if entry.get("filename") == rel:
                return str(entry.get("id"))
        return None

    def _parent_for_url(self, url: str) -> str | None:
        for entry in self.manifest.entries:
            if extra_of(entry, "source_url") == url:
                return str(entry.get("id"))
        return None

    async def _resolve_inputs(self, prepared: Prepared) -> dict[str, Any]:
        """Upload every local input (once per distinct content) and fill the placeholders."""
        distinct = {hashlib.sha256(raw).hexdigest(): (raw, mime) for _, raw, mime in prepared.data}
        urls = await asyncio.gather(*(self._upload(raw, mime) for raw, mime in distinct.values()))
        by_digest = dict(zip(distinct, urls, strict=True))
        return prepared.plan.resolve_body(
            {ref.placeholder: by_digest[hashlib.sha256(raw).hexdigest()] for ref, raw, _ in prepared.data}
        )

    async def _upload(self, raw: bytes, mime: str) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        cached = self._uploads.get(digest)
        # kie keeps uploads for a day at least; reuse an upload for an hour.
        if cached and self.clock.monotonic() - cached[1] < 3600:
            return cached[0]
        name = f"kie-{digest[:12]}-{uuid.uuid4().hex[:8]}{BY_MIME[mime].ext if mime in BY_MIME else '.bin'}"
        url = await self.api.upload(raw, filename=name, content_type=mime)
        self._uploads[digest] = (url, self.clock.monotonic())
        return url


def convert_masks(data: list[tuple[InputRef, bytes, str]], model: str) -> list[tuple[InputRef, bytes, str]]:
    """Every mask input rewritten in the model's convention, checked against its image's size."""
    from kie_widgets.assets.masks import prepare_mask

    by_placeholder = {ref.placeholder: raw for ref, raw, _ in data}
    out = []
    for ref, raw, mime in data:
        if ref.mask is not None:
            image = by_placeholder.get(ref.mask.image) if ref.mask.image else None
            raw, mime = prepare_mask(raw, ref.mask, image, model=model), "image/png"
        out.append((ref, raw, mime))
    return out


def extra_of(entry: Mapping[str, Any], key: str) -> Any:
    """A key of an entry, top-level or inside its nested object of extra data."""
    if key in entry:
        return entry[key]
    for value in entry.values():
        if isinstance(value, Mapping) and key in value:
            return value[key]
    return None


def _urls_in(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body] if body.startswith(("http://", "https://")) else []
    if isinstance(body, Mapping):
        return [u for k, v in body.items() if k != "callBackUrl" for u in _urls_in(v)]
    if isinstance(body, (list, tuple)):
        return [u for v in body for u in _urls_in(v)]
    return []


# --------------------------------------------------------------------------------------------
# Input bytes: sniffing and encoding without importing Pillow here

#: The image types accepted as inputs (the problem reported for anything else names these four).
_INPUT_TYPES = (PNG, JPEG, WEBP, GIF)


def sniff_mime(data: bytes) -> str | None:
    """The image content type of ``data`` from its magic bytes, or None when it is no image we know."""
    kind = sniff_image_type(data)
    return kind.mime if kind in _INPUT_TYPES else None


def _decode_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not a whole image within the pixel cap (decoded, not just sniffed), or None.

    kie charges for a request whose input it cannot read, so a truncated file, a bare signature or a
    decompression bomb is refused here, before the upload.
    """
    from kie_widgets.assets import validate_image_bytes
    from kie_widgets.errors import KieImageError

    try:
        validate_image_bytes(raw)
    except KieImageError as exc:
        return f"is not a usable image: {exc.message}"
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
