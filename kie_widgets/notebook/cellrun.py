"""A cell's requests while they run on the client's loop thread: status lines, waiting, results.

Every display is made on the cell's own thread (so it lands in that cell) and is only ever *updated*
from other threads, through its display handle (DESIGN.md §4):

* each model's status line is followed by one empty slot per expected image, made before any work
  is handed over; results fill the slots, so each model's images sit under its own caption;
* a waiting cell (the default) polls its futures, redraws the status lines and fills the slots itself;
* a ``--no-wait`` cell returns at once; the loop thread updates the status lines, and a helper thread
  fills the slots when the work is done (thumbnailing never runs on the loop thread).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from kie_widgets.errors import KieError
from kie_widgets.notebook import display as ui
from kie_widgets.notebook.advice import describe_error, scrub_key
from kie_widgets.notebook.context import CellContext
from kie_widgets.notebook.render import Renderer

if TYPE_CHECKING:
    # Deferred at runtime: concurrent.futures costs more to import than the rest of the extension.
    import concurrent.futures


# The session's state names, in the words the status line has always used.
_LINE_STATES = {"planned": "planning", "stopped waiting": "timeout"}


@dataclass
class CellJob:
    """One model's request inside a cell: its status line, its future, and where results go."""

    model: str
    label: str
    kwargs: dict[str, Any]
    status: ui.StatusLine
    operation: str | None = None
    future: concurrent.futures.Future[Any] | None = None
    slots: list[Any] = field(default_factory=list)
    planned_credits: float | None = None
    context: CellContext | None = None


def status_callback(line: ui.StatusLine, *, draw: bool) -> Callable[[Any], None]:
    """An ``on_status`` for the client; it runs on the loop thread.

    With ``draw=False`` (the cell is waiting) it only records the state and the waiting thread draws
    it, so every display call of a waiting cell is made on the cell's own thread. With ``draw=True``
    (``--no-wait``) it updates the display handle made earlier in the cell.
    """

    def on_status(update: Any) -> None:
        state = _LINE_STATES.get(update.state, update.state)
        line.post(
            state,
            progress=update.progress,
            task_id=update.task_id,
            message=update.message if state in {"reused", "failed", "timeout", "uploading"} else "",
        )
        if draw:
            line.flush()

    return on_status


def outcome(future: concurrent.futures.Future[Any]) -> tuple[list[Any], BaseException | None]:
    """(assets, error) of a finished job; a partial failure carries the assets that were saved."""
    exc = future.exception()
    if exc is None:
        return list(future.result()), None
    return list(getattr(exc, "assets", [])), exc


def wait_all(jobs: Sequence[CellJob], tick_interval: float) -> None:
    """Block until every job is done, redrawing the status lines about every ``tick_interval`` s."""
    from concurrent import futures as cf

    futures = [job.future for job in jobs if job.future is not None]
    try:
        while True:
            # Short waits so a change of state shows promptly; the elapsed time ticks each interval.
            _done, pending = cf.wait(futures, timeout=0.2)
            for job in jobs:
                job.status.flush(force=job.status.since_shown >= tick_interval)
            if not pending:
                return
    except KeyboardInterrupt:
        # Ctrl-C stops our waiting, not kie: one line per job that says so, and no traceback.
        lines = []
        for job in jobs:
            if job.future is not None and not job.future.done():
                job.future.cancel()
                message = _stopped_message(job.status.task_id)
                job.status.update("timeout", message=message, force=True)
                lines.append(f"{job.label}: {message}")
        raise UsageError("\n".join(lines) or "stopped waiting") from None


def _stopped_message(task_id: str | None) -> str:
    if task_id:
        return "stopped waiting; the task is still running at kie; `%kie_image resume` collects it"
    return "stopped waiting; if the create was already sent, `%kie_image resume` reports or collects it"


def tick_until_done(jobs: Sequence[CellJob], tick_interval: float) -> None:
    """``--no-wait``: keep the elapsed time on the status lines moving until the work is done."""
    from concurrent import futures as cf

    while True:
        pending = [job for job in jobs if job.future is not None and not job.future.done()]
        if not pending:
            return
        for job in pending:
            job.status.tick()
        cf.wait([j.future for j in pending if j.future], timeout=tick_interval)


def error_line(job: CellJob, exc: BaseException) -> str:
    """The red line that replaces a job's status when it failed."""
    return scrub_key(f"✘ {job.label} · {describe_error(exc, planned_credits=job.planned_credits)}")


def failure(errors: Sequence[tuple[CellJob, BaseException]]) -> BaseException:
    """One short UsageError for kie errors; anything else (a bug) is re-raised with its traceback."""
    from concurrent.futures import CancelledError

    for _job, exc in errors:
        if not isinstance(exc, (KieError, CancelledError)):
            return exc
    lines = [scrub_key(f"{job.label}: {describe_error(exc, job.planned_credits)}") for job, exc in errors]
    return UsageError("\n".join(lines))


def _inline_html(data: dict[str, Any]) -> str:
    for mime in ("image/jpeg", "image/png"):
        if mime in data:
            return f'<img src="data:{mime};base64,{data[mime]}" style="max-width:256px"/>'
    return ""


def show_assets(
    job: CellJob, assets: Sequence[Any], renderer: Renderer, *, error: BaseException | None = None
) -> None:
    """Thumbnails and the caption table; with ``error`` (some requests failed) it is named too.

    A job of a generating cell fills the slots it made under its status line; one without slots
    (``resume``, which cannot know how many images are coming) displays them on this thread.
    """
    elapsed = job.status.elapsed
    reused = all(getattr(a, "reused", False) for a in assets)
    count = f"{len(assets)} image{'s' if len(assets) != 1 else ''}"
    title = f"{job.label} · {layers_title(assets) or count}"
    title += " (reused, no credits spent)" if reused else ""
    images = [renderer.bundle(asset) for asset in assets]
    note = ""
    if job.context is not None and job.context.headless and not reused:
        note = "recorded without a cell id: headless run, the frontend sent none"
    if error is not None:
        note = error_line(job, error) + (f" ({note})" if note else "")
    caption, meta = ui.caption_bundle(assets, title=title, elapsed=None if reused else elapsed, note=note)
    if job.slots:
        for slot, (data, metadata) in zip(job.slots, images, strict=False):
            slot.update(data, raw=True, metadata=metadata)
        for data, _metadata in images[len(job.slots) :]:  # more images than planned: under the caption
            caption["text/html"] += _inline_html(data)
        job.status.replace(caption, meta)
        return
    job.status.replace(caption, meta)
    for data, metadata in images:
        ui.show(data, metadata)


def layers_title(assets: Sequence[Any]) -> str | None:
    """The caption of one layer decomposition's results, named as a group; None for other results."""
    groups = [getattr(a, "extra", {}).get("layer_group") for a in assets]
    ids = {g.get("id") for g in groups if isinstance(g, dict)}
    if not groups or len(ids) != 1 or not all(isinstance(g, dict) for g in groups):
        return None
    parents = getattr(assets[0], "extra", {}).get("parents") or []
    source = f" of {parents[0]}" if parents else ""
    layers = len(assets) - 1
    return f"layers{source}: base image + {layers} transparent layer{'s' if layers != 1 else ''}"


def bind_last(assets: list[Any]) -> None:
    """``kie_widgets.last``: the assets of the most recent cell."""
    import kie_widgets

    kie_widgets.last = assets


def finish_later(job: CellJob, renderer: Renderer, out: list[Any]) -> Callable[[Any], None]:
    """A done-callback for a ``--no-wait`` job: renders on a helper thread, off the loop thread."""

    def finish(future: concurrent.futures.Future[Any]) -> None:
        try:
            if future.cancelled():
                job.status.replace(ui.status_bundle(f"✘ {job.label} · cancelled", failed=True))
                return
            assets, exc = outcome(future)
            if exc is not None and not assets:
                job.status.replace(ui.status_bundle(error_line(job, exc), failed=True))
                return
            show_assets(job, assets, renderer, error=exc)
            out.extend(assets)
            bind_last(list(out))
        except Exception as exc:  # a background display failure must still be visible
            job.status.replace(
                ui.status_bundle(f"✘ {job.label} · could not show the result: {exc}", failed=True)
            )

    def done(future: concurrent.futures.Future[Any]) -> None:
        threading.Thread(target=finish, args=(future,), daemon=True).start()

    return done


__all__ = [
    "CellJob",
    "bind_last",
    "error_line",
    "failure",
    "finish_later",
    "outcome",
    "show_assets",
    "status_callback",
    "tick_until_done",
    "wait_all",
]
