"""Which manifest entries a history view or the gallery shows: filters over the plain entries.

The manifest's rule makes the ``n`` variants of one request versions of each other; an entry whose
``superseded_by`` chain ends inside its own request (its ``batch``) is one of the latest results,
not an outdated one, so it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any

from kie_widgets.assets.record import AssetRecord


def created_at(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's ``created_at`` as an aware datetime, or ``None`` when missing or unreadable."""
    raw = entry.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def batch_of(entry: Mapping[str, Any] | None) -> Any:
    """The request (``kie.batch``) an entry was made by, if recorded."""
    return AssetRecord.from_entry(entry).batch if entry else None


def _current_batch(entries: list[Mapping[str, Any]]) -> dict[Any, Any]:
    """Each entry id -> the batch of the newest version in its ``superseded_by`` chain."""
    by_id = {e.get("id"): e for e in entries}
    current: dict[Any, Any] = {}
    for entry in entries:
        head, seen = entry, {entry.get("id")}
        while head.get("superseded_by") in by_id and head["superseded_by"] not in seen:
            seen.add(head["superseded_by"])
            head = by_id[head["superseded_by"]]
        current[entry.get("id")] = batch_of(head)
    return current


def select_entries(
    entries: Iterable[Mapping[str, Any]],
    *,
    scene: int | str | None = None,
    model: str | None = None,
    since: date | None = None,
    until: date | None = None,
    text: str | None = None,
    include_superseded: bool = False,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Image entries matching every filter, oldest first, at most the newest ``limit``."""
    needle = (model or "").lower()
    words = (text or "").lower().split()
    entries = list(entries)
    current = _current_batch(entries)
    out: list[dict[str, Any]] = []
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
        if words and not all(w in str(record.prompt or "").lower() for w in words):
            continue
        if since or until:
            created = created_at(entry)
            day = created.astimezone(timezone.utc).date() if created else None
            if since and (day is None or day < since):
                continue
            if until and (day is None or day > until):
                continue
        out.append(dict(entry))
    return out[-limit:] if limit else out


__all__ = ["batch_of", "created_at", "select_entries"]
