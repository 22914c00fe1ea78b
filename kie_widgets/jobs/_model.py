"""What a request looks like from outside: status updates, the polling schedule, task handles."""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kie_widgets.assets.record import AssetRecord
from kie_widgets.errors import KieValidationError, Problem

if TYPE_CHECKING:
    from kie_widgets.assets import Asset
    from kie_widgets.catalog import InputRef, Plan
    from kie_widgets.client import TaskStatus


log = logging.getLogger("kie_widgets.jobs")

StatusCallback = Callable[["StatusUpdate"], Any]

_RNG = random.Random()


# --------------------------------------------------------------------------------------------
# The options of a run, checked before anything is uploaded or paid


def check_run_options(*, timeout: Any = None, scene_id: Any = None, context: Any = None) -> None:
    """``KieValidationError`` naming each bad option of a run (``timeout``, ``scene_id``, ``context``).

    Each of them is used only after the create is paid (the deadline while polling, the record after
    the download), so each is checked before anything leaves.
    """
    problems: list[Problem] = []
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        problems.append(
            Problem("timeout", "must be a positive, finite number of seconds", timeout, "e.g. 300")
        )
    if scene_id is not None and (
        isinstance(scene_id, bool) or not isinstance(scene_id, (int, str)) or not _json_ok(scene_id)
    ):
        problems.append(
            Problem("scene_id", "must be a whole number or a text", scene_id, "e.g. 3 or 'intro'")
        )
    if context is not None and (not isinstance(context, Mapping) or not _json_ok(dict(context))):
        problems.append(
            Problem(
                "context",
                "must be a dict of JSON data (text, finite numbers, true/false, null, lists, dicts)",
                type(context).__name__,
            )
        )
    if problems:
        raise KieValidationError(problems)


def _json_ok(value: Any) -> bool:
    """Whether ``value`` is JSON data the manifest can hold (no NaN, no objects, sendable text)."""
    try:
        json.dumps(value, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------------------------
# Status reports and the polling schedule


@dataclass(frozen=True)
class StatusUpdate:
    """One change in a request's life, as shown on a status line or a widget."""

    #: "planning" | "uploading" | "submitting" | "queued" | "generating" | "downloading" | "done" |
    #: "failed" | "reused" | "timeout"
    state: str
    #: The model's display name.
    model: str
    task_id: str | None = None
    #: 0.0–1.0 when kie reports it, else None.
    progress: float | None = None
    #: Seconds since the request started (on the client's clock).
    elapsed: float = 0.0
    message: str = ""
    #: Which plan of the request (``Plan.part``) and which request of a submission this is about.
    part: int = 0
    request: int = 0


@dataclass(frozen=True)
class PollSchedule:
    """How long to wait between status reads, by time since submission (kie-api.md §4.4).

    ``bands`` are ``(until_seconds, low, high)``: before ``until_seconds`` the next read comes after a
    uniformly jittered ``low``–``high`` seconds. ``grace`` is how long a task that kie does not show
    yet (404 / 422 "record is null" right after creation) is waited for before it counts as missing.
    """

    bands: tuple[tuple[float, float, float], ...] = (
        (30.0, 2.0, 3.0),
        (120.0, 5.0, 10.0),
        (math.inf, 15.0, 30.0),
    )
    grace: float = 90.0

    def interval(self, elapsed: float, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next status read of a task submitted ``elapsed`` seconds ago."""
        pick = rng or _RNG
        for until, low, high in self.bands:
            if elapsed < until:
                return pick.uniform(low, high)
        _, low, high = self.bands[-1]
        return pick.uniform(low, high)

    def reads_within(self, seconds: float) -> tuple[int, int]:
        """The fewest and most status reads this schedule makes in ``seconds`` (for benchmarks)."""

        def count(pick: int) -> int:
            t, reads = 0.0, 0
            while True:
                for until, *bounds in self.bands:
                    if t < until:
                        step = bounds[pick]
                        break
                t += step
                if t > seconds:
                    return reads
                reads += 1

        return count(1), count(0)


# --------------------------------------------------------------------------------------------
# What resume() did


class ResumeReport(list["Asset"]):
    """What ``resume()`` did: the list itself holds the assets it collected (in journal order).

    ``pending``: tasks still to collect, each ``{"task_id", "model", "reason"}``; ``given_up``: tasks
    whose results stayed unusable after ``max_result_attempts`` tries (marked so in the journal, with
    the reason); ``failed``: tasks kie reported as failed (kie does not charge those); ``uncertain``:
    creates that may have been paid without a task id we know (the journal record, with
    ``what_to_check``); ``errors``: the exceptions behind ``pending``, ``given_up`` and ``failed``.
    """

    def __init__(self, collected: list[Asset] | None = None) -> None:
        super().__init__(collected or [])
        self.pending: list[dict[str, Any]] = []
        self.given_up: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.uncertain: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []

    @property
    def collected(self) -> list[Asset]:
        """The assets collected (the same as the list)."""
        return list(self)

    def summary(self) -> str:
        """One line per outcome, for a status line or a log."""
        lines = [f"resume: collected {len(self)} image(s)"]
        for item in self.pending:
            lines.append(f"still pending: {item['model']} task {item['task_id']} ({item['reason']})")
        for item in self.given_up:
            lines.append(f"given up: {item['model']} task {item['task_id']} ({item['reason']})")
        for item in self.failed:
            lines.append(f"failed at kie: {item['model']} task {item['task_id']} ({item['reason']})")
        for record in self.uncertain:
            lines.append(f"uncertain: {record['what_to_check']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ResumeReport(collected={len(self)}, pending={len(self.pending)}, "
            f"given_up={len(self.given_up)}, failed={len(self.failed)}, uncertain={len(self.uncertain)})"
        )


def what_to_check(record: Mapping[str, Any]) -> str:
    """What to do about an uncertain create: when it was sent, what it asked for, where to look."""
    body = record.get("body") or {}
    inner = body.get("input") if isinstance(body.get("input"), Mapping) else body
    prompt = inner.get("prompt") if isinstance(inner, Mapping) else None
    shown = f" {str(prompt)[:60]!r}" if prompt else ""
    return (
        f"{record.get('model')}{shown}, sent {record.get('created_at')} (journal {record.get('journal_id')}, "
        f"recipe {str(record.get('recipe') or '?')[:12]}): kie may have made and charged this task. Look for "
        "it at https://kie.ai/logs; then dismiss the record (current_session().dismiss(id)) or, if kie has "
        "no such task, send the request again (force=True, --force)."
    )


# --------------------------------------------------------------------------------------------
# Handles


@dataclass
class Job:
    """One submitted kie task: what was sent, where it is, and what it produced."""

    task_id: str
    family: str
    model_id: str
    model: str
    endpoint: str
    body: dict[str, Any]
    operation: str
    #: Everything recorded about each result, filled when the request was sent: journaled.
    record: AssetRecord
    context: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None
    #: Client-clock time of submission (monotonic).
    started: float = 0.0
    state: str = "queued"
    progress: float | None = None
    status: TaskStatus | None = None

    def __repr__(self) -> str:
        return f"Job(task_id={self.task_id!r}, model={self.model!r}, state={self.state!r})"


@dataclass
class Prepared:
    """A planned request with its inputs loaded, hashed and checked, before anything is paid."""

    plan: Plan
    operation: str
    data: list[tuple[InputRef, bytes, str]]  # (ref, bytes, mime) per upload placeholder
    parents: list[str]
    recipe: str
    scene_id: int | str | None
    context: dict[str, Any]
    #: One id per generate() call: the n variants of a call are versions of each other by the
    #: manifest's rule, and this lets a history view show them side by side all the same.
    batch: str | None = None
    #: Index (within its request) of the first image this plan makes.
    first_variant: int = 0
