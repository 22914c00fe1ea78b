"""At scale: one manifest write per run, and no manifest, journal or image work on the event loop."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))
from kie_assets_helpers import Heartbeat, seed_manifest

from kie_widgets.assets import Manifest
from kie_widgets.jobs._follow import RecordGroup

pytestmark = pytest.mark.anyio

# Manifest methods that read or write a file (or parse one): none may run on the loop's thread.
_FILE_WORK = (
    "find",
    "find_recipe",
    "get",
    "record_images",
    "pending",
    "typical_seconds",
    "journal_submit",
    "journal_complete",
    "journal_failed",
)


async def test_a_run_of_several_images_writes_the_manifest_once(kie: Any, manifest: Manifest) -> None:
    """Four tasks finishing together, and one task with two results, each cost one manifest write."""
    before = manifest.writes
    assets = await kie.generate("Imagen 4", "four foxes", n=4)
    assert len(assets) == 4
    assert manifest.writes == before + 1
    before = manifest.writes
    assets = await kie.generate("4o Image", "two owls", n=2)
    assert len(assets) == 2
    assert manifest.writes == before + 1
    assert [e["version"] for e in manifest.find(prompt="four foxes")] == [1, 2, 3, 4]


async def test_a_slow_sibling_does_not_hold_back_recorded_results() -> None:
    """A task's results are written after the linger even while another task of its run still waits."""
    written: list[list[Any]] = []

    async def write(items: list[Any]) -> list[dict[str, Any]]:
        written.append(items)
        return [{"id": str(item)} for item in items]

    group = RecordGroup(write, parts=2, linger=0.05)
    first = await group.record(["a", "b"])  # type: ignore[list-item]
    assert first == [{"id": "a"}, {"id": "b"}]
    assert written == [["a", "b"]]
    second = await group.record(["c"])  # type: ignore[list-item]
    assert second == [{"id": "c"}]
    assert written == [["a", "b"], ["c"]]


async def test_hand_ins_that_meet_share_one_write_and_a_bad_one_spares_the_rest() -> None:
    """Tasks arriving together are written together; if that write fails each is written alone."""
    calls: list[list[str]] = []

    async def write(items: list[str]) -> list[dict[str, Any]]:
        calls.append(items)
        if "bad" in items:
            raise OSError("no space")
        return [{"id": item} for item in items]

    group = RecordGroup(write, parts=3, linger=5.0)  # type: ignore[arg-type]
    results = await asyncio.gather(
        group.record(["a"]),  # type: ignore[list-item]
        group.record(["bad"]),  # type: ignore[list-item]
        group.record(["c"]),  # type: ignore[list-item]
        return_exceptions=True,
    )
    assert calls[0] == ["a", "bad", "c"]
    assert results[0] == [{"id": "a"}]
    assert isinstance(results[1], OSError)
    assert results[2] == [{"id": "c"}]


async def test_manifest_and_journal_work_never_runs_on_the_event_loop(
    kie: Any, manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generating, reusing and editing call every manifest and journal method from worker threads."""
    loop_thread = threading.current_thread()
    seen: list[tuple[str, threading.Thread]] = []
    for name in _FILE_WORK:
        real = getattr(Manifest, name)

        def spy(self: Manifest, *args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            seen.append((_name, threading.current_thread()))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Manifest, name, spy)
    first = await kie.generate("Imagen 4", "a fox", n=2, reuse=True)
    await kie.generate("Imagen 4", "a fox", n=2, reuse=True)
    await kie.edit(first[0].id, "make it night", model="Flux Kontext Pro")
    await kie.resume()
    names = {name for name, _thread in seen}
    assert {"find", "find_recipe", "get", "record_images", "journal_submit", "journal_complete"} <= names
    assert [name for name, thread in seen if thread is loop_thread] == []


@pytest.mark.slow
async def test_the_event_loop_keeps_beating_while_a_large_manifest_is_recorded(
    make_sandbox: Any, make_client: Any, manifest: Manifest
) -> None:
    """With 40,000 entries, re-read because another writer changed the file, the loop never stalls."""
    seed_manifest(manifest.path, 40_000)
    Manifest(manifest.path).add_image("x.png", "from another kernel", "Imagen 4", {"size": "1:1"})
    async with Heartbeat() as beat, make_client(make_sandbox()) as kie:
        assets = await kie.generate("Imagen 4", "a fox at scale", n=4)
    assert len(assets) == 4
    assert len(manifest) == 40_005
    # Rebuilding the index of this file on the loop would freeze it for a third of a second or more.
    assert beat.longest < 0.2
