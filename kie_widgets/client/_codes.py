"""One table from kie's answer codes (HTTP status or envelope ``code``) to an error class and advice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kie_widgets.errors import (
    KieAPIError,
    KieAuthError,
    KieInsufficientCreditsError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieTaskFailedError,
    KieUnavailableError,
    KieUsageCapError,
)


@dataclass(frozen=True)
class CodeRule:
    """What one code means, which error it raises, and the sentence that says what to do."""

    error: type[KieAPIError]
    meaning: str
    todo: str


_AUTH_TODO = "Check KIE_API_KEY (keys are at https://kie.ai/api-key), or set KIE_SANDBOX=1 to work offline."
_RETRY_LATER = "kie.ai is unavailable right now; try again in a few minutes."
_CAP_KEYS = "https://kie.ai/api-key"
_CAP_TODO = (
    f"Nothing was created. Raise or remove the key's cap at {_CAP_KEYS}, wait until an hourly or "
    "daily cap resets, or use another key."
)
#: The cap a 433 answer names, by a pattern in kie's message: (meaning, what to do).
_CAPS = {
    r"\bhour": (
        "this API key reached its hourly usage cap",
        f"Nothing was created. Wait for the next hour, or raise the key's hourly cap at {_CAP_KEYS}.",
    ),
    r"\b(daily|day)\b": (
        "this API key reached its daily usage cap",
        f"Nothing was created. Wait until tomorrow, or raise the key's daily cap at {_CAP_KEYS}.",
    ),
    r"\btotal\b": (
        "this API key reached its total usage cap",
        f"Nothing was created, and a total cap does not reset: raise it at {_CAP_KEYS} or use another key.",
    ),
}

#: Codes kie puts in the JSON envelope (usually with HTTP 200). Sources: kie-api.md §1.4.
ENVELOPE_CODES: Mapping[int, CodeRule] = MappingProxyType(
    {
        400: CodeRule(
            KieRequestError,
            "bad request",
            "Check the request's parameters and input images; nothing was created.",
        ),
        401: CodeRule(KieAuthError, "the API key was refused", _AUTH_TODO),
        402: CodeRule(
            KieInsufficientCreditsError,
            "not enough credits",
            "Top up at https://kie.ai/pricing, or choose a cheaper model or fewer images.",
        ),
        404: CodeRule(
            KieNotFoundError,
            "not found",
            "Check the task id or URL; kie keeps task records for about 14 days.",
        ),
        405: CodeRule(
            KieRequestError,
            "method not allowed",
            "This is a bug in kie_widgets: please report it with the endpoint named above.",
        ),
        408: CodeRule(
            KieTaskFailedError,
            "the task got no result upstream in time",
            "Failed tasks are not charged; send it again or pick another model.",
        ),
        422: CodeRule(
            KieRequestError,
            "the request failed validation",
            "Fix the field kie names in its message and send it again; nothing was charged.",
        ),
        429: CodeRule(
            KieRateLimitError,
            "rate limited (rejected, not queued)",
            "The request was not created; wait a few seconds and send it again.",
        ),
        # kie's getting-started page offers per-key caps (hourly, daily, total); the issue tracker's
        # reading of kie's newer code list says 433 is such a cap being hit. kie-api.md §1.4 saw 433
        # only as an UNSURE "callback-related" code in generated schemas; we follow the newer reading.
        433: CodeRule(KieUsageCapError, "this API key reached a usage cap set for it", _CAP_TODO),
        451: CodeRule(
            KieRequestError,
            "kie could not download an input image",
            "Make sure every input image URL is public and reachable, or pass a local file to upload it.",
        ),
        455: CodeRule(KieUnavailableError, "service unavailable (maintenance)", _RETRY_LATER),
        500: CodeRule(
            KieServerError,
            "server error",
            "This is usually passing: try again later; if it repeats, check the parameters kie names.",
        ),
        501: CodeRule(
            KieTaskFailedError,
            "generation failed",
            "Failed tasks are not charged; change the prompt or inputs and try again.",
        ),
        505: CodeRule(
            KieRequestError,
            "feature disabled",
            "This feature is switched off for the account or model; choose another model.",
        ),
        550: CodeRule(
            KieUnavailableError,
            "the upstream queue is full (connection denied)",
            "kie's upstream queue is full; try again in a few minutes.",
        ),
    }
)

#: Bare HTTP statuses that are not in the envelope table or mean something else at the HTTP level.
HTTP_CODES: Mapping[int, CodeRule] = MappingProxyType(
    {
        403: CodeRule(KieAuthError, "forbidden", _AUTH_TODO),
        408: CodeRule(
            KieUnavailableError,
            "the server timed out waiting for the request",
            _RETRY_LATER,
        ),
        410: CodeRule(
            KieNotFoundError,
            "gone",
            "The link has expired; ask kie for a fresh download URL.",
        ),
        429: ENVELOPE_CODES[429],
    }
)

_BOT_FILTER = CodeRule(
    KieAuthError,
    "blocked by the host's bot filter (Cloudflare 1010), not a key problem",
    "The host refused this client's signature: make sure requests carry a User-Agent header "
    "(kie_widgets always sends one; a proxy may strip it).",
)
_HTTP_4XX = CodeRule(
    KieRequestError,
    "request refused",
    "Check the request; this usually means a client bug, please report it.",
)
_HTTP_5XX = CodeRule(KieUnavailableError, "server or gateway error", _RETRY_LATER)
_UNKNOWN = CodeRule(
    KieAPIError,
    "an unknown code",
    "See https://kie.ai/logs for this request; kie may have changed its API.",
)


def is_bot_filter(http_status: int, text: str) -> bool:
    """Whether a response is Cloudflare's bare "error code: 1010" (a missing or banned User-Agent)."""
    return http_status == 403 and "error code: 1010" in text[:200].lower()


def usage_cap_rule(kie_message: str | None) -> CodeRule:
    """The 433 rule, naming the cap (hourly, daily or total) when kie's message says which."""
    text = (kie_message or "").lower()
    for pattern, (meaning, todo) in _CAPS.items():
        if re.search(pattern, text):
            return CodeRule(KieUsageCapError, meaning, todo)
    return ENVELOPE_CODES[433]


def rule_for(code: int, *, http_level: bool, text: str = "") -> CodeRule:
    """The rule for an envelope code, or for a bare HTTP status when ``http_level`` is true."""
    if http_level:
        if is_bot_filter(code, text):
            return _BOT_FILTER
        if code in HTTP_CODES:
            return HTTP_CODES[code]
        if code >= 500:
            return _HTTP_5XX
        if code in ENVELOPE_CODES:
            return ENVELOPE_CODES[code]
        if 400 <= code < 500:
            return _HTTP_4XX
        return _UNKNOWN
    return ENVELOPE_CODES.get(code, _UNKNOWN)


def api_error(
    code: int,
    *,
    endpoint: str,
    http_status: int,
    kie_message: str | None,
    http_level: bool = False,
    task_id: str | None = None,
    retry_after: float | None = None,
    text: str = "",
) -> KieAPIError:
    """The error for a non-success answer, carrying endpoint, code, kie's message and what to do."""
    rule = usage_cap_rule(kie_message) if code == 433 else rule_for(code, http_level=http_level, text=text)
    label = f"HTTP {code}" if http_level else f"code {code}"
    where = f"{endpoint} (task {task_id})" if task_id else endpoint
    message = f"kie.ai answered {label} on {where}: {rule.meaning}"
    if kie_message and kie_message.strip():
        message += f" — {kie_message.strip()[:300]!r}"
    message += "."
    details: dict[str, Any] = {
        "code": code,
        "endpoint": endpoint,
        "task_id": task_id,
        "kie_message": kie_message,
        "http_status": http_status,
        "hint": rule.todo,
    }
    if rule.error is KieRateLimitError:
        return KieRateLimitError(message, retry_after=retry_after, **details)
    return rule.error(message, **details)
