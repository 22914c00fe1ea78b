"""The blocking facade: one background thread owns an event loop and the one ``KieClient``.

Blocking calls hand their coroutine to that loop with ``asyncio.run_coroutine_threadsafe`` and wait
for the result, so they work the same from a plain script, IPython, a Jupyter cell whose own loop is
running, a widget callback or any other thread — without nest_asyncio or any other global patching.
``submit`` returns a ``concurrent.futures.Future`` at once, for callers that must not block.

A ``KeyboardInterrupt`` while waiting cancels the work cleanly: a submitted task stays pending in the
journal (``resume()`` collects it later) and the interrupt is re-raised.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from kie_widgets.jobs import Budget, KieClient

T = TypeVar("T")
P = ParamSpec("P")

# How long shutdown waits for the client to close its connections.
_CLOSE_TIMEOUT = 5.0


class _LoopThread:
    """A daemon thread running one event loop forever, and the client that lives on it."""

    def __init__(self, client_kwargs: Mapping[str, Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self._client_kwargs = dict(client_kwargs)
        self._client: KieClient | None = None
        self._client_lock: asyncio.Lock | None = None
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name="kie-widgets-loop", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def client(self) -> KieClient:
        """The loop's client, created (and entered) on the loop thread on first use."""
        if self._client_lock is None:
            self._client_lock = asyncio.Lock()
        async with self._client_lock:
            if self._client is None:
                client = KieClient(**self._client_kwargs)
                client.budget = _budget
                await client.__aenter__()
                self._client = client
        return self._client

    @property
    def current(self) -> KieClient | None:
        """The client if it was created already."""
        return self._client

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        """Close the client, stop the loop and join the thread (bounded)."""
        if not self.loop.is_running():
            return

        async def close() -> None:
            # Work still running is cancelled like a Ctrl-C: its tasks stay pending in the journal.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
                self._client = None

        if threading.current_thread() is not self.thread:
            # Closing is best effort: at interpreter exit a hung connection must not block.
            with contextlib.suppress(Exception):
                self.submit(close()).result(_CLOSE_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(_CLOSE_TIMEOUT)


_lock = threading.Lock()
_runner: _LoopThread | None = None
_client_kwargs: dict[str, Any] = {}
_budget: Budget | None = None


def use_budget(budget: Budget | None) -> None:
    """Charge ``budget`` for every ``generate()`` of the loop thread's client (the session's budget)."""
    global _budget
    _budget = budget
    runner = _runner
    if runner is not None and runner.current is not None:
        runner.current.budget = budget


def _get_runner() -> _LoopThread:
    global _runner
    with _lock:
        if _runner is None or not _runner.thread.is_alive():
            _runner = _LoopThread(_client_kwargs)
        return _runner


def configure(**client_kwargs: Any) -> None:
    """Use a fresh client built with these ``KieClient`` arguments (``transport=``, ``manifest=``, ...).

    The current loop thread (and its client) is shut down first; the next call starts a new one.
    Call with no arguments to go back to the settings from the environment.
    """
    global _client_kwargs, _runner
    # One step under the lock: a call from another thread in between must not start a loop
    # thread with the old arguments that would then outlive this call.
    with _lock:
        runner, _runner = _runner, None
        _client_kwargs = dict(client_kwargs)
    if runner is not None:
        runner.stop()


def configured() -> bool:
    """Whether ``configure()`` was given explicit client arguments (a test transport, a manifest)."""
    with _lock:
        return bool(_client_kwargs)


def shutdown() -> None:
    """Close the client and stop the background loop thread (a later call starts a new one)."""
    global _runner
    with _lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.stop()


atexit.register(shutdown)


def get_client() -> KieClient:
    """The loop thread's own ``KieClient`` (use its coroutines only through ``submit``)."""
    runner = _get_runner()
    if threading.current_thread() is runner.thread:
        if runner.current is None:
            raise RuntimeError("get_client() on the loop thread before the client exists; await it instead.")
        return runner.current
    return _wait(runner.submit(runner.client()))


def submit(
    coro_fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any
) -> concurrent.futures.Future[T]:
    """Run ``coro_fn(*args, **kwargs)`` on the loop thread; returns a future at once.

    Safe from any thread, including a widget callback. The coroutine is created on the loop thread.
    """
    runner = _get_runner()

    async def call() -> T:
        return await coro_fn(*args, **kwargs)

    return runner.submit(call())


def call_client(
    method: Callable[Concatenate[KieClient, P], Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Await ``method(client, *args, **kwargs)`` on the loop thread's client and wait for its result."""
    runner = _get_runner()
    if threading.current_thread() is runner.thread:
        raise RuntimeError(
            "A blocking kie_widgets call was made on its own event-loop thread, where it would wait "
            "forever; await the KieClient method instead."
        )

    async def call() -> T:
        client = await runner.client()
        return await method(client, *args, **kwargs)

    return _wait(runner.submit(call()))


def blocking(method: Callable[Concatenate[KieClient, P], Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """The blocking twin of a ``KieClient`` coroutine method, with its signature and docstring."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return call_client(method, *args, **kwargs)

    # help() and IDEs show the method's parameters without ``self``.
    sig = inspect.signature(method)
    call.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])  # type: ignore[attr-defined]
    del call.__wrapped__
    return call


def _wait(future: concurrent.futures.Future[T]) -> T:
    """Wait for ``future``; on Ctrl-C cancel the work on the loop, then re-raise."""
    try:
        return future.result()
    except KeyboardInterrupt:
        # Cancelling the future cancels the asyncio task; a paid task stays pending in the journal.
        future.cancel()
        with contextlib.suppress(BaseException):
            future.result(timeout=_CLOSE_TIMEOUT)
        raise


generate = blocking(KieClient.generate)
generate_many = blocking(KieClient.generate_many)
edit = blocking(KieClient.edit)
upscale = blocking(KieClient.upscale)
remove_background = blocking(KieClient.remove_background)
credits = blocking(KieClient.credits)
resume = blocking(KieClient.resume)


__all__ = [
    "blocking",
    "call_client",
    "configure",
    "configured",
    "credits",
    "edit",
    "generate",
    "generate_many",
    "get_client",
    "remove_background",
    "resume",
    "shutdown",
    "submit",
    "upscale",
    "use_budget",
]
