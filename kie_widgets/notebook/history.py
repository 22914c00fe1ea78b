"""Rows for ``%kie_image history`` (the manifest, filtered) and ``%kie_image doctor`` (diagnostics)."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from importlib import metadata
from typing import Any

from IPython.core.error import UsageError

from kie_widgets.assets.record import AssetRecord
from kie_widgets.notebook.context import CellContext


def _parse_day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-11-25, got {value!r}.") from None


def _created(entry: Mapping[str, Any]) -> datetime | None:
    raw = entry.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def _short(text: Any, width: int = 48) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _batch(entry: Mapping[str, Any] | None) -> Any:
    return AssetRecord.from_entry(entry).batch if entry else None


def _current_batch(entries: list[Mapping[str, Any]]) -> dict[Any, Any]:
    """Each entry id -> the batch of the newest version in its ``superseded_by`` chain.

    The manifest's rule makes the n variants of one request versions of each other; an entry whose
    chain ends inside its own batch is one of the latest results, not an outdated one.
    """
    by_id = {e.get("id"): e for e in entries}
    current: dict[Any, Any] = {}
    for entry in entries:
        head, seen = entry, {entry.get("id")}
        while head.get("superseded_by") in by_id and head["superseded_by"] not in seen:
            seen.add(head["superseded_by"])
            head = by_id[head["superseded_by"]]
        current[entry.get("id")] = _batch(head)
    return current


def history_rows(
    entries: Iterable[Mapping[str, Any]],
    *,
    scene: int | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
    include_superseded: bool = False,
    limit: int = 50,
) -> list[tuple[Any, ...]]:
    """Image entries matching the filters, oldest first, at most ``limit`` (the newest ones)."""
    first = _parse_day(since, "--since")
    last = _parse_day(until, "--until")
    if limit < 1:
        raise UsageError(f"--limit: must be 1 or more, got {limit}.")
    needle = (model or "").lower()
    rows: list[tuple[Any, ...]] = []
    entries = list(entries)
    current = _current_batch(entries)
    for entry in entries:
        if entry.get("type", "image") != "image":
            continue
        record = AssetRecord.from_entry(entry)
        outdated = entry.get("superseded_by") and (
            record.batch is None or record.batch != current.get(entry.get("id"))
        )
        if outdated and not include_superseded:
            continue
        if scene is not None and str(record.scene_id) != str(scene):
            continue
        if needle and needle not in str(record.model or "").lower():
            continue
        created = _created(entry)
        day = created.astimezone(timezone.utc).date() if created else None
        if first and (day is None or day < first):
            continue
        if last and (day is None or day > last):
            continue
        version = f"v{entry.get('version', 1)}"
        if entry.get("superseded_by"):
            version += f" → {entry['superseded_by']}"
        rows.append(
            (
                entry.get("id"),
                version,
                record.scene_id if record.scene_id is not None else "",
                record.model,
                record.size if record.size is not None else "",
                created.strftime("%Y-%m-%d %H:%M") if created else "",
                _short(record.prompt),
                entry.get("filename"),
            )
        )
    return rows[-limit:]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def frontend(shell: Any) -> str:
    """A best guess at what runs the kernel (for ``doctor``)."""
    if "google.colab" in sys.modules:
        return "Colab"
    user_ns = getattr(shell, "user_ns", None) or {}
    if "__vsc_ipynb_file__" in user_ns or os.environ.get("VSCODE_PID"):
        return "VS Code"
    if getattr(shell, "kernel", None) is None:
        return "terminal IPython (no kernel)"
    if os.environ.get("JPY_SESSION_NAME"):
        return "Jupyter server (JupyterLab / Notebook)"
    return "Jupyter kernel (frontend unknown, e.g. nbclient or papermill)"


def doctor_rows(magics: Any, ctx: CellContext) -> list[tuple[str, str]]:
    """What ``%kie_image doctor`` shows: key source (masked), hosts, mode, project, versions, cell info."""
    from kie_widgets import __version__
    from kie_widgets.config import load_settings

    settings = load_settings()
    key = settings.api_key.masked() if settings.api_key is not None else "none"
    mode = "offline sandbox (KIE_SANDBOX=1)" if settings.sandbox else "live kie.ai"
    rows = [
        ("mode", mode),
        ("API key", f"{key} (from {settings.key_source})"),
        ("base URL", settings.base_url),
        ("upload URL", settings.upload_url),
        ("project root", str(settings.project_root)),
    ]
    try:
        from kie_widgets.notebook.magics import current_client

        manifest = current_client().manifest
        entries = manifest.entries
        pending = manifest.pending()
        rows.append(("manifest", f"{manifest.path} ({len(entries)} entries, {len(pending)} pending task(s))"))
    except Exception as exc:  # doctor must report, not fail
        rows.append(("manifest", f"unreadable: {exc}"))
    rows += [
        ("frontend", frontend(magics.shell)),
        ("this cell", ctx.describe()),
        ("notebook", f"{ctx.notebook} (from {ctx.notebook_source})" if ctx.notebook else "unknown"),
        ("default model", f"{magics.default_model} (mask edits: {magics.default_mask_model})"),
        ("wait by default", str(magics.wait)),
        ("kie_widgets", __version__),
        ("python", platform.python_version()),
    ]
    rows += [(dist, _version(dist)) for dist in ("ipython", "ipykernel", "ipywidgets", "httpx", "pillow")]
    return rows


__all__ = ["doctor_rows", "frontend", "history_rows"]
