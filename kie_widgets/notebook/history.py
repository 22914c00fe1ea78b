"""Rows for ``%kie_image history`` (the manifest, filtered) and ``%kie_image doctor`` (diagnostics)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import date
from importlib import metadata
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from kie_widgets.assets.record import AssetRecord
from kie_widgets.notebook.context import CellContext

if TYPE_CHECKING:
    from kie_widgets.session import Session


def _parse_day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-11-25, got {value!r}.") from None


def _short(text: Any, width: int = 48) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def history_rows(
    session: Session,
    *,
    scene: int | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
    include_superseded: bool = False,
    limit: int = 50,
) -> list[tuple[Any, ...]]:
    """The session's image entries matching the filters as table rows, oldest first."""
    first = _parse_day(since, "--since")
    last = _parse_day(until, "--until")
    if limit < 1:
        raise UsageError(f"--limit: must be 1 or more, got {limit}.")
    from kie_widgets.session import created_at

    rows: list[tuple[Any, ...]] = []
    for entry in session.history(
        scene=scene,
        model=model,
        since=first,
        until=last,
        include_superseded=include_superseded,
        limit=limit,
    ):
        created = created_at(entry)
        record = AssetRecord.from_entry(entry)
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
    return rows


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
        from kie_widgets.session import current_session

        session = current_session()
        entries, pending = session.entries(), session.pending()
        path = session.manifest.path
        rows.append(("manifest", f"{path} ({len(entries)} entries, {len(pending)} pending task(s))"))
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
