"""verify(): every kind of disagreement between manifest and folder is reported; repairs stay safe."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from kie_assets_helpers import image_bytes

from kie_widgets.assets import Manifest, save_image_bytes, verify

PARAMS = {"size": "1:1", "endpoint": "/api/v1/jobs/createTask"}


def _record(manifest: Manifest, prompt: str = "fox", size: tuple[int, int] = (20, 20)) -> dict[str, object]:
    saved = save_image_bytes(image_bytes("PNG", size), folder=manifest.images_dir)
    return manifest.record_image(saved, prompt=prompt, model="Imagen 4", parameters=PARAMS, task_id="t")


def test_a_consistent_project_is_all_good(manifest: Manifest) -> None:
    """Recorded files that match their hashes, with no open tasks, verify clean."""
    _record(manifest)
    _record(manifest)
    report = verify(manifest)
    assert report.ok
    assert "all good" in str(report)


def test_package_level_verify_uses_the_project_manifest(project: Path) -> None:
    """kie_widgets.verify() with no argument checks <project>/assets/manifest.json."""
    import kie_widgets

    report = kie_widgets.verify()
    assert report.manifest == project / "assets" / "manifest.json"
    assert report.ok


def test_every_problem_is_reported(manifest: Manifest) -> None:
    """Missing, unrecorded and changed files, a broken chain, a duplicate id and a pending task all show."""
    gone = _record(manifest, "a")
    changed = _record(manifest, "b")
    (manifest.root / str(gone["filename"])).unlink()
    (manifest.root / str(changed["filename"])).write_bytes(image_bytes("PNG", (21, 21)))
    (manifest.images_dir / "dropped-in.png").write_bytes(image_bytes())
    document = json.loads(manifest.path.read_text())
    document["assets"].append({**document["assets"][0], "superseded_by": "img-404"})
    manifest.path.write_text(json.dumps(document, indent=2))
    manifest.journal_submit("paid-1", family="market", model_id="m", model="M", endpoint="/e", body={})
    report = verify(manifest)
    assert not report.ok
    assert [e["id"] for e in report.missing_files] == ["img-001", "img-001"]
    assert [p.name for p in report.unrecorded_files] == ["dropped-in.png"]
    assert [m["id"] for m in report.hash_mismatches] == ["img-002"]
    assert report.broken_chains == [
        {"id": "img-001", "superseded_by": "img-404", "problem": "points at an id that does not exist"}
    ]
    assert report.duplicate_ids == ["img-001"]
    assert [t["task_id"] for t in report.pending_tasks] == ["paid-1"]
    text = str(report)
    for needle in (
        "missing file",
        "unrecorded file",
        "changed since recorded",
        "broken superseded_by",
        "duplicate id",
        "pending task: paid-1",
    ):
        assert needle in text


def test_chain_that_changes_prompt_is_broken(manifest: Manifest) -> None:
    """superseded_by pointing at an entry with another prompt is reported."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    document = json.loads(manifest.path.read_text())
    document["assets"][0]["superseded_by"] = "img-002"
    manifest.path.write_text(json.dumps(document))
    [problem] = verify(manifest).broken_chains
    assert problem["problem"] == "the newer entry has a different prompt or model"


def test_repair_rerecords_files_whose_entries_a_foreign_writer_dropped(manifest: Manifest) -> None:
    """An image whose entry was lost is re-recorded from its own sidecar; nothing is deleted."""
    kept = _record(manifest, "kept")
    lost = _record(manifest, "lost")
    document = json.loads(manifest.path.read_text())
    document["assets"] = [a for a in document["assets"] if a["id"] != lost["id"]]
    manifest.path.write_text(json.dumps(document, indent=2))  # an unlocked rewrite from a stale read
    report = verify(manifest, repair=True)
    assert report.unrecorded_files == []
    assert any("re-recorded" in r for r in report.repaired)
    restored = manifest.find(restored_from=lost["id"])
    assert len(restored) == 1
    assert restored[0]["prompt"] == "lost"
    assert restored[0]["filename"] == lost["filename"]
    assert (manifest.root / str(kept["filename"])).is_file()
    assert verify(manifest).ok


def test_repair_leaves_unknown_files_and_broken_chains_alone(manifest: Manifest) -> None:
    """Files with no description and broken chains are only reported, never deleted or rewritten."""
    stranger = manifest.images_dir / "stranger.png"
    manifest.images_dir.mkdir(parents=True)
    stranger.write_bytes(image_bytes())
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    document = json.loads(manifest.path.read_text())
    document["assets"][0]["superseded_by"] = "img-404"
    manifest.path.write_text(json.dumps(document))
    before = manifest.path.read_bytes()
    report = verify(manifest, repair=True)
    assert stranger.is_file()
    assert report.unrecorded_files == [stranger]
    assert manifest.path.read_bytes() == before


def test_repair_sets_old_temp_files_aside_and_removes_orphan_thumbnails(manifest: Manifest) -> None:
    """Old temps it cannot place are moved aside (never deleted); orphaned thumbnails go; a fresh
    temp (a live download) stays where it is."""
    from kie_widgets.assets import thumbnail

    entry = _record(manifest)
    path = manifest.root / str(entry["filename"])
    thumbnail(path)
    path.unlink()
    old = manifest.images_dir / ".download-old.part"
    fresh = manifest.images_dir / ".download-fresh.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    past = time.time() - 7200
    os.utime(old, (past, past))
    report = verify(manifest, repair=True)
    assert not old.exists()
    assert (manifest.path.parent / "set-aside" / "download-old.part").read_bytes() == b"x"
    assert fresh.exists()
    assert list((manifest.images_dir / ".thumbs").iterdir()) == []
    assert any("orphaned thumbnail" in r for r in report.repaired)
