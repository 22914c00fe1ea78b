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
from jobs_helpers import creates, extra

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


def _fault(
    kind: str, route: str | None = None, code: int | None = None, **more: Any
) -> tuple[dict[str, Any]]:
    """One scripted fault, as the keyword arguments of ``Fault``."""
    spec: dict[str, Any] = {"kind": kind, **more}
    if route is not None:
        spec["route"] = route
    if code is not None:
        spec["code"] = code
    return (spec,)


def _refused_create(code: int, error: type[BaseException]) -> Case:
    """kie answered the create with an error code: it created nothing and nothing is journaled."""
    return Case(f"envelope{code}-create", _fault("envelope", "create", code), error, "none", tasks=0)


def _uncertain_create(id: str, fault: tuple[dict[str, Any]], *, reached_kie: bool) -> Case:
    """The create may have reached kie and no answer came: journaled uncertain, never sent again."""
    return Case(id, fault, E.KieSubmitUncertainError, "uncertain", tasks=int(reached_kie))


def _passing(id: str, kind: str, route: str, code: int | None = None, times: int = 2) -> Case:
    """A transient fault the client waits out or retries; the generation still succeeds."""
    return Case(id, _fault(kind, route, code, times=times))


CASES = [
    # -- creates: retried only when kie surely did not take them --------------------------------
    Case("http429-create", _fault("http", "create", 429), creates=2),
    _uncertain_create("http500-create", _fault("http", "create", 500), reached_kie=False),
    _uncertain_create(
        "http502-create-processed", _fault("http", "create", 502, processed=True), reached_kie=True
    ),
    _uncertain_create("http503-create", _fault("http", "create", 503), reached_kie=False),
    _refused_create(402, E.KieInsufficientCreditsError),
    _refused_create(422, E.KieRequestError),
    _refused_create(433, E.KieUsageCapError),
    _refused_create(455, E.KieUnavailableError),
    _refused_create(500, E.KieServerError),
    _refused_create(501, E.KieTaskFailedError),
    _refused_create(550, E.KieUnavailableError),
    Case("connect-create", _fault("connect", "create"), creates=2),
    _uncertain_create("reset-create", _fault("reset", "create"), reached_kie=False),
    _uncertain_create("timeout-create", _fault("timeout", "create"), reached_kie=True),
    # -- status reads: transient trouble is waited out; a terminal code fails the task ---------
    _passing("http429-status", "http", "status", 429),
    _passing("http500-status", "http", "status", 500, times=3),
    _passing("http502-status", "http", "status", 502, times=3),
    _passing("http503-status", "http", "status", 503, times=3),
    _passing("envelope455-status", "envelope", "status", 455),
    _passing("envelope500-status", "envelope", "status", 500),
    _passing("envelope550-status", "envelope", "status", 550),
    _passing("envelope422-status", "envelope", "status", 422, times=3),
    # The fault fakes only kie's answer (the emulated task would still succeed later), so it hits the
    # second read, which comes at most 6 s in, before the 8-s task ends.
    Case("envelope501-status", _fault("envelope", "status", 501, skip=1), E.KieTaskFailedError, "failed"),
    Case(
        "envelope402-status",
        _fault("envelope", "status", 402),
        E.KieInsufficientCreditsError,
        "pending",
    ),
    # A status read kie refuses as such (400) says nothing about the task: it stays pending.
    Case("envelope400-status", _fault("envelope", "status", 400, times=None), E.KieRequestError, "pending"),
    _passing("reset-status", "reset", "status"),
    _passing("timeout-status", "timeout", "status"),
    _passing("connect-status", "connect", "status"),
    Case("fail-task", _fault("fail", code=501), E.KieTaskFailedError, "failed"),
    # -- uploads: retried like any read ----------------------------------------------------------
    Case(
        "http500-upload",
        _fault("http", "upload", 500),
        model="Flux Kontext Pro",
        kwargs={"images": [b"PNG"]},
    ),
    Case("reset-upload", _fault("reset", "upload"), model="Flux Kontext Pro", kwargs={"images": [b"PNG"]}),
    # -- downloads: a paid result is retried, then left pending for resume() -------------------
    Case("truncate-once", _fault("truncate")),
    Case("notimage-once", _fault("notimage")),
    Case("expired-url", _fault("expired")),
    Case("http502-file", _fault("http", "file", 502)),
    Case("reset-file", _fault("reset", "file")),
    Case("truncate-always", _fault("truncate", times=None), E.KieImageError, "pending"),
    Case("notimage-always", _fault("notimage", times=None), E.KieImageError, "pending"),
    Case("bomb", _fault("bomb", times=None), E.KieImageError, "pending"),
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
    recorded = {extra(e, "task_id") for e in manifest.entries}
    uncertain = [p for p in manifest.pending() if p["state"] == "uncertain"]
    for task_id, task in sb.tasks.items():
        if _succeeded(sb, task):
            assert task_id in recorded or uncertain, f"task {task_id} was paid for but not recorded"


def _succeeded(sb: Any, task: Any) -> bool:
    return bool(task.state(sb.clock.time()) == "success")


async def test_usage_cap_433_from_faults_syntax_says_what_to_do(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A ``--faults envelope:433@create`` answer raises KieUsageCapError that says what to do; no resend."""
    from kie_widgets.sandbox import parse_faults

    sb = make_sandbox(faults=parse_faults("envelope:433@create"))
    async with make_client(sb) as kie:
        with pytest.raises(E.KieUsageCapError) as caught:
            await kie.generate("Imagen 4", "a lighthouse")
    assert caught.value.code == 433
    text = str(caught.value)
    assert "usage cap" in text
    assert "https://kie.ai/api-key" in text
    assert "Nothing was created" in text
    assert len(creates(sb)) == 1
    assert sb.tasks == {}
    assert manifest.pending() == []
