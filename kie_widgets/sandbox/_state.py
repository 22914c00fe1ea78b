"""What every part of one sandbox shares: settings, clock, tasks, one random source and one lock."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from kie_widgets.clock import Clock
from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._records import Reply
from kie_widgets.sandbox._tasks import SandboxTask
from kie_widgets.sandbox._wire import envelope, upload_error


@dataclass
class SandboxState:
    """The shared state the routes, files, uploads and callbacks read.

    ``config`` is replaced, not mutated, when the real server learns its address, so the parts read
    it from here each time. One ``rng`` serves task ids, fault rates and link tokens, so a seed
    fixes a whole run; ``lock`` guards the tasks and every store.
    """

    config: SandboxConfig
    clock: Clock
    rng: random.Random
    tasks: dict[str, SandboxTask] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def envelope(self, code: int, msg: str | None = None, data: Any = None) -> Reply:
        """kie's error envelope, with a real HTTP status when the config asks for one."""
        return envelope(code, msg, data, http_errors=self.config.http_errors)

    def upload_error(self, code: int, msg: str) -> Reply:
        """The upload host's error form, with a real HTTP status when the config asks for one."""
        return upload_error(code, msg, http_errors=self.config.http_errors)


__all__ = ["SandboxState"]
