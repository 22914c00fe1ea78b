"""``verify()``: check that the manifest and the assets folder agree, and repair only what is safe.

Reported: entries whose file is missing, image files nobody recorded, files whose bytes no longer
match the recorded sha256, broken ``superseded_by`` chains, duplicate ids, tasks still pending in the
journal, and temp files left by killed writers.

``repair=True`` only does what cannot lose information: it records a leftover download that is a
whole image of a journaled task (its temp name says which task and result), moves every other
leftover temp file aside into ``assets/set-aside/``, deletes orphaned thumbnails, rewrites missing
``.xmp`` sidecars from the manifest, and re-records unrecorded images that carry their own
description (sidecar or embedded), e.g. after a foreign writer dropped their entries. It never
deletes an image or a temp file, never changes an id and never edits a version chain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kie_widgets.assets import meta
from kie_widgets.assets._store import stale_temp_files
from kie_widgets.assets.images import EXTENSIONS, parse_download_label, saved_from_file, sha256_file
from kie_widgets.assets.manifest import Manifest
from kie_widgets.assets.record import CARRIED_KEYS, AssetRecord
from kie_widgets.assets.schema import EXTRA_KEY
from kie_widgets.assets.thumbs import THUMBS_DIRNAME
from kie_widgets.errors import KieImageError

_IMAGE_SUFFIXES = {*EXTENSIONS.values(), ".jpeg"}
_DOWNLOAD_TEMP_AGE = 3600.0


@dataclass
class VerifyReport:
    """What ``verify`` found (and, with ``repair=True``, what it fixed)."""

    manifest: Path
    missing_files: list[dict[str, Any]] = field(default_factory=list)
    unrecorded_files: list[Path] = field(default_factory=list)
    hash_mismatches: list[dict[str, Any]] = field(default_factory=list)
    broken_chains: list[dict[str, Any]] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)
    pending_tasks: list[dict[str, Any]] = field(default_factory=list)
    stale_temp_files: list[Path] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing needs attention (pending tasks count: they are money not yet collected)."""
        return not (
            self.missing_files
            or self.unrecorded_files
            or self.hash_mismatches
            or self.broken_chains
            or self.duplicate_ids
            or self.pending_tasks
            or self.stale_temp_files
        )

    def __str__(self) -> str:
        lines = [f"Manifest {self.manifest}: " + ("all good." if self.ok else "needs attention.")]
        for entry in self.missing_files:
            lines.append(f"  missing file: {entry.get('id')} -> {entry.get('filename')}")
        lines += [f"  unrecorded file: {p}" for p in self.unrecorded_files]
        for item in self.hash_mismatches:
            lines.append(f"  changed since recorded: {item['id']} ({item['filename']})")
        for item in self.broken_chains:
            lines.append(
                f"  broken superseded_by: {item['id']} -> {item['superseded_by']} ({item['problem']})"
            )
        lines += [f"  duplicate id: {i}" for i in self.duplicate_ids]
        for task in self.pending_tasks:
            what = task.get("task_id") or task.get("journal_id")
            lines.append(
                f"  {task.get('state')} task: {what} ({task.get('model')}); run kie_widgets.resume()"
            )
        lines += [f"  leftover temp file: {p}" for p in self.stale_temp_files]
        lines += [f"  repaired: {r}" for r in self.repaired]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _chain_problems(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for entry in images:
        by_id.setdefault(str(entry.get("id")), entry)
    problems = []
    claimed: Counter[str] = Counter()
    for entry in images:
        target = entry.get("superseded_by")
        if not target:
            continue
        claimed[str(target)] += 1
        newer = by_id.get(str(target))
        problem = None
        if newer is None:
            problem = "points at an id that does not exist"
        elif newer is entry:
            problem = "points at itself"
        elif newer.get("prompt") != entry.get("prompt") or newer.get("model") != entry.get("model"):
            problem = "the newer entry has a different prompt or model"
        elif (
            isinstance(newer.get("version"), int)
            and isinstance(entry.get("version"), int)
            and newer["version"] <= entry["version"]
        ):
            problem = "the newer entry does not have a higher version"
        if problem:
            problems.append({"id": entry.get("id"), "superseded_by": target, "problem": problem})
    for target, count in claimed.items():
        if count > 1:
            problems.append({"id": None, "superseded_by": target, "problem": f"claimed by {count} entries"})
    return problems


def verify(
    manifest: Manifest | str | Path | None = None, *, repair: bool = False, hash_all: bool = False
) -> VerifyReport:
    """Check the manifest against the assets folder; with ``repair=True`` apply the safe fixes.

    A file is hashed only if it may have changed since it was recorded: its size differs from the
    recorded one, or it was modified after the entry's ``created_at`` (a recorded file is written
    before its entry). ``hash_all=True`` hashes every file, for changes that kept size and time.
    """
    if not isinstance(manifest, Manifest):
        manifest = Manifest(manifest)
    report = VerifyReport(manifest=manifest.path)
    entries = manifest.entries
    images = [e for e in entries if e.get("type") == "image"]

    ids = Counter(str(e.get("id")) for e in entries if e.get("id") is not None)
    report.duplicate_ids = sorted(i for i, n in ids.items() if n > 1)
    report.broken_chains = _chain_problems(images)

    recorded: set[str] = set()
    for entry in images:
        filename = entry.get("filename")
        path = _absolute(manifest, filename)
        try:
            st = os.stat(path) if path is not None else None
        except OSError:
            st = None
        if path is None or st is None or not stat.S_ISREG(st.st_mode):
            report.missing_files.append(entry)
            continue
        recorded.add(os.path.normpath(path))
        # Read straight from the extras, not through AssetRecord: at 50,000 entries building a
        # record per entry would cost more than the rest of this loop.
        extra = entry.get(EXTRA_KEY)
        extra = extra if isinstance(extra, dict) else {}
        expected = extra.get("sha256")
        check = expected and (hash_all or _may_have_changed(st, extra.get("bytes"), entry.get("created_at")))
        if check and sha256_file(path) != expected:
            report.hash_mismatches.append({"id": entry.get("id"), "filename": filename})
            continue
        if repair and not meta.sidecar_path(path).exists() and path.is_relative_to(manifest.images_dir):
            with contextlib.suppress(OSError):
                meta.write_sidecar(path, entry)
                report.repaired.append(f"wrote the sidecar of {entry.get('id')}")

    unrecorded = [p for p in _image_files(manifest.images_dir) if os.path.normpath(p) not in recorded]
    if unrecorded:
        # Symlinks or ``..`` may name one file two ways; only these few need the slower comparison.
        resolved = {Path(p).resolve() for p in recorded}
        report.unrecorded_files = sorted(p for p in unrecorded if p.resolve() not in resolved)

    report.pending_tasks = manifest.pending()
    folder = manifest.path.parent
    temps = stale_temp_files(folder, manifest.path.name) + stale_temp_files(
        folder, manifest.journal_path.name
    )
    if manifest.images_dir.is_dir():
        cutoff = time.time() - _DOWNLOAD_TEMP_AGE
        for path in manifest.images_dir.glob(".download-*.part"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    temps.append(path)
    report.stale_temp_files = sorted(temps)

    if repair:
        _repair(manifest, report)
    return report


def _absolute(manifest: Manifest, filename: Any) -> Path | None:
    if not isinstance(filename, str) or not filename:
        return None
    path = Path(filename)
    return path if path.is_absolute() else manifest.root / path


def _may_have_changed(st: os.stat_result, recorded_bytes: Any, created_at: Any) -> bool:
    """Whether a recorded file's stat allows that its bytes changed after it was recorded."""
    if not isinstance(recorded_bytes, int) or st.st_size != recorded_bytes or not isinstance(created_at, str):
        return True
    try:
        created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return True
    if created.tzinfo is None:
        return True
    # created_at is cut to the millisecond: allow that much.
    return st.st_mtime_ns > int(created.timestamp() * 1_000_000_000) + 1_000_000


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder``, skipping hidden files and folders (thumbnails, temp files)."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in _IMAGE_SUFFIXES:
                found.append(Path(top, name))
    return found


def _repair(manifest: Manifest, report: VerifyReport) -> None:
    tasks = {str(t.get("task_id")): t for t in manifest.journal() if t.get("task_id")}
    for path in list(report.stale_temp_files):
        # A leftover download may be a whole paid image (its record failed, the process died).
        entry = _record_leftover(manifest, path, tasks)
        if entry is not None:
            report.repaired.append(f"recorded the leftover download {path.name} as {entry['id']}")
        else:
            # Never deleted: what cannot be placed may still be someone's work or money.
            aside = _set_aside(manifest, path)
            if aside is None:
                continue
            report.repaired.append(f"moved the leftover temp file {path.name} to {aside}")
        report.stale_temp_files.remove(path)
    thumbs = manifest.images_dir / THUMBS_DIRNAME
    if thumbs.is_dir():
        for thumb in thumbs.iterdir():
            # "<source name>.<side>.<kind>.<hash16>.<ext>": the source's name is all but the last four parts
            source = manifest.images_dir / thumb.name.rsplit(".", 4)[0]
            if thumb.is_file() and not source.exists():
                with contextlib.suppress(OSError):
                    thumb.unlink()
                    report.repaired.append(f"deleted the orphaned thumbnail {thumb.name}")
    for path in list(report.unrecorded_files):
        try:
            payload = meta.embedded(path)
        except OSError:
            payload = None
        side = meta.sidecar_path(path)
        if payload is None and side.is_file():
            payload = meta.parse_xmp(side.read_bytes())
        if not payload or not payload.get("model"):
            continue
        # The file's own bytes are hashed again: the sha256 it carries may describe an earlier version.
        extra = {k: payload[k] for k in CARRIED_KEYS if k in payload and k != "sha256"}
        entry = manifest.add_image(
            str(path),
            payload.get("prompt"),
            payload.get("model"),
            payload.get("parameters") or {},
            payload.get("scene_id"),
            sha256=sha256_file(path),
            restored_from=payload.get("asset_id"),
            **extra,
        )
        report.unrecorded_files.remove(path)
        report.repaired.append(f"re-recorded {path.name} as {entry['id']} from its own description")


#: Where ``repair`` moves leftover files it cannot place (beside the manifest, visible).
SET_ASIDE_DIRNAME = "set-aside"


def _record_leftover(
    manifest: Manifest, path: Path, tasks: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """Record a labelled leftover download of a journaled task, if it is a whole image not yet recorded."""
    label = parse_download_label(path.name)
    if label is None or label[0] not in tasks:
        return None
    task_id, variant = label
    try:
        saved = saved_from_file(path)
    except (KieImageError, OSError):
        return None
    for entry in manifest.find(task_id=task_id):
        known = AssetRecord.from_entry(entry)
        if known.sha256 == saved.sha256 or known.variant == variant:
            return None  # recorded already: this temp file is a second copy
    record = dataclasses.replace(AssetRecord.from_journal(tasks[task_id]), task_id=task_id, variant=variant)
    return manifest.record_image(saved, record)


def _set_aside(manifest: Manifest, path: Path) -> Path | None:
    folder = manifest.path.parent / SET_ASIDE_DIRNAME
    target = folder / path.name.lstrip(".")
    try:
        folder.mkdir(exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.stem}-{int(time.time())}{target.suffix}")
        path.replace(target)
    except OSError:
        return None
    return target
