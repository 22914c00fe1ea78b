"""A clock-driven sliding-window limiter shared by every call made with one API key."""

from __future__ import annotations

import threading
import weakref
from collections import deque
from typing import ClassVar

from kie_widgets.clock import Clock, RealClock
from kie_widgets.config import Secret


class _Window:
    """At most ``limit`` grants in any ``period`` seconds, judged on the times grants were made."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate window needs a positive limit and period")
        self.limit = limit
        self.period = period
        self._grants: deque[float] = deque()
        self.granted = 0
        self.waited = 0.0

    def delay(self, now: float) -> float:
        """Seconds until a grant would fit (0 = now); forgets grants that left the window."""
        while self._grants and self._grants[0] <= now - self.period:
            self._grants.popleft()
        if len(self._grants) < self.limit:
            return 0.0
        return self._grants[0] + self.period - now

    def grant(self, now: float) -> None:
        """Record a grant made at ``now``."""
        self._grants.append(now)
        self.granted += 1


class RateLimiter:
    """kie's per-key limits: ``creates`` per ``create_period`` s and ``reads`` per ``read_period`` s.

    Every coroutine that creates a task awaits ``acquire_create()`` right before sending, every status
    read ``acquire_read()``. The check and the grant happen without an ``await`` in between, so
    concurrent callers on one event loop never overshoot; no asyncio lock ties it to one loop, and a
    plain thread lock keeps it exact when event loops in several threads share a key.
    All waiting goes through the clock, so under a ``FakeClock`` a long queue costs no wall time.
    ``pause_creates(s)`` holds back every create for ``s`` seconds (after kie answered 429).
    """

    _shared: ClassVar[weakref.WeakValueDictionary[tuple[Secret, object], RateLimiter]] = (
        weakref.WeakValueDictionary()
    )
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        creates: int = 20,
        create_period: float = 10.0,
        reads: int = 10,
        read_period: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or RealClock()
        self._creates = _Window(creates, create_period)
        self._reads = _Window(reads, read_period)
        self._creates_paused_until = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, key: Secret, clock: Clock | None = None) -> RateLimiter:
        """The one limiter of ``key`` in this process (per clock, so fake-clock tests stay apart)."""
        clock = clock or RealClock()
        # Every RealClock tells the same time, so they share; any other clock shares only with itself.
        clock_id: object = "real" if isinstance(clock, RealClock) else id(clock)
        with cls._shared_lock:
            found = cls._shared.get((key, clock_id))
            if found is None:
                found = cls(clock=clock)
                cls._shared[(key, clock_id)] = found
            return found

    async def acquire_create(self) -> None:
        """Wait until one more create fits into the window (and any 429 pause is over), then take it."""
        await self._acquire(self._creates, creates=True)

    async def acquire_read(self) -> None:
        """Wait until one more status read fits into its window, then take it."""
        await self._acquire(self._reads, creates=False)

    def pause_creates(self, seconds: float) -> None:
        """Hold back every create for ``seconds`` from now (kie answered 429 to one of them)."""
        with self._lock:
            until = self.clock.monotonic() + max(0.0, seconds)
            self._creates_paused_until = max(self._creates_paused_until, until)

    @property
    def stats(self) -> dict[str, float]:
        """Grants made and seconds spent waiting, per window (for benchmarks and the doctor)."""
        return {
            "creates": self._creates.granted,
            "create_wait": self._creates.waited,
            "reads": self._reads.granted,
            "read_wait": self._reads.waited,
        }

    async def _acquire(self, window: _Window, *, creates: bool) -> None:
        while True:
            # The thread lock only matters when two event loops (threads) share one key's limiter.
            with self._lock:
                now = self.clock.monotonic()
                wait = window.delay(now)
                if creates:
                    wait = max(wait, self._creates_paused_until - now)
                if wait <= 0:
                    window.grant(now)
                    return
                window.waited += wait
            await self.clock.sleep(wait)

    def __repr__(self) -> str:
        c, r = self._creates, self._reads
        return f"RateLimiter(creates={c.limit}/{c.period:g}s, reads={r.limit}/{r.period:g}s)"
