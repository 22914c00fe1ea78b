"""A clock-driven sliding-window limiter shared by every call made with one API key."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from typing import ClassVar

from kie_widgets.clock import Clock, RealClock
from kie_widgets.config import Secret


class _Window:
    """At most ``limit`` grants in any ``period`` seconds.

    A grant counts from the time it is settled; an open grant (a request still on the wire) counts
    until then, however long that takes.
    """

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate window needs a positive limit and period")
        self.limit = limit
        self.period = period
        self._settled: deque[float] = deque()
        self.open = 0
        self.granted = 0
        self.waited = 0.0

    def delay(self, now: float) -> float | None:
        """Seconds until a grant would fit (0 = now), or ``None`` while open grants fill the window."""
        while self._settled and self._settled[0] <= now - self.period:
            self._settled.popleft()
        if len(self._settled) + self.open < self.limit:
            return 0.0
        if not self._settled:
            return None
        return self._settled[0] + self.period - now

    def settle(self, now: float, *, counted: bool) -> None:
        """Close an open grant: it counts from ``now`` on, or not at all when ``counted`` is false."""
        self.open -= 1
        if counted:
            self._settled.append(now)


class RateLimiter:
    """kie's per-key limits: ``creates`` per ``create_period`` s and ``reads`` per ``read_period`` s.

    kie counts a create when it *arrives*, which is some time after we send it and before its answer
    comes back. So a create holds its place from ``open_create()`` until ``close_create()``, and from
    then on counts from that moment (the answer): a create that arrives late in one window can never
    make the next window start early. A create kie surely did not count (the connection was never
    made, or it answered 429) gives its place back. At most ``creates_in_flight`` creates are on the
    wire at once: a burst of hundreds of simultaneous connections is what makes a server drop some
    after they were sent, and each of those is an uncertain (maybe paid) task.

    Every status read awaits ``acquire_read()``. The check and the grant happen without an ``await``
    in between, so concurrent callers never overshoot; a plain thread lock (no asyncio lock) keeps it
    exact when event loops in several threads share a key, and a create waiting for an answer is
    woken on its own loop. Timed waits go through the clock, so under a ``FakeClock`` a long queue
    costs no wall time. ``pause_creates(s)`` holds back every create for ``s`` seconds (after a 429).
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
        creates_in_flight: int = 8,
        clock: Clock | None = None,
    ) -> None:
        if creates_in_flight < 1:
            raise ValueError("a rate limiter needs a positive number of creates in flight")
        self.clock: Clock = clock or RealClock()
        self.creates_in_flight = creates_in_flight
        self._creates = _Window(creates, create_period)
        self._reads = _Window(reads, read_period)
        self._creates_paused_until = float("-inf")
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

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

    async def open_create(self) -> None:
        """Wait until one more create fits (and any 429 pause is over), then hold its place.

        Every ``open_create()`` must be followed by exactly one ``close_create()``.
        """
        await self._acquire(self._creates, creates=True)

    def close_create(self, *, counted: bool = True) -> None:
        """The create's answer (or failure) is in: it counts from now, or not at all if kie never took it."""
        with self._lock:
            self._creates.settle(self.clock.monotonic(), counted=counted)
            waiters, self._waiters = self._waiters, []
        # Every waiter checks again (cheap); waking only one could leave a free place unused.
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    async def acquire_create(self) -> None:
        """Take a place for a create that counts from now (``open_create`` + ``close_create`` at once)."""
        await self.open_create()
        self.close_create()

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
        started = self.clock.monotonic()
        while True:
            wake: asyncio.Future[None] | None = None
            with self._lock:
                now = self.clock.monotonic()
                wait = window.delay(now)
                if creates and window.open >= self.creates_in_flight:
                    wait = None
                if creates and wait is not None:
                    wait = max(wait, self._creates_paused_until - now)
                if wait is not None and wait <= 0:
                    window.open += 1
                    window.granted += 1
                    window.waited += now - started
                    if not creates:
                        window.settle(now, counted=True)
                    return
                if wait is None:
                    # Only answers can make room: sleep until a create in flight is closed.
                    loop = asyncio.get_running_loop()
                    wake = loop.create_future()
                    self._waiters.append((loop, wake))
            if wake is not None:
                await wake
            else:
                assert wait is not None
                await self.clock.sleep(wait)

    def __repr__(self) -> str:
        c, r = self._creates, self._reads
        return (
            f"RateLimiter(creates={c.limit}/{c.period:g}s, reads={r.limit}/{r.period:g}s, "
            f"creates_in_flight={self.creates_in_flight})"
        )


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
