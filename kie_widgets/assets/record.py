"""``AssetRecord``: everything recorded about one image, as one typed value.

The jobs layer fills it once per request (and adds the task id, the result URL and the credit share
as they become known); the journal stores it serialised; the manifest writes it, the skill document's
fields at the top of the entry and every other field, in declaration order, in the nested ``"kie"``
object; the sidecar and ``recipe_from`` carry the fields marked ``carried``; history reads entries
back through it. So a new field is declared here and filled where the request is planned; every
reader and writer follows from the declaration.

What the manifest itself allocates (``id``, ``version``, ``filename``, ``created_at``,
``superseded_by``) is not part of the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from kie_widgets.assets.schema import EXTRA_KEY

# Field metadata: which part of a manifest entry a field belongs to, and whether files carry it.
_SEED = {"part": "seed"}
_EXTRA = {"part": "extra"}
_CARRIED = {"part": "extra", "carried": True}
_CONTEXT = {"part": "extra", "context": True}
#: The seed's fields that live in the entry's ``parameters`` object rather than at its top level.
_IN_PARAMETERS = ("size", "endpoint")


@dataclass(frozen=True)
class AssetRecord:
    """What we know about one image: how it was asked for, where from, and what came back.

    ``None`` means "not known" and is never written. Fields are in the order the manifest writes them.
    """

    # -- the skill document's fields --------------------------------------------------------------
    prompt: str | None = field(default=None, metadata=_SEED)
    #: The model's display name ("Imagen 4").
    model: str | None = field(default=None, metadata=_SEED)
    #: ``parameters.size``: the aspect ratio, size or resolution the request asked for.
    size: Any = field(default=None, metadata=_SEED)
    #: ``parameters.endpoint``: the API path the task was created on.
    endpoint: str | None = field(default=None, metadata=_SEED)
    scene_id: Any = field(default=None, metadata=_SEED)
    # -- our extras, the entry's "kie" object -----------------------------------------------------
    task_id: str | None = field(default=None, metadata=_CARRIED)
    #: kie's own model id ("google/imagen4").
    model_id: str | None = field(default=None, metadata=_CARRIED)
    #: Every parameter of the request, by the unified names.
    params: dict[str, Any] | None = field(default=None, metadata=_CARRIED)
    negative_prompt: str | None = field(default=None, metadata=_CARRIED)
    seed: Any = field(default=None, metadata=_CARRIED)
    #: Asset ids of the recorded images this one was made from.
    parents: tuple[str, ...] | None = field(default=None, metadata=_CARRIED)
    #: "generate", "edit", "upscale", "remove-background", ...
    operation: str | None = field(default=None, metadata=_CARRIED)
    #: This image's share of the task's estimated credits.
    credits: float | None = field(default=None, metadata=_EXTRA)
    #: The recipe hash (``recipe.recipe_hash``) of the request.
    recipe: str | None = field(default=None, metadata=_CARRIED)
    #: The URL kie delivered the file from (expires; kept to spot a result already recorded).
    source_url: str | None = field(default=None, metadata=_EXTRA)
    #: One id per generate() call, shared by its variants.
    batch: str | None = field(default=None, metadata=_EXTRA)
    #: Which request of a submission (a compare's model) and which image of that request, from 0 in
    #: the order the request asked for them: front ends group and order siblings by these.
    request: int | None = field(default=None, metadata=_EXTRA)
    variant: int | None = field(default=None, metadata=_EXTRA)
    #: A raw request: sent as the caller wrote it, nothing validated, the cost unknown.
    unvalidated: bool | None = field(default=None, metadata=_EXTRA)
    #: A layer decomposition's result: its group (the task), its place in it and the group's size.
    layer_group: dict[str, Any] | None = field(default=None, metadata=_EXTRA)
    # -- the notebook cell it came from -----------------------------------------------------------
    cell_id: str | None = field(default=None, metadata=_CONTEXT)
    notebook: str | None = field(default=None, metadata=_CONTEXT)
    cell_source: str | None = field(default=None, metadata=_CONTEXT)
    scene_source: str | None = field(default=None, metadata=_CONTEXT)
    cell_metadata: dict[str, Any] | None = field(default=None, metadata=_CONTEXT)
    #: Which frontend key or variable supplied the cell id.
    cell_id_source: str | None = field(default=None, metadata=_CONTEXT)
    #: Which frontend key or variable supplied the notebook path.
    notebook_source: str | None = field(default=None, metadata=_CONTEXT)
    # -- the file, as validated on download (filled by the manifest) -------------------------------
    sha256: str | None = field(default=None, metadata=_CARRIED)
    format: str | None = field(default=None, metadata=_EXTRA)
    width: int | None = field(default=None, metadata=_EXTRA)
    height: int | None = field(default=None, metadata=_EXTRA)
    bytes: int | None = field(default=None, metadata=_EXTRA)

    # -- writing ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every known field as JSON data (how the journal stores the record)."""
        return _known(self, _ALL)

    def parameters(self) -> dict[str, Any]:
        """The entry's ``parameters`` object: ``{"size": ..., "endpoint": ...}``."""
        return {name: getattr(self, name) for name in _IN_PARAMETERS}

    def extras(self) -> dict[str, Any]:
        """The entry's ``"kie"`` object: every known field beyond the document's, in order."""
        return _known(self, _EXTRAS)

    def carried(self) -> dict[str, Any]:
        """The known fields a file carries about itself (enough to remake it, nothing about the account)."""
        return _known(self, CARRIED_KEYS)

    # -- reading ----------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssetRecord:
        """The record ``to_dict`` wrote (unknown keys are ignored, missing ones are unknown)."""
        values = {k: v for k, v in data.items() if k in _NAMES and v is not None}
        if isinstance(values.get("parents"), (list, tuple)):
            values["parents"] = tuple(str(p) for p in values["parents"])
        return cls(**values)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> AssetRecord:
        """The record a manifest entry holds (written by us or by the document's Node snippet)."""
        raw_params = entry.get("parameters")
        parameters = raw_params if isinstance(raw_params, Mapping) else {}
        raw_extra = entry.get(EXTRA_KEY)
        extra = raw_extra if isinstance(raw_extra, Mapping) else {}
        seed = {name: entry.get(name) for name in _SEEDS if name not in _IN_PARAMETERS}
        seed.update({name: parameters.get(name) for name in _IN_PARAMETERS})
        return cls.from_dict({**{name: extra.get(name) for name in _EXTRAS}, **seed})

    @classmethod
    def from_journal(cls, task: Mapping[str, Any]) -> AssetRecord:
        """The record of a journaled task, in today's format or the one before the typed record.

        Both keep it in ``context["record"]``: today all of it; before, only the request's fields,
        with the model, endpoint, recipe and cell on the task record and its context.
        """
        context = task.get("context")
        context = context if isinstance(context, Mapping) else {}
        stored = context.get("record")
        pieces: dict[str, Any] = {name: task.get(name) for name in ("task_id", "model_id", "endpoint")}
        pieces["recipe"] = task.get("recipe")
        pieces["model"] = task.get("model") or task.get("model_id")
        pieces.update({name: context.get(name) for name in CONTEXT_KEYS})
        pieces.update(stored if isinstance(stored, Mapping) else {})
        pieces["operation"] = pieces.get("operation") or "generate"
        return cls.from_dict(pieces)


def _names(**metadata: Any) -> tuple[str, ...]:
    return tuple(
        f.name for f in fields(AssetRecord) if all(f.metadata.get(k) == v for k, v in metadata.items())
    )


def _known(record: AssetRecord, names: tuple[str, ...]) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in names}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if v is not None}


_ALL = _names()
_NAMES = frozenset(_ALL)
_SEEDS = _names(part="seed")
_EXTRAS = _names(part="extra")
#: The notebook context keys that travel from the calling cell into the journal and every record.
CONTEXT_KEYS = _names(part="extra", context=True)
#: The extra keys a file carries about itself.
CARRIED_KEYS = _names(part="extra", carried=True)

__all__ = ["CARRIED_KEYS", "CONTEXT_KEYS", "AssetRecord"]
