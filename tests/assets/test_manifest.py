"""The manifest store: the document's schema and versioning, extras, lookups and the task journal."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import filelock
import pytest
from kie_assets_helpers import image_bytes

from kie_widgets.assets import Manifest, recipe_hash, save_image_bytes
from kie_widgets.assets.manifest import iso_now
from kie_widgets.errors import KieManifestLockError, KieValidationError

SCHEMA_KEYS = ["id", "type", "filename", "prompt", "model", "parameters", "created_at", "scene_id", "version"]
PARAMS = {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"}


def test_default_path_is_project_assets_manifest(project: Path) -> None:
    """Without a path the manifest is <root>/assets/manifest.json and names are relative to root."""
    m = Manifest()
    assert m.path == project / "assets" / "manifest.json"
    assert m.root == project
    assert m.images_dir == project / "assets" / "images"


def test_entry_has_exactly_the_documented_keys_in_order(manifest: Manifest) -> None:
    """A new entry has the document's keys in its order, then our one nested object."""
    entry = manifest.add_image(
        "assets/images/scene-01.png", "a red fox", "Imagen 4", PARAMS, 1, task_id="t-1"
    )
    assert list(entry) == [*SCHEMA_KEYS, "kie"]
    assert entry["id"] == "img-001"
    assert entry["type"] == "image"
    assert entry["parameters"] == PARAMS
    assert entry["version"] == 1
    assert entry["kie"] == {"task_id": "t-1"}
    on_disk = json.loads(manifest.path.read_text())
    assert on_disk == {"assets": [entry]}


def test_created_at_matches_javascript_iso_format() -> None:
    """created_at looks like JavaScript's toISOString(): milliseconds and a Z."""
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_now())


def test_same_prompt_and_model_supersedes_previous_version(manifest: Manifest) -> None:
    """A repeat of prompt+model gets version+1 and marks the previous entry superseded_by it."""
    a = manifest.add_image("a.png", "fox", "Imagen 4", PARAMS, 1)
    b = manifest.add_image("b.png", "fox", "Imagen 4", PARAMS, 1)
    c = manifest.add_image("c.png", "fox", "Seedream 4.5", PARAMS, 1)
    d = manifest.add_image("d.png", "fox", "Imagen 4", PARAMS, 2)
    assert [e["version"] for e in (a, b, c, d)] == [1, 2, 1, 3]
    by_id = {e["id"]: e for e in manifest.entries}
    assert by_id["img-001"]["superseded_by"] == "img-002"
    assert by_id["img-002"]["superseded_by"] == "img-004"
    assert "superseded_by" not in by_id["img-003"]
    assert "superseded_by" not in by_id["img-004"]


def test_entries_of_other_types_are_kept_and_not_counted(manifest: Manifest) -> None:
    """Video entries stay byte-identical and do not advance the image id counter."""
    video = {"id": "vid-001", "type": "video", "filename": "assets/v.mp4", "odd": [1, {"x": None}]}
    manifest.path.write_text(json.dumps({"assets": [video], "other_tool": {"k": 1}}))
    entry = manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    document = json.loads(manifest.path.read_text())
    assert document["assets"][0] == video
    assert document["other_tool"] == {"k": 1}
    assert entry["id"] == "img-001"


def test_extra_parameters_and_extras_go_into_the_nested_object(manifest: Manifest) -> None:
    """Parameters beyond size/endpoint and every extra keyword land under "kie", never at top level."""
    entry = manifest.add_image(
        "a.png",
        "fox",
        "Imagen 4",
        {**PARAMS, "seed": 7},
        None,
        model_id="google/imagen4",
        parents=["img-000"],
    )
    assert entry["parameters"] == PARAMS
    assert entry["kie"] == {"model_id": "google/imagen4", "parents": ["img-000"], "params": {"seed": 7}}


def test_non_json_extras_are_rejected_before_writing(manifest: Manifest) -> None:
    """An extra that is not JSON data raises and leaves the manifest untouched."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    before = manifest.path.read_bytes()
    with pytest.raises(KieValidationError):
        manifest.add_image("b.png", "fox", "Imagen 4", PARAMS, when=object())
    assert manifest.path.read_bytes() == before


def test_find_get_and_find_recipe(manifest: Manifest) -> None:
    """find matches schema keys and extras; get returns by id; find_recipe matches the stored hash."""
    recipe = recipe_hash("google/imagen4", {"prompt": "fox"}, [])
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS, 1, task_id="t1", recipe=recipe)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS, 2, task_id="t2")
    assert [e["id"] for e in manifest.find(scene_id=2)] == ["img-002"]
    assert [e["id"] for e in manifest.find(task_id="t1")] == ["img-001"]
    assert manifest.get("img-002")["prompt"] == "owl"  # type: ignore[index]
    assert manifest.get("img-999") is None
    assert [e["id"] for e in manifest.find_recipe(recipe)] == ["img-001"]
    assert manifest.find_recipe(recipe, existing=True) == []  # a.png is not on disk


def test_record_image_moves_file_and_records_its_facts(manifest: Manifest) -> None:
    """record_image names the file from the pattern, moves it into images/ and records sha256 and size."""
    saved = save_image_bytes(image_bytes("PNG", (40, 30)), folder=manifest.images_dir)
    entry = manifest.record_image(
        saved, prompt="fox", model="Imagen 4", parameters=PARAMS, scene_id=3, task_id="t"
    )
    assert entry["filename"] == "assets/images/scene-03-img-001-v1.png"
    assert not saved.temp_path.exists()
    path = manifest.root / entry["filename"]
    assert path.is_file()
    assert entry["kie"]["sha256"] == saved.sha256
    assert (entry["kie"]["width"], entry["kie"]["height"], entry["kie"]["format"]) == (40, 30, "PNG")
    again = save_image_bytes(image_bytes("PNG", (40, 30)), folder=manifest.images_dir)
    second = manifest.record_image(again, prompt="fox", model="Imagen 4", parameters=PARAMS, scene_id=3)
    assert second["filename"] == "assets/images/scene-03-img-002-v2.png"
    assert manifest.get("img-001")["superseded_by"] == "img-002"  # type: ignore[index]


def test_record_image_never_overwrites_an_existing_file(manifest: Manifest) -> None:
    """A file already holding the pattern's name (say, written by another tool) gets a numbered sibling."""
    manifest.images_dir.mkdir(parents=True)
    squatter = manifest.images_dir / "img-001-v1.png"
    squatter.write_bytes(b"someone else's file")
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    entry = manifest.record_image(saved, prompt="fox", model="Imagen 4", parameters=PARAMS)
    assert entry["filename"] == "assets/images/img-001-v1-2.png"
    assert squatter.read_bytes() == b"someone else's file"


def test_record_image_puts_the_file_back_when_the_manifest_write_fails(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the entry cannot be written, the image returns to its temp name and nothing is recorded."""
    from kie_widgets.assets import _store
    from kie_widgets.errors import KieManifestError

    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store.JSONStore, "_write_file", refuse)
    with pytest.raises(KieManifestError, match="disk is full"):
        manifest.record_image(saved, prompt="fox", model="Imagen 4", parameters=PARAMS)
    assert saved.temp_path.is_file()
    assert [p.name for p in manifest.images_dir.iterdir() if not p.name.startswith(".")] == []


def test_lock_timeout_names_the_lock_file(manifest: Manifest) -> None:
    """A writer that cannot get the lock in time raises KieManifestLockError naming the lock file."""
    quick = Manifest(manifest.path, lock_timeout=0.2)
    other = filelock.FileLock(quick.lock_path)
    holder_ready = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with other:
            holder_ready.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        holder_ready.wait(5)
        with pytest.raises(KieManifestLockError) as caught:
            quick.add_image("a.png", "fox", "Imagen 4", PARAMS)
        assert str(quick.lock_path) in str(caught.value)
    finally:
        release.set()
        thread.join()
    assert not quick.path.exists()


def test_threads_sharing_one_manifest_lose_nothing(manifest: Manifest) -> None:
    """Eight threads adding at once end with every entry and unique ids."""

    def work(n: int) -> None:
        for i in range(15):
            manifest.add_image(f"{n}-{i}.png", f"p{n}-{i}", "Imagen 4", PARAMS)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [e["id"] for e in manifest.entries]
    assert len(ids) == 120
    assert len(set(ids)) == 120


# -- the journal -------------------------------------------------------------------------------

JOB: dict[str, Any] = {
    "family": "market",
    "model_id": "google/imagen4",
    "model": "Imagen 4",
    "endpoint": "/api/v1/jobs/createTask",
}


def test_journal_pending_complete_failed(manifest: Manifest) -> None:
    """A submitted task is pending until completed or failed; pending() lists only open ones."""
    manifest.journal_submit(
        "task-a", body={"model": "google/imagen4"}, recipe="r1-x", context={"cell_id": "c"}, **JOB
    )
    manifest.journal_submit("task-b", body={}, **JOB)
    manifest.journal_submit("task-c", body={}, **JOB)
    pending = manifest.pending()
    assert [p["task_id"] for p in pending] == ["task-a", "task-b", "task-c"]
    first = pending[0]
    assert first["state"] == "pending"
    assert first["body"] == {"model": "google/imagen4"}
    assert first["context"] == {"cell_id": "c"}
    assert first["recipe"] == "r1-x"
    assert {"task_id", "family", "model_id", "model", "endpoint", "body", "state", "created_at"} <= set(first)
    manifest.journal_complete("task-a", ["img-001"])
    manifest.journal_failed("task-b", 501, "content policy")
    assert [p["task_id"] for p in manifest.pending()] == ["task-c"]
    records = {r["task_id"]: r for r in manifest.journal()}
    assert records["task-a"]["state"] == "complete"
    assert records["task-a"]["asset_ids"] == ["img-001"]
    assert (records["task-b"]["fail_code"], records["task-b"]["fail_message"]) == (501, "content policy")


def test_journal_uncertain_gets_an_id_and_stays_pending_until_dismissed(manifest: Manifest) -> None:
    """An uncertain submission is listed by pending() with its error until dismissed by hand."""
    journal_id = manifest.journal_uncertain(body={"prompt": "fox"}, error="read timeout", **JOB)
    [record] = manifest.pending()
    assert record["state"] == "uncertain"
    assert record["journal_id"] == journal_id
    assert record["task_id"] is None
    assert record["error"] == "read timeout"
    manifest.journal_dismiss(journal_id, "checked kie's logs: not created")
    assert manifest.pending() == []


def test_journal_masks_anything_that_looks_like_a_credential(manifest: Manifest) -> None:
    """Keys named like api keys or tokens are masked in the journal file."""
    manifest.journal_submit(
        "t",
        body={"prompt": "fox", "api_key": "sk-live-123"},
        context={"Authorization": "Bearer sk-live-123"},
        **JOB,
    )
    text = manifest.journal_path.read_text()
    assert "sk-live-123" not in text
    assert manifest.pending()[0]["body"] == {"prompt": "fox", "api_key": "***"}


def test_pending_shows_results_already_recorded(manifest: Manifest) -> None:
    """Results recorded before a crash show in pending(), so resume() does not pay twice."""
    manifest.journal_submit("task-z", body={}, **JOB)
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS, task_id="task-z")
    assert manifest.pending()[0]["recorded"] == ["img-001"]


def test_journal_survives_a_node_style_rewrite_of_the_manifest(manifest: Manifest) -> None:
    """The journal is its own file, so a foreign rewrite of manifest.json cannot drop a pending task."""
    manifest.journal_submit("paid-task", body={}, **JOB)
    manifest.path.write_text(json.dumps({"assets": []}, indent=2))  # what an unlocked writer might leave
    assert [p["task_id"] for p in manifest.pending()] == ["paid-task"]


def test_journal_resubmit_keeps_the_original_time(manifest: Manifest) -> None:
    """Journaling the same task id again updates it in place and keeps its created_at."""
    manifest.journal_submit("t", body={"a": 1}, **JOB)
    first = manifest.pending()[0]["created_at"]
    manifest.journal_submit("t", body={"a": 2}, **JOB)
    [record] = manifest.pending()
    assert record["created_at"] == first
    assert record["body"] == {"a": 2}


def test_record_image_accepts_a_temp_file_on_another_file_system(manifest: Manifest) -> None:
    """A download saved on another device (no hard link or rename possible) is copied into place."""
    import os
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    manifest.images_dir.mkdir(parents=True)
    if not shm.is_dir() or shm.stat().st_dev == manifest.images_dir.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) to download to")
    folder = Path(tempfile.mkdtemp(dir=shm))
    try:
        saved = save_image_bytes(image_bytes(), folder=folder)
        entry = manifest.record_image(saved, prompt="fox", model="Imagen 4", parameters=PARAMS)
        assert (manifest.root / entry["filename"]).read_bytes() == image_bytes()
        assert not saved.temp_path.exists()
        assert [p for p in os.listdir(manifest.images_dir) if p.endswith(".part")] == []
    finally:
        shutil.rmtree(folder)
