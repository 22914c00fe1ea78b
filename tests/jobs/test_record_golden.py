"""The manifest, sidecars and resume path write exactly the bytes the code before ``AssetRecord`` wrote.

``golden/`` was written by ``write_golden`` on the code before the typed record existed (its image
hashes and sizes, and the recipe hashes that include an input's hash, were written again when the sandbox
started drawing variant marks and seeds; the old-format journal is untouched): the same
requests against the same seeded sandbox, with the clock and the batch ids pinned. The journal file
in it is that code's (old) format, so resuming from it proves old journals on disk still resume.
"""

from __future__ import annotations

import itertools
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import FAKE_KEY

from kie_widgets.errors import KieWaitTimeoutError

pytestmark = pytest.mark.anyio

GOLDEN = Path(__file__).parent / "golden"
# The resumed image of an old journal has no request index (old journals did not keep one); every
# other byte is the manifest's. Both files gained "request" and "variant" with issue 11.
OLD_JOURNAL_MANIFEST = "manifest-from-old-journal.json"
CONTEXT = {
    "cell_id": "cell-7",
    "notebook": "notebooks/demo.ipynb",
    "cell_source": "%%kie_image Imagen 4\na red fox",
    "cell_metadata": {"tags": ["hero"]},
    "cell_id_source": "metadata.id",
}


class _PinnedDatetime(datetime):
    """``datetime`` whose ``now()`` is always one fixed UTC moment."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2026, 11, 25, 1, 2, 3, 456000, tzinfo=timezone.utc)


def _pin(monkeypatch: pytest.MonkeyPatch) -> None:
    from kie_widgets.assets import schema

    monkeypatch.setattr(schema, "datetime", _PinnedDatetime)
    counter = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))


async def _scenario(project: Path, legacy_journal: bytes | None) -> dict[str, bytes]:
    """Run the fixed requests; return the manifest, the journal before resume and every sidecar."""
    from kie_widgets.assets import Manifest
    from kie_widgets.clock import FakeClock
    from kie_widgets.jobs import KieClient
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    clock = FakeClock()
    sandbox = Sandbox(
        SandboxConfig(api_key=FAKE_KEY, model_seconds={"google/imagen4": 200.0}, seed=5), clock=clock
    )
    manifest = Manifest(project / "assets" / "manifest.json")
    out: dict[str, bytes] = {}
    client = KieClient(api_key=FAKE_KEY, transport=sandbox.transport, clock=clock, manifest=manifest)
    async with client as kie:
        with pytest.raises(KieWaitTimeoutError):
            await kie.generate("Imagen 4", "a slow sunrise", timeout=60, scene_id=2, seed=11, context=CONTEXT)
        out["journal-before-resume.json"] = manifest.journal_path.read_bytes()
        if legacy_journal is not None:
            manifest.journal_path.write_bytes(legacy_journal)
        await kie.resume()
        await kie.generate(
            "Imagen 4",
            "a red fox",
            scene_id=3,
            aspect_ratio="16:9",
            negative_prompt="blur",
            seed=7,
            timeout=600,
            context=CONTEXT,
        )
        await kie.generate("4o Image", "two owls", n=2, size="3:2", context=CONTEXT)
        await kie.edit("img-002", "make it night", model="Flux Kontext Pro", scene_id=3)
        await kie.upscale("img-002")
    out["manifest.json"] = manifest.path.read_bytes()
    for side in sorted(manifest.images_dir.glob("*.xmp")):
        out[side.name] = side.read_bytes()
    return out


async def test_manifest_and_sidecars_keep_their_bytes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same requests write a manifest and sidecars byte-for-byte equal to the golden ones."""
    _pin(monkeypatch)
    written = await _scenario(project, None)
    skip = {"journal-before-resume.json", OLD_JOURNAL_MANIFEST}
    for name in sorted(p.name for p in GOLDEN.iterdir() if p.name not in skip):
        assert written[name] == (GOLDEN / name).read_bytes(), name


async def test_an_old_journal_on_disk_still_resumes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A journal in the format before the typed record resumes into the same manifest bytes."""
    _pin(monkeypatch)
    written = await _scenario(project, (GOLDEN / "journal-before-resume.json").read_bytes())
    assert written["manifest.json"] == (GOLDEN / OLD_JOURNAL_MANIFEST).read_bytes()


async def write_golden(folder: Path) -> None:
    """Write ``golden/`` afresh into ``folder`` (run by hand on the reference code, never by pytest)."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        _pin(monkeypatch)
        project = folder / "project"
        (project / "assets").mkdir(parents=True)
        monkeypatch.setenv("KIE_PROJECT_ROOT", str(project))
        written = await _scenario(project, None)
    finally:
        monkeypatch.undo()
    for name, data in written.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    import asyncio

    asyncio.run(write_golden(Path(sys.argv[1])))
