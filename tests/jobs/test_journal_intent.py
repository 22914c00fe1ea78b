"""Nothing paid is lost, nothing is paid twice: the intent is journaled before the create, an
uncertain create blocks a silent second payment, and resume() always reports (issue 11 items 3-5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jobs_helpers import creates

from kie_widgets.errors import KieSubmitUncertainError, KieUncertainRepeatError, KieWaitTimeoutError

pytestmark = pytest.mark.anyio


async def test_the_intent_is_journaled_before_the_create_leaves(
    make_sandbox: Any, clock: Any, manifest: Any
) -> None:
    """When kie receives the create, the journal already holds a 'sending' record of its recipe."""
    from jobs_helpers import FAKE_KEY

    from kie_widgets.jobs import KieClient

    sb = make_sandbox()
    seen: list[list[tuple[Any, Any]]] = []

    class Inspecting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/createTask"):
                seen.append([(r["state"], r["recipe"]) for r in manifest.journal()])
            return await sb.transport.handle_async_request(request)

    async with KieClient(api_key=FAKE_KEY, transport=Inspecting(), clock=clock, manifest=manifest) as kie:
        assets = await kie.generate("Imagen 4", "a fox journaled first", n=2)
    recipe = seen[0][0][1]
    assert recipe
    assert seen == [[("sending", recipe), ("sending", recipe)]] * 2
    # Collected, with both images in the manifest: the records are compacted away.
    assert manifest.journal() == []
    assert {e["kie"]["task_id"] for e in manifest.entries} == {a.task_id for a in assets}


async def test_a_create_kie_refused_closes_its_intent(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A refused create (402) made no task: its record is 'not sent', not pending or uncertain."""
    from kie_widgets.errors import KieInsufficientCreditsError

    sb = make_sandbox(credits=0.0)
    async with make_client(sb) as kie:
        with pytest.raises(KieInsufficientCreditsError):
            await kie.generate("Imagen 4", "a fox nobody can pay for")
    assert [r["state"] for r in manifest.journal()] == ["not sent"]
    assert manifest.pending() == []


async def test_an_intent_left_by_a_killed_process_is_reported_by_resume(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A 'sending' record nobody resolved (the process died on the wire) is reported, with what to check."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        planned = kie.plan("Imagen 4", "a fox lost on the wire")
        manifest.journal_sending(
            [
                (
                    "sending-20260101000000-abcdef",
                    {
                        "family": planned.family,
                        "model_id": planned.model_id,
                        "model": planned.display_name,
                        "endpoint": planned.endpoint,
                        "body": planned.body,
                        "recipe": "f00d" * 16,
                        "context": {},
                    },
                )
            ]
        )
        report = await kie.resume()
    assert list(report) == []
    assert [r["journal_id"] for r in report.uncertain] == ["sending-20260101000000-abcdef"]
    text = report.uncertain[0]["what_to_check"]
    assert "kie.ai/logs" in text
    assert "a fox lost on the wire" in text
    assert "f00df00d" in text
    assert "uncertain" in report.summary()
    assert creates(sb) == []


@pytest.fixture
def flaky_sandbox(make_sandbox: Any) -> Any:
    """A sandbox whose first create is processed (the task exists) but never answered."""
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    sb.add_fault(Fault(kind="timeout", route="create"))
    return sb


async def test_rerunning_after_an_uncertain_create_is_refused_without_force(
    flaky_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """The same request after a timed-out create is refused (no second payment); force=True sends it."""
    sb = flaky_sandbox
    async with make_client(sb) as kie:
        with pytest.raises(KieSubmitUncertainError) as first:
            await kie.generate("Imagen 4", "a fox on a flaky line")
        with pytest.raises(KieUncertainRepeatError) as again:
            await kie.generate("Imagen 4", "a fox on a flaky line")
        assert again.value.journal_ids == [first.value.journal_id]
        assert "resume" in str(again.value)
        assert "--force" in str(again.value)
        assert len(creates(sb)) == 1
        other = await kie.generate("Imagen 4", "a different fox")  # another recipe is not blocked
        assert len(other) == 1
        forced = await kie.generate("Imagen 4", "a fox on a flaky line", force=True)
    assert len(forced) == 1
    assert len(creates(sb)) == 3


async def test_a_dismissed_uncertain_record_no_longer_blocks(
    flaky_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """After checking kie's logs and dismissing the record, the request goes through without force."""
    async with make_client(flaky_sandbox) as kie:
        with pytest.raises(KieSubmitUncertainError) as first:
            await kie.generate("Imagen 4", "a fox checked by hand")
        assert first.value.journal_id is not None
        manifest.journal_dismiss(first.value.journal_id, "not in kie's logs")
        assert len(await kie.generate("Imagen 4", "a fox checked by hand")) == 1


async def test_resume_reports_a_permanently_bad_result_and_gives_it_up(
    make_sandbox: Any, make_client: Any, manifest: Any, clock: Any
) -> None:
    """A task whose result is never an image stays pending for a few tries, then is given up; the
    other tasks are collected and resume() never raises for it."""
    from kie_widgets.sandbox import Fault

    sb = make_sandbox(model_seconds={"google/imagen4": 200.0})
    async with make_client(sb) as kie:
        with pytest.raises(KieWaitTimeoutError) as bad:
            await kie.generate("Imagen 4", "a fox whose file is broken", timeout=30)
        with pytest.raises(KieWaitTimeoutError):
            await kie.generate("Imagen 4", "a fox whose file is fine", timeout=30)
        await clock.sleep(300)
        # Every download of the broken task's result is an HTML page served as an image.
        sb.add_fault(Fault(kind="notimage", route=f"/results/{bad.value.task_id}/0.png", times=None))
        report = await kie.resume()
        assert [a.prompt for a in report] == ["a fox whose file is fine"]
        assert [p["task_id"] for p in report.pending] == [bad.value.task_id]
        attempts = kie.max_result_attempts
        for _ in range(attempts - 1):
            report = await kie.resume()
        assert [p["task_id"] for p in report.given_up] == [bad.value.task_id]
        assert "attempts" in manifest.journal()[0]["reason"]
        report = await kie.resume()
    assert report.pending == []
    assert report.given_up == []
    assert manifest.pending() == []


@pytest.mark.parametrize("kind", ["truncate", "bomb", "notimage"])
async def test_a_failed_download_says_the_task_stays_pending_not_the_temp_file(
    make_sandbox: Any, make_client: Any, manifest: Any, kind: str
) -> None:
    """An unusable result names the task and says resume() fetches it again; no temp file name shows."""
    from kie_widgets.errors import KieImageError
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    sb.add_fault(Fault(kind=kind, times=None))
    async with make_client(sb) as kie:
        with pytest.raises(KieImageError) as info:
            await kie.generate("Imagen 4", "a fox cut short")
    text = str(info.value)
    assert ".part" not in text
    assert ".download-" not in text
    assert "stays pending" in text
    assert "resume()" in text
    assert [r["state"] for r in manifest.pending()] == ["pending"]


async def test_verify_repair_records_a_paid_download_left_by_a_failed_record(
    kie: Any, sandbox: Any, manifest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole, valid leftover download of a journaled task is recorded, not deleted; resume() then
    completes the task without downloading or recording it a second time (issue 11 item 6)."""
    import os
    import time

    from kie_widgets.assets import verify
    from kie_widgets.assets.manifest import Manifest
    from kie_widgets.errors import KieManifestError

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise KieManifestError("the disk hiccupped while recording")

    monkeypatch.setattr(Manifest, "record_images", refuse)  # how the client records a task's results
    with pytest.raises(KieManifestError):
        await kie.generate("Imagen 4", "a fox whose record failed")
    monkeypatch.undo()
    (leftover,) = manifest.images_dir.glob(".download-*.part")
    past = time.time() - 7200
    os.utime(leftover, (past, past))
    report = verify(manifest, repair=True)
    assert not leftover.exists()
    (entry,) = manifest.entries
    task_id = manifest.pending()[0]["task_id"]
    assert entry["kie"]["task_id"] == task_id
    assert entry["prompt"] == "a fox whose record failed"
    assert any("recorded the leftover download" in r for r in report.repaired)
    downloads = len([r for r in sandbox.requests if "/results/" in str(getattr(r, "path", ""))])
    collected = await kie.resume()
    assert [a.id for a in collected] == [entry["id"]]
    assert len(manifest.entries) == 1
    assert len([r for r in sandbox.requests if "/results/" in str(getattr(r, "path", ""))]) == downloads
    assert manifest.pending() == []
