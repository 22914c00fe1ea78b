"""The credit ledger and the request limits.

Credits of running tasks are spoken for: a create the free balance cannot cover is refused
(402). A task is debited only when it ends in success; a failure releases its credits. The
limits count requests in sliding windows; a refused create (429) creates nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from kie_widgets.sandbox._tasks import SandboxTask


class WindowLimit:
    """Times of past requests, to tell whether a window already holds as many as allowed."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def full(self, now: float, limit: tuple[int, float]) -> bool:
        """Whether ``count`` requests already fell within the last ``window`` seconds (of ``limit``)."""
        count, window = limit
        while self._times and self._times[0] <= now - window:
            self._times.popleft()
        return len(self._times) >= count

    def add(self, now: float) -> None:
        """Count one request at ``now``."""
        self._times.append(now)


class Ledger:
    """The balance and the create/read windows of one sandbox."""

    def __init__(self, credits: float) -> None:
        self.balance = float(credits)
        self.creates = WindowLimit()
        self.reads = WindowLimit()

    def covers(self, price: float, tasks: Iterable[SandboxTask]) -> bool:
        """Whether the balance less what running tasks have reserved pays for ``price``."""
        reserved = sum(t.price for t in tasks if not t.settled)
        return not self.balance - reserved < price

    def settle(self, tasks: Iterable[SandboxTask], now: float) -> list[SandboxTask]:
        """Book every task that ended by ``now`` (debit successes); returns them in completion order."""
        due = sorted((t for t in tasks if not t.settled and t.ends <= now), key=lambda t: t.ends)
        for task in due:
            task.settled = True
            if task.fail_code is None:
                self.balance -= task.price
                task.charged = task.price
        return due


__all__ = ["Ledger", "WindowLimit"]
