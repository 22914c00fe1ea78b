"""Our writer and the document's Node snippet take turns on one manifest and agree on everything."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from kie_assets_helpers import NODE, node_add

from kie_widgets.assets import Manifest
from kie_widgets.assets._store import dumps

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed, so the document's snippet cannot run"
)

ENDPOINT = "/api/v1/jobs/createTask"
# (prompt, model, size, scene): repeats of prompt+model make version chains; quotes, newlines and
# non-ASCII check that both sides serialise the same bytes.
OPS: list[tuple[str, str, str, int | None]] = [
    ("a fox in snow", "Imagen 4", "16:9", 1),
    ("a fox in snow", "Imagen 4", "16:9", 1),
    ('a "quoted" owl\nsecond line', "4o Image", "3:2", 2),
    ("a fox in snow", "Seedream 4.5", "1:1", 1),
    ("ünïcödé fox 🦊", "Flux Kontext Max", "16:9", None),
    ("a fox in snow", "Imagen 4", "16:9", 3),
    ('a "quoted" owl\nsecond line', "4o Image", "3:2", 2),
    ("ünïcödé fox 🦊", "Flux Kontext Max", "16:9", 4),
    ("a fox in snow", "Seedream 4.5", "1:1", 1),
    ("a fox in snow", "Imagen 4", "16:9", 1),
]
SEED = {
    "assets": [
        {"id": "vid-001", "type": "video", "filename": "assets/video/intro.mp4", "prompt": "a fox in snow"},
        {
            "id": "img-001",
            "type": "image",
            "filename": "assets/images/scene-00.png",
            "prompt": "an old entry",
            "model": "Imagen 4",
            "parameters": {"size": "1:1", "endpoint": ENDPOINT},
            "created_at": "2026-01-01T00:00:00.000Z",
            "scene_id": 0,
            "version": 1,
        },
    ]
}


def _project(tmp: Path, name: str) -> Path:
    root = tmp / name
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "manifest.json").write_text(json.dumps(SEED, indent=2))
    return root


def _run(root: Path, writers: list[str]) -> None:
    manifest = Manifest(root / "assets" / "manifest.json")
    for n, ((prompt, model, size, scene), writer) in enumerate(zip(OPS, writers, strict=True)):
        filename = f"assets/images/shot-{n:02d}.png"
        if writer == "node":
            node_add(root, filename, prompt, model, size, ENDPOINT, scene)
        else:
            manifest.add_image(
                filename, prompt, model, {"size": size, "endpoint": ENDPOINT}, scene, task_id=f"task-{n}"
            )


def _projection(root: Path) -> list[dict[str, Any]]:
    keys = ("id", "type", "filename", "prompt", "model", "parameters", "scene_id", "version", "superseded_by")
    assets = json.loads((root / "assets" / "manifest.json").read_text())["assets"]
    return [{k: a.get(k) for k in keys} for a in assets]


def test_interleaved_writers_agree_with_either_alone(tmp_path: Path) -> None:
    """Ids, versions and superseded_by match whether Python, Node, or both in turn write the entries."""
    rng = random.Random(3)
    scenarios = {
        "python": ["python"] * len(OPS),
        "node": ["node"] * len(OPS),
        "alternating": ["python", "node"] * (len(OPS) // 2),
        "random": [rng.choice(["python", "node"]) for _ in OPS],
    }
    results = {}
    for name, writers in scenarios.items():
        root = _project(tmp_path, name)
        _run(root, writers)
        results[name] = _projection(root)
    assert results["python"] == results["node"]
    assert results["alternating"] == results["node"]
    assert results["random"] == results["node"]
    versions = [(a["id"], a["version"], a["superseded_by"]) for a in results["node"][2:]]
    assert versions[:2] == [("img-002", 1, "img-003"), ("img-003", 2, "img-007")]


def test_node_keeps_our_extras_and_we_keep_its_entries(tmp_path: Path) -> None:
    """After interleaving, our nested extras survive Node's rewrites and Node's entries survive ours."""
    root = _project(tmp_path, "mixed")
    writers = ["python", "node"] * (len(OPS) // 2)
    _run(root, writers)
    assets = json.loads((root / "assets" / "manifest.json").read_text())["assets"]
    assert assets[0] == SEED["assets"][0]
    for n, writer in enumerate(writers):
        entry = assets[2 + n]
        if writer == "python":
            assert entry["kie"] == {"task_id": f"task-{n}"}
        else:
            assert "kie" not in entry


def test_our_serialisation_is_byte_identical_to_json_stringify(tmp_path: Path) -> None:
    """A file the snippet just wrote re-serialises to the same bytes with our writer's format."""
    root = _project(tmp_path, "bytes")
    _run(root, ["python", "node"] * (len(OPS) // 2))
    text = (root / "assets" / "manifest.json").read_text(encoding="utf-8")
    assert dumps(json.loads(text)) == text


def test_node_output_line_reports_the_id_we_would_allocate(tmp_path: Path) -> None:
    """The snippet's own report of the id and version matches what our writer then reads back."""
    root = _project(tmp_path, "report")
    manifest = Manifest(root / "assets" / "manifest.json")
    manifest.add_image("a.png", "owl", "Imagen 4", {"size": "1:1", "endpoint": ENDPOINT})
    line = node_add(root, "b.png", "owl", "Imagen 4", "1:1", ENDPOINT, None)
    assert line == "Manifest updated: img-003 (v2)"
    assert manifest.get("img-002")["superseded_by"] == "img-003"  # type: ignore[index]


ODD_SEEDS: dict[str, dict[str, Any]] = {
    "version-null": {"prompt": "p", "model": "M", "type": "image", "version": None},
    "version-string": {"prompt": "p", "model": "M", "type": "image", "version": "2"},
    "version-missing": {"prompt": "p", "model": "M", "type": "image"},
    "superseded-empty": {"prompt": "p", "model": "M", "type": "image", "version": 4, "superseded_by": ""},
    "superseded-zero": {"prompt": "p", "model": "M", "type": "image", "version": 4, "superseded_by": 0},
    "video-same-prompt": {"prompt": "p", "model": "M", "type": "video", "version": 7},
    "no-prompt-key": {"model": "M", "type": "image", "version": 3},
}


@pytest.mark.parametrize("name", list(ODD_SEEDS))
def test_odd_existing_entries_get_the_same_treatment_as_node_gives_them(tmp_path: Path, name: str) -> None:
    """JavaScript's + and truthiness on odd versions and superseded_by values are reproduced exactly."""
    results = []
    for writer in ("node", "python"):
        root = tmp_path / writer
        (root / "assets").mkdir(parents=True)
        seed = {"assets": [{"id": "x-001", **ODD_SEEDS[name]}]}
        (root / "assets" / "manifest.json").write_text(json.dumps(seed))
        if writer == "node":
            node_add(root, "a.png", "p", "M", "1:1", ENDPOINT, None)
        else:
            Manifest(root / "assets" / "manifest.json").add_image(
                "a.png", "p", "M", {"size": "1:1", "endpoint": ENDPOINT}
            )
        results.append(_projection(root))
    assert results[0] == results[1]
