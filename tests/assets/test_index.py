"""The manifest's in-memory index: spliced writes keep today's bytes, outside writes are seen at once."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from kie_assets_helpers import NODE, NODE_SNIPPET, image_bytes, node_add, seed_manifest

from kie_widgets.assets import Manifest, save_image_bytes, verify
from kie_widgets.assets import _index as index_module
from kie_widgets.assets.record import AssetRecord

PARAMS = {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"}


class _PinnedDatetime(datetime):
    """``datetime`` whose ``now()`` is one fixed moment, so two runs write the same timestamps."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime(2026, 11, 25, 1, 2, 3, 456000, tzinfo=timezone.utc)


Op = Callable[[Manifest, Path], Any]


def _record_two(manifest: Manifest, root: Path) -> Any:
    saved = [save_image_bytes(image_bytes(size=(8 + k, 8)), folder=manifest.images_dir) for k in range(2)]
    records = [AssetRecord(prompt="twins", model="4o Image", size="1:1", batch="b1") for _ in saved]
    return manifest.record_images(list(zip(saved, records, strict=True)))


def _rewrite_ascii(manifest: Manifest, root: Path) -> None:
    """Another tool rewrites the file in a different form (escaped non-ASCII, no indentation)."""
    document = json.loads(manifest.path.read_text(encoding="utf-8"))
    manifest.path.write_text(json.dumps(document))


OPS: list[Op] = [
    lambda m, r: m.add_image("a.png", "a fox", "Imagen 4", PARAMS, 1, task_id="t1"),
    lambda m, r: m.add_image("b.png", "a fox", "Imagen 4", PARAMS, 1, task_id="t2"),
    lambda m, r: m.add_image("c.png", 'ünï "q" \\ \u2028 🦊\nline', "Seedream 4.5", PARAMS, None),
    _record_two,
    lambda m, r: m.update_extra("img-002", kept=True, note="ünï"),
    lambda m, r: m.add_image("d.png", "a fox", "Imagen 4", PARAMS, 2, ratio=1e-7, big=2**70),
    lambda m, r: m.add_image("e.png", "broken \ud83d emoji", "Imagen 4", PARAMS, 3),
    _rewrite_ascii,
    lambda m, r: m.add_image("f.png", "a fox", "Imagen 4", PARAMS, 1),
    lambda m, r: m.update_extra("img-001", kept=False),
    lambda m, r: m.add_image("g.png", "an owl", "4o Image", PARAMS, 4, credits=2.5),
]


def _node_add_pinned(manifest: Manifest, root: Path) -> None:
    """The document's Node snippet, with its clock pinned like ours."""
    assert NODE is not None
    values = {"filename": "n.png", "prompt": "a fox", "model": "Imagen 4", "size": "16:9"}
    script = NODE_SNIPPET % {
        **{k: json.dumps(v) for k, v in values.items()},
        "endpoint": json.dumps(PARAMS["endpoint"]),
        "scene": "1",
    }
    pin = "Date.prototype.toISOString = function () { return '2026-11-25T01:02:03.456Z'; };"
    subprocess.run([NODE, "-e", pin + script], cwd=root, check=True, capture_output=True)


if NODE is not None:
    OPS[5:5] = [_node_add_pinned]


def _run_ops(root: Path) -> list[bytes]:
    (root / "assets").mkdir(parents=True)
    manifest = Manifest(root / "assets" / "manifest.json", lock_timeout=5)
    written = []
    for op in OPS:
        op(manifest, root)
        written.append(manifest.path.read_bytes())
    return written


def test_spliced_writes_are_byte_identical_to_a_whole_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write, spliced or not, gives exactly the bytes of today's whole-document rewrite."""
    from kie_widgets.assets import schema

    monkeypatch.setattr(schema, "datetime", _PinnedDatetime)
    monkeypatch.chdir(tmp_path)
    splices: list[int] = []
    manifest_module = importlib.import_module("kie_widgets.assets.manifest")
    real_splice = manifest_module.splice
    with monkeypatch.context() as counted:
        counted.setattr(manifest_module, "splice", lambda *a: splices.append(1) or real_splice(*a))
        spliced = _run_ops(tmp_path / "spliced")
    ours = [op for op in OPS if op not in (_rewrite_ascii, _node_add_pinned)]
    # Every write of ours splices but the first (no file yet) and the one after the other tool's.
    assert len(splices) == len(ours) - 2
    with monkeypatch.context() as whole:
        # Today's writer: no file counts as canonical, so every write serialises the whole document.
        whole.setattr(index_module.ManifestIndex, "build_canonical", classmethod(lambda cls, raw, sig: None))
        whole.setattr(index_module, "_spans", lambda raw, count: (None, 0))
        rewritten = _run_ops(tmp_path / "whole")
    for step, (ours, today) in enumerate(zip(spliced, rewritten, strict=True)):
        if OPS[step] is _rewrite_ascii:
            continue  # written by the other tool, not by us
        assert ours == today, f"step {step}"
        node_form = json.dumps(json.loads(ours), indent=2, ensure_ascii=False)
        assert ours == node_form.encode("utf-8", "backslashreplace"), f"step {step}"


def test_lookups_see_every_outside_write(manifest: Manifest, project: Path) -> None:
    """A warm index notices an in-place rewrite, another writer's replace, and the Node snippet."""
    for k in range(3):
        manifest.add_image(f"{k}.png", f"prompt {k}", "Imagen 4", PARAMS, task_id=f"t{k}")
    assert manifest.get("img-003") is not None
    other = Manifest(manifest.path, lock_timeout=5)
    other.add_image("x.png", "from elsewhere", "Imagen 4", PARAMS, task_id="t-other")
    assert [e["id"] for e in manifest.find(task_id="t-other")] == ["img-004"]
    time.sleep(0.02)  # a later modification time than the last write, as any real edit has
    text = manifest.path.read_text(encoding="utf-8").replace("prompt 1", "PROMPT 1")
    with open(manifest.path, "r+", encoding="utf-8") as fh:  # same size, same inode
        fh.write(text)
    assert manifest.get("img-002")["prompt"] == "PROMPT 1"
    assert manifest.find(prompt="prompt 1") == []
    if NODE is not None:
        line = node_add(project, "n.png", "from node", "Imagen 4", "1:1", PARAMS["endpoint"], 1)
        assert "img-005" in line
        assert manifest.get("img-005")["prompt"] == "from node"
        assert len(manifest) == 5
    entry = manifest.add_image("y.png", "after all that", "Imagen 4", PARAMS)
    assert entry["id"] == f"img-{len(manifest):03d}"


def test_an_index_is_never_reused_for_a_replaced_file(manifest: Manifest) -> None:
    """Lookups answer from the file as it is now, even right after it was replaced by another writer."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS, task_id="t1")
    assert len(manifest.find(task_id="t1")) == 1
    replacement = manifest.path.with_name("other.json")
    replacement.write_text(json.dumps({"assets": []}, indent=2))
    os.replace(replacement, manifest.path)
    assert manifest.find(task_id="t1") == []
    assert manifest.get("img-001") is None


def test_lookups_by_task_asset_recipe_and_filename_agree_with_a_scan(manifest: Manifest) -> None:
    """find() through the tables returns exactly what comparing every entry returns."""
    seed_manifest(manifest.path, 300)
    entries = manifest.entries
    probes = [
        {"task_id": entries[7]["kie"]["task_id"]},
        {"recipe": entries[9]["kie"]["recipe"]},
        {"filename": entries[11]["filename"]},
        {"id": "img-200"},
        {"scene_id": 3, "model": "Imagen 4"},
        {"superseded_by": None, "model": "4o Image"},
        {"batch": entries[4]["kie"]["batch"]},
        {"task_id": "no such task"},
    ]
    for criteria in probes:

        def value(entry: dict[str, Any], key: str) -> Any:
            return entry[key] if key in entry else (entry.get("kie") or {}).get(key)

        expected = [e for e in entries if all(value(e, k) == v for k, v in criteria.items())]
        assert manifest.find(**criteria) == expected, criteria
    assert manifest.get("img-150") == entries[149]


def test_memory_held_for_the_manifest_is_under_twice_its_size(tmp_path: Path) -> None:
    """The index of a 5,000-entry manifest takes less memory than two copies of the file."""
    path = tmp_path / "assets" / "manifest.json"
    seed_manifest(path, 5_000)
    tracemalloc.start()
    try:
        manifest = Manifest(path)
        assert len(manifest) == 5_000
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2 * path.stat().st_size


def test_a_batch_of_images_is_one_write(manifest: Manifest) -> None:
    """record_images writes the manifest once for all of its images, superseding in order."""
    before = manifest.writes
    entries = _record_two(manifest, manifest.root)
    assert manifest.writes == before + 1
    assert [e["version"] for e in entries] == [1, 2]
    assert manifest.get("img-001")["superseded_by"] == "img-002"
    assert all(manifest.resolve_filename(e["filename"]) for e in entries)


def test_collected_tasks_are_compacted_out_of_the_journal(manifest: Manifest) -> None:
    """Once a task's images are in the manifest its journal record goes; open ones stay."""
    job = {"family": "market", "model_id": "google/imagen4", "model": "Imagen 4", "endpoint": "/e"}
    for task in ("t-old", "t-new", "t-open"):
        manifest.journal_submit(task, body={}, **job)
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS, task_id="t-old")
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS, task_id="t-new")
    manifest.journal_complete("t-old", ["img-001"], seconds=12.5)
    manifest.journal_complete("t-new", ["img-002"], seconds=14.5)
    assert [r["task_id"] for r in manifest.journal()] == ["t-open"]
    assert manifest.typical_seconds("google/imagen4") == pytest.approx(13.5)
    manifest.journal_complete("t-open", ["img-404"])  # not in the manifest: the record is kept
    assert [r["state"] for r in manifest.journal()] == ["complete"]


def test_verify_hashes_only_files_changed_since_they_were_recorded(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged files are not read; a same-size edit made later is caught; hash_all reads all."""
    verify_module = importlib.import_module("kie_widgets.assets.verify")
    for k in range(3):
        saved = save_image_bytes(image_bytes(size=(8 + k, 8)), folder=manifest.images_dir)
        manifest.record_image(saved, AssetRecord(prompt=f"p{k}", model="Imagen 4"))
    hashed: list[Path] = []
    real = verify_module.sha256_file
    monkeypatch.setattr(verify_module, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert verify(manifest).ok
    assert hashed == []
    assert verify(manifest, hash_all=True).ok
    assert len(hashed) == 3
    target = manifest.resolve_filename(manifest.get("img-002")["filename"])
    assert target is not None
    data = bytearray(target.read_bytes())
    data[-20] ^= 0xFF  # same size, new bytes, a later modification time
    target.write_bytes(bytes(data))
    os.utime(target, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    hashed.clear()
    report = verify(manifest)
    assert [m["id"] for m in report.hash_mismatches] == ["img-002"]
    assert hashed == [target]


def test_a_rewrite_that_keeps_the_signature_is_still_noticed(manifest: Manifest) -> None:
    """Same size, same inode, same modification time, other bytes: the entry read or edited is checked."""
    for k in range(3):
        manifest.add_image(f"{k}.png", f"prompt {k}", "Imagen 4", PARAMS)
    st = manifest.path.stat()
    text = manifest.path.read_text(encoding="utf-8").replace("prompt 1", "PROMPT 1")
    with open(manifest.path, "r+", encoding="utf-8") as fh:
        fh.write(text)
    os.utime(manifest.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert index_module.signature_of(manifest.path.stat()) == index_module.signature_of(st)
    assert manifest.get("img-002")["prompt"] == "PROMPT 1"
    text = text.replace("PROMPT 1", "PRUMPT 1")
    with open(manifest.path, "r+", encoding="utf-8") as fh:
        fh.write(text)
    os.utime(manifest.path, ns=(st.st_atime_ns, st.st_mtime_ns))
    manifest.update_extra("img-002", kept=True)  # edits what the file holds now
    document = json.loads(manifest.path.read_text(encoding="utf-8"))
    assert document["assets"][1]["prompt"] == "PRUMPT 1"
    assert document["assets"][1]["kie"] == {"kept": True}


def test_unchanged_bytes_are_copied_even_where_the_kernel_cannot(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without copy_file_range (another OS, across file systems) a spliced write reads and writes."""
    for k in range(3):
        manifest.add_image(f"{k}.png", "fox", "Imagen 4", PARAMS)

    def refuse(*args: Any) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse)
    manifest.add_image("3.png", "fox", "Imagen 4", PARAMS)
    text = manifest.path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, ensure_ascii=False)
    assert [a["superseded_by"] for a in document["assets"][:3]] == ["img-002", "img-003", "img-004"]
