"""``models()``: the catalog as plain rows for ``%kie_image list`` and the widgets."""

from __future__ import annotations

from typing import Any

from kie_widgets.catalog._names import all_specs, resolve
from kie_widgets.catalog._schema import ModelSpec, named_size_ratio

_UNIFIED_ORDER = (
    "prompt",
    "images",
    "image",
    "mask",
    "aspect_ratio",
    "resolution",
    "quality",
    "n",
    "negative_prompt",
    "seed",
    "output_format",
)

CAPABILITIES = ("negative_prompt", "seed", "mask", "multiple_outputs", "images", "aspect_ratio", "resolution")
"""Capability names ``models(capability=...)`` accepts."""


def _has(spec: ModelSpec, capability: str) -> bool:
    if capability == "multiple_outputs":
        return spec.max_outputs > 1
    if capability == "images":
        return "images" in spec.wire or "image" in spec.wire
    if capability == "resolution":
        return "resolution" in spec.wire or "quality" in spec.wire
    return capability in spec.wire


def _row(specs: list[ModelSpec]) -> dict[str, Any]:
    first = specs[0]
    modes: list[str] = []
    for s in specs:
        modes += [m for m in s.modes if m not in modes]
    prices = [s.pricing for s in specs]
    return {
        "name": first.display_name,
        "id": first.id,
        "family": first.family,
        "endpoint": first.endpoint,
        "modes": tuple(modes),
        "aspect_ratios": first.aspect_ratios,
        "price": prices[0].describe(),
        "credits_from": min(min(p.tiers.values(), default=p.credits) for p in prices),
        "negative_prompt": first.negative_prompt,
        "seed": first.seed,
        "mask": any(s.mask for s in specs),
        "mask_convention": next((s.mask_convention.describe() for s in specs if s.mask_convention), None),
        "max_outputs": first.max_outputs,
        "default_timeout": first.default_timeout,
        "unsure": first.unsure,
        "age": first.age,
    }


def models(
    mode: str | None = None,
    capability: str | None = None,
    *,
    family: str | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """Every model as a plain dict row (name, id, modes, aspect_ratios, price, negative_prompt, mask, ...).

    ``age`` is ``"new"`` for kie's latest releases, ``"older"`` for models kie's docs file under older
    models (4o Image, Flux Kontext), else ``""``.

    Filters: ``mode`` ('text-to-image', 'edit', 'masked-edit', 'upscale', ...), ``capability`` (one of
    ``CAPABILITIES``), ``family`` ('gpt4o' | 'flux-kontext' | 'market'), ``search`` (text in name or id).
    Flux Kontext's generate and edit modes share one row per model.
    """
    if capability is not None and capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; choose from {', '.join(CAPABILITIES)}")
    grouped: dict[str, list[ModelSpec]] = {}
    for spec in all_specs():
        grouped.setdefault(spec.id, []).append(spec)
    rows: list[dict[str, Any]] = []
    for specs in grouped.values():
        if capability is not None and not any(_has(s, capability) for s in specs):
            continue
        row = _row(specs)
        if mode is not None and mode not in row["modes"]:
            continue
        if family is not None and row["family"] != family:
            continue
        if search is not None and search.lower() not in (row["name"] + " " + row["id"]).lower():
            continue
        rows.append(row)
    return rows


def parameters(
    model: str | ModelSpec, *, has_image: bool = False, has_mask: bool = False
) -> list[dict[str, Any]]:
    """The parameters a model takes, unified names first, then its own extras, as plain rows for forms.

    Each row: name (what to pass to ``plan``), wire (the field kie receives), type, required, choices
    (in the unified spelling, e.g. '16:9' rather than 'landscape_16_9'), default, minimum, maximum,
    max_length, max_items, note.
    """
    spec = resolve(model, has_image=has_image, has_mask=has_mask)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for name in _UNIFIED_ORDER:
        wire = spec.wire.get(name)
        f = spec.field(wire) if wire else None
        if f is None or f.name in used:  # e.g. Seedream's resolution and quality are one wire field
            continue
        used.add(f.name)
        choices: tuple[Any, ...] | None = f.enum
        default = f.default if f.has_default else None
        if name == "aspect_ratio":
            choices = spec.aspect_ratios or None
            if isinstance(default, str):
                default = named_size_ratio(default) or default
        elif name in ("resolution", "quality") and f.enum is not None:
            aliases = tuple(spec.value_aliases.get(f.name, {}))
            choices = aliases if name == "resolution" and aliases else f.enum
        rows.append(_param_row(name, f, choices, default))
    for f in spec.fields:
        if f.name not in used and f.name not in ("callBackUrl", "model"):
            rows.append(_param_row(f.name, f, f.enum, f.default if f.has_default else None))
    return rows


def _param_row(name: str, f: Any, choices: tuple[Any, ...] | None, default: Any) -> dict[str, Any]:
    return {
        "name": name,
        "wire": f.name,
        "type": f.type,
        "required": f.required,
        "choices": choices,
        "default": default,
        "minimum": f.minimum,
        "maximum": f.maximum,
        "max_length": f.max_length,
        "max_items": f.max_items,
        "note": f.note,
    }
