"""The kie.ai wire layer: the only code (besides the sandbox's transport) that speaks HTTP.

::

    from kie_widgets.client import KieAPI, TaskStatus, RetryPolicy, RateLimiter, API_PATHS

    async with KieAPI(settings, transport=..., clock=...) as api:
        task_id = await api.create("market", "/api/v1/jobs/createTask", body)
        status = await api.status("market", task_id)      # TaskStatus, the same for every family
        async with api.stream(status.result_urls[0]) as chunks:
            async for chunk in chunks: ...

Callers get Python values and ``kie_widgets.errors`` classes, never httpx objects.
"""

from __future__ import annotations

from ._api import (
    BASE64_MAX_BYTES,
    CHUNK_SIZE,
    MAX_UPLOAD_BYTES,
    UPLOAD_PATH,
    USER_AGENT,
    KieAPI,
)
from ._codes import ENVELOPE_CODES, HTTP_CODES, CodeRule, api_error, rule_for
from ._limiter import RateLimiter
from ._paths import API_PATHS, FAMILIES
from ._retry import Retry, RetryKind, RetryPolicy, parse_retry_after, run_with_retry
from ._status import STATES, TaskStatus, parse_status
from ._upload import sniff, unique_name

__all__ = [
    "API_PATHS",
    "BASE64_MAX_BYTES",
    "CHUNK_SIZE",
    "ENVELOPE_CODES",
    "FAMILIES",
    "HTTP_CODES",
    "MAX_UPLOAD_BYTES",
    "STATES",
    "UPLOAD_PATH",
    "USER_AGENT",
    "CodeRule",
    "KieAPI",
    "RateLimiter",
    "Retry",
    "RetryKind",
    "RetryPolicy",
    "TaskStatus",
    "api_error",
    "parse_retry_after",
    "parse_status",
    "rule_for",
    "run_with_retry",
    "sniff",
    "unique_name",
]
