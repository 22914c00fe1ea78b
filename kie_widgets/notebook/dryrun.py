"""``--dry-run``: the exact request kie would receive, its estimated cost and the linter's warnings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kie_widgets.notebook import display as ui


def dry_run_text(planned: Sequence[Any], *, force: bool) -> str:
    """The request, what it costs and what the prompt linter says, as plain text."""
    first = planned[0]
    lines = [f"DRY RUN — nothing sent, no credits spent: {first.display_name} ({first.model_id})"]
    if len(planned) > 1:
        lines.append(
            f"{len(planned)} requests: {first.display_name} makes at most "
            f"{max(first.spec.batch_sizes)} image(s) per request"
            + ("; the seed moves by one per request" if "seed" in first.params else "")
            + "."
        )
    for i, p in enumerate(planned, 1):
        head = f"POST {p.endpoint}"
        if len(planned) > 1:
            head = f"request {i} of {len(planned)} ({p.n} image{'s' if p.n != 1 else ''}): {head}"
        lines += [head, json.dumps(p.body, indent=2, ensure_ascii=False, default=str)]
    if first.uploads:
        lines.append("uploads first (placeholders above are replaced by the uploaded URLs):")
        lines.extend(f"  {ref.placeholder} <- {ref.field}: {ref.source}" for ref in first.uploads)
    lines.extend(f"note: {note}" for note in getattr(first, "notes", ()))
    total = sum(p.estimated_credits for p in planned)
    images = sum(p.n for p in planned)
    if first.unvalidated:
        lines.append("estimated cost: unknown (the catalog does not price a raw request)")
    else:
        lines.append(f"estimated cost: {total:g} credits for {images} image(s)")
    if force:
        lines.append("--force: would send even if this recipe was made before")
    else:
        lines.append("an identical earlier result would be reused (no credits); --force sends anyway")
    if first.warnings:
        lines.append(f"{len(first.warnings)} warning(s):")
        lines.extend(f"  ⚠ {w}" for w in first.warnings)
    else:
        lines.append("no warnings")
    return "\n".join(lines)


def show_dry_run(planned: Sequence[Any], *, force: bool) -> None:
    """Show the dry run in the cell, with the body and the estimate in the output's metadata."""
    first = planned[0]
    meta = {
        ui.METADATA_KEY: {
            "dry_run": True,
            "model_id": first.model_id,
            "endpoint": first.endpoint,
            "body": first.body,
            "bodies": [p.body for p in planned],
            "estimated_credits": sum(p.estimated_credits for p in planned),
            "warnings": list(first.warnings),
        }
    }
    ui.show(ui.text_bundle(dry_run_text(planned, force=force)), meta)


__all__ = ["dry_run_text", "show_dry_run"]
