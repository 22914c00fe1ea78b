"""Inline images of results: a thumbnail small enough for the saved notebook, whatever the source."""

from __future__ import annotations

from typing import Any

from kie_widgets.notebook import display as ui


class Renderer:
    """Makes the inline bundle of an asset: a thumbnail under ``max_bytes``, its caption and ids."""

    def __init__(self, *, side: int = ui.THUMBNAIL_SIDE, max_bytes: int = ui.MAX_INLINE_BYTES) -> None:
        self.side = side
        self.max_bytes = max_bytes

    def thumbnail(self, asset: Any) -> ui.Thumbnail | None:
        """The largest thumbnail (long side ``side``, then smaller) whose bytes fit ``max_bytes``."""
        from kie_widgets.assets import thumbnail

        side = self.side
        while side >= 32:
            data, mime = thumbnail(asset.path, max_side=side, cache=getattr(asset, "cache_thumbnails", True))
            # base64 grows the bytes by a third in the saved notebook; the bound is on what is saved.
            if (len(data) * 4) // 3 <= self.max_bytes:
                return ui.Thumbnail(data=data, mimetype=mime)
            side = int(side * 0.7)
        return None

    def bundle(self, asset: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(data, metadata) for one inline image; a text caption when no preview can be made."""
        try:
            thumb = self.thumbnail(asset)
        except Exception as exc:  # a damaged or missing file still gets a readable output
            return {"text/plain": f"{ui.caption_text(asset)} (preview unavailable: {exc})"}, {
                ui.METADATA_KEY: ui.output_metadata([asset])
            }
        if thumb is None:
            return {"text/plain": f"{ui.caption_text(asset)} (preview too large to inline)"}, {
                ui.METADATA_KEY: ui.output_metadata([asset])
            }
        return ui.image_bundle(asset, thumb)


__all__ = ["Renderer"]
