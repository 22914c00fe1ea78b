"""The ground is checked before paying: a broken manifest or an unwritable assets folder is found
before the create, not after the download (issue 11 item 2)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from kie_widgets.errors import KieManifestError

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"assets": "oops"}', b"\xff\xfe garbage"],
    ids=["unparseable", "a list", "assets not a list", "not utf-8"],
)
async def test_a_broken_manifest_without_backup_is_refused_before_the_create(
    kie: Any, sandbox: Any, manifest: Any, content: bytes
) -> None:
    """No create, upload or poll reaches kie; the error says what to do; the file is left as it was."""
    manifest.path.write_bytes(content)
    with pytest.raises(KieManifestError) as info:
        await kie.generate("Imagen 4", "a fox")
    assert "nothing was changed" in str(info.value) or "by hand" in str(info.value)
    assert sandbox.requests == []
    assert manifest.path.read_bytes() == content
    assert not manifest.journal_path.exists()


async def test_a_broken_manifest_with_a_backup_is_recovered_and_the_request_goes_on(
    kie: Any, sandbox: Any, manifest: Any
) -> None:
    """With a good backup the broken file is set aside before the create, and the image is recorded."""
    await kie.generate("Imagen 4", "a first fox")
    await kie.generate("Imagen 4", "a second fox")  # the first version is now the backup
    manifest.path.write_text('{"assets": "oops"}')
    with pytest.warns(UserWarning, match="recovered"):
        assets = await kie.generate("Imagen 4", "a third fox")
    assert [a.prompt for a in assets] == ["a third fox"]
    assert any(p.name.startswith("manifest.json.corrupt-") for p in manifest.path.parent.iterdir())


async def test_an_unwritable_assets_folder_is_refused_before_the_create(
    kie: Any, sandbox: Any, manifest: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EROFS/EACCES on the assets folder (injected: tests run as root) stops the request before kie."""
    assets_dir = str(project / "assets")
    real_open = os.open

    def deny(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).startswith(assets_dir) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(KieManifestError, match="read-only") as info:
        await kie.generate("Imagen 4", "a fox")
    assert "nothing was paid" in str(info.value)
    assert sandbox.requests == []
    monkeypatch.undo()
    assert manifest.entries == []
    assert manifest.journal() == []
