"""``Run`` and ``TaskHandle``: a submission seen from a front end, while it runs and after.

A run holds one handle per plan (one kie task each). The client reports every change on its loop
thread; the run applies it to the handle there and hands a ``TaskEvent`` to each subscriber on the
thread that subscriber named (DESIGN.md §4):

* ``"loop"``: at once, on the loop thread (the callback must be quick and must not wait for kie);
* ``"thread"`` (the default): on the session's one delivery thread, in order; widget callbacks
  that update traits belong here;
* an object with ``submit(fn, *args)`` (an executor) runs it there;
* ``"queue"``: kept until the front end calls ``run.drain()`` on its own thread (a waiting cell).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kie_widgets.errors import KieBatchError, KieWaitTimeoutError

if TYPE_CHECKING:
    from kie_widgets.assets import Asset
    from kie_widgets.catalog import Plan
    from kie_widgets.jobs import StatusUpdate

log = logging.getLogger("kie_widgets.session")

#: Every state a task passes through, in order of a normal life, then the endings.
STATES = (
    "planned",
    "uploading",
    "submitting",
    "queued",
    "generating",
    "downloading",
    "done",
    "reused",
    "failed",
    "uncertain",
    "stopped waiting",
)
FINAL_STATES = frozenset({"done", "reused", "failed", "uncertain", "stopped waiting"})

# The client's words for a state, where they differ from ours.
_CLIENT_STATES = {"planning": "planned", "timeout": "stopped waiting"}

Subscriber = Callable[["TaskEvent"], Any]


@dataclass
class TaskHandle:
    """One kie task of a run: what was planned, where it is now, and what it made."""

    plan: Plan
    state: str = "planned"
    task_id: str | None = None
    progress: float | None = None
    elapsed: float = 0.0
    message: str = ""
    assets: list[Asset] = field(default_factory=list)
    error: BaseException | None = None
    _future: asyncio.Future[Any] | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    @property
    def model(self) -> str:
        """The model's display name."""
        return self.plan.display_name

    @property
    def credits(self) -> float:
        """The estimated cost of this task (the exact cost once kie reports it is on the assets)."""
        return self.plan.estimated_credits

    @property
    def done(self) -> bool:
        """Whether the task reached a final state (for us: kie may still be working after a stop)."""
        return self.state in FINAL_STATES

    def stop_waiting(self) -> None:
        """Stop following this task; it stays in the journal and ``resume()`` collects it later."""
        future, loop = self._future, self._loop
        if future is not None and loop is not None and not future.done():
            loop.call_soon_threadsafe(future.cancel)


@dataclass(frozen=True)
class TaskEvent:
    """A change of one handle, as delivered to a subscriber."""

    handle: TaskHandle
    state: str
    progress: float | None
    elapsed: float
    message: str
    task_id: str | None


class Run:
    """A submission: one handle per task, events for subscribers, and the results when done.

    ``result()`` blocks (from any thread but the loop's); ``await run`` waits from a coroutine on any
    loop; ``stop_waiting()`` stops following every task that is still running.
    """

    def __init__(self, plans: Sequence[Plan], deliver: Callable[[Callable[[], Any]], None]) -> None:
        self.plans = list(plans)
        self.handles = [TaskHandle(p) for p in self.plans]
        self._deliver_default = deliver
        self._subscribers: list[tuple[Subscriber, Any]] = []
        self._queue: queue.SimpleQueue[TaskEvent] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.futures: dict[int, concurrent.futures.Future[list[Asset]]] = {}

    def __repr__(self) -> str:
        states = ", ".join(f"{h.model}: {h.state}" for h in self.handles)
        return f"Run({states})"

    # ---- grouping -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[int]:
        """The request numbers of this run, in order (one per model of a compare)."""
        return list(dict.fromkeys(p.request for p in self.plans))

    def handles_of(self, request: int) -> list[TaskHandle]:
        """The handles of one request, in part order."""
        return [h for h in self.handles if h.plan.request == request]

    @property
    def estimated_credits(self) -> float:
        """What the whole run is expected to cost."""
        return sum(p.estimated_credits for p in self.plans)

    # ---- events -----------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, *, on: Any = "thread") -> None:
        """Call ``callback(event)`` for every change, on the thread named by ``on`` (module doc).

        A late subscriber first gets one event per handle with its current state. With ``on="queue"``
        the events wait for ``drain()`` and ``callback`` is not called.
        """
        if on not in ("loop", "thread", "queue") and not hasattr(on, "submit"):
            raise ValueError(f"on: expected 'loop', 'thread', 'queue' or an executor, not {on!r}")
        with self._lock:
            self._subscribers.append((callback, on))
            current = [self._event(h) for h in self.handles]
        for event in current:
            self._send(callback, on, event)

    def drain(self) -> list[TaskEvent]:
        """The events queued for ``on="queue"`` subscribers since the last call (call it on your thread)."""
        out: list[TaskEvent] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def _on_status(self, update: StatusUpdate) -> None:
        """The client's status callback (loop thread): update the handle, tell the subscribers."""
        handle = self._handle_for(update.request, update.part)
        if handle is None:
            return
        state = _CLIENT_STATES.get(update.state, update.state)
        if handle.done:
            return
        if state in FINAL_STATES:
            # The end is published once, by _settle, with the assets or the error: a handle that
            # says "done" always has its assets. The client's words about it are kept for then.
            handle.message = update.message
            return
        handle.state = state
        handle.task_id = update.task_id or handle.task_id
        handle.progress = update.progress if update.progress is not None else handle.progress
        handle.elapsed = update.elapsed
        handle.message = update.message
        self._publish(handle)

    def _handle_for(self, request: int, part: int) -> TaskHandle | None:
        for h in self.handles:
            if h.plan.request == request and h.plan.part == part:
                return h
        return None

    def _publish(self, handle: TaskHandle) -> None:
        event = self._event(handle)
        with self._lock:
            subscribers = list(self._subscribers)
        for callback, on in subscribers:
            self._send(callback, on, event)

    @staticmethod
    def _event(h: TaskHandle) -> TaskEvent:
        return TaskEvent(h, h.state, h.progress, h.elapsed, h.message, h.task_id)

    def _send(self, callback: Subscriber, on: Any, event: TaskEvent) -> None:
        def call() -> None:
            try:
                callback(event)
            except Exception:  # a broken display must not stop the run or lose a result
                log.exception("a run subscriber failed")

        if on == "queue":
            self._queue.put(event)
        elif on == "loop":
            call()
        elif on == "thread":
            self._deliver_default(call)
        else:
            on.submit(call)

    # ---- outcomes -----------------------------------------------------------------------------

    def _settle(self, request: int, outcomes: Sequence[list[Asset] | BaseException]) -> None:
        """Record each part's outcome on its handle (loop thread) and publish the final state."""
        for handle, outcome in zip(self.handles_of(request), outcomes, strict=False):
            if isinstance(outcome, BaseException):
                handle.error = outcome
                if isinstance(outcome, (asyncio.CancelledError, KieWaitTimeoutError)):
                    handle.state = "stopped waiting"
                    handle.message = "stopped waiting; the task stays in the journal: resume() collects it"
                elif type(outcome).__name__ == "KieSubmitUncertainError":
                    handle.state = "uncertain"
                    handle.message = str(outcome)
                else:
                    handle.state = "failed"
                    handle.message = str(outcome)
            else:
                handle.assets = list(outcome)
                reused = bool(handle.assets) and all(getattr(a, "reused", False) for a in handle.assets)
                handle.state = "reused" if reused else "done"
            self._publish(handle)

    def done(self) -> bool:
        """Whether every request has finished (or was stopped)."""
        return all(f.done() for f in self.futures.values())

    def result(self, timeout: float | None = None) -> list[Asset]:
        """Every asset the run made, in request order then part order; waits for the run to end.

        If some tasks failed, ``KieBatchError`` carries the assets that were saved and the errors.
        """
        concurrent.futures.wait(list(self.futures.values()), timeout=timeout)
        assets: list[Asset] = []
        errors: list[BaseException] = []
        for request in self.requests:
            future = self.futures[request]
            if not future.done():
                raise TimeoutError(f"the run is still going after {timeout} s")
            exc = future.exception() if not future.cancelled() else asyncio.CancelledError()
            if exc is None:
                assets.extend(future.result())
            elif isinstance(exc, KieBatchError):
                assets.extend(exc.assets)
                errors.extend(exc.errors)
            else:
                errors.append(exc)
        if not errors:
            return assets
        if not assets and len(errors) == 1:
            raise errors[0]
        kinds = ", ".join(sorted({type(e).__name__ for e in errors}))
        raise KieBatchError(
            f"{len(errors)} request(s) failed ({kinds}); {len(assets)} image(s) were saved.",
            assets=assets,
            errors=[e for e in errors if isinstance(e, Exception)],
        )

    def __await__(self) -> Generator[Any, None, list[Asset]]:
        async def wait() -> list[Asset]:
            futures = [asyncio.wrap_future(f) for f in self.futures.values()]
            await asyncio.wait(futures)
            return self.result(timeout=0)

        return wait().__await__()

    def stop_waiting(self) -> None:
        """Stop following every task still running; each stays journaled for ``resume()``."""
        for handle in self.handles:
            handle.stop_waiting()


__all__ = ["FINAL_STATES", "STATES", "Run", "TaskEvent", "TaskHandle"]
