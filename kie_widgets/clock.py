"""Time as a dependency: a real clock, and a fake one under which long waits take no wall time.

The client's polling and the sandbox's task states both read time through a ``Clock``, so a test
that hands one ``FakeClock`` to both runs a 40-second task instantly and deterministically.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What the client and the sandbox need of time."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start; never goes backwards."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch (for kie's millisecond timestamps)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""


class RealClock:
    """The process's clocks and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Seconds from ``time.monotonic``."""
        return time.monotonic()

    def time(self) -> float:
        """Seconds from ``time.time``."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class FakeClock:
    """A clock that jumps forward when slept on, so waits cost no wall time.

    ``sleep(s)`` notes the time it should wake at, yields to the event loop once (so other tasks
    interleave), then moves the clock to that time unless it is already later. Concurrent sleepers
    of the same length therefore advance it once, as real time would.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._epoch = start
        self._now = 0.0

    def monotonic(self) -> float:
        """Seconds since the fake clock was made, plus every sleep so far."""
        return self._now

    def time(self) -> float:
        """The fake wall-clock time."""
        return self._epoch + self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by hand."""
        self._now += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        """Yield once, then move time to when this sleep should end."""
        wake_at = self._now + max(0.0, seconds)
        await asyncio.sleep(0)
        self._now = max(self._now, wake_at)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:.3f})"


__all__ = ["Clock", "FakeClock", "RealClock"]
