"""Every sandbox fault against the client: the right error or recovery, no double create, no lost result.

Each row scripts one fault, runs one generation, and checks four things: what the caller sees, how
many creates kie received (a create is never sent twice unless kie surely did not take it), that
every task kie finished is either recorded or still in the journal, and the journal's state.
A final ``resume()`` (after the fault is spent) must then collect whatever was left pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from jobs_helpers import creates

from kie_widgets import errors as E

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Case:
    """One fault and what the client must make of it."""

    id: str
    faults: tuple[dict[str, Any], ...]
    #: None: the call succeeds; else the error class the caller sees
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None
    #: journal after the call: "complete", "pending", "uncertain", "failed" or "none"
    journal: str = "complete"
    creates: int = 1
    #: tasks kie holds afterwards
    tasks: int = 1
    model: str = "Imagen 4"
    kwargs: dict[str, Any] = field(default_factory=dict)


CASES = [
    # -- creates: retried only when kie surely did not take them --------------------------------
    Case("http429-create", ({"kind": "http", "code": 429, "route": "create"},), creates=2),
    Case(
        "http500-create",
        ({"kind": "http", "code": 500, "route": "create"},),
        E.KieSubmitUncertainError,
        "uncertain",
        tasks=0,
    ),
    Case(
        "http502-create-processed",
        ({"kind": "http", "code": 502, "route": "create", "processed": True},),
        E.KieSubmitUncertainError,
        "uncertain",
    ),
    Case(
        "http503-create",
        ({"kind": "http", "code": 503, "route": "create"},),
        E.KieSubmitUncertainError,
        "uncertain",
        tasks=0,
    ),
    Case(
        "envelope402-create",
        ({"kind": "envelope", "code": 402, "route": "create"},),
        E.KieInsufficientCreditsError,
        "none",
        tasks=0,
    ),
    Case(
        "envelope422-create",
        ({"kind": "envelope", "code": 422, "route": "create"},),
        E.KieRequestError,
        "none",
        tasks=0,
    ),
    Case(
        "envelope455-create",
        ({"kind": "envelope", "code": 455, "route": "create"},),
        E.KieUnavailableError,
        "none",
        tasks=0,
    ),
    Case(
        "envelope500-create",
        ({"kind": "envelope", "code": 500, "route": "create"},),
        E.KieServerError,
        "none",
        tasks=0,
    ),
    Case(
        "envelope501-create",
        ({"kind": "envelope", "code": 501, "route": "create"},),
        E.KieTaskFailedError,
        "none",
        tasks=0,
    ),
    Case(
        "envelope550-create",
        ({"kind": "envelope", "code": 550, "route": "create"},),
        E.KieUnavailableError,
        "none",
        tasks=0,
    ),
    Case("connect-create", ({"kind": "connect", "route": "create"},), creates=2),
    Case(
        "reset-create",
        ({"kind": "reset", "route": "create"},),
        E.KieSubmitUncertainError,
        "uncertain",
        tasks=0,
    ),
    Case("timeout-create", ({"kind": "timeout", "route": "create"},), E.KieSubmitUncertainError, "uncertain"),
    # -- status reads: transient trouble is waited out; a terminal code fails the task ---------
    Case("http429-status", ({"kind": "http", "code": 429, "route": "status", "times": 2},)),
    Case("http500-status", ({"kind": "http", "code": 500, "route": "status", "times": 3},)),
    Case("http502-status", ({"kind": "http", "code": 502, "route": "status", "times": 3},)),
    Case("http503-status", ({"kind": "http", "code": 503, "route": "status", "times": 3},)),
    Case("envelope455-status", ({"kind": "envelope", "code": 455, "route": "status", "times": 2},)),
    Case("envelope500-status", ({"kind": "envelope", "code": 500, "route": "status", "times": 2},)),
    Case("envelope550-status", ({"kind": "envelope", "code": 550, "route": "status", "times": 2},)),
    Case("envelope422-status", ({"kind": "envelope", "code": 422, "route": "status", "times": 3},)),
    # The fault fakes only kie's answer (the emulated task would still succeed later), so it hits the
    # second read, which comes at most 6 s in, before the 8-s task ends.
    Case(
        "envelope501-status",
        ({"kind": "envelope", "code": 501, "route": "status", "skip": 1},),
        E.KieTaskFailedError,
        "failed",
    ),
    Case(
        "envelope402-status",
        ({"kind": "envelope", "code": 402, "route": "status"},),
        E.KieInsufficientCreditsError,
        "pending",
    ),
    Case("reset-status", ({"kind": "reset", "route": "status", "times": 2},)),
    Case("timeout-status", ({"kind": "timeout", "route": "status", "times": 2},)),
    Case("connect-status", ({"kind": "connect", "route": "status", "times": 2},)),
    Case("fail-task", ({"kind": "fail", "code": 501},), E.KieTaskFailedError, "failed"),
    # -- uploads: retried like any read ----------------------------------------------------------
    Case(
        "http500-upload",
        ({"kind": "http", "code": 500, "route": "upload"},),
        model="Flux Kontext Pro",
        kwargs={"images": [b"PNG"]},
    ),
    Case(
        "reset-upload",
        ({"kind": "reset", "route": "upload"},),
        model="Flux Kontext Pro",
        kwargs={"images": [b"PNG"]},
    ),
    # -- downloads: a paid result is retried, then left pending for resume() -------------------
    Case("truncate-once", ({"kind": "truncate"},)),
    Case("notimage-once", ({"kind": "notimage"},)),
    Case("expired-url", ({"kind": "expired"},)),
    Case("http502-file", ({"kind": "http", "code": 502, "route": "file"},)),
    Case("reset-file", ({"kind": "reset", "route": "file"},)),
    Case(
        "truncate-always",
        ({"kind": "truncate", "times": None},),
        (E.KieTransportError, E.KieImageError),
        "pending",
    ),
    Case("notimage-always", ({"kind": "notimage", "times": None},), E.KieImageError, "pending"),
    Case("bomb", ({"kind": "bomb", "times": None},), E.KieImageError, "pending"),
    Case(
        "expired-and-resign-fails",
        (
            {"kind": "expired", "times": 3},
            {"kind": "envelope", "code": 500, "route": "download-url", "times": 9},
        ),
        (E.KieAPIError, E.KieTransportError),
        "pending",
    ),
]


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_fault(case: Case, make_sandbox: Any, make_client: Any, manifest: Any) -> None:
    """The fault ends in the expected error or recovery, one create, no lost result, a correct journal."""
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    for spec in case.faults:
        sb.add_fault(Fault(**spec))
    kwargs = dict(case.kwargs)
    if "images" in kwargs:
        kwargs["images"] = [_png()]
    async with make_client(sb) as kie:
        if case.raises is None:
            assets = await kie.generate(case.model, "a fault-tolerant fox", **kwargs)
            assert len(assets) == 1
            assert assets[0].path.is_file()
        else:
            with pytest.raises(case.raises):
                await kie.generate(case.model, "a fault-tolerant fox", **kwargs)

        assert len(creates(sb)) == case.creates, "a create was sent a wrong number of times"
        assert len(sb.tasks) == case.tasks, "kie holds a wrong number of tasks"
        pending = manifest.pending()
        states = sorted(p["state"] for p in pending)
        if case.journal == "complete":
            assert states == []
            assert len(manifest.entries) == 1
        elif case.journal in ("pending", "uncertain"):
            assert states == [case.journal]
            assert manifest.entries == []
        else:  # "failed" or "none": nothing to collect, nothing recorded
            assert states == []
            assert manifest.entries == []
        if case.journal == "pending":
            assert pending[0]["task_id"] in sb.tasks

        # After the fault is spent, resume() collects every paid result still pending.
        for fault in list(getattr(sb, "faults", [])):
            fault.times = fault.hits
        resumed = await kie.resume()
        assert len(resumed) == (1 if case.journal == "pending" else 0)
        assert len(creates(sb)) == case.creates, "resume() created a task"
    _assert_no_paid_result_lost(sb, manifest)


def _assert_no_paid_result_lost(sb: Any, manifest: Any) -> None:
    """Every task kie completed is recorded, or journaled as uncertain for the user to check."""
    recorded = {_extra(e, "task_id") for e in manifest.entries}
    uncertain = [p for p in manifest.pending() if p["state"] == "uncertain"]
    for task_id, task in sb.tasks.items():
        if _succeeded(sb, task):
            assert task_id in recorded or uncertain, f"task {task_id} was paid for but not recorded"


def _succeeded(sb: Any, task: Any) -> bool:
    return bool(task.state(sb.clock.time()) == "success")


def _extra(entry: dict, key: str) -> Any:
    if key in entry:
        return entry[key]
    for value in entry.values():
        if isinstance(value, dict) and key in value:
            return value[key]
    return None
