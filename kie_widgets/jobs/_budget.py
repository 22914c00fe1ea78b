"""``Budget``: the notebook's spending limit, checked before a request is sent.

It lives with the client because every front door charges it: ``Session.submit`` (the magic and the
Studio) and ``KieClient.generate`` (``kie_widgets.generate`` and its blocking twins, through the
runner's client, which carries the current session's budget).
"""

from __future__ import annotations

import threading

from kie_widgets.errors import KieBudgetError, Problem


class Budget:
    """A spending limit for the session (the notebook), in credits; ``None`` means no limit.

    Every run is charged its estimate when it is submitted; what turns out not to be spent (a
    reused result, a request refused before kie created a task) is given back when it ends.
    """

    def __init__(self, limit: float | None = None) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self.spent = 0.0

    def __repr__(self) -> str:
        limit = "none" if self.limit is None else f"{self.limit:g}"
        return f"Budget(limit={limit}, spent={self.spent:g})"

    @property
    def remaining(self) -> float | None:
        """Credits left under the limit, or ``None`` without a limit."""
        return None if self.limit is None else max(0.0, self.limit - self.spent)

    def refusal(self, estimate: float) -> str | None:
        """Why a request of ``estimate`` credits may not be sent now, or ``None`` if it may."""
        if self.limit is None or self.spent + estimate <= self.limit + 1e-9:
            return None
        return (
            f"{estimate:g} credits would go over the budget of {self.limit:g} "
            f"({self.spent:g} already spent, {self.remaining:g} left)"
        )

    def charge(self, estimate: float) -> None:
        """Count ``estimate`` as spent, or raise ``KieBudgetError`` if it would exceed the limit."""
        with self._lock:
            why = self.refusal(estimate)
            if why is not None:
                raise KieBudgetError(
                    [Problem("budget", why, estimate, f"at most {self.remaining:g} credits")],
                    hint="Raise the budget (Studio or %config KieMagics.budget) or ask for less.",
                )
            self.spent += estimate

    def refund(self, amount: float) -> None:
        """Give back credits that were charged but not spent."""
        with self._lock:
            self.spent = max(0.0, self.spent - amount)


__all__ = ["Budget"]
