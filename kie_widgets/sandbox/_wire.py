"""The shapes of kie's answers: compact JSON, error envelopes and the HTTP status each one travels with.

kie answers most errors as HTTP 200 with the code in the body; ``http_errors`` (a config switch)
makes the same envelopes travel with a real status instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kie_widgets.sandbox._records import Reply

#: the ``msg`` kie sends with each envelope code when the route says nothing more specific
ENVELOPE_MESSAGES = {
    400: "Bad request",
    401: "You do not have access permissions",
    402: "The current credits are insufficient. Please top up.",
    404: "Not found",
    405: "Method not allowed",
    408: "Task timed out",
    422: "Validation error",
    429: "Your call frequency is too high. Please try again later.",
    433: "The usage limit set for this API key has been reached.",
    455: "Service unavailable: the system is under maintenance.",
    500: "Internal server error",
    501: "Generation failed",
    505: "This feature is disabled",
    550: "Connection denied: the task was rejected because the queue is full.",
}


def dumps(value: Any) -> str:
    """JSON the way kie writes it: no spaces, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ms(seconds: float) -> int:
    """Clock seconds as kie's millisecond timestamps."""
    return round(seconds * 1000)


def number(value: float) -> float | int:
    """A credit amount as kie prints it: whole numbers without a fraction."""
    return int(value) if float(value).is_integer() else round(value, 4)


def json_object(raw: bytes, empty: bytes = b"{}") -> dict[str, Any] | str:
    """The JSON object a request body holds, or the message kie answers (code 400) when it holds none.

    ``empty`` stands in for a missing body: ``{}`` where a route has no required field, ``null``
    where it must have a body.
    """
    try:
        value = json.loads(raw or empty)
    except ValueError:
        return "Request body is not valid JSON"
    if not isinstance(value, dict):
        return "Request body must be a JSON object"
    return value


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON reply with ``status``."""
    return Reply(status, {"content-type": "application/json", **(headers or {})}, dumps(body).encode())


def http_status(code: int, *, http_errors: bool) -> int:
    """The HTTP status an envelope ``code`` travels with."""
    if not http_errors or code == 200:
        return 200
    if code in (455, 550) or not 400 <= code <= 599:
        return 503
    return code


def envelope(code: int, msg: str | None = None, data: Any = None, *, http_errors: bool) -> Reply:
    """kie's ``{"code", "msg", "data"}`` answer (with Retry-After on a real 429)."""
    headers = {"retry-after": "1"} if code == 429 and http_errors else None
    body = {"code": code, "msg": msg or ENVELOPE_MESSAGES.get(code, "error"), "data": data}
    return json_reply(http_status(code, http_errors=http_errors), body, headers)


def upload_error(code: int, msg: str, *, http_errors: bool) -> Reply:
    """The upload host's error form, which adds ``"success": false``."""
    body = {"success": False, "code": code, "msg": msg, "data": None}
    return json_reply(http_status(code, http_errors=http_errors), body)


__all__ = [
    "ENVELOPE_MESSAGES",
    "dumps",
    "envelope",
    "http_status",
    "json_reply",
    "ms",
    "number",
    "upload_error",
]
