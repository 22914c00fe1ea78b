"""Pacing of creates by kie's answer times, shared per key across clients and event loops."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import deque
from typing import ClassVar

from kie_widgets.clock import Clock, RealClock


class CreatePacer:
    """At most ``limit`` creates per ``period`` s, each counted from when its answer came back.

    kie counts a create when it arrives; a limiter that counts from the moment a request is sent
    lets the next window open a little early, and the requests that arrive late in one window are
    refused with 429 in the next. Counting from the answer (which comes after the arrival) and
    holding a slot while the request is in flight can never run ahead of kie's own count. No
    await between check and take, and waiters are woken on their own loop, so one pacer serves
    every event loop and thread of the process.
    """

    _shared: ClassVar[dict[tuple[str, int | str, int, float], CreatePacer]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    #: Creates on the wire at once: a burst of hundreds of simultaneous connections is what makes a
    #: server drop some after they were sent, and each of those is an uncertain (maybe paid) task.
    max_in_flight = 8

    def __init__(self, limit: int, period: float, clock: Clock) -> None:
        self.limit, self.period, self.clock = limit, period, clock
        self.in_flight = 0
        self._answered: deque[float] = deque()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, key: str, clock: Clock, limit: int, period: float) -> CreatePacer:
        """The pacer of this key (per clock, so fake-clock tests stay apart) in this process."""
        clock_id: int | str = "real" if isinstance(clock, RealClock) else id(clock)
        digest = hashlib.sha256(key.encode()).hexdigest()  # the key itself is never kept around
        with cls._shared_lock:
            found = cls._shared.get((digest, clock_id, limit, period))
            if found is None:
                found = cls._shared[(digest, clock_id, limit, period)] = cls(limit, period, clock)
            return found

    async def acquire(self) -> None:
        """Wait until a create fits, then hold a slot for it."""
        while True:
            wake: asyncio.Future[None] | None = None
            with self._lock:
                now = self.clock.monotonic()
                while self._answered and self._answered[0] <= now - self.period:
                    self._answered.popleft()
                if self.in_flight < self.max_in_flight and self.in_flight + len(self._answered) < self.limit:
                    self.in_flight += 1
                    return
                if self.in_flight >= self.max_in_flight or not self._answered:
                    # Blocked by creates on the wire: sleep until one of them is answered.
                    loop = asyncio.get_running_loop()
                    wake = loop.create_future()
                    self._waiters.append((loop, wake))
                else:
                    wait = self._answered[0] + self.period - now
            if wake is not None:
                await wake
            else:
                await self.clock.sleep(max(wait, 0.001))

    def release(self, *, counted: bool) -> None:
        """Free the in-flight slot; a create kie may have counted keeps its place for one period."""
        with self._lock:
            self.in_flight -= 1
            if counted:
                self._answered.append(self.clock.monotonic())
            waiters, self._waiters = self._waiters, []
        # Every waiter checks again (cheap); waking only one could leave free slots unused.
        here = _running_loop()
        for loop, future in waiters:
            if loop is here:
                _wake(future)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
