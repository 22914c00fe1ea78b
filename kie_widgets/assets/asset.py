"""``Asset``: one recorded image, as the notebook and the client hand it to the user."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kie_widgets.assets.images import MIME_TYPES
from kie_widgets.assets.record import AssetRecord
from kie_widgets.assets.thumbs import thumbnail
from kie_widgets.errors import KieManifestError

if TYPE_CHECKING:
    from PIL import Image


class _Folders(Protocol):
    """Where a manifest's files live (``Manifest`` is one; this module sits below it)."""

    root: Path
    images_dir: Path


@dataclass(frozen=True)
class Asset:
    """A recorded image: its manifest id and entry, where the file is, and how it was made."""

    id: str
    path: Path
    model: str
    prompt: str
    parameters: dict[str, Any]
    task_id: str | None
    #: The entry's version: a whole number, or another writer's value as written (``"abc1"``).
    version: int | str
    scene_id: Any
    entry: dict[str, Any] = field(repr=False, compare=False)
    reused: bool = False
    #: Whether a thumbnail may be cached beside the file: only inside the assets' images folder.
    cache_thumbnails: bool = field(default=True, repr=False, compare=False)

    @classmethod
    def from_entry(cls, entry: dict[str, Any], manifest: _Folders, *, reused: bool = False) -> Asset:
        """The asset a manifest entry describes (``path`` made absolute against the project root)."""
        filename = entry.get("filename")
        if not isinstance(filename, str) or not filename:
            raise KieManifestError(f"Manifest entry {entry.get('id')!r} has no filename.")
        path = Path(filename)
        path = path if path.is_absolute() else manifest.root / path
        return cls(
            id=str(entry.get("id")),
            path=path,
            model=str(entry.get("model") or ""),
            prompt=str(entry.get("prompt") or ""),
            parameters=dict(raw) if isinstance(raw := entry.get("parameters"), Mapping) else {},
            task_id=AssetRecord.from_entry(entry).task_id,
            version=_version(entry.get("version")),
            scene_id=entry.get("scene_id"),
            entry=entry,
            reused=reused,
            cache_thumbnails=path.resolve().is_relative_to(manifest.images_dir.resolve()),
        )

    def __hash__(self) -> int:
        return hash((self.id, str(self.path)))

    @property
    def record(self) -> AssetRecord:
        """Everything recorded about the image, typed (see ``AssetRecord``)."""
        return AssetRecord.from_entry(self.entry)

    @property
    def extra(self) -> dict[str, Any]:
        """Our extra data about the asset (task id, model id, seed, parents, sha256, ...)."""
        value = self.entry.get("kie")
        return dict(value) if isinstance(value, dict) else {}

    def pil(self) -> Image.Image:
        """The image as a loaded PIL image (the file is closed again)."""
        from PIL import Image  # deferred: Pillow is slow to import and only needed here

        with Image.open(self.path, formats=list(MIME_TYPES)) as im:
            im.load()
            return im.copy()

    def caption(self) -> str:
        """One line: id, model, version, scene and the start of the prompt."""
        bits = [self.id, self.model, f"v{self.version}"]
        if self.scene_id not in (None, ""):
            bits.append(f"scene {self.scene_id}")
        if self.reused:
            bits.append("reused")
        prompt = self.prompt if len(self.prompt) <= 80 else self.prompt[:79] + "…"
        return " · ".join(bits) + (f" — {prompt}" if prompt else "")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """One small thumbnail with its caption for Jupyter; never the full file.

        The thumbnail is carried once, as a data URI in the HTML figure (which is what shows the
        caption under it); a separate image mimetype would store the same bytes a second time in
        the saved notebook.
        """
        caption = self.caption()
        try:
            data, mime = thumbnail(self.path, cache=self.cache_thumbnails)
        except Exception as exc:  # a missing or damaged file still gets a readable cell output
            return {"text/plain": f"{caption} (preview unavailable: {exc})"}
        b64 = base64.b64encode(data).decode("ascii")
        figure = (
            f'<figure style="margin:0;display:inline-block"><img src="data:{mime};base64,{b64}" '
            f'alt="{html.escape(self.id)}" style="max-width:512px"/>'
            f'<figcaption style="font-size:smaller">{html.escape(caption)}</figcaption></figure>'
        )
        return {"text/plain": caption, "text/html": figure}


def _version(value: Any) -> int | str:
    """A version as recorded: whole numbers as ints; anything another writer left, as its text."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value)
    return int(text) if text.isdigit() else text
