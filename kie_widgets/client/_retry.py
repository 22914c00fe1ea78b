"""The one retry path: the retry policy as a value object, the loop that applies it, ``Retry-After``.

Every call that may be tried again (a create, a read, an upload, a streamed download) runs through
``run_with_retry``; the call itself decides, attempt by attempt, what is worth another try (DESIGN.md
§6) and this module decides how often and how long to wait.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timezone
from typing import Literal, TypeVar

from kie_widgets.clock import Clock
from kie_widgets.errors import KieError

logger = logging.getLogger("kie_widgets.client")

#: What is being retried: each kind has its own attempt budget (and downloads their own waits).
RetryKind = Literal["create", "read", "download"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the client retries (DESIGN.md §6).

    Reads (status, credits, download-url, uploads, file streams before their first byte) get up to
    ``read_attempts`` tries; a create gets up to ``create_attempts`` tries, and only after failures
    that surely never reached kie (connect errors) or that kie rejected without queueing (429).
    A whole result download (stream, validate, save; a fresh link when the old one failed) gets up to
    ``download_attempts`` tries, each of whose streams has its own read budget, with waits that start
    at ``download_base_delay`` and stop at ``download_max_delay``: a truncated file is worth a slower
    retry than a status read.
    Waits grow as ``base_delay * multiplier**n`` up to ``max_delay``; ``jitter`` is the share of each
    wait drawn at random, so many clients do not retry in lockstep. A ``Retry-After`` from the server
    replaces the computed wait; one longer than ``max_retry_after`` ends the retries instead.
    """

    read_attempts: int = 5
    create_attempts: int = 5
    download_attempts: int = 3
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 20.0
    download_base_delay: float = 2.0
    download_max_delay: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if min(self.read_attempts, self.create_attempts, self.download_attempts) < 1:
            raise ValueError("RetryPolicy needs at least one attempt for reads, creates and downloads")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("RetryPolicy.jitter is a share between 0 and 1")
        delays = (self.base_delay, self.max_delay, self.download_base_delay, self.download_max_delay)
        if min(delays) < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy delays must be non-negative and the multiplier at least 1")

    def attempts(self, kind: RetryKind) -> int:
        """How many tries a call of ``kind`` gets in all (1 = no retry)."""
        budgets = {"create": self.create_attempts, "read": self.read_attempts}
        return budgets.get(kind, self.download_attempts)

    def backoff(self, retry: int, rand: float, kind: RetryKind = "read") -> float:
        """The wait before retry number ``retry`` (0 = the first retry); ``rand`` is uniform in [0, 1)."""
        base, cap = (self.base_delay, self.max_delay)
        if kind == "download":
            base, cap = (self.download_base_delay, self.download_max_delay)
        ceiling = min(cap, base * self.multiplier ** min(retry, 64))
        return ceiling * (1.0 - self.jitter * rand)

    def wait_before(
        self, retry: int, rand: float, retry_after: float | None, kind: RetryKind = "read"
    ) -> float | None:
        """The wait before retry ``retry``, honouring ``retry_after``; ``None`` means stop retrying."""
        if retry_after is None:
            return self.backoff(retry, rand, kind)
        if retry_after > self.max_retry_after:
            return None
        return max(0.0, retry_after)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries (one attempt for everything)."""
        return cls(read_attempts=1, create_attempts=1, download_attempts=1)


@dataclass(frozen=True)
class Retry:
    """What an attempt returns when it failed in a way another try may fix.

    ``error`` is raised when the budget is spent (or ``retry_after`` is beyond the policy's cap);
    ``retry_after`` is the server's own wait, which replaces the computed backoff.
    """

    error: KieError
    retry_after: float | None = None


async def run_with_retry(
    attempt: Callable[[], Awaitable[_T | Retry]],
    *,
    kind: RetryKind,
    policy: RetryPolicy,
    clock: Clock,
    rng: random.Random,
    what: str,
    pause: Callable[[float, KieError], Awaitable[None]] | None = None,
) -> _T:
    """Run ``attempt`` until it returns a result, raises, or has used the budget of ``kind``.

    ``attempt`` returns its result, returns a ``Retry`` for a failure worth another try, and raises
    for one that is not (so the call, not this loop, knows which failures are safe to repeat).
    Between tries it waits the policy's backoff, or ``pause(wait, error)`` when the caller waits
    elsewhere (a create's 429 pauses the rate limiter instead). ``what`` names the call in the log.
    """
    budget = policy.attempts(kind)
    for number in range(budget):
        outcome = await attempt()
        if not isinstance(outcome, Retry):
            return outcome
        wait = policy.wait_before(number, rng.random(), outcome.retry_after, kind)
        if number + 1 >= budget or wait is None:
            raise outcome.error
        logger.info("%s failed (%s); retry %d in %.1fs", what, outcome.error, number + 1, wait)
        if pause is None:
            await clock.sleep(wait)
        else:
            await pause(wait, outcome.error)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or ``None``.

    ``now`` is the current wall-clock time (epoch seconds) for the date form; dates in the past give 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone information (RFC 5322)
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)
