"""The retry policy as a value object, and the parsing of ``Retry-After``."""

from __future__ import annotations

import email.utils
import math
from dataclasses import dataclass
from datetime import timezone


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the client retries (DESIGN.md §6).

    Reads (status, credits, download-url, uploads, file streams before their first byte) get up to
    ``read_attempts`` tries; a create gets up to ``create_attempts`` tries, and only after failures
    that surely never reached kie (connect errors) or that kie rejected without queueing (429).
    Waits grow as ``base_delay * multiplier**n`` up to ``max_delay``; ``jitter`` is the share of each
    wait drawn at random, so many clients do not retry in lockstep. A ``Retry-After`` from the server
    replaces the computed wait; one longer than ``max_retry_after`` ends the retries instead.
    """

    read_attempts: int = 5
    create_attempts: int = 5
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.read_attempts < 1 or self.create_attempts < 1:
            raise ValueError("RetryPolicy needs at least one attempt for reads and creates")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("RetryPolicy.jitter is a share between 0 and 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy delays must be non-negative and the multiplier at least 1")

    def backoff(self, retry: int, rand: float) -> float:
        """The wait before retry number ``retry`` (0 = the first retry); ``rand`` is uniform in [0, 1)."""
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** min(retry, 64))
        return ceiling * (1.0 - self.jitter * rand)

    def wait_before(self, retry: int, rand: float, retry_after: float | None) -> float | None:
        """The wait before retry ``retry``, honouring ``retry_after``; ``None`` means stop retrying."""
        if retry_after is None:
            return self.backoff(retry, rand)
        if retry_after > self.max_retry_after:
            return None
        return max(0.0, retry_after)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries (one attempt for everything)."""
        return cls(read_attempts=1, create_attempts=1)


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
