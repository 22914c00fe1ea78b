"""One task status model for the three families, and the table-driven parsers of kie's records.

kie's three record shapes disagree with each other and with their own documentation (kie-api.md
lists the conflicts): integer ``successFlag`` 0–2 (4o) or 0–3 (Flux) versus ``state`` strings
(Market), ``resultUrls`` versus ``result_urls``, JSON nested inside JSON strings, times as
millisecond integers or as date strings. Each family is described by one ``_Shape`` row; the
parser reads whichever documented variant is present and rejects anything else with an error that
names the field and the value it could not read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from kie_widgets.errors import KieAPIError

#: The normalised states, in the order a task moves through them.
STATES: tuple[str, ...] = ("pending", "queued", "generating", "success", "failed")
TERMINAL_STATES = frozenset({"success", "failed"})


@dataclass(frozen=True)
class TaskStatus:
    """What kie says about one task, the same for every family.

    ``state`` is one of ``STATES``. ``not_visible_yet`` is true when kie does not show the record yet
    (404 or 422 "record is null" right after creation); the task may well exist, so the caller waits
    out a grace period rather than treating it as failed. ``raw`` is the record's ``data`` object as
    kie sent it (the whole envelope when there is no record). ``created_at``/``completed_at`` are
    epoch seconds, ``request`` the create body kie echoes (``param``/``paramJson``), when readable.
    """

    task_id: str
    family: str
    state: str
    progress: float | None = None
    result_urls: tuple[str, ...] = ()
    fail_code: str | None = None
    fail_message: str | None = None
    cost_time_ms: int | None = None
    not_visible_yet: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    created_at: float | None = None
    completed_at: float | None = None
    credits_consumed: float | None = None
    request: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def done(self) -> bool:
        """Whether the task reached a final state (success or failed)."""
        return self.state in TERMINAL_STATES


@dataclass(frozen=True)
class _StateField:
    """A record field that carries the state, and its wire values mapped to normalised states."""

    name: str
    values: Mapping[object, str]


@dataclass(frozen=True)
class _Shape:
    """Where one family keeps each part of a record; the first present field or path wins."""

    states: tuple[_StateField, ...]
    url_paths: tuple[tuple[str, ...], ...]
    fail_code: tuple[str, ...]
    fail_message: tuple[str, ...]
    request: tuple[str, ...]
    progress: tuple[str, ...] = ("progress",)
    cost_time: tuple[str, ...] = ()


_4O_STATUS: dict[object, str] = {
    "generating": "generating",
    "success": "success",
    "create_task_failed": "failed",
    "generate_failed": "failed",
}

SHAPES: Mapping[str, _Shape] = MappingProxyType(
    {
        "gpt4o": _Shape(
            states=(
                _StateField("successFlag", {0: "generating", 1: "success", 2: "failed"}),
                _StateField("status", _4O_STATUS),
            ),
            # OpenAPI says response.resultUrls, the quickstart response.result_urls, callbacks info.
            url_paths=(
                ("response", "resultUrls"),
                ("response", "result_urls"),
                ("info", "result_urls"),
                ("info", "resultUrls"),
            ),
            fail_code=("errorCode",),
            fail_message=("errorMessage", "errorMsg"),
            request=("paramJson", "param"),
        ),
        "flux-kontext": _Shape(
            states=(
                _StateField("successFlag", {0: "generating", 1: "success", 2: "failed", 3: "failed"}),
                _StateField("status", {**_4O_STATUS, "create_task_failed": "failed"}),
            ),
            # originImageUrl is BFL's own short-lived copy (10 min): only when kie's copy is missing.
            url_paths=(
                ("response", "resultImageUrl"),
                ("response", "resultUrls"),
                ("info", "resultImageUrl"),
                ("response", "originImageUrl"),
            ),
            fail_code=("errorCode",),
            fail_message=("errorMessage", "errorMsg"),
            request=("paramJson", "param"),
        ),
        "market": _Shape(
            states=(
                _StateField(
                    "state",
                    {
                        "waiting": "queued",
                        "queuing": "queued",
                        "generating": "generating",
                        "success": "success",
                        "fail": "failed",
                        "failed": "failed",
                    },
                ),
                # A peer read "status" by mistake; some records may carry it instead of "state".
                _StateField(
                    "status",
                    {
                        "waiting": "queued",
                        "queuing": "queued",
                        "generating": "generating",
                        "success": "success",
                        "fail": "failed",
                    },
                ),
            ),
            url_paths=(("resultJson", "resultUrls"), ("resultJson", "result_urls")),
            fail_code=("failCode",),
            fail_message=("failMsg",),
            request=("param", "paramJson"),
            cost_time=("costTime",),
        ),
    }
)


def _bad(family: str, task_id: str, endpoint: str, what: str) -> KieAPIError:
    return KieAPIError(
        f"Could not read kie's record of {family} task {task_id}: {what}.",
        endpoint=endpoint,
        task_id=task_id,
        hint="kie's answer did not match any documented shape; the task is left as it is, "
        "and `kie_widgets.resume()` can collect it later. Please report this message.",
    )


def _wire_key(value: object) -> object:
    """A state value as the tables spell it: integers for flags, lower-case text for names."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return text.lower()
    return value


def _maybe_json(value: object, label: str, bad: Any) -> object:
    """Decode a JSON string (kie nests JSON in strings); other values pass through."""
    if isinstance(value, str):
        text = value.strip()
        if not text or text == "null":
            return None
        if text[0] in "{[":
            try:
                return json.loads(text)
            except ValueError:
                raise bad(f"{label} is not valid JSON ({text[:80]!r})") from None
    return value


def _dig(data: Mapping[str, Any], path: tuple[str, ...], bad: Any) -> object:
    """The value at ``path``, decoding JSON strings on the way; ``None`` when any step is missing."""
    node: object = data
    for depth, key in enumerate(path):
        node = _maybe_json(node, ".".join(path[:depth]), bad) if depth else node
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _first(data: Mapping[str, Any], names: tuple[str, ...]) -> object:
    for name in names:
        value = data.get(name)
        if value is not None and value != "":
            return value
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: object) -> float | None:
    """A float from a number or a numeric string; ``None`` for anything else (informative fields)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _epoch(value: object) -> float | None:
    """Epoch seconds from kie's times: ms integers, second integers, numeric or date strings."""
    number = _number(value)
    if number is not None:
        # Millisecond stamps are > 1e11 (any date after 1973); smaller values are seconds.
        return number / 1000.0 if abs(number) > 1e11 else number
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # kie's "YYYY-MM-DD HH:MM:SS" carries no zone
    return when.timestamp()


def _progress(value: object, state: str) -> float | None:
    if state == "success":
        return 1.0
    number = _number(value)
    if number is None:
        return None
    if number > 1.0:  # some records count in percent
        number /= 100.0
    return min(1.0, max(0.0, number))


def _urls(value: object, label: str, bad: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise bad(f"{label} should be a URL or a list of URLs, not {type(value).__name__}")
    urls: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip().lower().startswith(("http://", "https://")):
            raise bad(f"{label} holds {item!r}, which is not an http(s) URL")
        urls.append(item.strip())
    return tuple(urls)


def _state(shape: _Shape, data: Mapping[str, Any], bad: Any) -> str:
    for state_field in shape.states:
        value = data.get(state_field.name)
        if value is None:
            continue
        # True == 1 as a dict key, so a boolean would pass for successFlag 1 without this check.
        state = None if isinstance(value, bool) else state_field.values.get(_wire_key(value))
        if state is None:
            known = ", ".join(repr(k) for k in state_field.values)
            raise bad(f"{state_field.name}={value!r} is not a known state (expected one of {known})")
        return state
    names = " or ".join(s.name for s in shape.states)
    raise bad(f"the record has no {names} field")


def parse_status(family: str, task_id: str, data: object, *, endpoint: str = "") -> TaskStatus:
    """A ``TaskStatus`` from the ``data`` of a successful record-info answer of ``family``.

    Raises ``KieAPIError`` naming the field when the record matches none of the documented variants.
    """
    shape = SHAPES[family]

    def bad(what: str) -> KieAPIError:
        return _bad(family, task_id, endpoint, what)

    if not isinstance(data, Mapping):
        raise bad(f"the record is a {type(data).__name__}, not an object")
    state = _state(shape, data, bad)

    urls: tuple[str, ...] = ()
    if state == "success":
        for path in shape.url_paths:
            value = _dig(data, path, bad)
            if value is not None and value != [] and value != "":
                urls = _urls(value, ".".join(path), bad)
                break
        if not urls:
            tried = ", ".join(".".join(p) for p in shape.url_paths)
            raise bad(f"it reports success but gives no result URL (looked at {tried})")

    fail_code = fail_message = None
    if state == "failed":
        fail_code = _text(_first(data, shape.fail_code))
        fail_message = _text(_first(data, shape.fail_message))

    created = _epoch(data.get("createTime"))
    completed = _epoch(data.get("completeTime"))
    cost = _number(_first(data, shape.cost_time)) if shape.cost_time else None
    if cost is None and created is not None and completed is not None and completed >= created:
        cost = (completed - created) * 1000.0

    request = None
    for name in shape.request:
        try:
            decoded = _maybe_json(data.get(name), name, bad)
        except KieAPIError:
            decoded = None  # the echoed request is informative only; never fail a status on it
        if isinstance(decoded, dict):
            request = decoded
            break

    return TaskStatus(
        task_id=task_id,
        family=family,
        state=state,
        progress=_progress(_first(data, shape.progress), state),
        result_urls=urls,
        fail_code=fail_code,
        fail_message=fail_message,
        cost_time_ms=round(cost) if cost is not None else None,
        raw=dict(data),
        created_at=created,
        completed_at=completed,
        credits_consumed=_number(data.get("creditsConsumed")),
        request=request,
    )
