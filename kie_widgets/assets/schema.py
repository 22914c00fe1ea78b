"""The skill document's manifest schema and its Node snippet's rules, shared by the store's parts.

Ids, versions and ``superseded_by`` follow the snippet rule for rule, including JavaScript's idea of
truthiness and of ``+``, so the snippet and this package can take turns on the same file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from kie_widgets.assets._store import dumps
from kie_widgets.errors import KieValidationError

#: The nested object that holds everything the document's schema does not.
EXTRA_KEY = "kie"
#: A missing key, which JavaScript reads as ``undefined`` (not ``null``).
MISSING = object()
# Body or context keys that could hold a credential are masked before they are written anywhere.
_SECRETISH = re.compile(r"(api[_-]?key|authori[sz]ation|secret|token|password|bearer)", re.IGNORECASE)


def iso_now() -> str:
    """The current UTC time like JavaScript's ``new Date().toISOString()``: ``2026-11-25T01:02:03.456Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def js_truthy(value: Any) -> bool:
    """``!!value`` in JavaScript: empty lists and objects are true, NaN is false."""
    if isinstance(value, (list, dict)):
        return True
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


def js_increment(value: Any) -> Any:
    """``value + 1`` in JavaScript, as the snippet computes ``prev.version + 1``.

    null counts as 0, a string gets "1" appended, and undefined (``MISSING``) or an object gives NaN,
    which JSON.stringify writes as null.
    """
    if value is None:
        return 1
    if isinstance(value, bool):
        return int(value) + 1
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "1"
    return None


def image_count(assets: Sequence[Any]) -> int:
    """How many entries are images (the snippet's id counter)."""
    return sum(1 for a in assets if isinstance(a, dict) and a.get("type") == "image")


def next_image_id(assets: Sequence[Any]) -> str:
    """The id the document's snippet gives the next image: ``img-`` + count of image entries + 1."""
    return f"img-{image_count(assets) + 1:03d}"


def free_image_id(assets: Sequence[Any]) -> tuple[str, str | None]:
    """The id for the next image, and a warning when the snippet's id is already taken.

    The snippet's rule (``next_image_id``) wherever it gives a fresh id, so its own files and ours
    agree; where another writer's entries (say, one without ``type``) make it repeat an id already
    in the file, the next free number instead, since a repeated id would make two images one.
    """
    taken = {str(a.get("id")) for a in assets if isinstance(a, dict) and a.get("id") is not None}
    return free_image_id_for(image_count(assets), taken.__contains__)


def free_image_id_for(images: int, taken: Callable[[str], bool]) -> tuple[str, str | None]:
    """``free_image_id`` for a manifest of ``images`` image entries whose ids ``taken`` tells."""
    wanted = f"img-{images + 1:03d}"
    if not taken(wanted):
        return wanted, None
    number = images + 1
    while taken(f"img-{number:03d}"):
        number += 1
    chosen = f"img-{number:03d}"
    return chosen, (
        f"The manifest's image count gives {wanted}, which another entry already uses (an entry without "
        f'"type": "image"?); the new image is {chosen} instead.'
    )


def latest_unsuperseded(assets: Sequence[Any], prompt: Any, model: Any) -> dict[str, Any] | None:
    """The entry a new one with this prompt and model supersedes (the snippet's ``prev``), or None."""
    for a in reversed(assets):
        if (
            isinstance(a, dict)
            and a.get("prompt", MISSING) == prompt
            and a.get("model", MISSING) == model
            and not js_truthy(a.get("superseded_by"))
        ):
            return a
    return None


def scrub(value: Any) -> Any:
    """A copy of ``value`` with anything under a credential-like key replaced by ``"***"``."""
    if isinstance(value, Mapping):
        return {k: ("***" if _SECRETISH.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def check_json(value: Mapping[str, Any], what: str) -> None:
    """``KieValidationError`` unless ``value`` can be written as JSON (before anything is written)."""
    try:
        dumps(dict(value))
    except (TypeError, ValueError) as exc:
        raise KieValidationError(f"{what} must be JSON data: {exc}") from exc


def validate_manifest(document: Any) -> str | None:
    """Why ``document`` is not a manifest (``{"assets": [...]}``), or None."""
    if not isinstance(document, dict):
        return f"the top level is a {type(document).__name__}, not an object"
    if not isinstance(document.get("assets"), list):
        return 'it has no "assets" list'
    return None


__all__ = [
    "EXTRA_KEY",
    "MISSING",
    "check_json",
    "free_image_id",
    "free_image_id_for",
    "image_count",
    "iso_now",
    "js_increment",
    "js_truthy",
    "latest_unsuperseded",
    "next_image_id",
    "scrub",
    "validate_manifest",
]
