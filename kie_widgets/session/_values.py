"""Values typed as text (``--set key=value``, a sweep's list) read the same way by every front end."""

from __future__ import annotations

import json
from typing import Any


def parse_value(text: str) -> Any:
    """JSON where it parses (numbers, true/false, lists, objects), else the text as typed."""
    stripped = text.strip()
    if stripped.lower() in {"true", "false", "null"}:
        return json.loads(stripped.lower())
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def parse_values(text: str) -> list[Any]:
    """A comma-separated list of values (``"1, 2, 3"`` -> ``[1, 2, 3]``); empty items are skipped."""
    return [parse_value(part) for part in text.split(",") if part.strip()]


__all__ = ["parse_value", "parse_values"]
