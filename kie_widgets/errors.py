"""Every exception kie_widgets raises, in one tree.

::

    KieError                         base of everything below; catch this to catch us
    ├── KieConfigError               settings are missing or inconsistent (no key, bad URL)
    ├── KieValidationError           input rejected before any request or credit (also a ValueError)
    │   ├── KieModelNotFoundError    the model name matches nothing; carries close matches
    │   └── KieBudgetError           the request would go over the notebook's spending budget
    ├── KieAPIError                  kie.ai answered with an error code (HTTP status or envelope)
    │   ├── KieAuthError             401, or the host's bare 403 "error code: 1010"
    │   ├── KieInsufficientCreditsError  402; carries balance and the request's estimate
    │   ├── KieNotFoundError         404: unknown endpoint or task id
    │   ├── KieRequestError          400/405/422/451/505: kie refused the request as sent
    │   ├── KieRateLimitError        429: rejected, not queued; safe to send again later
    │   ├── KieUsageCapError         433: the key's own usage cap (hourly, daily, total) is reached
    │   ├── KieUnavailableError      455/550 and HTTP 5xx: maintenance or overload; try later
    │   ├── KieServerError           500 in the envelope
    │   └── KieTaskFailedError       the task ran and failed (fail state, 501, 408)
    ├── KieTransportError            the network failed; the request surely did not arrive
    ├── KieSubmitUncertainError      a create may or may not have reached kie; never resent silently
    ├── KieUncertainRepeatError      the same request's earlier create is uncertain; refused without force
    ├── KieWaitTimeoutError          we stopped waiting; the task is still pending, not failed
    ├── KieImageError                a download is not an image we accept (type, size, bomb)
    ├── KieUnknownImageError         no recipe is known for an image (also a LookupError)
    ├── KieManifestError             the manifest cannot be read, locked or written
    │   └── KieManifestLockError     the manifest lock was not acquired in time
    └── KieBatchError                some requests of a fan-out failed; the rest succeeded

Each error's ``str()`` ends with a sentence that says what to do. None of them ever holds the API key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class KieError(Exception):
    """Base of every error raised by kie_widgets."""

    hint: str = ""

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        if hint is not None:
            self.hint = hint
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        if self.hint and self.hint not in self.message:
            return f"{self.message} {self.hint}".strip()
        return self.message


class KieConfigError(KieError):
    """Settings are missing or inconsistent (for example no API key and no sandbox)."""


@dataclass(frozen=True)
class Problem:
    """One rejected input: the field as the user wrote it, the value, and what is allowed."""

    field: str
    message: str
    value: Any = None
    allowed: str | None = None
    model: str | None = None

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text


class KieValidationError(KieError, ValueError):
    """Input rejected before any request was sent; lists every problem at once."""

    hint = "Nothing was sent and no credits were spent."

    def __init__(
        self,
        problems: Sequence[Problem] | str,
        *,
        model: str | None = None,
        hint: str | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem(field="input", message=problems, model=model)]
        self.problems: list[Problem] = list(problems)
        self.model = model
        prefix = f"Invalid request for {model}" if model else "Invalid request"
        if len(self.problems) == 1:
            message = f"{prefix}: {self.problems[0]}."
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{prefix} ({len(self.problems)} problems):\n{lines}\n"
        super().__init__(message, hint=hint)


class KieModelNotFoundError(KieValidationError):
    """The model name matches no model in the catalog."""

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        self.name = name
        self.suggestions = list(suggestions)
        allowed = ", ".join(repr(s) for s in self.suggestions) if self.suggestions else None
        problem = Problem(
            field="model",
            message=f"unknown model {name!r}" + (" — did you mean one of these?" if allowed else ""),
            value=name,
            allowed=allowed,
        )
        super().__init__(
            [problem],
            hint="`kie_widgets.models()` lists every model; a kie model id the catalog does not know "
            "yet can be sent unchecked with input={...} or raw=True (--raw in the magic).",
        )


class KieBudgetError(KieValidationError):
    """The request's estimate would take the session over its spending budget; nothing was sent."""


class KieAPIError(KieError):
    """kie.ai answered with an error, as an HTTP status or as a code in the JSON envelope."""

    hint = "Check the message above; kie's request log is at https://kie.ai/logs."

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        endpoint: str | None = None,
        task_id: str | None = None,
        kie_message: str | None = None,
        http_status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.code = code
        self.endpoint = endpoint
        self.task_id = task_id
        self.kie_message = kie_message
        self.http_status = http_status
        super().__init__(message, hint=hint)


class KieAuthError(KieAPIError):
    """The API key was refused (401), or the host blocked the request (403 1010)."""

    hint = "Check KIE_API_KEY (https://kie.ai/api-key), or set KIE_SANDBOX=1 to work offline."


class KieInsufficientCreditsError(KieAPIError):
    """The account has too few credits for this request (402)."""

    hint = "Top up at https://kie.ai/pricing, or pick a cheaper model or fewer images."

    def __init__(
        self,
        message: str,
        *,
        balance: float | None = None,
        estimated_cost: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.balance = balance
        self.estimated_cost = estimated_cost
        super().__init__(message, **kwargs)


class KieNotFoundError(KieAPIError):
    """kie does not know the endpoint or the task id (404)."""

    hint = "Check the task id; kie keeps task records for a limited time."


class KieRequestError(KieAPIError):
    """kie refused the request as sent (400, 405, 422, 451, 505)."""

    hint = "Fix the request and send it again; no credits were spent on it."


class KieRateLimitError(KieAPIError):
    """kie rejected the request because of its rate limit (429); it was not queued."""

    hint = "The request was not created; it is safe to send again after a short wait."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class KieUsageCapError(KieAPIError):
    """The API key reached a usage cap set for it at kie.ai (433); nothing was created."""

    hint = "Nothing was created; raise the key's cap at https://kie.ai/api-key or use another key."


class KieUnavailableError(KieAPIError):
    """kie is in maintenance or overloaded (455, 550, HTTP 5xx)."""

    hint = "kie.ai is unavailable right now; try again in a few minutes."


class KieServerError(KieAPIError):
    """kie reported an internal error (500)."""

    hint = "This is usually passing; try again later."


class KieTaskFailedError(KieAPIError):
    """The task ran and failed on kie's side (fail state, 501, 408); it is not charged."""

    hint = "Failed tasks are not charged; change the prompt or inputs and try again."


class KieTransportError(KieError):
    """The network failed before the request reached kie."""

    hint = "Check the network connection and KIE_BASE_URL."

    def __init__(self, message: str, *, endpoint: str | None = None, hint: str | None = None) -> None:
        self.endpoint = endpoint
        super().__init__(message, hint=hint)


class KieSubmitUncertainError(KieError):
    """A create request was sent but no answer came; kie may have created (and charged) the task."""

    hint = (
        "It was recorded as uncertain in the manifest's journal and not sent again. "
        "Check https://kie.ai/logs before re-running, or the task may be paid twice."
    )

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        journal_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.journal_id = journal_id
        super().__init__(message, hint=hint)


class KieUncertainRepeatError(KieError):
    """A request whose earlier create may have been paid without an answer; not sent again unprompted."""

    hint = (
        "Check https://kie.ai/logs and run resume() (%kie_image resume) to see the record; then "
        "dismiss it (current_session().dismiss(id)) or send anyway with force=True (--force)."
    )

    def __init__(self, message: str, *, journal_ids: Sequence[str] = (), hint: str | None = None) -> None:
        self.journal_ids = list(journal_ids)
        super().__init__(message, hint=hint)


class KieWaitTimeoutError(KieError):
    """We stopped waiting for a task; it is still pending on kie and in the journal."""

    hint = "Nothing is lost: `kie_widgets.resume()` collects it later."

    def __init__(self, message: str, *, task_id: str | None = None, waited: float | None = None) -> None:
        self.task_id = task_id
        self.waited = waited
        super().__init__(message)


class KieImageError(KieError):
    """A file is not an image we accept: wrong type, truncated, too large or a decompression bomb."""

    hint = "The file was not recorded."


class KieUnknownImageError(KieError, LookupError):
    """Nothing we know describes this image: no embedded recipe, no sidecar, no manifest entry."""

    hint = "Pass an asset id (img-003) or a file from assets/images/, or a copy made with export_tagged()."


class KieManifestError(KieError):
    """The manifest cannot be read, locked or written; the previous version is left intact."""


class KieManifestLockError(KieManifestError):
    """The manifest's lock file was not acquired within the bounded wait."""

    hint = "Another process holds the manifest lock; if none is running, delete the lock file."


class KieBatchError(KieError):
    """Some requests of a fan-out failed; ``assets`` holds every success, ``errors`` each failure."""

    def __init__(self, message: str, *, assets: Sequence[Any], errors: Sequence[BaseException]) -> None:
        self.assets = list(assets)
        self.errors = list(errors)
        super().__init__(message, hint="The successful results are saved and recorded.")


__all__ = [
    "KieAPIError",
    "KieAuthError",
    "KieBatchError",
    "KieBudgetError",
    "KieConfigError",
    "KieError",
    "KieImageError",
    "KieInsufficientCreditsError",
    "KieManifestError",
    "KieManifestLockError",
    "KieModelNotFoundError",
    "KieNotFoundError",
    "KieRateLimitError",
    "KieRequestError",
    "KieServerError",
    "KieSubmitUncertainError",
    "KieTaskFailedError",
    "KieTransportError",
    "KieUnavailableError",
    "KieUncertainRepeatError",
    "KieUnknownImageError",
    "KieUsageCapError",
    "KieValidationError",
    "KieWaitTimeoutError",
    "Problem",
]
