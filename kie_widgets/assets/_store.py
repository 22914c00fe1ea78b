"""Crash-safe, lock-protected JSON documents: the storage engine under the manifest and the journal.

A write is: take the lock (bounded wait) -> re-read the file -> modify -> write a temp file in the
same folder -> fsync -> keep the previous version as ``.bak`` (a hard link, so no copy and no window
without a manifest) -> ``os.replace`` -> fsync the folder. Readers that do not take the lock always see
a whole file, because ``os.replace`` swaps names atomically.

An unreadable file is moved aside with a timestamp and recovered from its backup, with a warning that
names both files; without a usable backup it is left where it is and a ``KieManifestError`` says so.
It is never silently overwritten or emptied.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock

from kie_widgets.errors import KieManifestError, KieManifestLockError

log = logging.getLogger("kie_widgets.assets")

#: Seconds a writer waits for the lock before ``KieManifestLockError``.
DEFAULT_LOCK_TIMEOUT = 30.0
# A foreign writer (the document's Node snippet) truncates and rewrites in place, so a read can land
# in the middle of its write; an unparseable file is re-read a few times before it counts as corrupt.
_SETTLE_TRIES = 4
_SETTLE_DELAY = 0.05


class KieManifestWarning(UserWarning):
    """The manifest (or journal) was unreadable and has been recovered from its backup."""


# Built once: json.dumps with non-default options constructs a new encoder on every call.
_pretty = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False).encode
_compact = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


# compact JSON of one list item -> its indented text. Python's indenting encoder is pure Python (about
# ten times slower than the compact C one), and small documents (the journal) are rewritten whole with
# mostly unchanged items. The manifest splices instead (``_index``), so the cache stays small: holding
# the text of every entry of a large manifest would cost twice its size in memory.
_item_cache: dict[str, str] = {}
_ITEM_CACHE_MAX = 2_000


def _pretty_item(item: Any) -> str:
    key = _compact(item)
    text = _item_cache.get(key)
    if text is None:
        text = _pretty(item).replace("\n", "\n    ")
        if len(_item_cache) >= _ITEM_CACHE_MAX:
            _item_cache.clear()
        _item_cache[key] = text
    return text


def dumps(document: Any) -> str:
    """Serialise like the Node snippet's ``JSON.stringify(m, null, 2)``: same bytes for the same data.

    Equal to ``json.dumps(document, indent=2, ensure_ascii=False)``, computed faster for large lists.
    """
    if not isinstance(document, dict) or not document or not all(isinstance(k, str) for k in document):
        return _pretty(document)
    parts = []
    for key, value in document.items():
        name = _pretty(key)
        if isinstance(value, list) and value:
            items = ",\n    ".join(_pretty_item(item) for item in value)
            parts.append(f"  {name}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {name}: " + _pretty(value).replace("\n", "\n  "))
    return "{\n" + ",\n".join(parts) + "\n}"


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def describe_os_error(exc: OSError) -> str:
    """A few words for why a file operation failed ("the disk is full", "permission denied")."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


class JSONStore:
    """One JSON document on disk, guarded by a lock file, written atomically with a ``.bak`` backup.

    ``validate(document)`` returns an error string for a structurally wrong document (treated like
    unparseable JSON) or ``None``; ``empty()`` gives the document a missing file stands for.
    """

    def __init__(
        self,
        path: Path,
        *,
        lock: filelock.BaseFileLock,
        empty: Callable[[], Any],
        validate: Callable[[Any], str | None],
        label: str,
    ) -> None:
        self.path = path
        self.backup_path = path.with_name(path.name + ".bak")
        self.lock = lock
        self._empty = empty
        self._validate = validate
        self.label = label
        # (exact bytes, document) of the last version this process read or wrote: a writer under the
        # lock re-reads the file and skips re-parsing it only when it is byte-for-byte that version.
        self._cache: tuple[bytes, Any] | None = None
        #: ``os.fstat`` of the file this object last wrote, taken before it was renamed into place.
        self.written_stat: os.stat_result | None = None

    # -- reading ---------------------------------------------------------------------------------

    def _parse(self, text: str) -> tuple[Any, str | None]:
        try:
            document = json.loads(text)
        except ValueError as exc:
            return None, f"not valid JSON ({exc})"
        problem = self._validate(document)
        return (None, problem) if problem else (document, None)

    def _read_bytes(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KieManifestError(
                f"Cannot read the {self.label} {path}: {describe_os_error(exc)}.",
                hint="Check the file's permissions.",
            ) from exc

    def _read_settled(self, path: Path, raw: bytes | None = None) -> tuple[Any, str | None, bytes | None]:
        """Parse ``path`` (or ``raw``, its bytes already read): (document, problem, bytes parsed).

        A failure is retried briefly in case a foreign writer is in the middle of rewriting the file.
        """
        problem: str | None = None
        last: bytes | None = None
        for attempt in range(_SETTLE_TRIES):
            if raw is None:
                raw = self._read_bytes(path)
            if raw is None:
                return self._empty(), None, None
            try:
                document, problem = self._parse(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                document, problem = None, f"not UTF-8 text ({exc.reason})"
            if problem is None:
                return document, None, raw
            if raw == last:
                break  # unchanged between two reads: nobody is writing it, it is broken
            last, raw = raw, None
            if attempt < _SETTLE_TRIES - 1:
                time.sleep(_SETTLE_DELAY)
        return None, problem, last

    def read(self) -> Any:
        """The current document, without the lock (recovery, if needed, takes the lock)."""
        document, problem, _raw = self._read_settled(self.path)
        if problem is None:
            return document
        with self.locked():
            # A copy: the locked read hands out the writer's cached object.
            return json.loads(dumps(self._read_locked()))

    def _read_locked(self) -> Any:
        raw = self._read_bytes(self.path)
        if raw is None:
            self.invalidate()
            return self._empty()
        if self._cache is not None and self._cache[0] == raw:
            return self._cache[1]
        self.invalidate()
        document, problem, raw = self._read_settled(self.path, raw)
        if problem is not None:
            document, raw = self._recover(problem)
        if raw is not None:
            self._cache = (raw, document)
        return document

    def _recover(self, problem: str) -> tuple[Any, bytes]:
        """Move the unreadable file aside and bring back the backup; never overwrite the broken file."""
        backup: Any = None
        backup_problem: str | None = "missing"
        if self.backup_path.exists():
            backup, backup_problem, _raw = self._read_settled(self.backup_path)
        if backup_problem is not None:
            raise KieManifestError(
                f"The {self.label} {self.path} is unreadable ({problem}) and its backup "
                f"{self.backup_path} is {backup_problem}; nothing was changed.",
                hint="Repair the file by hand or move it away; kie_widgets will not overwrite it.",
            )
        aside = self.path.with_name(f"{self.path.name}.corrupt-{_utc_stamp()}")
        try:
            os.replace(self.path, aside)
            data = self._write_file(backup, keep_backup=False)
        except OSError as exc:
            raise KieManifestError(
                f"The {self.label} {self.path} is unreadable ({problem}) and could not be set aside: "
                f"{describe_os_error(exc)}.",
                hint="Free space or fix permissions, then try again.",
            ) from exc
        message = (
            f"The {self.label} {self.path} was unreadable ({problem}). It was moved to {aside} and "
            f"recovered from the backup {self.backup_path}; changes made after that backup are only "
            f"in {aside.name}."
        )
        log.warning(message)
        warnings.warn(message, KieManifestWarning, stacklevel=4)
        return backup, data

    def invalidate(self) -> None:
        """Forget the cached document (after a failed or abandoned change)."""
        self._cache = None

    # -- locking and writing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock, or raise ``KieManifestLockError`` naming the lock file after the bounded wait."""
        try:
            self.lock.acquire()
        except filelock.Timeout as exc:
            raise KieManifestLockError(
                f"Could not lock the {self.label} within {self.lock.timeout:g} s: "
                f"{self.lock.lock_file} is held by another process."
            ) from exc
        except OSError as exc:
            raise KieManifestError(
                f"Cannot create the lock file {self.lock.lock_file}: {describe_os_error(exc)}.",
                hint="Check that the assets folder is writable.",
            ) from exc
        try:
            yield
        finally:
            self.lock.release()

    def transact(self, change: Callable[[Any], Any]) -> Any:
        """Lock, re-read, apply ``change(document)`` (mutating it), write atomically; return its result.

        If ``change`` raises, nothing is written. If the write fails, the old file is left intact and
        ``KieManifestError`` explains why.
        """
        with self.locked():
            document = self._read_locked()
            try:
                result = change(document)
            except BaseException:
                self.invalidate()  # the change may have modified the cached document before failing
                raise
            self.write_locked(document)
            return result

    def write_locked(self, document: Any) -> None:
        """Write ``document`` (the caller holds the lock)."""
        data = self._write_checked(document, None)
        self._cache = (data, document)

    def write_bytes_locked(self, data: bytes | Sequence[Piece], *, source: int = -1) -> os.stat_result:
        """Write ``data``, already serialised, as the new file (the caller holds the lock).

        A ``(start, end)`` piece is that range of the open file ``source``, copied by the kernel.
        Returns the written file's stat, taken before the rename, so a later foreign write cannot be
        mistaken for this one.
        """
        self.invalidate()
        self._write_checked(None, data, source)
        assert self.written_stat is not None
        return self.written_stat

    def _write_checked(self, document: Any, data: bytes | Sequence[Piece] | None, source: int = -1) -> bytes:
        try:
            return self._write_file(document, keep_backup=True, data=data, source=source)
        except OSError as exc:
            self.invalidate()
            raise KieManifestError(
                f"Could not write the {self.label} {self.path}: {describe_os_error(exc)}. "
                "The previous version is intact.",
                hint="Free disk space or fix the folder's permissions, then run the cell again.",
            ) from exc
        except BaseException:
            self.invalidate()
            raise

    def _write_file(
        self,
        document: Any,
        *,
        keep_backup: bool,
        data: bytes | Sequence[Piece] | None = None,
        source: int = -1,
    ) -> bytes:
        """Write the file atomically; returns the bytes when given a document (else ``b""``)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        if data is None:
            # A lone surrogate (say, from a broken clipboard) cannot be UTF-8; "\ud83d" is the JSON
            # escape JavaScript's JSON.stringify writes for it, and json.loads reads it back the same.
            data = dumps(document).encode("utf-8", "backslashreplace")
        tmp = folder / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                # Piece by piece: os.write lets go of the GIL, a join of 50 MB would not.
                for piece in [data] if isinstance(data, bytes) else data:
                    if isinstance(piece, tuple):
                        _copy_range(source, fd, *piece)
                        continue
                    view = memoryview(piece)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                os.fsync(fd)
                self.written_stat = os.fstat(fd)
            finally:
                os.close(fd)
            if keep_backup and self.path.exists():
                self._backup()
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_dir(folder)
        return data if isinstance(data, bytes) else b""

    def _backup(self) -> None:
        """Point ``.bak`` at the current version: a hard link (no copy), or a copy where links fail."""
        staging = self.backup_path.with_name(f".{self.backup_path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.link(self.path, staging)
        except OSError:
            # File systems without hard links: copy, fsync, rename.
            data = self.path.read_bytes()
            with open(staging, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        try:
            os.replace(staging, self.backup_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staging)
            raise


#: A piece of a file to write: bytes, or a (start, end) range of the file being replaced.
Piece = bytes | memoryview | tuple[int, int]


def _copy_range(source: int, target: int, start: int, end: int) -> None:
    """Append bytes ``start``..``end`` of ``source`` to ``target``, in the kernel where it can."""
    offset = start
    while offset < end:
        try:
            copied = os.copy_file_range(source, target, end - offset, offset)
        except (AttributeError, OSError):
            copied = 0  # no copy_file_range here (other OS, old kernel, across file systems)
        if copied <= 0:
            block = os.pread(source, min(end - offset, 1 << 22), offset)
            if not block:
                raise OSError(errno.EIO, "the file being replaced ended early")
            view = memoryview(block)
            while view:
                view = view[os.write(target, view) :]
            copied = len(block)
        offset += copied


def stale_temp_files(folder: Path, name: str, older_than: float = 60.0) -> list[Path]:
    """Temp files a killed writer left behind for ``name`` in ``folder`` (older than ``older_than`` s)."""
    now = time.time()
    found = []
    for pattern in (f".{name}.*.tmp", f".{name}.bak.*.tmp"):
        for path in folder.glob(pattern):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > older_than:
                    found.append(path)
    return sorted(found)
