"""The manifest store: ``assets/manifest.json`` exactly as the skill document defines it, plus a journal.

Entries have exactly the document's keys, in its order (``id``, ``type``, ``filename``, ``prompt``,
``model``, ``parameters: {size, endpoint}``, ``created_at``, ``scene_id``, ``version``), then our extra
data in one nested object under ``"kie"``, and ``superseded_by`` once a newer version replaces the entry.
Ids and versions follow the document's Node snippet rule for rule, so the snippet and this class can
take turns on the same file. The file is serialised like ``JSON.stringify(m, null, 2)``.

The journal of paid tasks lives beside it in ``manifest.journal.json``, under the same lock (see
``Manifest.journal_path`` for why it is not inside ``manifest.json``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from kie_widgets.assets import naming
from kie_widgets.assets._store import DEFAULT_LOCK_TIMEOUT, JSONStore, dumps, fsync_dir, log
from kie_widgets.assets.images import SavedImage
from kie_widgets.config import find_project_root
from kie_widgets.errors import KieManifestError, KieValidationError

if TYPE_CHECKING:
    from kie_widgets.assets.asset import Asset

#: The nested object that holds everything the document's schema does not.
EXTRA_KEY = "kie"
JOURNAL_STATES = ("pending", "uncertain", "complete", "failed", "dismissed")
OPEN_STATES = ("pending", "uncertain")
# Body or context keys that could hold a credential are masked before they are journaled.
_SECRETISH = re.compile(r"(api[_-]?key|authori[sz]ation|secret|token|password|bearer)", re.IGNORECASE)


def iso_now() -> str:
    """The current UTC time like JavaScript's ``new Date().toISOString()``: ``2026-11-25T01:02:03.456Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _js_truthy(value: Any) -> bool:
    # The snippet filters with `!a.superseded_by`; JavaScript's truthiness differs from Python's for
    # empty lists/objects (truthy in JS) and NaN.
    if isinstance(value, (list, dict)):
        return True
    if isinstance(value, float) and value != value:
        return False
    return bool(value)


_MISSING = object()


def _js_increment(value: Any) -> Any:
    # `prev.version + 1` with JavaScript's `+`: null counts as 0, a string gets "1" appended, and
    # undefined (a missing key) or an object gives NaN, which JSON.stringify writes as null.
    if value is None:
        return 1
    if isinstance(value, bool):
        return int(value) + 1
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "1"
    return None


def image_count(assets: Sequence[Any]) -> int:
    """How many entries are images (the snippet's id counter)."""
    return sum(1 for a in assets if isinstance(a, dict) and a.get("type") == "image")


def next_image_id(assets: Sequence[Any]) -> str:
    """The id the document's snippet gives the next image: ``img-`` + count of image entries + 1."""
    return f"img-{image_count(assets) + 1:03d}"


def scrub(value: Any) -> Any:
    """A copy of ``value`` with anything under a credential-like key replaced by ``"***"``."""
    if isinstance(value, Mapping):
        return {k: ("***" if _SECRETISH.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    return value


def _validate_manifest(document: Any) -> str | None:
    if not isinstance(document, dict):
        return f"the top level is a {type(document).__name__}, not an object"
    if not isinstance(document.get("assets"), list):
        return 'it has no "assets" list'
    return None


def _validate_journal(document: Any) -> str | None:
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), list):
        return 'it has no "tasks" list'
    return None


class Manifest:
    """The asset manifest of one project (default ``<project root>/assets/manifest.json``).

    Every change is one locked transaction that re-reads the file, so any number of threads and
    processes (and the document's Node snippet, between our writes) can share it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        images_dir: str | os.PathLike[str] | None = None,
        name_pattern: str = naming.DEFAULT_NAME_PATTERN,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        if path is None:
            path = find_project_root() / "assets" / "manifest.json"
        self.path = Path(path).expanduser().absolute()
        #: The project root: entries' ``filename`` is relative to it (the document's convention).
        self.root = Path(root).absolute() if root is not None else self.path.parent.parent
        #: Where downloaded images go.
        self.images_dir = Path(images_dir).absolute() if images_dir else self.path.parent / "images"
        naming.check_pattern(name_pattern)
        self.name_pattern = name_pattern
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # One lock guards both files, so a transaction may touch both and no order can deadlock.
        self._lock = filelock.FileLock(self.lock_path, timeout=lock_timeout, poll_interval=0.01)
        self._store = JSONStore(
            self.path,
            lock=self._lock,
            empty=lambda: {"assets": []},
            validate=_validate_manifest,
            label="manifest",
            reuse_item_text=True,
        )
        #: The journal of paid tasks. It is a sibling file rather than a key of manifest.json because
        #: (1) the document's Node snippet rewrites manifest.json without any lock, and a journal update
        #: landing between its read and its write would be silently dropped; a lost asset entry can be
        #: rebuilt from the file on disk (``verify``), a lost pending task id cannot; (2) the journal is
        #: written before every first poll and must stay cheap when the manifest holds 10,000 entries;
        #: (3) manifest.json stays exactly the documented ``{"assets": [...]}``.
        self.journal_path = self.path.with_name(self.path.stem + ".journal.json")
        self._journal = JSONStore(
            self.journal_path,
            lock=self._lock,
            empty=lambda: {"version": 1, "tasks": []},
            validate=_validate_journal,
            label="task journal",
        )

    def __repr__(self) -> str:
        return f"Manifest({str(self.path)!r})"

    # -- reading ---------------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        """The whole manifest document (a fresh copy)."""
        document: dict[str, Any] = self._store.read()
        return document

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every entry, images and other types, in file order (a fresh copy)."""
        return [a for a in self.read()["assets"] if isinstance(a, dict)]

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, asset_id: str) -> dict[str, Any] | None:
        """The entry with this id (the last one, should the file hold duplicates), or ``None``."""
        found = [e for e in self.entries if e.get("id") == asset_id]
        return found[-1] if found else None

    def asset(self, asset_id: str) -> Asset | None:
        """The ``Asset`` with this id (for using a recorded image as an input), or ``None``."""
        from kie_widgets.assets.asset import Asset

        entry = self.get(asset_id)
        return Asset.from_entry(entry, self) if entry is not None else None

    def find(self, **criteria: Any) -> list[dict[str, Any]]:
        """Entries whose fields equal every criterion; a key not in the schema is looked up in the extras.

        ``find(scene_id=1)``, ``find(model="Imagen 4", superseded_by=None)``, ``find(task_id="…")``.
        """

        def value(entry: dict[str, Any], key: str) -> Any:
            if key in entry:
                return entry[key]
            extra = entry.get(EXTRA_KEY)
            return extra.get(key) if isinstance(extra, dict) else None

        return [e for e in self.entries if all(value(e, k) == v for k, v in criteria.items())]

    def find_recipe(self, recipe: str, *, existing: bool = False) -> list[dict[str, Any]]:
        """Entries made from this recipe hash, oldest first; ``existing=True`` keeps only files on disk."""
        found = self.find(recipe=recipe)
        if existing:
            found = [e for e in found if self.resolve_filename(e.get("filename")) is not None]
        return found

    def resolve_filename(self, filename: Any) -> Path | None:
        """The absolute path of an entry's ``filename`` if it names an existing file, else ``None``."""
        if not isinstance(filename, str) or not filename:
            return None
        path = Path(filename)
        path = path if path.is_absolute() else self.root / path
        return path if path.is_file() else None

    # -- writing ---------------------------------------------------------------------------------

    def _new_entry(
        self,
        assets: list[Any],
        *,
        filename: str,
        prompt: Any,
        model: Any,
        parameters: Mapping[str, Any] | None,
        scene_id: Any,
        extra: Mapping[str, Any],
        entry_id: str | None = None,
        version: Any = None,
    ) -> dict[str, Any]:
        """Build the entry exactly as the Node snippet would and apply its superseding rule."""
        parameters = dict(parameters or {})
        entry: dict[str, Any] = {
            "id": entry_id or next_image_id(assets),
            "type": "image",
            "filename": filename,
            "prompt": prompt,
            "model": model,
            "parameters": {
                "size": parameters.pop("size", None),
                "endpoint": parameters.pop("endpoint", None),
            },
            "created_at": iso_now(),
            "scene_id": scene_id,
            "version": 1,
        }
        prev = self._latest_unsuperseded(assets, prompt, model)
        if prev is not None:
            entry["version"] = _js_increment(prev.get("version", _MISSING))
            prev["superseded_by"] = entry["id"]
            self._store.touch(prev)
        if version is not None:
            entry["version"] = version
        extras = {k: v for k, v in extra.items() if v is not None}
        if parameters and "params" not in extras:
            # Parameters beyond the schema's two keep their place in the extras.
            extras["params"] = parameters
        if extras:
            entry[EXTRA_KEY] = scrub(extras)
        return entry

    @staticmethod
    def _latest_unsuperseded(assets: list[Any], prompt: Any, model: Any) -> dict[str, Any] | None:
        for a in reversed(assets):
            if (
                isinstance(a, dict)
                and a.get("prompt", _MISSING) == prompt
                and a.get("model", _MISSING) == model
                and not _js_truthy(a.get("superseded_by"))
            ):
                return a
        return None

    @staticmethod
    def _check_serialisable(extra: Mapping[str, Any]) -> None:
        try:
            dumps(dict(extra))
        except (TypeError, ValueError) as exc:
            raise KieValidationError(f"manifest extras must be JSON data: {exc}") from exc

    def add_image(
        self,
        filename: str,
        prompt: Any,
        model: Any,
        parameters: Mapping[str, Any] | None,
        scene_id: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record an image already on disk, exactly like the document's snippet; return the entry written.

        ``filename`` is relative to the project root (an absolute path inside it is made relative).
        Extra keyword arguments (task_id, model_id, params, seed, parents, recipe, ...) go into the
        entry's ``"kie"`` object.
        """
        self._check_serialisable(extra)
        filename = self._relative(Path(filename)) if Path(filename).is_absolute() else str(filename)

        def change(document: dict[str, Any]) -> dict[str, Any]:
            assets = document["assets"]
            entry = self._new_entry(
                assets,
                filename=filename,
                prompt=prompt,
                model=model,
                parameters=parameters,
                scene_id=scene_id,
                extra=extra,
            )
            assets.append(entry)
            return entry

        return json.loads(dumps(self._store.transact(change)))

    def _relative(self, path: Path) -> str:
        try:
            return path.absolute().relative_to(self.root).as_posix()
        except ValueError:
            return path.absolute().as_posix()

    def record_image(
        self,
        saved: SavedImage,
        *,
        prompt: Any,
        model: Any,
        parameters: Mapping[str, Any] | None,
        scene_id: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Move a validated download into place and record it, as one locked transaction.

        Allocates the id and version, names the file from the pattern (always inside ``images_dir``),
        moves ``saved.temp_path`` there without overwriting anything, and writes the entry with the
        file's sha256, format, pixel size and byte count. If the manifest cannot be written, the file
        goes back to its temp name and the error propagates.
        """
        self._check_serialisable(extra)
        if not saved.temp_path.is_file():
            raise KieValidationError(f"{saved.temp_path} does not exist (already recorded or discarded?)")
        file_facts = {
            "sha256": saved.sha256,
            "format": saved.format,
            "width": saved.width,
            "height": saved.height,
            "bytes": saved.nbytes,
        }
        with self._store.locked():
            document = self._store._read_locked()
            assets = document["assets"]
            entry_id = next_image_id(assets)
            prev = self._latest_unsuperseded(assets, prompt, model)
            version = _js_increment(prev.get("version", _MISSING)) if prev is not None else 1
            relative = naming.render(
                self.name_pattern,
                {
                    "id": entry_id,
                    "version": version if isinstance(version, int) else 1,
                    "scene_id": scene_id,
                    "ext": saved.ext,
                    "model": model,
                    "prompt": prompt,
                    "date": iso_now()[:10],
                },
            )
            target = self._place(saved.temp_path, relative)
            try:
                entry = self._new_entry(
                    assets,
                    filename=self._relative(target),
                    prompt=prompt,
                    model=model,
                    parameters=parameters,
                    scene_id=scene_id,
                    extra={**extra, **file_facts},
                    entry_id=entry_id,
                )
                assets.append(entry)
                self._store.write_locked(document)
            except BaseException:
                # Unrecorded: hand the file back under its temp name so nothing is half-done.
                self._store.invalidate()
                with contextlib.suppress(OSError):
                    os.replace(target, saved.temp_path)
                raise
        self._write_sidecar(target, entry)
        return json.loads(dumps(entry))

    @staticmethod
    def _write_sidecar(target: Path, entry: dict[str, Any]) -> None:
        from kie_widgets.assets.meta import write_sidecar  # meta builds on this module

        try:
            write_sidecar(target, entry)
        except OSError as exc:
            # Derived data: the manifest already holds everything; verify(repair=True) rewrites it.
            log.warning("Could not write the sidecar of %s: %s", target, exc)

    def _place(self, temp: Path, relative: str) -> Path:
        """Move ``temp`` to ``images_dir/relative`` (or a numbered variant), never replacing a file."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        target = naming.safe_target(self.images_dir, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        naming.safe_target(self.images_dir, relative)  # the parent may have been created as a link
        try:
            if temp.stat().st_dev != target.parent.stat().st_dev:
                temp = self._copy_across(temp, target.parent)
        except OSError as exc:
            raise KieManifestError(f"Could not move the image into {target.parent}: {exc.strerror}.") from exc
        for n in range(1, 1000):
            candidate = target if n == 1 else naming.with_suffix_number(target, n)
            try:
                os.link(temp, candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS):
                    raise KieManifestError(
                        f"Could not move the image to {candidate}: {exc.strerror}."
                    ) from exc
                # No hard links here: we hold the lock, so check-then-replace cannot race our writers.
                if candidate.exists():
                    continue
                os.replace(temp, candidate)
            else:
                os.unlink(temp)
            fsync_dir(candidate.parent)
            return candidate
        raise KieManifestError(f"Could not find a free file name for {relative} in {self.images_dir}.")

    @staticmethod
    def _copy_across(temp: Path, folder: Path) -> Path:
        """Copy a temp file from another file system into ``folder`` (durably), then drop the original."""
        local = folder / f".download-{secrets.token_hex(8)}.part"
        with open(temp, "rb") as src, open(local, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        temp.unlink()
        return local

    def update_extra(self, asset_id: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into an entry's ``"kie"`` object (schema keys are never touched)."""
        self._check_serialisable(changes)

        def change(document: dict[str, Any]) -> dict[str, Any]:
            for entry in reversed(document["assets"]):
                if isinstance(entry, dict) and entry.get("id") == asset_id:
                    extra = entry.setdefault(EXTRA_KEY, {})
                    extra.update(scrub(changes))
                    self._store.touch(entry)
                    return entry
            raise KieValidationError(f"no asset {asset_id!r} in {self.path}")

        return json.loads(dumps(self._store.transact(change)))

    # -- the journal of paid tasks -------------------------------------------------------------

    def _journal_change(self, change: Any) -> Any:
        return self._journal.transact(change)

    @staticmethod
    def _find_task(tasks: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
        for record in reversed(tasks):
            if record.get("task_id") == key or record.get("journal_id") == key:
                return record
        return None

    def journal_submit(
        self,
        task_id: str,
        *,
        family: str,
        model_id: str,
        model: str,
        endpoint: str,
        body: Mapping[str, Any],
        recipe: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a submitted (paid) task as pending, before its first status poll."""
        record = {
            "journal_id": task_id,
            "task_id": task_id,
            "state": "pending",
            "family": family,
            "model_id": model_id,
            "model": model,
            "endpoint": endpoint,
            "body": scrub(dict(body)),
            "recipe": recipe,
            "context": scrub(dict(context or {})),
            "created_at": iso_now(),
            "updated_at": iso_now(),
            "asset_ids": [],
        }
        self._check_serialisable(record)

        def change(document: dict[str, Any]) -> None:
            existing = self._find_task(document["tasks"], task_id)
            if existing is None:
                document["tasks"].append(record)
            elif existing.get("state") in OPEN_STATES:
                existing.update({k: v for k, v in record.items() if k != "created_at"})

        self._journal_change(change)

    def journal_uncertain(
        self,
        *,
        family: str,
        model_id: str,
        model: str,
        endpoint: str,
        body: Mapping[str, Any],
        error: str,
        context: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a submission whose outcome is unknown (sent, no answer); return its journal id."""
        journal_id = f"uncertain-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
        record = {
            "journal_id": journal_id,
            "task_id": None,
            "state": "uncertain",
            "family": family,
            "model_id": model_id,
            "model": model,
            "endpoint": endpoint,
            "body": scrub(dict(body)),
            "recipe": None,
            "context": scrub(dict(context or {})),
            "error": str(error),
            "created_at": iso_now(),
            "updated_at": iso_now(),
            "asset_ids": [],
        }
        self._check_serialisable(record)
        self._journal_change(lambda document: document["tasks"].append(record))
        return journal_id

    def _settle(self, key: str, **fields: Any) -> None:
        def change(document: dict[str, Any]) -> None:
            record = self._find_task(document["tasks"], key)
            if record is None:
                record = {"journal_id": key, "task_id": key, "created_at": iso_now()}
                document["tasks"].append(record)
            record.update(fields, updated_at=iso_now())

        self._journal_change(change)

    def journal_complete(self, task_id: str, asset_ids: list[str]) -> None:
        """Mark a task collected: its results are on disk and recorded as ``asset_ids``."""
        self._settle(task_id, state="complete", asset_ids=list(asset_ids))

    def journal_failed(self, task_id: str, code: Any, message: str) -> None:
        """Mark a task failed with kie's code and message (failed tasks are not charged)."""
        self._settle(task_id, state="failed", fail_code=code, fail_message=message)

    def journal_dismiss(self, journal_id: str, reason: str = "") -> None:
        """Close a pending or uncertain record by hand (for example after checking kie's logs)."""
        self._settle(journal_id, state="dismissed", reason=reason)

    def journal(self) -> list[dict[str, Any]]:
        """Every journal record, oldest first (a fresh copy)."""
        return list(self._journal.read()["tasks"])

    def pending(self) -> list[dict[str, Any]]:
        """Task records still to collect (state ``pending`` or ``uncertain``), oldest first.

        Each carries ``recorded``: ids of manifest entries already holding this task's results, so a
        crash between recording a file and completing the journal cannot make ``resume()`` pay twice.
        """
        open_records = [r for r in self.journal() if r.get("state") in OPEN_STATES]
        if not open_records:
            return []
        by_task: dict[str, list[str]] = {}
        for entry in self.entries:
            extra = entry.get(EXTRA_KEY)
            if isinstance(extra, dict) and extra.get("task_id"):
                by_task.setdefault(str(extra["task_id"]), []).append(str(entry.get("id")))
        keys = ("task_id", "family", "model_id", "model", "endpoint", "body", "state", "created_at")
        result = []
        for record in open_records:
            item = {k: record.get(k) for k in keys}
            item.update(
                context=record.get("context") or {},
                recipe=record.get("recipe"),
                journal_id=record.get("journal_id"),
                error=record.get("error"),
                recorded=by_task.get(str(record.get("task_id")), []) if record.get("task_id") else [],
            )
            result.append(item)
        return result
