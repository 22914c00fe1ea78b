"""The manifest store: ``assets/manifest.json`` exactly as the skill document defines it, plus a journal.

Entries have exactly the document's keys, in its order (``id``, ``type``, ``filename``, ``prompt``,
``model``, ``parameters: {size, endpoint}``, ``created_at``, ``scene_id``, ``version``), then our extra
data in one nested object under ``"kie"`` (``record.AssetRecord`` declares its keys and their order),
and ``superseded_by`` once a newer version replaces the entry.
Ids and versions follow the document's Node snippet rule for rule, so the snippet and this class can
take turns on the same file. The file is serialised like ``JSON.stringify(m, null, 2)``.

The snippet's rules themselves are in ``schema``; the journal of paid tasks, which lives beside the
manifest in ``manifest.journal.json`` under the same lock, is in ``journal``; file placement is in
``naming``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import filelock

from kie_widgets.assets import naming
from kie_widgets.assets._store import (
    DEFAULT_LOCK_TIMEOUT,
    JSONStore,
    KieManifestWarning,
    describe_os_error,
    dumps,
    log,
)
from kie_widgets.assets.asset import Asset
from kie_widgets.assets.images import SavedImage
from kie_widgets.assets.journal import JournalMixin
from kie_widgets.assets.meta import write_sidecar
from kie_widgets.assets.record import AssetRecord
from kie_widgets.assets.schema import (
    EXTRA_KEY,
    MISSING,
    check_json,
    free_image_id,
    iso_now,
    js_increment,
    latest_unsuperseded,
    scrub,
    validate_manifest,
)
from kie_widgets.config import find_project_root
from kie_widgets.errors import KieManifestError, KieValidationError


class Manifest(JournalMixin):
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
            validate=validate_manifest,
            label="manifest",
            reuse_item_text=True,
        )
        self._init_journal(self.path, self._lock)  # see ``journal`` for why it is a separate file
        # (mtime, size) of the manifest and journal when check_ground last found both readable.
        self._sound_signature: tuple[tuple[int, int] | None, ...] | None = None

    def __repr__(self) -> str:
        return f"Manifest({str(self.path)!r})"

    # -- the ground under a paid request ----------------------------------------------------------

    def check_ground(self) -> None:
        """Before a request is paid: the manifest and journal read, and every folder they write takes a file.

        Raises ``KieManifestError`` saying what to do (nothing has been sent yet, so nothing is paid).
        Otherwise each of these would be found only after the create, the wait and the download.
        """
        signature = tuple(_file_signature(p) for p in (self.path, self.journal_path))
        if signature != self._sound_signature:
            # Parsed only when either file changed since it last read well (10,000 entries take a while).
            self._store.read()
            self._journal.read()
            self._sound_signature = tuple(_file_signature(p) for p in (self.path, self.journal_path))
        for folder in dict.fromkeys((self.path.parent, self.images_dir)):
            probe = folder / f".kie-probe-{secrets.token_hex(4)}.tmp"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(fd, b"k")
                finally:
                    os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(probe)
                raise KieManifestError(
                    f"Cannot write in {folder} ({describe_os_error(exc)}), where results are saved; "
                    "nothing was sent, so nothing was paid.",
                    hint="Make the assets folder writable (or free space), or point the manifest "
                    "elsewhere, then run again.",
                ) from exc

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

    @staticmethod
    def _free_id(assets: list[Any]) -> str:
        entry_id, warning = free_image_id(assets)
        if warning is not None:
            log.warning(warning)
            warnings.warn(warning, KieManifestWarning, stacklevel=4)
        return entry_id

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
            "id": entry_id or self._free_id(assets),
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
        prev = latest_unsuperseded(assets, prompt, model)
        if prev is not None:
            entry["version"] = js_increment(prev.get("version", MISSING))
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
        check_json(extra, "manifest extras")
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
        record: AssetRecord | None = None,
        *,
        prompt: Any = None,
        model: Any = None,
        parameters: Mapping[str, Any] | None = None,
        scene_id: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Move a validated download into place and record it, as one locked transaction.

        ``record`` says everything about the image; without it, ``prompt``, ``model``,
        ``parameters``, ``scene_id`` and the extra keyword arguments do, as for ``add_image``.
        Allocates the id and version, names the file from the pattern (always inside ``images_dir``),
        moves ``saved.temp_path`` there without overwriting anything, and writes the entry with the
        file's sha256, format, pixel size and byte count. If the manifest cannot be written, the file
        goes back to its temp name and the error propagates.
        """
        if record is not None:
            if prompt is not None or model is not None or parameters or scene_id is not None or extra:
                raise TypeError("record_image takes a record or its fields, not both")
            prompt, model, scene_id = record.prompt, record.model, record.scene_id
            parameters, extra = record.parameters(), record.extras()
        check_json(extra, "manifest extras")
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
            entry_id = self._free_id(assets)
            prev = latest_unsuperseded(assets, prompt, model)
            version = js_increment(prev.get("version", MISSING)) if prev is not None else 1
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
            target = naming.place(saved.temp_path, self.images_dir, relative)
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
        try:
            write_sidecar(target, entry)
        except OSError as exc:
            # Derived data: the manifest already holds everything; verify(repair=True) rewrites it.
            log.warning("Could not write the sidecar of %s: %s", target, exc)

    def update_extra(self, asset_id: str, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into an entry's ``"kie"`` object (schema keys are never touched)."""
        check_json(changes, "manifest extras")

        def change(document: dict[str, Any]) -> dict[str, Any]:
            for entry in reversed(document["assets"]):
                if isinstance(entry, dict) and entry.get("id") == asset_id:
                    extra = entry.setdefault(EXTRA_KEY, {})
                    extra.update(scrub(changes))
                    self._store.touch(entry)
                    return entry
            raise KieValidationError(f"no asset {asset_id!r} in {self.path}")

        return json.loads(dumps(self._store.transact(change)))


def _file_signature(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of ``path``, or None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
