"""What other writers leave in the manifest never costs a paid image (issue 11 item 8)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from kie_widgets.assets import KieManifestWarning

pytestmark = pytest.mark.anyio


def _write(manifest: Any, assets: list[dict[str, Any]]) -> None:
    manifest.path.write_text(json.dumps({"assets": assets}))


async def test_an_id_the_snippet_would_repeat_becomes_the_next_free_one_with_a_warning(
    kie: Any, manifest: Any
) -> None:
    """An entry without "type" makes the snippet's count repeat img-001: we take img-002 and warn."""
    _write(manifest, [{"id": "img-001", "filename": "notes.txt", "prompt": "a note"}])
    with pytest.warns(KieManifestWarning, match="img-001"):
        (asset,) = await kie.generate("Imagen 4", "a fox")
    assert asset.id == "img-002"
    assert [e["id"] for e in manifest.entries] == ["img-001", "img-002"]


async def test_a_well_formed_file_keeps_the_snippets_numbering_without_a_warning(
    kie: Any, manifest: Any
) -> None:
    """Where the snippet's count gives a fresh id it is used as is (the Node snippet and we agree)."""
    _write(
        manifest,
        [
            {"id": "img-001", "type": "image", "filename": "a.png", "prompt": "p", "model": "m"},
            {"id": "note-1", "type": "note", "filename": "n.txt"},
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", KieManifestWarning)
        (asset,) = await kie.generate("Imagen 4", "a fox")
    assert asset.id == "img-002"


@pytest.mark.parametrize(
    ("version", "expected"), [("abc", "abc1"), (None, 1), (2.0, 3), ({"x": 1}, None)], ids=str
)
async def test_an_odd_version_on_the_entry_a_new_one_supersedes_never_fails_the_paid_image(
    kie: Any, manifest: Any, version: Any, expected: Any
) -> None:
    """The snippet's JavaScript rule gives the new version ("abc" + 1 = "abc1"); the asset comes back."""
    _write(
        manifest,
        [
            {
                "id": "img-001",
                "type": "image",
                "filename": "gone.png",
                "prompt": "a fox",
                "model": "Imagen 4",
                "parameters": "oops",
                "version": version,
            }
        ],
    )
    (asset,) = await kie.generate("Imagen 4", "a fox")
    assert asset.path.is_file()
    entry = manifest.get(asset.id)
    assert entry is not None
    assert entry["version"] == expected
    assert manifest.pending() == []
