"""Finding what is known about an image: in the file itself, its sidecar, or the manifest.

``recipe_from(path_or_asset_id)`` reads a description back: embedded metadata, then the sidecar, then
the manifest (by asset id, file name, content hash or pixels, so a stripped or re-saved copy is still
recognised).
``export_tagged`` writes a copy of a recorded image with its description embedded. The encoding is
in ``meta``; this module sits above the manifest store, which ``meta`` must not import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kie_widgets.assets.images import DEFAULT_MAX_PIXELS, sha256_file
from kie_widgets.assets.manifest import Manifest
from kie_widgets.assets.meta import describe, embedded, parse_xmp, sidecar_path, tagged_bytes
from kie_widgets.assets.record import AssetRecord
from kie_widgets.errors import KieUnknownImageError, KieValidationError

_ASSET_ID_RE = re.compile(r"^[a-z]+-\d+$")


def export_tagged(
    path_or_asset_id: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    manifest: Manifest | None = None,
) -> Path:
    """Write a copy of an asset with its id and recipe embedded (the archive file is not touched)."""
    manifest = manifest or Manifest()
    entry = _entry_for(path_or_asset_id, manifest)
    if entry is None:
        raise KieUnknownImageError(f"{path_or_asset_id!s} is not a recorded asset of {manifest.path}.")
    source = manifest.resolve_filename(entry.get("filename"))
    if source is None:
        raise KieValidationError(f"the file of {entry.get('id')} ({entry.get('filename')}) is missing")
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / source.name
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(tagged_bytes(source.read_bytes(), describe(entry)))
    os.replace(tmp, dest)
    return dest


def _entry_for(key: str | os.PathLike[str], manifest: Manifest) -> dict[str, Any] | None:
    text = os.fspath(key)
    if _ASSET_ID_RE.match(text) and not Path(text).exists():
        return manifest.get(text)
    path = Path(text).absolute()
    for entry in reversed(manifest.entries):
        found = manifest.resolve_filename(entry.get("filename"))
        if found is not None and found.absolute() == path:
            return entry
    if path.is_file():
        digest = sha256_file(path)
        for entry in reversed(manifest.entries):
            if AssetRecord.from_entry(entry).sha256 == digest:
                return entry
        return _same_pixels(path, manifest)
    return None


def _same_pixels(path: Path, manifest: Manifest) -> dict[str, Any] | None:
    """The entry whose image has exactly the pixels of ``path`` (a re-saved copy, metadata stripped).

    Only entries of the same pixel size are decoded, newest first.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            size = im.size
            if size[0] * size[1] > DEFAULT_MAX_PIXELS:
                return None
            pixels = im.convert("RGBA").tobytes()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    for entry in reversed(manifest.entries):
        record = AssetRecord.from_entry(entry)
        if (record.width, record.height) != size:
            continue
        source = manifest.resolve_filename(entry.get("filename"))
        if source is None:
            continue
        try:
            with Image.open(source) as original:
                if original.convert("RGBA").tobytes() == pixels:
                    return entry
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            continue
    return None


def recipe_from(
    path_or_asset_id: str | os.PathLike[str], *, manifest: Manifest | None = None
) -> dict[str, Any]:
    """How an image was made: asset id, model, prompt, parameters, recipe hash, seed, parents, ...

    Looks in the file itself (a copy made by ``export_tagged``), then its ``.xmp`` sidecar, then the
    manifest (by asset id, file name, content hash, or the same pixels for a re-saved copy).
    ``source`` in the result says which one answered. Raises ``KieUnknownImageError`` when none
    knows the image.
    """
    text = os.fspath(path_or_asset_id)
    path = Path(text)
    if path.is_file():
        payload = embedded(path)
        if payload is not None:
            return {**payload, "source": "embedded"}
        side = sidecar_path(path)
        if side.is_file():
            payload = parse_xmp(side.read_bytes())
            if payload is not None:
                return {**payload, "source": "sidecar"}
    manifest = manifest or Manifest()
    entry = _entry_for(path_or_asset_id, manifest)
    if entry is None:
        raise KieUnknownImageError(
            f"No recipe is known for {text!r}: it carries no embedded description, has no .xmp "
            f"sidecar, and matches no entry of {manifest.path} by id, file name, bytes or pixels."
        )
    return {**describe(entry), "source": "manifest"}


__all__ = ["export_tagged", "recipe_from"]
