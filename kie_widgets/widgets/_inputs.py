"""Reference images for the form: typed (path, URL, asset id), chosen from disk, or uploaded.

Each input shows as a small thumbnail with a remove button. Nothing is uploaded to kie here: the
sources go into the request as they are and the client uploads local data only when it is sent.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from kie_widgets.widgets._util import replace_children

# FileUpload travels over the widget websocket, which drops messages above about 10 MB
# (ipywidgets#2522); warn well before that and point to the file chooser.
UPLOAD_WARN_BYTES = 8 * 1024 * 1024
CHIP_SIDE = 72


def _thumb_bytes(data: bytes) -> bytes | None:
    """A small PNG of image ``data`` for a chip, or None if it is not an image we can read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((CHIP_SIDE, CHIP_SIDE))
            out = io.BytesIO()
            img.convert("RGBA").save(out, "PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        return None


class InputList(w.VBox):
    """The request's input images, as sources a plan understands (path, URL, asset id or bytes)."""

    def __init__(self, on_change: Callable[[], None], find_asset: Callable[[str], Any] | None = None):
        self._on_change = on_change
        self._find_asset = find_asset
        self.sources: list[Any] = []
        self.entry = w.Text(
            description="Add image",
            placeholder="path, URL or asset id like img-007",
            continuous_update=False,
            style={"description_width": "initial"},
        )
        self.add = w.Button(description="Add", tooltip="Add the image named on the left")
        self.upload = w.FileUpload(accept="image/*", multiple=True, description="Upload")
        self.warning = w.HTML()
        self.chips = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.add.on_click(lambda _b: self._add_typed())
        self.entry.observe(lambda _c: self._add_typed(), "value")  # Enter or leaving the box adds it
        self.upload.observe(self._uploaded, "value")
        chooser = self._chooser()
        super().__init__([w.HBox([self.entry, self.add, self.upload]), *chooser, self.warning, self.chips])

    def _chooser(self) -> list[w.Widget]:
        try:
            from ipyfilechooser import FileChooser
        except ImportError:  # a broken install: typing the path does the same
            return []
        chooser = FileChooser(
            str(Path.cwd()),
            title="Choose an image file",
            filter_pattern=["*.png", "*.jpg", "*.jpeg", "*.webp"],
        )

        def chosen(fc: Any) -> None:
            if fc.selected:
                self.set_sources([*self.sources, fc.selected])

        chooser.register_callback(chosen)
        return [chooser]

    def set_sources(self, sources: list[Any]) -> None:
        """Replace the inputs (what ``form.set(images=...)`` does)."""
        self.sources = list(sources)
        self._draw()
        self._on_change()

    def _add_typed(self) -> None:
        text = self.entry.value.strip()
        if text:
            self.entry.value = ""
            self.set_sources([*self.sources, text])

    def _uploaded(self, change: Any) -> None:
        files = change["new"] or ()
        big = [f["name"] for f in files if f.get("size", len(f["content"])) > UPLOAD_WARN_BYTES]
        self.warning.value = (
            f"<div role='alert'>{html.escape(', '.join(big))}: uploads above about 8 MB can fail "
            "silently in the browser; choose the file with the file chooser or type its path.</div>"
            if big
            else ""
        )
        added = [bytes(f["content"]) for f in files if f["name"] not in big]
        if added:
            self.set_sources([*self.sources, *added])

    def _draw(self) -> None:
        replace_children(self.chips, (self._chip(i, s) for i, s in enumerate(self.sources)))

    def _chip(self, index: int, source: Any) -> w.Widget:
        label = f"upload {index + 1} ({len(source) // 1024} KB)" if isinstance(source, bytes) else str(source)
        image = w.Image(layout=w.Layout(width=f"{CHIP_SIDE}px", height="auto"))
        data = self._preview(source)
        if data is not None:
            image.value = data
        else:
            image.layout.display = "none"
        remove = w.Button(description="Remove", tooltip=f"Remove {label}", layout=w.Layout(width="auto"))
        remove.on_click(lambda _b: self.set_sources([s for i, s in enumerate(self.sources) if i != index]))
        return w.VBox([image, w.HTML(f"<small>{html.escape(label[-40:])}</small>"), remove])

    def _preview(self, source: Any) -> bytes | None:
        if isinstance(source, bytes):
            return _thumb_bytes(source)
        text = str(source)
        if self._find_asset is not None and text.startswith("img-"):
            asset = self._find_asset(text)
            path = getattr(asset, "path", None)
            return _thumb_bytes(path.read_bytes()) if path is not None and path.exists() else None
        path = Path(text).expanduser()
        if "://" not in text and path.is_file() and path.stat().st_size < 64 * 1024 * 1024:
            return _thumb_bytes(path.read_bytes())
        return None


__all__ = ["UPLOAD_WARN_BYTES", "InputList"]
