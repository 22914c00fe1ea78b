"""Edits you can check: how much a masked edit changed outside its mask, and a hard composite.

Models do not always respect a mask (the skill document warns that 4o edits shift colours and
backgrounds). ``drift_report`` compares the source, the result and the mask; ``record_composite``
keeps the original pixels outside the mask and records the outcome as its own asset, the edit as
its parent.
"""

from __future__ import annotations

import html
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kie_widgets.assets.masks import encode_png, open_image, scale_mask

if TYPE_CHECKING:
    from PIL import Image

    from kie_widgets.assets.asset import Asset
    from kie_widgets.assets.manifest import Manifest

#: A channel difference up to this counts as unchanged (JPEG and resampling noise).
DEFAULT_TOLERANCE = 8
# The changed-pixel map is searched for connected regions on a grid at most this many cells wide.
_GRID = 256


@dataclass(frozen=True)
class DriftReport:
    """What a masked edit changed outside its mask, measured against the source's pixels."""

    source_size: tuple[int, int]
    result_size: tuple[int, int]
    outside_pixels: int  # pixels the mask says to keep
    changed_pixels: int  # of those, how many differ by more than ``tolerance`` in some channel
    largest_region: tuple[int, int, int, int] | None  # (x0, y0, x1, y1) of the largest changed area
    mean_shift: tuple[float, float, float]  # mean (result - source) per R, G, B outside the mask
    tolerance: int = DEFAULT_TOLERANCE

    @property
    def changed_share(self) -> float:
        """Share (0–1) of the pixels outside the mask that changed."""
        return self.changed_pixels / self.outside_pixels if self.outside_pixels else 0.0

    @property
    def resized(self) -> bool:
        """Whether the result had another size and was scaled to the source's for the comparison."""
        return self.result_size != self.source_size

    @property
    def clean(self) -> bool:
        """Whether nothing outside the mask changed."""
        return self.changed_pixels == 0

    def lines(self) -> list[str]:
        """The report as short lines for people."""
        shift = ", ".join(f"{name} {value:+.1f}" for name, value in zip("RGB", self.mean_shift, strict=True))
        out = [
            f"Changed outside the mask: {self.changed_share:.1%} of {self.outside_pixels:,} pixels "
            f"(differences above {self.tolerance} of 255)",
            f"Mean colour shift outside the mask: {shift}",
        ]
        if self.largest_region is not None:
            x0, y0, x1, y1 = self.largest_region
            out.append(
                f"Largest changed area outside the mask: x {x0}–{x1}, y {y0}–{y1} ({x1 - x0}×{y1 - y0})"
            )
        if self.resized:
            w, h = self.result_size
            out.append(
                f"The result is {w}×{h}, the source {self.source_size[0]}×{self.source_size[1]}: "
                "compared after scaling the result to the source's size."
            )
        if self.clean:
            out.append("The model kept everything outside the mask.")
        else:
            out.append("A hard composite (record_composite) puts the original pixels back outside the mask.")
        return out

    def __str__(self) -> str:
        return "Drift report\n" + "\n".join(f"  {line}" for line in self.lines())

    def _repr_html_(self) -> str:
        rows = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines())
        verdict = "kept the unmasked area" if self.clean else f"{self.changed_share:.1%} drift"
        return (
            f'<div class="kie-drift-report"><strong>Drift report: {html.escape(verdict)}</strong>'
            f"<ul>{rows}</ul></div>"
        )


def _rgb_pair(source: Any, result: Any) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """Source and result as RGB at the source's size, and the result's own size."""
    from PIL import Image

    src = open_image(source, what="source").convert("RGB")
    res = open_image(result, what="result").convert("RGB")
    result_size = res.size
    if res.size != src.size:
        res = res.resize(src.size, Image.Resampling.LANCZOS)
    return src, res, result_size


def drift_report(source: Any, result: Any, mask: Any, *, tolerance: int = DEFAULT_TOLERANCE) -> DriftReport:
    """Compare ``result`` with ``source`` outside ``mask`` (ours: 255 = change; any size, scaled).

    ``source`` and ``result`` may be paths, bytes, PIL images or assets.
    """
    from PIL import ImageChops, ImageStat

    src, res, result_size = _rgb_pair(source, result)
    keep = scale_mask(open_image(mask, what="mask"), src.size).point(lambda v: 255 - v)
    outside = keep.histogram()[255]
    diff = ImageChops.difference(res, src).split()
    biggest = ImageChops.lighter(ImageChops.lighter(diff[0], diff[1]), diff[2])
    changed = ImageChops.multiply(biggest.point(lambda v: 255 if v > tolerance else 0), keep)
    changed_pixels = changed.histogram()[255]
    if outside:
        after = ImageStat.Stat(res, mask=keep).mean
        before = ImageStat.Stat(src, mask=keep).mean
        shift = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    else:
        shift = (0.0, 0.0, 0.0)
    return DriftReport(
        source_size=src.size,
        result_size=result_size,
        outside_pixels=outside,
        changed_pixels=changed_pixels,
        largest_region=_largest_region(changed) if changed_pixels else None,
        mean_shift=(round(shift[0], 2), round(shift[1], 2), round(shift[2], 2)),
        tolerance=tolerance,
    )


def _largest_region(changed: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box, in pixels, of the largest 8-connected area of 255s (found on a coarse grid)."""
    from PIL import Image

    w, h = changed.size
    step = max(1, -(-max(w, h) // _GRID))
    gw, gh = -(-w // step), -(-h // step)
    # A cell counts as changed when its pixels changed on average at all; a lone stray pixel in a big
    # cell may round away, which is what noise should do.
    grid = changed.reduce(step) if step > 1 else changed
    if grid.size != (gw, gh):
        grid = grid.resize((gw, gh), Image.Resampling.NEAREST)
    cells = grid.point(lambda v: 255 if v else 0).tobytes()
    seen = bytearray(gw * gh)
    best: tuple[int, tuple[int, int, int, int]] | None = None
    for start, value in enumerate(cells):
        if not value or seen[start]:
            continue
        seen[start] = 1
        queue = deque([start])
        count, x0, y0, x1, y1 = 0, gw, gh, 0, 0
        while queue:
            i = queue.popleft()
            x, y = i % gw, i // gw
            count += 1
            x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
            for ny in (y - 1, y, y + 1):
                for nx in (x - 1, x, x + 1):
                    j = ny * gw + nx
                    if 0 <= nx < gw and 0 <= ny < gh and cells[j] and not seen[j]:
                        seen[j] = 1
                        queue.append(j)
        if best is None or count > best[0]:
            best = (count, (x0, y0, x1, y1))
    if best is None:
        return None
    x0, y0, x1, y1 = best[1]
    return (x0 * step, y0 * step, min(w, (x1 + 1) * step), min(h, (y1 + 1) * step))


def composite(source: Any, result: Any, mask: Any) -> Image.Image:
    """The result inside the mask, the source's own pixels outside it (RGB, the source's size)."""
    from PIL import Image

    src, res, _ = _rgb_pair(source, result)
    inside = scale_mask(open_image(mask, what="mask"), src.size)
    return Image.composite(res, src, inside)


def record_composite(manifest: Manifest, edit: Any, source: Any, mask: Any) -> Asset:
    """Save the hard composite of ``edit`` over ``source`` and record it with the edit as its parent.

    ``edit`` is an ``Asset`` or a manifest entry (dict); the new entry has operation "composite",
    the edit's prompt and model, and ``parents`` = [the edit's id].
    """
    from kie_widgets.assets.asset import Asset
    from kie_widgets.assets.images import save_image_bytes

    entry = edit.entry if isinstance(edit, Asset) else dict(edit)
    edit_id = str(entry.get("id"))
    result_path = edit.path if isinstance(edit, Asset) else manifest.root / Path(str(entry.get("filename")))
    image = composite(source, result_path, mask)
    saved = save_image_bytes(encode_png(image), folder=manifest.images_dir)
    raw_extra = entry.get("kie")
    extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
    try:
        recorded = manifest.record_image(
            saved,
            prompt=entry.get("prompt"),
            model=entry.get("model"),
            parameters={"size": f"{image.width}x{image.height}", "endpoint": None},
            scene_id=entry.get("scene_id"),
            parents=[edit_id],
            operation="composite",
            model_id=extra.get("model_id"),
        )
    except BaseException:
        saved.discard()
        raise
    return Asset.from_entry(recorded, manifest)


__all__ = ["DEFAULT_TOLERANCE", "DriftReport", "composite", "drift_report", "record_composite"]
