"""Small constructors that keep the model table (``_models.py``) short and readable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kie_widgets.catalog._schema import (
    _NO_DEFAULT,
    ENDPOINT_MARKET,
    JPW,
    Field,
    MaskConvention,
    ModelSpec,
    Price,
    Rule,
    named_size_ratio,
)

NO = _NO_DEFAULT

# Unified name -> wire field candidates, in order of preference (first one the model has wins).
_UNIFIED_CANDIDATES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt",),
    "aspect_ratio": ("aspect_ratio", "image_size", "aspectRatio", "size"),
    "negative_prompt": ("negative_prompt",),
    "seed": ("seed",),
    "output_format": ("output_format", "outputFormat"),
    "resolution": ("resolution", "image_resolution"),
    "quality": ("quality",),
    "n": ("num_images", "max_images", "n", "nVariants"),
    "images": ("reference_image_urls", "image_urls", "input_urls", "image_input", "filesUrl"),
    "image": ("image_url", "image", "inputImage"),
    "mask": ("mask_url", "maskUrl"),
}


def prompt(
    max_len: int | None = 5000, *, required: bool = True, min_len: int | None = None, note: str = ""
) -> Field:
    """The ``prompt`` field."""
    return Field("prompt", "string", required=required, max_length=max_len, min_length=min_len, note=note)


def text(
    name: str,
    max_len: int | None = None,
    *,
    min_len: int | None = None,
    required: bool = False,
    note: str = "",
) -> Field:
    """A free-text string field."""
    return Field(name, "string", required=required, max_length=max_len, min_length=min_len, note=note)


def choice(
    name: str,
    values: tuple[Any, ...],
    default: Any = NO,
    *,
    required: bool = False,
    type_: str = "string",
    note: str = "",
) -> Field:
    """A field restricted to ``values``."""
    return Field(name, type_, required=required, enum=values, default=default, note=note)


def urls(
    name: str,
    max_items: int | None,
    mb: float | None = 10.0,
    *,
    mimes: tuple[str, ...] = JPW,
    required: bool = True,
    min_items: int | None = None,
    default: Any = NO,
    note: str = "",
) -> Field:
    """A list of image URLs (uploaded first when local)."""
    return Field(
        name,
        "array",
        required=required,
        max_items=max_items,
        min_items=min_items,
        item_type="string",
        max_file_mb=mb,
        mime_types=mimes,
        is_file=True,
        default=default,
        note=note,
    )


def url(
    name: str, mb: float | None = 10.0, *, mimes: tuple[str, ...] = JPW, required: bool = True, note: str = ""
) -> Field:
    """One image URL (uploaded first when local)."""
    return Field(name, "string", required=required, max_file_mb=mb, mime_types=mimes, is_file=True, note=note)


def flag(name: str, default: Any = NO) -> Field:
    """A boolean field."""
    return Field(name, "boolean", default=default)


def integer(
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    default: Any = NO,
    *,
    note: str = "",
) -> Field:
    """An integer field."""
    return Field(name, "integer", minimum=minimum, maximum=maximum, default=default, note=note)


def number(name: str, minimum: float | None = None, maximum: float | None = None, default: Any = NO) -> Field:
    """A number field."""
    return Field(name, "number", minimum=minimum, maximum=maximum, default=default)


def nsfw(default: Any = NO) -> Field:
    """kie's optional content-filter switch (false turns kie's own filter off)."""
    return flag("nsfw_checker", default)


def derive_wire(
    fields: tuple[Field, ...], overrides: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """Map each unified parameter to the first candidate wire field the model has (overrides win)."""
    names = {f.name for f in fields}
    wire: dict[str, str] = {}
    for unified, candidates in _UNIFIED_CANDIDATES.items():
        for c in candidates:
            if c in names:
                wire[unified] = c
                break
    for unified, wire_name in (overrides or {}).items():
        if wire_name is None:
            wire.pop(unified, None)
        else:
            wire[unified] = wire_name
    # One array field takes both "images" and "image" (a single image is a list of one).
    if "images" in wire and "image" not in wire:
        wire["image"] = wire["images"]
    return wire


def derive_aliases(
    fields: tuple[Field, ...], wire: Mapping[str, str], extra: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Unified values a model spells differently: '16:9' -> 'landscape_16_9', 'jpg' <-> 'jpeg', ..."""
    out: dict[str, dict[str, Any]] = {}
    by_name = {f.name: f for f in fields}
    aspect = by_name.get(wire.get("aspect_ratio", ""))
    if aspect is not None and aspect.enum is not None:
        table: dict[str, Any] = {}
        for v in aspect.enum:
            ratio = named_size_ratio(v) if isinstance(v, str) else None
            # "square_hd" wins over "square" for 1:1: it is kie's usual default and the sharper one.
            if ratio is not None and (ratio not in table or v == "square_hd"):
                table[ratio] = v
        if table:
            out[aspect.name] = table
    fmt = by_name.get(wire.get("output_format", ""))
    if fmt is not None and fmt.enum is not None:
        if "jpg" in fmt.enum:
            out[fmt.name] = {"jpeg": "jpg"}
        elif "jpeg" in fmt.enum:
            out[fmt.name] = {"jpg": "jpeg"}
    for name, extra_table in (extra or {}).items():
        out.setdefault(name, {}).update(extra_table)
    return out


def market(
    model_id: str,
    display: str,
    mode: str,
    fields: tuple[Field, ...],
    pricing: Price,
    *,
    group: str = "",
    role: str = "only",
    modes: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    wire: Mapping[str, str | None] | None = None,
    value_aliases: Mapping[str, Mapping[str, Any]] | None = None,
    fixed_outputs: int | None = None,
    output_limit: int | None = None,
    outputs_rule: Callable[[Mapping[str, Any]], int] | None = None,
    rules: tuple[Rule, ...] = (),
    mask_convention: MaskConvention | None = None,
    input_required: bool = False,
    plan_defaults: Mapping[str, Any] | None = None,
    count_in_prompt: bool = False,
    timeout: float = 300.0,
    notes: tuple[str, ...] = (),
    unsure: bool = False,
    docs: str = "",
    age: str = "",
) -> ModelSpec:
    """A Market (``jobs/createTask``) model spec with its unified mapping derived from its fields."""
    w = derive_wire(fields, wire)
    return ModelSpec(
        key=model_id,
        id=model_id,
        display_name=display,
        family="market",
        endpoint=ENDPOINT_MARKET,
        mode=mode,
        fields=fields,
        pricing=pricing,
        default_timeout=timeout,
        modes=modes or (mode,),
        wire=w,
        value_aliases=derive_aliases(fields, w, value_aliases),
        group=group or display,
        role=role,
        aliases=aliases,
        fixed_outputs=fixed_outputs,
        output_limit=output_limit,
        outputs_rule=outputs_rule,
        rules=rules,
        mask_convention=mask_convention,
        input_required=input_required,
        plan_defaults=dict(plan_defaults or {}),
        count_in_prompt=count_in_prompt,
        notes=notes,
        unsure=unsure,
        docs=docs,
        age=age,
    )
