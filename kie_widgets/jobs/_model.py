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
    """How long to wait between status reads of a task, by the time since it was submitted.

    By default the gap grows with the time already waited: ``share`` of it, at least ``floor`` and
    at most ``ceiling`` seconds. A result is then noticed within ``max(floor, share x task time)`` of
    kie finishing it, whatever the task's length, in about 10 reads per doubling of the wait.

    Given ``expected``, the model's typical task time (``Manifest.typical_seconds``, learned from the
    tasks it recorded), reads are sparse (``sparse`` of the time waited) until ``early`` x expected
    and dense (``dense`` x expected, at least ``floor``) until ``late`` x expected, then follow the
    default rule: few reads while the task cannot be done yet, many around when it will be.

    ``bands`` replaces all of this with fixed ranges ``(until_seconds, low, high)``, like kie's own
    guidance (kie-api.md §4.4); tests use it for fast, predictable schedules. Every gap is jittered
    (downwards only, so the bounds above hold) so concurrent tasks do not read in lockstep; the shared
    rate limiter keeps all reads of one key within kie's limit. ``grace`` is how long a task kie does
    not show yet (404 / 422 "record is null" right after creation) is waited for before it counts as
    missing.
    """

    bands: tuple[tuple[float, float, float], ...] | None = None
    grace: float = 90.0
    floor: float = 0.5
    share: float = 0.1
    ceiling: float = 30.0
    sparse: float = 0.2
    dense: float = 0.05
    early: float = 0.75
    late: float = 1.5

    def interval(
        self, elapsed: float, rng: random.Random | None = None, expected: float | None = None
    ) -> float:
        """Seconds to wait before the next status read of a task submitted ``elapsed`` seconds ago."""
        return self._gap(elapsed, expected, (rng or _RNG).random())

    def _gap(self, elapsed: float, expected: float | None, u: float) -> float:
        """The gap for a jitter draw ``u`` in [0, 1): 0 gives the shortest gap, 1 the longest."""
        if self.bands is not None:
            for until, low, high in self.bands:
                if elapsed < until:
                    return low + (high - low) * u
            _, low, high = self.bands[-1]
            return low + (high - low) * u
        jitter = 0.8 + 0.2 * u
        if expected is not None and expected > 0:
            remaining = self.early * expected - elapsed
            if remaining > self.floor:
                return min(max(self.floor, self.sparse * elapsed) * jitter, remaining)
            if elapsed < self.late * expected:
                return max(self.floor, self.dense * expected) * jitter
        return min(self.ceiling, max(self.floor, self.share * elapsed)) * jitter

    def reads_within(self, seconds: float, expected: float | None = None) -> tuple[int, int]:
        """The fewest and most status reads this schedule makes in ``seconds`` (for benchmarks)."""

        def count(u: float) -> int:
            t, reads = 0.0, 0
            while True:
                t += self._gap(t, expected, u)
                if t > seconds:
                    return reads
                reads += 1

        return count(1.0), count(0.0)

    def lag_bound(self, task_seconds: float, expected: float | None = None) -> float:
        """The longest this schedule can take to notice a task that ends after ``task_seconds``."""
        t, worst = 0.0, 0.0
        while t <= task_seconds:
            gap = self._gap(t, expected, 1.0)
            if t + gap >= task_seconds:
                worst = max(worst, t + gap - task_seconds)
            t += gap
        return worst


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
