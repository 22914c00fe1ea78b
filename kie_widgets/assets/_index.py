"""The manifest in memory: a per-process index of ``manifest.json``, always rebuilt from the file itself.

Why an index: at 50,000 entries a parse takes most of a second and a parsed document holds 2.4 times
the file's size in Python objects. The index keeps one short row per entry (what lookups, the
supersede rule and history filter on) and where each entry's text sits in the file; a whole entry is
parsed from its bytes only when asked for. It is tied to the file's signature (size, mtime_ns,
inode): whoever writes the file (this process, another one, the document's Node snippet) changes the
signature, and the next access reads the file again. It is never stored, so it cannot disagree with
``manifest.json`` for longer than one ``stat``.

Why splicing: when the file is in canonical form (byte for byte what ``dumps`` writes, which is also
what the Node snippet's ``JSON.stringify(m, null, 2)`` writes), a change rewrites only the text of the
entries it touches and copies every other byte, so the new file equals ``dumps`` of the changed
document without serialising 50,000 entries. A file in any other form is parsed and rewritten whole by
``dumps``, as always, and is canonical from then on.
"""

from __future__ import annotations

import json
import os
import re
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from kie_widgets.assets._store import Piece, _pretty_item, dumps
from kie_widgets.assets.schema import EXTRA_KEY, MISSING, js_truthy
from kie_widgets.errors import KieManifestError

#: (size, mtime_ns, inode) of the file an index describes; ``None`` for a missing file.
Signature = tuple[int, int, int]

_ASSETS_OPEN = b'\n  "assets": [\n'
_ASSETS_CLOSE = b"\n  ]"
# Inside the assets list every line is indented by at least four spaces, and strings never hold a raw
# newline, so a line with exactly four spaces before something other than a closing bracket starts
# the next list item.
_ITEM_START = re.compile(rb"\n    (?=[^ \]}])")
_SEPARATOR = b",\n    "
# Past this many items one read of the whole file is cheaper than a read per item.
_READ_WHOLE_ABOVE = 200
_INDENT = b"\n    "


class StaleIndexError(KieManifestError):
    """The file's bytes are not the ones the index describes although its signature is the same."""


def signature_of(st: os.stat_result) -> Signature:
    """The signature a stat result gives (what tells one version of the file from another)."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def fast_loads(text: str | bytes) -> Any:
    """Parse JSON with orjson, falling back to ``json`` for what orjson refuses (lone surrogates, NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def encode(document: Any) -> bytes:
    """The file's bytes for ``document``: ``dumps`` in UTF-8 (a lone surrogate as its JSON escape)."""
    return dumps(document).encode("utf-8", "backslashreplace")


def item_bytes(item: Any) -> bytes:
    """One assets-list item as it appears in the file (indented for its place in the list)."""
    return _pretty_item(item).encode("utf-8", "backslashreplace")


def orjson_agrees(item: Any, text: bytes) -> bool:
    """Whether orjson writes ``item`` exactly as ``text`` says, so orjson may parse ``text`` back.

    orjson differs from ``json`` only on numbers outside 64 bits (it reads them as floats) and on
    floats with exponents; writing the same bytes proves neither occurs in ``item``.
    """
    try:
        return orjson.dumps(item, option=orjson.OPT_INDENT_2) == text.replace(_INDENT, b"\n")
    except (TypeError, orjson.JSONEncodeError):
        return False


class Row(NamedTuple):
    """What the index keeps of one assets-list item (``MISSING`` where a schema key is absent)."""

    is_entry: bool
    id: Any
    type: Any
    prompt: Any
    model: Any
    superseded_by: Any
    scene_id: Any
    created_at: Any
    #: The request it came from (``kie.batch``).
    batch: Any
    task_id: Any
    recipe: Any
    filename: Any
    #: Whether the take was kept (``kie.kept``), for a gallery's "kept only" filter.
    kept: bool = False

    def get(self, key: str, default: Any = None) -> Any:
        """A schema field, like ``dict.get`` on the entry (``batch`` comes from the extras)."""
        value = getattr(self, key)
        return default if value is MISSING else value


_NOT_AN_ENTRY = Row(
    False, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
)
#: Row fields that hold the entry's own top-level key (or ``MISSING``).
SCHEMA_FIELDS = ("id", "type", "prompt", "model", "superseded_by", "scene_id", "created_at", "filename")
#: Row fields that hold ``find``'s value for the key (the entry's key, else its extras').
FIND_FIELDS = ("task_id", "recipe")
# Row fields with a lookup table: key -> position (or list of positions).
_TABLES = ("id", "task_id", "recipe", "filename")
_intern: dict[Any, Any] = {}


def _shared(value: Any) -> Any:
    """One object for a repeated short value (models, types, scene ids): rows stay small."""
    if isinstance(value, str) and len(value) <= 64:
        return sys.intern(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _intern.setdefault((type(value), value), value) if len(_intern) < 4096 else value
    return value


def row_of(item: Any) -> Row:
    """The row for one assets-list item."""
    if not isinstance(item, dict):
        return _NOT_AN_ENTRY
    extra = item.get(EXTRA_KEY)
    extra = extra if isinstance(extra, dict) else {}
    return Row(
        True,
        item.get("id", MISSING),
        _shared(item.get("type", MISSING)),
        item.get("prompt", MISSING),
        _shared(item.get("model", MISSING)),
        item.get("superseded_by", MISSING),
        _shared(item.get("scene_id", MISSING)),
        item.get("created_at", MISSING),
        extra.get("batch"),
        item["task_id"] if "task_id" in item else extra.get("task_id"),
        item["recipe"] if "recipe" in item else extra.get("recipe"),
        item.get("filename", MISSING),
        bool(extra.get("kept")),
    )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _add(table: dict[Any, Any], key: Any, pos: int) -> None:
    # A unique key maps to its position, a repeated one to a list: most keys are unique, and a list
    # per key would cost more than the row itself.
    known = table.get(key)
    if known is None:
        table[key] = pos
    elif isinstance(known, list):
        known.append(pos)
    else:
        table[key] = [known, pos]


def _remove(table: dict[Any, Any], key: Any, pos: int) -> None:
    known = table.get(key)
    if known == pos:
        del table[key]
    elif isinstance(known, list) and pos in known:
        known.remove(pos)
        if len(known) == 1:
            table[key] = known[0]


def _positions(table: dict[Any, Any], key: Any) -> list[int]:
    known = table.get(key)
    if known is None:
        return []
    return list(known) if isinstance(known, list) else [known]


@dataclass
class ManifestIndex:
    """Rows, lookup tables and byte spans of one version of the manifest file.

    ``spans`` is ``None`` when the file is not canonical; the parsed ``document`` is then held instead
    (until the next write makes the file canonical). ``orjson_ok`` says orjson parses every item
    exactly (see ``orjson_agrees``); otherwise items are parsed with ``json``.
    """

    signature: Signature | None
    rows: list[Row]
    starts: array[int] | None
    list_end: int
    document: dict[str, Any] | None
    orjson_ok: bool
    #: The document with an empty assets list (its other keys, in order), for a canonical file.
    frame: dict[str, Any] | None = None
    image_count: int = 0
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    #: (prompt, model) -> positions with that pair: the supersede rule's candidates.
    heads: dict[tuple[Any, Any], Any] = field(default_factory=dict)
    #: Positions whose prompt or model cannot be a dict key (a list or object): checked one by one.
    odd_heads: list[int] = field(default_factory=list)
    #: Table field -> positions of entries without that key (``find`` also looks in their extras).
    missing: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, raw: bytes, document: dict[str, Any], sig: Signature | None, *, canonical: bool, orjson_ok: bool
    ) -> ManifestIndex:
        """Index one version of the file (``raw``, parsed as ``document``)."""
        items = document["assets"]
        starts, list_end = _spans(raw, len(items)) if canonical else (None, 0)
        index = cls(
            signature=sig,
            rows=[],
            starts=starts,
            list_end=list_end,
            document=None if starts is not None else document,
            orjson_ok=orjson_ok and starts is not None,
            frame={**document, "assets": []} if starts is not None else None,
            tables={name: {} for name in _TABLES},
            missing={name: [] for name in _TABLES},
        )
        for item in items:
            index._append_row(row_of(item))
        return index

    @classmethod
    def build_canonical(cls, raw: bytes, sig: Signature | None) -> ManifestIndex | None:
        """Index a canonical file item by item, or ``None`` if it is not canonical (or orjson differs).

        Each item is parsed and written back by orjson and must give its exact bytes; so must the
        rest of the document. Item by item, not in one call, because one call would hold the GIL
        (and so stall the event loop thread) for the whole parse of a large file.
        """
        opening = raw.find(_ASSETS_OPEN)
        if opening < 0:
            return None
        first = opening + len(_ASSETS_OPEN) - 1
        end = raw.find(_ASSETS_CLOSE, first)
        if end < 0:
            return None
        framed = raw[:opening] + b'\n  "assets": []' + raw[end + len(_ASSETS_CLOSE) :]
        try:
            frame = orjson.loads(framed)
            if not isinstance(frame, dict) or orjson.dumps(frame, option=orjson.OPT_INDENT_2) != framed:
                return None
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
            return None
        starts = array("q", (m.end() for m in _ITEM_START.finditer(raw, first, end)))
        index = cls(
            signature=sig,
            rows=[],
            starts=starts,
            list_end=end,
            document=None,
            orjson_ok=True,
            frame=frame,
            tables={name: {} for name in _TABLES},
            missing={name: [] for name in _TABLES},
        )
        view = memoryview(raw)
        count = len(starts)
        for pos in range(count):
            start, stop = index.span(pos)
            if pos + 1 < count and raw[stop : stop + len(_SEPARATOR)] != _SEPARATOR:
                return None
            try:
                item = orjson.loads(view[start:stop])
            except orjson.JSONDecodeError:
                return None
            if not orjson_agrees(item, raw[start:stop]):
                return None
            index._append_row(row_of(item))
        return index if count else None

    @classmethod
    def empty(cls) -> ManifestIndex:
        """The index of a missing file (an empty manifest)."""
        return cls.build(b"", {"assets": []}, None, canonical=False, orjson_ok=False)

    # -- rows and tables ---------------------------------------------------------------------------

    def add_row(self, row: Row) -> None:
        """Index a new item appended at the end."""
        self._append_row(row)

    def _append_row(self, row: Row) -> None:
        pos = len(self.rows)
        self.rows.append(row)
        self._index_row(pos, row)

    def _index_row(self, pos: int, row: Row) -> None:
        self._file(pos, row, adding=True)

    def _unindex_row(self, pos: int, row: Row) -> None:
        self._file(pos, row, adding=False)

    def _file(self, pos: int, row: Row, *, adding: bool) -> None:
        """Add ``row`` at ``pos`` to the counts and tables, or take it out of them."""
        if not row.is_entry:
            return
        if row.type == "image":
            self.image_count += 1 if adding else -1
        for name in _TABLES:
            value = getattr(row, name)
            if value is MISSING:
                (self.missing[name].append if adding else self.missing[name].remove)(pos)
            elif value is not None and _hashable(value):
                (_add if adding else _remove)(self.tables[name], value, pos)
        if _hashable(row.prompt) and _hashable(row.model):
            (_add if adding else _remove)(self.heads, (row.prompt, row.model), pos)
        elif adding:
            self.odd_heads.append(pos)
        elif pos in self.odd_heads:
            self.odd_heads.remove(pos)

    def replace_row(self, pos: int, row: Row) -> None:
        """Point position ``pos`` at a changed item."""
        self._unindex_row(pos, self.rows[pos])
        self.rows[pos] = row
        self._index_row(pos, row)

    def lookup(self, name: str, value: Any) -> list[int] | None:
        """Positions whose field ``name`` may equal ``value``, or ``None`` when no table can tell."""
        if name not in _TABLES or value is None or not _hashable(value):
            return None
        return _positions(self.tables[name], value)

    def head_candidates(self, prompt: Any, model: Any) -> list[int]:
        """Positions, ascending, of entries with this prompt and model (superseded or not)."""
        found = _positions(self.heads, (prompt, model)) if _hashable(prompt) and _hashable(model) else []
        odd = [p for p in self.odd_heads if self.rows[p].prompt == prompt and self.rows[p].model == model]
        return sorted(found + odd) if odd else found

    # -- items -----------------------------------------------------------------------------------

    def span(self, pos: int) -> tuple[int, int]:
        """(start, end) of item ``pos``'s text in the file (canonical files only)."""
        assert self.starts is not None
        end = self.starts[pos + 1] - len(_SEPARATOR) if pos + 1 < len(self.starts) else self.list_end
        return self.starts[pos], end

    def parse(self, text: bytes | memoryview) -> Any:
        """One item parsed from its text, with the parser proven exact for this file."""
        return orjson.loads(text) if self.orjson_ok else json.loads(bytes(text))

    def read_document(self, fd: int) -> dict[str, Any]:
        """The whole document, parsed afresh item by item (so the GIL is let go in between)."""
        if self.document is not None:
            return dict(json.loads(dumps(self.document)))
        if self.frame is None:
            return {"assets": []}
        document = dict(self.frame)
        document["assets"] = self.read_items(fd, range(len(self.rows)))
        return document

    def read_items(self, fd: int, positions: Sequence[int] | range) -> list[Any]:
        """The items at ``positions``, parsed afresh (from the held document or from the open file)."""
        if self.document is not None:
            items = self.document["assets"]
            return [json.loads(dumps(items[p])) for p in positions]
        if len(positions) > _READ_WHOLE_ABOVE and self.signature is not None and self.starts is not None:
            whole = memoryview(os.pread(fd, self.signature[0], 0))
            return [self.checked(p, whole[slice(*self.span(p))], whole_row=False) for p in positions]
        out = []
        for pos in positions:
            start, end = self.span(pos)
            out.append(self.checked(pos, os.pread(fd, end - start, start), whole_row=False))
        return out

    def checked(self, pos: int, text: bytes | memoryview, *, whole_row: bool = True) -> Any:
        """Item ``pos`` parsed from ``text``; ``StaleIndexError`` unless it is the item the row describes.

        A read only needs to know that the bytes are the item at ``pos`` (its id); a change, which
        also relies on the row's other fields, compares the whole row.
        """
        try:
            item = self.parse(text)
        except ValueError as exc:
            raise StaleIndexError(f"item {pos} is not where the index says ({exc})") from None
        row = self.rows[pos]
        if whole_row:
            same = row_of(item) == row
        else:
            same = isinstance(item, dict) == row.is_entry and (
                not row.is_entry or item.get("id", MISSING) == row.id
            )
        if not same:
            raise StaleIndexError(f"item {pos} is not the one the index describes")
        return item


def _spans(raw: bytes, count: int) -> tuple[array[int] | None, int]:
    """Start offsets of the ``count`` assets-list items of a canonical file, and the list's end."""
    opening = raw.find(_ASSETS_OPEN)
    if count == 0 or opening < 0:
        return None, 0
    first = opening + len(_ASSETS_OPEN) - 1
    end = raw.find(_ASSETS_CLOSE, first)
    if end < 0:
        return None, 0
    starts = array("q", (m.end() for m in _ITEM_START.finditer(raw, first, end)))
    return (starts, end) if len(starts) == count else (None, 0)


def splice(
    index: ManifestIndex, source: Source, changed: Mapping[int, bytes], appended: Sequence[bytes]
) -> tuple[list[Piece], array[int], int]:
    """The new file: ``source`` with the items at ``changed`` rewritten and ``appended`` at the end.

    Returns the file as pieces to write in order (ranges of the old file where nothing changed, so
    those bytes are never copied through Python), the new start offsets and the new end of the list.
    """
    assert index.starts is not None
    old = index.starts
    pieces: list[Piece] = []
    starts = array("q")
    cursor = 0
    done = 0  # items whose new start is already in ``starts``
    shift = 0
    for pos in sorted(changed):
        start, end = index.span(pos)
        pieces += [source.piece(cursor, start), changed[pos]]
        cursor = end
        starts.extend(_shifted(old[done : pos + 1], shift))
        done = pos + 1
        shift += len(changed[pos]) - (end - start)
    pieces.append(source.piece(cursor, index.list_end))
    starts.extend(_shifted(old[done:], shift))
    list_end = index.list_end + shift
    for text in appended:
        starts.append(list_end + len(_SEPARATOR))
        pieces += [_SEPARATOR, text]
        list_end += len(_SEPARATOR) + len(text)
    pieces.append(source.piece(index.list_end, -1))
    return pieces, starts, list_end


def _shifted(offsets: array[int], shift: int) -> array[int]:
    return offsets if shift == 0 else array("q", map(shift.__add__, offsets))


class Source:
    """The bytes of the version of the file a change starts from: in memory, or in an open file.

    From an open file nothing is read but the items edited: unchanged ranges are copied by the
    kernel when the new file is written (``JSONStore.write_bytes_locked``).
    """

    def __init__(self, data: bytes | None = None, fd: int = -1) -> None:
        self.data = data
        self.fd = fd

    def read(self, start: int, end: int) -> bytes | memoryview:
        """The bytes from ``start`` to ``end``."""
        if self.data is not None:
            return memoryview(self.data)[start:end]
        return os.pread(self.fd, end - start, start)

    def piece(self, start: int, end: int) -> Piece:
        """What to write for the bytes from ``start`` to ``end`` (to the end of the file if ``end`` < 0)."""
        if self.data is not None:
            return memoryview(self.data)[start : end if end >= 0 else len(self.data)]
        return (start, end if end >= 0 else os.fstat(self.fd).st_size)


class Change:
    """One locked change: items read and edited by position, new items appended, written once."""

    def __init__(self, index: ManifestIndex, source: Source) -> None:
        self.index = index
        self.source = source
        #: position -> the edited item (a fresh parse, so the index is untouched until the write)
        self.edited: dict[int, Any] = {}
        self.added: list[dict[str, Any]] = []

    @property
    def image_count(self) -> int:
        """Image entries in the document as changed so far (the snippet's id counter)."""
        return self.index.image_count + sum(1 for a in self.added if a.get("type") == "image")

    def item(self, pos: int) -> Any:
        """The item at ``pos`` as changed so far."""
        count = len(self.index.rows)
        if pos >= count:
            return self.added[pos - count]
        if pos in self.edited:
            return self.edited[pos]
        if self.index.document is not None:
            return json.loads(dumps(self.index.document["assets"][pos]))
        start, end = self.index.span(pos)
        return self.index.checked(pos, self.source.read(start, end))

    def edit(self, pos: int) -> Any:
        """The item at ``pos``, to change in place (it is rewritten when the change is written)."""
        item = self.item(pos)
        if pos < len(self.index.rows):
            self.edited[pos] = item
        return item

    def append(self, entry: dict[str, Any]) -> None:
        """Add a new item at the end of the assets list."""
        self.added.append(entry)

    def _row(self, pos: int) -> Row:
        count = len(self.index.rows)
        if pos >= count:
            return row_of(self.added[pos - count])
        return row_of(self.edited[pos]) if pos in self.edited else self.index.rows[pos]

    def latest_unsuperseded(self, prompt: Any, model: Any) -> int | None:
        """Position of the entry a new one with this prompt and model supersedes (the snippet's prev)."""
        count = len(self.index.rows)
        positions = self.index.head_candidates(prompt, model)
        positions += [count + k for k, a in enumerate(self.added) if _same(a, prompt, model)]
        for pos in reversed(positions):
            if not js_truthy(self._row(pos).get("superseded_by")):
                return pos
        return None

    def id_taken(self, asset_id: str) -> bool:
        """Whether an entry (as changed so far) has this id, written as text."""
        if any(str(a.get("id")) == asset_id for a in self.added):
            return True
        return bool(self.index.lookup("id", asset_id))  # only a text id reads as "img-..."

    def last_with_id(self, asset_id: Any) -> int | None:
        """Position of the last entry with this id, or ``None``."""
        for k in range(len(self.added) - 1, -1, -1):
            if self.added[k].get("id") == asset_id:
                return len(self.index.rows) + k
        found = self.index.lookup("id", asset_id)
        if found is None:
            found = [p for p, row in enumerate(self.index.rows) if row.is_entry and row.get("id") == asset_id]
        return found[-1] if found else None

    def document(self) -> dict[str, Any]:
        """The whole changed document (for a file that is rewritten whole, whose index holds it)."""
        assert self.index.document is not None
        document = json.loads(dumps(self.index.document))
        for pos, item in self.edited.items():
            document["assets"][pos] = item
        document["assets"].extend(self.added)
        return dict(document)


def _same(entry: Any, prompt: Any, model: Any) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("prompt", MISSING) == prompt
        and entry.get("model", MISSING) == model
    )


def newest_first(index: ManifestIndex) -> Iterator[tuple[int, Row]]:
    """(position, row) of every entry, newest first."""
    rows = index.rows
    for pos in range(len(rows) - 1, -1, -1):
        if rows[pos].is_entry:
            yield pos, rows[pos]


def unsuperseded(rows: Sequence[Row], positions: Iterable[int]) -> int | None:
    """The last of ``positions`` whose entry is not superseded (the snippet's ``prev``)."""
    for pos in sorted(positions, reverse=True):
        if not js_truthy(rows[pos].get("superseded_by")):
            return pos
    return None


__all__ = [
    "FIND_FIELDS",
    "SCHEMA_FIELDS",
    "Change",
    "ManifestIndex",
    "Row",
    "Signature",
    "encode",
    "fast_loads",
    "item_bytes",
    "newest_first",
    "orjson_agrees",
    "row_of",
    "signature_of",
    "splice",
    "unsuperseded",
]
