"""Run tiles: one per kie task, live while it runs, a thumbnail when it is done.

A tile is updated from the session's delivery thread through widget traits only (DESIGN.md §4):
traits are synchronised from any thread, ``with output:`` from another thread is not.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kie_widgets.widgets._util import replace_children

if TYPE_CHECKING:
    from kie_widgets.assets import Asset
    from kie_widgets.session import TaskEvent, TaskHandle

# Symbols the default fonts of a Linux desktop have (no emoji font is assumed).
STATE_ICON = {
    "planned": "…",
    "uploading": "⇡",
    "submitting": "⇢",
    "queued": "◷",
    "generating": "⚙",
    "downloading": "⇣",
    "done": "✔",
    "reused": "↺",
    "failed": "✘",
    "uncertain": "?",
    "stopped waiting": "◷",
}
TILE_SIDE = 192
#: Tiles kept in the run area; older runs are in the gallery.
MAX_TILES = 24


def thumbnail_widget(asset: Asset | None, side: int = TILE_SIDE) -> w.Image:
    """A small image widget of an asset's thumbnail (never the full file)."""
    image = w.Image(format="jpeg", layout=w.Layout(width=f"{side}px", height="auto"))
    if asset is not None:
        set_thumbnail(image, asset, side)
    return image


def set_thumbnail(image: w.Image, asset: Asset, side: int = TILE_SIDE) -> None:
    """Show ``asset``'s cached thumbnail in ``image``."""
    from kie_widgets.assets import thumbnail

    data, mime = thumbnail(asset.path, max_side=side)
    image.format = mime.split("/")[-1]
    image.value = data


class RunTile(w.VBox):
    """One task: model and price on top, its live state, then the image and what to do with it."""

    def __init__(self, handle: TaskHandle, legend: str = "", on_keep: Callable[[Asset], None] | None = None):
        self.handle = handle
        self.title = w.HTML(
            f"<b>{html.escape(handle.model)}</b> · {handle.credits:g} cr"
            + (f"<br><span>{html.escape(legend)}</span>" if legend else "")
        )
        self.state = w.HTML()
        self.image = thumbnail_widget(None)
        self.image.layout.display = "none"
        fit = w.Layout(width="auto")
        self.stop = w.Button(
            description="Stop waiting", tooltip="Stop following; the task stays journaled", layout=fit
        )
        self.keep = w.Button(
            description="Keep", tooltip="Mark this take as the one you chose", disabled=True, layout=fit
        )
        self.stop.on_click(lambda _b: handle.stop_waiting())
        self._on_keep = on_keep
        self.keep.on_click(lambda _b: self._keep())
        super().__init__(
            [
                self.title,
                self.image,
                self.state,
                w.HBox([self.stop, self.keep], layout=w.Layout(flex_flow="row wrap")),
            ],
            layout=w.Layout(
                border="1px solid #ccc", padding="4px", margin="4px", width=f"{TILE_SIDE + 16}px"
            ),
        )
        self.update(None)

    def update(self, event: TaskEvent | None) -> None:
        """Show the handle's current state (called on the delivery thread)."""
        h = self.handle
        what = h.state
        if h.state == "generating" and h.progress is not None:
            what = f"generating {h.progress * 100:.0f}%"
        line = f"{STATE_ICON.get(h.state, '·')} {what} · {h.elapsed:.0f}s"
        detail = h.message if h.state in {"failed", "uncertain", "stopped waiting"} else ""
        if h.task_id:
            line += f"<br><small>task {html.escape(h.task_id[:12])}</small>"
        if detail:
            line += f"<br><small>{html.escape(detail[:300])}</small>"
        self.state.value = f"<span role='status'>{line}</span>"
        self.stop.disabled = h.done
        if h.assets:
            set_thumbnail(self.image, h.assets[0])
            self.image.layout.display = ""
            self.keep.disabled = False

    def _keep(self) -> None:
        if self.handle.assets and self._on_keep is not None:
            self._on_keep(self.handle.assets[0])
            self.keep.description = "Kept"
            self.keep.disabled = True


class RunArea(w.VBox):
    """The tiles of the latest runs, newest first, laid out as a compare grid."""

    def __init__(self) -> None:
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns=f"repeat(auto-fill, {TILE_SIDE + 24}px)"))
        self.heading = w.HTML()
        self.tiles: list[RunTile] = []
        super().__init__([self.heading, self.grid])

    def show(self, tiles: list[RunTile], heading: str) -> None:
        """Put ``tiles`` first (one run's tasks side by side)."""
        # Older tiles leave (their images are in the gallery): the saved widget state stays small.
        self.tiles = (tiles + self.tiles)[: max(MAX_TILES, len(tiles))]
        replace_children(self.grid, self.tiles)
        self.heading.value = f"<b>{html.escape(heading)}</b>"


def on_events(tiles: list[RunTile]) -> Callable[[Any], None]:
    """A run subscriber that redraws the tile of each event's handle."""
    by_handle = {id(t.handle): t for t in tiles}

    def deliver(event: TaskEvent) -> None:
        tile = by_handle.get(id(event.handle))
        if tile is not None:
            tile.update(event)

    return deliver


__all__ = ["STATE_ICON", "RunArea", "RunTile", "on_events", "set_thumbnail", "thumbnail_widget"]
