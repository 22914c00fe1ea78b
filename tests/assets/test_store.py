"""The storage engine: Node-identical serialisation, text reuse that never goes stale, settle-on-read."""

from __future__ import annotations

import json
import threading
import time
import warnings
from typing import Any

import pytest

from kie_widgets.assets import Manifest
from kie_widgets.assets._store import dumps

PARAMS = {"size": "1:1", "endpoint": "/e"}


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"assets": []},
        {"assets": [{}]},
        {"assets": [[], {"a": []}, 1, "x\ny", None, [1, [2, {}]]], "z": {"q": [1, 2]}, "e": []},
        {"assets": [{"prompt": 'ünï "q" \\ \u2028 🦊', "n": 1.5, "t": True}]},
        [],
        {"a": {"b": {"c": [{"d": 1.5}]}}},
    ],
)
def test_dumps_equals_indented_json(document: Any) -> None:
    """Our fast serialiser gives exactly json.dumps(indent=2, ensure_ascii=False), i.e. JSON.stringify."""
    assert dumps(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_reused_text_never_goes_stale(manifest: Manifest) -> None:
    """After supersedes and extra updates through one object, the file equals a fresh serialisation."""
    for i in range(6):
        manifest.add_image(f"{i}.png", f"prompt {i % 2}", "Imagen 4", PARAMS, task_id=f"t{i}")
    manifest.update_extra("img-002", note="checked")
    manifest.add_image("x.png", "prompt 0", "Imagen 4", PARAMS)
    text = manifest.path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, ensure_ascii=False)
    by_id = {a["id"]: a for a in document["assets"]}
    assert by_id["img-005"]["superseded_by"] == "img-007"
    assert by_id["img-002"]["kie"]["note"] == "checked"


def test_a_read_during_a_slow_foreign_write_waits_instead_of_recovering(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file caught half-written by a non-atomic writer is re-read, not treated as corrupt."""
    from kie_widgets.assets import _store

    monkeypatch.setattr(_store, "_SETTLE_DELAY", 0.25)  # margin for a loaded machine; the rule is the same
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    full = manifest.path.read_text()
    manifest.path.write_text(full[:40])
    finish = threading.Timer(0.06, manifest.path.write_text, args=(full,))
    finish.start()
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entries = manifest.entries
    finish.join()
    assert [e["id"] for e in entries] == ["img-001", "img-002"]
    assert time.monotonic() - start < 2
    assert list(manifest.path.parent.glob("*.corrupt-*")) == []


def test_lone_surrogates_are_written_as_json_escapes(manifest: Manifest) -> None:
    """A prompt holding a lone surrogate is stored as a JSON escape and reads back unchanged."""
    prompt = "broken emoji \ud83d here"
    manifest.add_image("a.png", prompt, "Imagen 4", PARAMS)
    assert "\\ud83d" in manifest.path.read_text(encoding="utf-8")
    assert manifest.entries[0]["prompt"] == prompt
