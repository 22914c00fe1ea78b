"""What a ``%%kie_image`` cell shows: a status line updated in place, then small thumbnails with captions.

Everything here builds plain mimebundles (``text/plain``, ``text/html``, ``image/jpeg``/``image/png``)
so a saved notebook reads the same without a kernel, on GitHub or after ``nbconvert``. Outputs are
placed through display handles: a handle is created on the thread that runs the cell (so it lands in
that cell) and may later be updated from the client's loop thread; frontends route updates by display
id, not by whichever cell happens to be running then.
"""

from __future__ import annotations

import base64
import html
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.display import DisplayHandle, display

#: Longest side of an inline thumbnail, in pixels.
THUMBNAIL_SIDE = 384
#: Upper bound for one inline image, whatever the size of the source file.
MAX_INLINE_BYTES = 150_000
#: Key under which kie_widgets puts ids in an output's metadata.
METADATA_KEY = "kie_widgets"

_STATE_ICON = {
    "planning": "…",
    "uploading": "⇡",
    "submitting": "⇢",
    "queued": "⏳",
    "generating": "⚙",
    "downloading": "⇣",
    "done": "✔",
    "reused": "↺",
    "failed": "✘",
    "timeout": "⌛",
    "waiting": "⏳",
    "background": "⏳",
}


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def format_elapsed(seconds: float) -> str:
    """``4.2`` -> ``"4s"``, ``75`` -> ``"1m15s"``."""
    whole = int(max(0.0, seconds))
    if whole < 60:
        return f"{whole}s"
    return f"{whole // 60}m{whole % 60:02d}s"


def status_text(
    label: str,
    state: str,
    *,
    elapsed: float,
    progress: float | None = None,
    task_id: str | None = None,
    message: str = "",
) -> str:
    """One status line: ``⚙ Imagen 4 · generating 40% · 12s · task 8f3c…``."""
    icon = _STATE_ICON.get(state, "·")
    what = state
    if progress is not None and state == "generating":
        pct = progress * 100 if progress <= 1 else progress
        what = f"{state} {pct:.0f}%"
    parts = [f"{icon} {label}", what, format_elapsed(elapsed)]
    if task_id:
        parts.append(f"task {task_id}")
    if message and message != state:
        parts.append(message)
    return " · ".join(parts)


def status_bundle(text: str, *, failed: bool = False) -> dict[str, str]:
    """A status line as text and as a small grey (or red) monospace line."""
    color = "#b00020" if failed else "#555"
    return {
        "text/plain": text,
        "text/html": f'<div style="font-family:monospace;font-size:12px;color:{color}">{_esc(text)}</div>',
    }


class StatusLine:
    """One line of output, created now on the calling thread, updated in place from any thread.

    Updates are throttled (progress ticks at most every ``min_interval`` seconds; a change of state is
    always shown). In a terminal, where an update prints a new line, only changes of state are shown.
    """

    def __init__(self, label: str, *, live: bool = True, min_interval: float = 0.25) -> None:
        self.label = label
        self.live = live
        self.min_interval = min_interval
        self.started = time.monotonic()
        self.state = "planning"
        self.task_id: str | None = None
        self.progress: float | None = None
        self.message = ""
        self.closed = False
        self._lock = threading.RLock()
        self._last_shown = self.started
        self._last_state = ""
        text = status_text(label, self.state, elapsed=0.0)
        self.handle: DisplayHandle | None = display(status_bundle(text), raw=True, display_id=True)
        self._last_state = self.state
        self._last_text = text

    @property
    def elapsed(self) -> float:
        """Seconds since the line was created."""
        return time.monotonic() - self.started

    @property
    def since_shown(self) -> float:
        """Seconds since the line was last drawn."""
        return time.monotonic() - self._last_shown

    def post(
        self,
        state: str | None = None,
        *,
        progress: float | None = None,
        task_id: str | None = None,
        message: str | None = None,
    ) -> None:
        """Record the newest state without drawing (any thread); ``flush`` draws it."""
        with self._lock:
            if state is not None:
                self.state = state
            if progress is not None or state is not None:
                self.progress = progress
            if task_id:
                self.task_id = task_id
            if message is not None:
                self.message = message

    def flush(self, *, force: bool = False) -> None:
        """Redraw if the state changed, or (live only) if ``force`` or ``min_interval`` has passed.

        Drawing happens under the lock, so a late redraw can never overwrite the final output that
        ``replace`` put in place.
        """
        with self._lock:
            if self.closed:
                return
            now = time.monotonic()
            changed = self.state != self._last_state
            if not changed and (not self.live or (not force and now - self._last_shown < self.min_interval)):
                return
            text = status_text(
                self.label,
                self.state,
                elapsed=self.elapsed,
                progress=self.progress,
                task_id=self.task_id,
                message=self.message,
            )
            if text == self._last_text:
                return  # the elapsed time shows whole seconds: most ticks would repeat the same line
            self._last_shown, self._last_state, self._last_text = now, self.state, text
            self._publish(status_bundle(text, failed=self.state in {"failed", "timeout"}))

    def update(
        self,
        state: str | None = None,
        *,
        progress: float | None = None,
        task_id: str | None = None,
        message: str | None = None,
        force: bool = False,
    ) -> None:
        """``post`` then ``flush``: record the newest state and redraw if it is worth it."""
        self.post(state, progress=progress, task_id=task_id, message=message)
        self.flush(force=force)

    def tick(self) -> None:
        """Redraw with the current elapsed time (called about once a second while waiting)."""
        self.flush(force=True)

    def replace(self, data: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> None:
        """Turn the status line into a final output (a caption, an error); later updates are ignored."""
        with self._lock:
            self.closed = True
            self._publish(dict(data), dict(metadata or {}))

    def _publish(self, data: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
        if self.handle is not None:
            self.handle.update(data, raw=True, metadata=metadata or {})


@dataclass(frozen=True)
class Thumbnail:
    """An inline image: encoded bytes and their mimetype."""

    data: bytes
    mimetype: str


ThumbnailMaker = Callable[[Any], Thumbnail | None]


def entry_extra(asset: Any) -> dict[str, Any]:
    """The nested object of extra keys in an asset's manifest entry (task id, credits, ...)."""
    entry = getattr(asset, "entry", None) or {}
    # "kie" is the manifest's extras key (assets.schema.EXTRA_KEY); not imported, to keep
    # `%load_ext` from loading the assets package.
    value = entry.get("kie")
    return value if isinstance(value, dict) else {}


def asset_size(asset: Any) -> str:
    """``parameters.size`` of the asset (``"16:9"``, ``"1K"``), or ``""``."""
    params = getattr(asset, "parameters", None) or {}
    return str(params.get("size", "")) if isinstance(params, Mapping) else ""


def asset_credits(asset: Any) -> float | None:
    """Credits the asset's task cost, if recorded; 0 for a reused result."""
    if getattr(asset, "reused", False):
        return 0.0
    value = entry_extra(asset).get("credits")
    return float(value) if isinstance(value, (int, float)) else None


def link_target(path: Path | str) -> str:
    """A link to the full file, relative to the working directory (the notebook's folder in Jupyter)."""
    try:
        rel = os.path.relpath(Path(path), Path.cwd())
    except ValueError:  # another drive on Windows
        return Path(path).as_uri()
    return rel.replace(os.sep, "/")


def caption_text(asset: Any) -> str:
    """``img-004 · Imagen 4 · v2 · 16:9 · 4 credits`` (``reused, no credits`` for a reused result)."""
    parts = [str(getattr(asset, "id", "?")), str(getattr(asset, "model", "?"))]
    version = getattr(asset, "version", None)
    if version is not None:
        parts.append(f"v{version}")
    size = asset_size(asset)
    if size:
        parts.append(size)
    if getattr(asset, "reused", False):
        parts.append("reused, no credits")
    else:
        credits = asset_credits(asset)
        if credits is not None:
            parts.append(f"{credits:g} credits")
    scene = getattr(asset, "scene_id", None)
    if scene is not None:
        parts.append(f"scene {scene}")
    return " · ".join(parts)


def output_metadata(assets: Sequence[Any], **more: Any) -> dict[str, Any]:
    """Asset ids, task ids and scene ids for an output's metadata (searchable in the saved file)."""
    scenes = sorted({a.scene_id for a in assets if getattr(a, "scene_id", None) is not None})
    meta: dict[str, Any] = {
        "asset_ids": [getattr(a, "id", None) for a in assets],
        "task_ids": sorted({t for a in assets if (t := getattr(a, "task_id", None))}),
        "scene_id": scenes[0] if len(scenes) == 1 else (scenes or None),
        "reused": [bool(getattr(a, "reused", False)) for a in assets],
    }
    meta.update({k: v for k, v in more.items() if v is not None})
    return meta


def image_bundle(asset: Any, thumb: Thumbnail) -> tuple[dict[str, Any], dict[str, Any]]:
    """One inline image (plain image mimetype) with its caption as text, and ids in the metadata."""
    data = {
        thumb.mimetype: base64.b64encode(thumb.data).decode("ascii"),
        "text/plain": caption_text(asset),
    }
    metadata = {METADATA_KEY: output_metadata([asset], path=link_target(asset.path))}
    return data, metadata


def caption_bundle(
    assets: Sequence[Any], *, title: str = "", elapsed: float | None = None, note: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary with the images: one row per asset with its caption and a link to the full file.

    ``note`` is a short remark shown under the table (for example that no cell id was recorded).
    """
    head = title or (f"{len(assets)} image" + ("s" if len(assets) != 1 else ""))
    if elapsed is not None:
        head += f" in {format_elapsed(elapsed)}"
    lines = [head]
    rows = []
    for asset in assets:
        target = link_target(asset.path)
        lines.append(f"  {caption_text(asset)}  {target}")
        task = getattr(asset, "task_id", None)
        rows.append(
            "<tr>"
            f"<td><code>{_esc(asset.id)}</code></td>"
            f"<td>{_esc(caption_text(asset).split(' · ', 1)[-1])}</td>"
            f'<td><a href="{_esc(target)}" target="_blank">{_esc(Path(str(asset.path)).name)}</a></td>'
            f"<td><code>{_esc(task or '')}</code></td>"
            "</tr>"
        )
    if note:
        lines.append(f"  ({note})")
    note_html = f'<div style="color:#777">{_esc(note)}</div>' if note else ""
    table = (
        f'<div style="font-size:12px"><div>✔ {_esc(head)}</div>'
        '<table style="font-size:12px"><thead><tr><th>id</th><th>model · version · size · credits</th>'
        f"<th>full file</th><th>task</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{note_html}</div>"
    )
    return {"text/plain": "\n".join(lines), "text/html": table}, {METADATA_KEY: output_metadata(assets)}


def text_bundle(text: str, *, html_text: str | None = None) -> dict[str, str]:
    """Plain text plus a monospace HTML rendering of it."""
    return {
        "text/plain": text,
        "text/html": html_text or f'<pre style="font-size:12px">{_esc(text)}</pre>',
    }


def table_bundle(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "") -> dict[str, str]:
    """A table as aligned plain text and as HTML."""
    rows = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [title] if title else []
    lines.append(fmt.format(*headers).rstrip())
    lines.extend(fmt.format(*row).rstrip() for row in rows)
    head = "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{_esc(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    caption = f"<div><b>{_esc(title)}</b></div>" if title else ""
    return {
        "text/plain": "\n".join(lines),
        "text/html": f'<div style="font-size:12px">{caption}<table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>",
    }


def show(data: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> DisplayHandle | None:
    """Display a raw bundle in the current cell and return its handle."""
    return display(dict(data), raw=True, metadata=dict(metadata or {}), display_id=True)


__all__ = [
    "MAX_INLINE_BYTES",
    "METADATA_KEY",
    "THUMBNAIL_SIDE",
    "StatusLine",
    "Thumbnail",
    "ThumbnailMaker",
    "asset_credits",
    "asset_size",
    "caption_bundle",
    "caption_text",
    "entry_extra",
    "format_elapsed",
    "image_bundle",
    "link_target",
    "output_metadata",
    "show",
    "status_bundle",
    "status_text",
    "table_bundle",
    "text_bundle",
]
