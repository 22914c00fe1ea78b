"""Helpers shared by the notebook tests: a display publisher that records updates from any thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from IPython.core.displaypub import CapturingDisplayPublisher


class Recorder(CapturingDisplayPublisher):
    """A display publisher that keeps every display and every in-place update, from any thread."""

    def published(self) -> list[dict[str, Any]]:
        """Everything published so far (displays and updates, in order)."""
        return list(self.outputs)

    def current(self) -> list[dict[str, Any]]:
        """What the cell shows now: each display id's newest content, in order of first display."""
        shown: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        for i, out in enumerate(list(self.outputs)):
            display_id = (out.get("transient") or {}).get("display_id") or f"anon-{i}"
            if display_id not in shown:
                order.append(display_id)
            shown[display_id] = out
        return [shown[d] for d in order]

    def texts(self) -> str:
        """All text/plain currently shown, joined."""
        return "\n".join(str(o["data"].get("text/plain", "")) for o in self.current())

    def images(self) -> list[dict[str, Any]]:
        """Current outputs that carry an image mimetype."""
        return [o for o in self.current() if {"image/png", "image/jpeg"} & set(o["data"])]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        """Poll until ``predicate()`` holds (for --no-wait results filled in from another thread)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; shown so far:\n{self.texts()}")
            time.sleep(0.05)
