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
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import filelock
import orjson

from kie_widgets.assets import _store as store_module
from kie_widgets.assets import naming
from kie_widgets.assets._index import (
    FIND_FIELDS,
    SCHEMA_FIELDS,
    Change,
    ManifestIndex,
    Row,
    Signature,
    Source,
    StaleIndexError,
    encode,
    item_bytes,
    newest_first,
    orjson_agrees,
    row_of,
    signature_of,
    splice,
)
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
    free_image_id_for,
    iso_now,
    js_increment,
    scrub,
    validate_manifest,
)
from kie_widgets.assets.thumbs import store_preview
from kie_widgets.config import find_project_root
from kie_widgets.errors import KieManifestError, KieValidationError

T = TypeVar("T")
#: ``by_id(asset_id)``: the row of the last entry with this id, or ``None`` (for ``Manifest.select``).
RowById = Callable[[Any], "Row | None"]


class Manifest(JournalMixin):
    """The asset manifest of one project (default ``<project root>/assets/manifest.json``).

    Every change is one locked transaction that re-reads the file if it changed, so any number of
    threads and processes (and the document's Node snippet, between our writes) can share it. Reads
    go through an in-memory index (``_index``) that is rebuilt whenever the file's signature changes.
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
        )
        # The index and everything using it are guarded by this mutex. Lock order: the file lock
        # first, then the mutex; a reader that needs the file lock lets go of the mutex first.
        self._mutex = threading.RLock()
        self._index: ManifestIndex | None = None
        #: How many times this object wrote manifest.json (tests and benchmarks count writes).
        self.writes = 0
        self._init_journal(self.path, self._lock)  # see ``journal`` for why it is a separate file
        # (mtime, size) of the journal when check_ground last found it readable.
        self._sound_journal: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"Manifest({str(self.path)!r})"

    # -- the index ----------------------------------------------------------------------------------

    def _read_file(self) -> tuple[bytes | None, Signature | None]:
        """The file's bytes and the signature of exactly that version (``None``s when it is missing)."""
        try:
            with open(self.path, "rb") as fh:
                # The signature is taken before reading: a write racing the read makes the next
                # access see a newer signature and read again, never the other way round.
                sig = signature_of(os.fstat(fh.fileno()))
                return fh.read(), sig
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            raise KieManifestError(
                f"Cannot read the manifest {self.path}: {describe_os_error(exc)}.",
                hint="Check the file's permissions.",
            ) from exc

    def _parse(self, raw: bytes, sig: Signature | None) -> tuple[ManifestIndex | None, str | None]:
        """The index of these bytes, or the reason they are not a manifest."""
        index = ManifestIndex.build_canonical(raw, sig)
        if index is not None:  # the common case: canonical, and orjson reads every value exactly
            return index, None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"not UTF-8 text ({exc.reason})"
        document, problem = self._store._parse(text)
        if problem is not None:
            return None, problem
        # Unusual numbers, or written by another tool: compare with our own serialisation.
        canonical = encode(document) == raw
        return ManifestIndex.build(raw, document, sig, canonical=canonical, orjson_ok=False), None

    def _load(self, *, locked: bool) -> tuple[ManifestIndex, bytes | None] | None:
        """(index of the file as it is now, its bytes if they were just read); mutex held.

        ``None`` when the file stays unreadable and ``locked`` is false: the caller takes the lock
        and calls again, which recovers it from the backup.
        """
        last: bytes | None = None
        for attempt in range(store_module._SETTLE_TRIES):
            try:
                sig: Signature | None = signature_of(os.stat(self.path))
            except FileNotFoundError:
                sig = None
            if self._index is not None and self._index.signature == sig and sig is not None:
                return self._index, None
            raw, sig = self._read_file()
            if raw is None:
                self._index = ManifestIndex.empty()
                return self._index, None
            index, problem = self._parse(raw, sig)
            if index is not None:
                self._index = index
                return index, raw
            if raw == last:
                break  # unchanged between two reads: nobody is writing it, it is broken
            last = raw
            if attempt < store_module._SETTLE_TRIES - 1:
                time.sleep(store_module._SETTLE_DELAY)
        if not locked:
            return None
        self._index = None
        self._store._recover(problem or "unreadable")
        return self._load(locked=True)

    def _locked_load(self, opened: list[int]) -> tuple[ManifestIndex, Source]:
        """Under the file lock and the mutex: the index and the version of the file it describes.

        When the index is already current the file is only opened (its descriptor goes into
        ``opened`` for the caller to close), not read: a change reads just the items it edits.
        """
        loaded = self._load(locked=True)
        assert loaded is not None
        index, raw = loaded
        while raw is None:
            if index.signature is None:
                return index, Source(b"")
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                fd = -1
            if fd >= 0:
                opened.append(fd)
                if signature_of(os.fstat(fd)) == index.signature:
                    return index, Source(fd=fd)
            self._index = None  # changed between the stat and the open (a foreign writer)
            loaded = self._load(locked=True)
            assert loaded is not None
            index, raw = loaded
        return index, Source(raw)

    def _query(self, use: Callable[[ManifestIndex, int], T]) -> T:
        """``use(index, fd)`` on the current index with the file open (``fd`` -1 if not needed)."""
        for _ in range(20):
            with self._mutex:
                loaded = self._load(locked=False)
                if loaded is not None:
                    index = loaded[0]
                    if index.document is not None or index.signature is None:
                        return use(index, -1)
                    try:
                        fd = os.open(self.path, os.O_RDONLY)
                    except FileNotFoundError:
                        continue
                    try:
                        if signature_of(os.fstat(fd)) == index.signature:
                            return use(index, fd)
                    except StaleIndexError:
                        self._index = None
                    finally:
                        os.close(fd)
                    continue
            with self._store.locked(), self._mutex:
                self._load(locked=True)
        raise KieManifestError(f"The manifest {self.path} kept changing while it was being read.")

    # -- the ground under a paid request ----------------------------------------------------------

    def check_ground(self) -> None:
        """Before a request is paid: the manifest and journal read, and every folder they write takes a file.

        Raises ``KieManifestError`` saying what to do (nothing has been sent yet, so nothing is paid).
        Otherwise each of these would be found only after the create, the wait and the download.
        """
        self._query(lambda index, _fd: None)  # parsed again only if the file changed (the index)
        journal = _file_signature(self.journal_path)
        if journal != self._sound_journal:
            self._journal.read()
            self._sound_journal = _file_signature(self.journal_path)
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

        return self._query(lambda index, fd: index.read_document(fd))

    @property
    def entries(self) -> list[dict[str, Any]]:
        """Every entry, images and other types, in file order (a fresh copy)."""
        return [a for a in self.read()["assets"] if isinstance(a, dict)]

    def __len__(self) -> int:
        return self._query(lambda index, _fd: sum(1 for row in index.rows if row.is_entry))

    def _at(self, positions: Callable[[ManifestIndex], list[int]]) -> list[dict[str, Any]]:
        """The entries at the positions ``positions(index)`` picks, parsed afresh, in file order."""
        return self._query(lambda index, fd: index.read_items(fd, sorted(positions(index))))

    def get(self, asset_id: str) -> dict[str, Any] | None:
        """The entry with this id (the last one, should the file hold duplicates), or ``None``."""

        def last(index: ManifestIndex) -> list[int]:
            found = index.lookup("id", asset_id)
            if found is None:
                found = [p for p, row in enumerate(index.rows) if row.is_entry and row.get("id") == asset_id]
            return found[-1:]

        found = self._at(last)
        return found[0] if found else None

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

        def matches(index: ManifestIndex) -> list[int]:
            return candidates(index, criteria)

        found = self._at(matches)
        return [
            e for e in found if isinstance(e, dict) and all(value(e, k) == v for k, v in criteria.items())
        ]

    def find_recipe(self, recipe: str, *, existing: bool = False) -> list[dict[str, Any]]:
        """Entries made from this recipe hash, oldest first; ``existing=True`` keeps only files on disk."""
        found = self.find(recipe=recipe)
        if existing:
            found = [e for e in found if self.resolve_filename(e.get("filename")) is not None]
        return found

    def select(self, keep: Callable[[Row, RowById], bool], limit: int | None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (all if ``None``) whose ``Row`` ``keep`` accepts, oldest first.

        For history views: ``keep(row, by_id)`` sees each entry's short row, newest first, with
        ``by_id`` to look up another entry's row, so nothing is parsed but the entries returned.
        """

        def pick(index: ManifestIndex) -> list[int]:
            by_id = _row_by_id(index)
            chosen = []
            for pos, row in newest_first(index):
                if keep(row, by_id):
                    chosen.append(pos)
                    if limit is not None and len(chosen) >= limit:
                        break
            return chosen

        return self._at(pick)

    def select_page(
        self, keep: Callable[[Row, RowById], bool], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the entries ``keep`` accepts, newest first, and how many it accepts in all.

        Every row is tested (rows are small), but only the page's entries are parsed.
        """
        total = 0

        def pick(index: ManifestIndex) -> list[int]:
            nonlocal total

            by_id = _row_by_id(index)
            chosen = []
            for pos, row in newest_first(index):
                if keep(row, by_id):
                    if offset <= total < offset + limit:
                        chosen.append(pos)
                    total += 1
            return chosen

        return list(reversed(self._at(pick))), total

    def resolve_filename(self, filename: Any) -> Path | None:
        """The absolute path of an entry's ``filename`` if it names an existing file, else ``None``."""
        if not isinstance(filename, str) or not filename:
            return None
        path = Path(filename)
        path = path if path.is_absolute() else self.root / path
        return path if path.is_file() else None

    # -- writing ---------------------------------------------------------------------------------

    def _change(self, edit: Callable[[Change], T]) -> T:
        """Lock, bring the index up to date, let ``edit`` change entries, write once; return its result.

        If ``edit`` raises, nothing is written. If the write fails, the old file is left intact and
        ``KieManifestError`` explains why; the index stays that of the old file.
        """
        with self._store.locked(), self._mutex:
            for attempt in range(2):
                opened: list[int] = []
                try:
                    index, source = self._locked_load(opened)
                    change = Change(index, source)
                    result = edit(change)
                    if change.edited or change.added:
                        self._commit(change)
                except StaleIndexError:
                    # Same signature, other bytes (a same-size rewrite within the clock's tick):
                    # read the file afresh and do the change again.
                    self._index = None
                    if attempt:
                        raise
                    continue
                finally:
                    for fd in opened:
                        os.close(fd)
                return result
        raise AssertionError("unreachable")

    def _commit(self, change: Change) -> None:
        """Write the changed file (spliced when it is canonical) and move the index to it."""
        index = change.index
        items_changed = {pos: item_bytes(item) for pos, item in change.edited.items()}
        items_added = [item_bytes(item) for item in change.added]
        if index.starts is not None:
            if bytes(change.source.read(index.list_end, index.list_end + 4)) != b"\n  ]":
                raise StaleIndexError("the assets list does not end where the index says")
            pieces, starts, list_end = splice(index, change.source, items_changed, items_added)
            st = self._store.write_bytes_locked(pieces, source=change.source.fd)
            self.writes += 1
            for pos, item in change.edited.items():
                index.replace_row(pos, row_of(item))
            for item in change.added:
                index.add_row(row_of(item))
            index.starts, index.list_end = starts, list_end
            index.signature = signature_of(st)
            texts = [
                *zip(change.edited.values(), items_changed.values(), strict=True),
                *zip(change.added, items_added, strict=True),
            ]
            index.orjson_ok = index.orjson_ok and all(orjson_agrees(i, t) for i, t in texts)
            return
        document = change.document()
        data = encode(document)
        st = self._store.write_bytes_locked(data)
        self.writes += 1
        try:
            exact = orjson.dumps(document, option=orjson.OPT_INDENT_2) == data
        except (TypeError, orjson.JSONEncodeError):
            exact = False
        self._index = ManifestIndex.build(data, document, signature_of(st), canonical=True, orjson_ok=exact)

    @staticmethod
    def _free_id(change: Change) -> str:
        """The id of the next image (the snippet's, unless another entry already has it: then warned)."""
        entry_id, warning = free_image_id_for(change.image_count, change.id_taken)
        if warning is not None:
            log.warning(warning)
            warnings.warn(warning, KieManifestWarning, stacklevel=5)
        return entry_id

    def _new_entry(
        self,
        change: Change,
        *,
        filename: str,
        prompt: Any,
        model: Any,
        parameters: Mapping[str, Any] | None,
        scene_id: Any,
        extra: Mapping[str, Any],
        entry_id: str | None = None,
    ) -> dict[str, Any]:
        """Build the entry exactly as the Node snippet would and apply its superseding rule."""
        parameters = dict(parameters or {})
        entry: dict[str, Any] = {
            "id": entry_id or self._free_id(change),
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
        prev = change.latest_unsuperseded(prompt, model)
        if prev is not None:
            previous = change.edit(prev)
            entry["version"] = js_increment(previous.get("version", MISSING))
            previous["superseded_by"] = entry["id"]
        extras = {k: v for k, v in extra.items() if v is not None}
        if parameters and "params" not in extras:
            # Parameters beyond the schema's two keep their place in the extras.
            extras["params"] = parameters
        if extras:
            entry[EXTRA_KEY] = scrub(extras)
        change.append(entry)
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

        def edit(change: Change) -> dict[str, Any]:
            return self._new_entry(
                change,
                filename=filename,
                prompt=prompt,
                model=model,
                parameters=parameters,
                scene_id=scene_id,
                extra=extra,
            )

        return json.loads(dumps(self._change(edit)))

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
        else:
            record = AssetRecord(prompt=prompt, model=model, scene_id=scene_id)
            fields = {"parameters": parameters, "extra": extra}
            return self._record_all([(saved, record, fields)])[0]
        return self._record_all([(saved, record, None)])[0]

    def record_images(self, items: Sequence[tuple[SavedImage, AssetRecord]]) -> list[dict[str, Any]]:
        """Record several validated downloads in one locked transaction and one write, in order.

        Each is placed and recorded as ``record_image`` would (later ones may supersede earlier
        ones); if the write fails, every file goes back to its temp name and nothing is recorded.
        """
        return self._record_all([(saved, record, None) for saved, record in items])

    def _record_all(
        self, items: Sequence[tuple[SavedImage, AssetRecord, dict[str, Any] | None]]
    ) -> list[dict[str, Any]]:
        prepared = []
        for saved, record, fields in items:
            if fields is None:
                parameters: Mapping[str, Any] | None = record.parameters()
                extra: Mapping[str, Any] = record.extras()
            else:
                parameters, extra = fields["parameters"], fields["extra"]
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
            prepared.append((saved, record, parameters, {**extra, **file_facts}))
        placed: list[tuple[Path, SavedImage]] = []

        def edit(change: Change) -> list[tuple[Path, dict[str, Any]]]:
            out = []
            for saved, record, parameters, extra in prepared:
                prompt, model, scene_id = record.prompt, record.model, record.scene_id
                entry_id = self._free_id(change)
                prev = change.latest_unsuperseded(prompt, model)
                version = js_increment(change.item(prev).get("version", MISSING)) if prev is not None else 1
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
                placed.append((target, saved))
                entry = self._new_entry(
                    change,
                    filename=self._relative(target),
                    prompt=prompt,
                    model=model,
                    parameters=parameters,
                    scene_id=scene_id,
                    extra=extra,
                    entry_id=entry_id,
                )
                out.append((target, entry))
            return out

        try:
            written = self._change(edit)
        except BaseException:
            # Unrecorded: hand every file back under its temp name so nothing is half-done.
            for target, saved in reversed(placed):
                with contextlib.suppress(OSError):
                    os.replace(target, saved.temp_path)
            raise
        for (target, entry), (saved, *_rest) in zip(written, prepared, strict=True):
            self._write_sidecar(target, entry)
            if saved.preview is not None:
                with contextlib.suppress(OSError):  # a cache: the first display makes it otherwise
                    store_preview(target, saved.sha256, saved.preview)
        return [json.loads(dumps(entry)) for _target, entry in written]

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

        def edit(change: Change) -> dict[str, Any]:
            pos = change.last_with_id(asset_id)
            if pos is None:
                raise KieValidationError(f"no asset {asset_id!r} in {self.path}")
            entry = change.edit(pos)
            extra = entry.setdefault(EXTRA_KEY, {})
            extra.update(scrub(changes))
            return entry

        return json.loads(dumps(self._change(edit)))

    # -- for the journal and verify ------------------------------------------------------------------

    def _ids_by_task(self, task_ids: Iterable[str]) -> dict[str, list[str]]:
        """Task id -> ids of the entries recorded from it, for each of ``task_ids``."""

        def gather(index: ManifestIndex, _fd: int) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for task_id in task_ids:
                positions = index.lookup("task_id", task_id) or []
                out[task_id] = [str(index.rows[p].get("id")) for p in positions]
            return out

        return self._query(gather)

    def _known_ids(self, asset_ids: Iterable[str]) -> set[str]:
        """Which of ``asset_ids`` name an entry of the manifest."""
        wanted = list(asset_ids)
        return self._query(lambda index, _fd: {i for i in wanted if index.lookup("id", i)})


def candidates(index: ManifestIndex, criteria: Mapping[str, Any]) -> list[int]:
    """Positions that may match ``criteria`` (a superset: ``find`` checks each parsed entry)."""
    chosen: set[int] | None = None
    for key, wanted in criteria.items():
        found = index.lookup(key, wanted)
        if found is not None and key in SCHEMA_FIELDS:
            found = found + index.missing[key]  # a schema key the entry lacks is read from its extras
        if found is None and key in SCHEMA_FIELDS + FIND_FIELDS:
            exact = key in FIND_FIELDS
            found = [
                p
                for p, row in enumerate(index.rows)
                if row.is_entry
                and (getattr(row, key) == wanted or (not exact and getattr(row, key) is MISSING))
            ]
        if found is not None:
            chosen = set(found) if chosen is None else chosen & set(found)
    if chosen is None:
        return [p for p, row in enumerate(index.rows) if row.is_entry]
    return sorted(chosen)


def _file_signature(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of ``path``, or None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _row_by_id(index: ManifestIndex) -> RowById:
    """Look up another entry's row by its id (for the supersede rule of a history filter)."""

    def by_id(asset_id: Any) -> Row | None:
        found = index.lookup("id", asset_id)
        return index.rows[found[-1]] if found else None

    return by_id
