"""Crashes, corruption, a full disk and a read-only folder never cost the manifest an entry."""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kie_widgets.assets import KieManifestWarning, Manifest, verify
from kie_widgets.errors import KieManifestError

PARAMS = {"size": "1:1", "endpoint": "/api/v1/jobs/createTask"}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- a writer killed mid-write ---------------------------------------------------------------

TORN_WRITER = r"""
import os, sys, time
from kie_widgets.assets import Manifest
real_write = os.write
def half_then_hang(fd, data):
    if not os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
        return real_write(fd, data)  # only the manifest's temp file is torn
    # write half of the temp file, tell the parent, and wait to be killed
    n = real_write(fd, bytes(data[: len(data) // 2]))
    print("HALF", flush=True)
    time.sleep(60)
    return n
os.write = half_then_hang
Manifest(sys.argv[1]).add_image("b.png", "owl", "Imagen 4", {"size": "1:1", "endpoint": "/e"})
"""


def test_writer_killed_mid_write_leaves_the_manifest_whole(manifest: Manifest) -> None:
    """SIGKILL mid-write: the manifest is unchanged, the lock is free, verify finds the temp file."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    before = manifest.path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", TORN_WRITER, str(manifest.path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "HALF"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert manifest.path.read_bytes() == before
    [temp] = _leftovers(manifest.path.parent)
    quick = Manifest(manifest.path, lock_timeout=2)
    entry = quick.add_image("c.png", "owl", "Imagen 4", PARAMS)
    assert entry["id"] == "img-002"
    old = time.time() - 3600
    os.utime(manifest.path.parent / temp, (old, old))
    report = verify(quick, repair=True)
    assert any(temp in r for r in report.repaired)
    assert _leftovers(manifest.path.parent) == []


# -- corrupt files -----------------------------------------------------------------------------


def test_corrupt_manifest_is_set_aside_and_recovered_from_backup(manifest: Manifest) -> None:
    """A half-written manifest is moved aside, the backup restored, and a warning names both files."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    good = manifest.path.read_text()
    torn = good[: len(good) // 2]
    manifest.path.write_text(torn)  # what a non-atomic writer killed mid-write leaves
    with pytest.warns(KieManifestWarning) as caught:
        entry = manifest.add_image("c.png", "cat", "Imagen 4", PARAMS)
    message = str(caught[0].message)
    [aside] = list(manifest.path.parent.glob("manifest.json.corrupt-*"))
    assert str(aside) in message
    assert f"{manifest.path}.bak" in message
    assert aside.read_text() == torn  # the broken file is kept, never overwritten
    # the backup held the state before the last good write: img-001 only
    assert [e["id"] for e in manifest.entries] == ["img-001", "img-002"]
    assert entry["id"] == "img-002"


def test_reading_a_corrupt_manifest_also_recovers(manifest: Manifest) -> None:
    """A plain read of an unreadable manifest recovers it too, with the warning."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    manifest.path.write_bytes(b"\x00\x00\x00")
    with pytest.warns(KieManifestWarning, match="manifest.json.bak"):
        entries = manifest.entries
    assert [e["id"] for e in entries] == ["img-001"]


def test_wrong_structure_counts_as_corrupt(manifest: Manifest) -> None:
    """Valid JSON without an "assets" list is not silently replaced: it is set aside like broken JSON."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    manifest.path.write_text('{"assets": {"oops": true}}')
    with pytest.warns(KieManifestWarning):
        manifest.add_image("c.png", "cat", "Imagen 4", PARAMS)
    [aside] = list(manifest.path.parent.glob("manifest.json.corrupt-*"))
    assert json.loads(aside.read_text()) == {"assets": {"oops": True}}


def test_corrupt_manifest_without_backup_is_left_alone(manifest: Manifest) -> None:
    """With no usable backup nothing is moved or written, and the error says so."""
    manifest.path.write_text('{"assets": [ {"id": "img-001"')
    before = manifest.path.read_bytes()
    with pytest.raises(KieManifestError, match="nothing was changed"):
        manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    assert manifest.path.read_bytes() == before
    assert list(manifest.path.parent.glob("*.corrupt-*")) == []


def test_corrupt_journal_is_recovered_from_its_backup(manifest: Manifest) -> None:
    """The journal gets the same protection: a torn journal comes back from its backup with a warning."""
    job: dict[str, Any] = {"family": "market", "model_id": "m", "model": "M", "endpoint": "/e", "body": {}}
    manifest.journal_submit("t1", **job)
    manifest.journal_submit("t2", **job)
    manifest.journal_path.write_text("{")
    with pytest.warns(KieManifestWarning, match="journal"):
        pending = manifest.pending()
    assert [p["task_id"] for p in pending] == ["t1"]


# -- full disk and read-only folder, simulated -------------------------------------------------


def test_full_disk_leaves_the_old_manifest_intact(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC half-way through the temp file: KieManifestError says the disk is full; nothing changed."""
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    before = manifest.path.read_bytes()
    real_write = os.write

    def enospc(fd: int, data: bytes) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            return real_write(fd, data)
        real_write(fd, bytes(data[:100]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", enospc)
    with pytest.raises(KieManifestError, match="disk is full") as caught:
        manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    monkeypatch.undo()
    assert "previous version is intact" in str(caught.value)
    assert manifest.path.read_bytes() == before
    assert _leftovers(manifest.path.parent) == []
    assert manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)["id"] == "img-002"


def test_permission_error_leaves_the_old_manifest_intact(
    manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EACCES creating the temp file raises a clear KieManifestError and changes nothing.

    Tests run as root, for whom chmod does not deny writes, so the denial is injected at os.open; the
    real read-only file system is exercised by the next test where mounting is allowed.
    """
    manifest.add_image("a.png", "fox", "Imagen 4", PARAMS)
    before = manifest.path.read_bytes()
    real_open = os.open

    def deny(path: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(KieManifestError, match="permission denied"):
        manifest.add_image("b.png", "owl", "Imagen 4", PARAMS)
    monkeypatch.undo()
    assert manifest.path.read_bytes() == before


# -- full disk and read-only folder, for real (a private tmpfs mount) ---------------------------

REAL_FS = r"""
import json, os, sys, subprocess
from pathlib import Path
from kie_widgets.assets import Manifest
from kie_widgets.errors import KieManifestError
root, mode = Path(sys.argv[1]), sys.argv[2]
m = Manifest(root / "assets" / "manifest.json", lock_timeout=2)
for i in range(3):
    m.add_image(f"{i}.png", f"prompt {i}", "Imagen 4", {"size": "1:1", "endpoint": "/e"})
if mode == "full":
    fd = os.open(root / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        os.close(fd)
else:
    subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
before = m.path.read_bytes()
try:
    m.add_image("x.png", "another", "Imagen 4", {"size": "1:1", "endpoint": "/e"})
    print(json.dumps({"raised": None}))
except KieManifestError as exc:
    print(json.dumps({"raised": str(exc), "intact": m.path.read_bytes() == before,
                      "entries": len(json.loads(m.path.read_text())["assets"]),
                      "temps": [p.name for p in m.path.parent.iterdir() if p.name.endswith(".tmp")]}))
"""


def _run_on_private_tmpfs(tmp_path: Path, mode: str) -> dict[str, object]:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to mount a private tmpfs")
    root = tmp_path / "fs"
    root.mkdir()
    program = tmp_path / "real_fs.py"
    program.write_text(REAL_FS)
    q = shlex.quote
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {q(str(root))} || exit 77; mkdir {q(str(root / 'assets'))} && "
        f"exec {q(sys.executable)} {q(str(program))} {q(str(root))} {mode}"
    )
    out = subprocess.run([unshare, "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    if out.returncode in (77, 1) and ("mount" in out.stderr or "unshare" in out.stderr):
        pytest.skip(f"mounting a private tmpfs is not permitted here: {out.stderr.strip()[:200]}")
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_real_full_disk_leaves_the_old_manifest_intact(tmp_path: Path) -> None:
    """On a really full (tiny tmpfs) file system the write fails cleanly and the manifest is untouched."""
    result = _run_on_private_tmpfs(tmp_path, "full")
    assert "disk is full" in str(result["raised"])
    assert result["intact"] is True
    assert result["entries"] == 3
    assert result["temps"] == []


def test_real_read_only_file_system_leaves_the_manifest_intact(tmp_path: Path) -> None:
    """On a file system remounted read-only the write fails with a clear error and nothing changes."""
    result = _run_on_private_tmpfs(tmp_path, "ro")
    assert "read-only" in str(result["raised"])
    assert result["intact"] is True
    assert result["entries"] == 3
