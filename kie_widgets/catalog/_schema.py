"""The shapes of catalog data (wire fields, price tables, model specs) and their wire-level checks.

Everything here works on *wire* bodies, exactly as kie receives them, so the sandbox can validate and
charge requests with the same code the client uses to build them. The unified parameter layer
(``plan()``) lives in ``_plan.py`` and reports the same problems under the names the user wrote.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kie_widgets.errors import Problem

JPW = ("image/jpeg", "image/png", "image/webp")
"""The upload types most Market models accept."""

ENDPOINT_4O = "/api/v1/gpt4o-image/generate"
ENDPOINT_FLUX = "/api/v1/flux/kontext/generate"
ENDPOINT_MARKET = "/api/v1/jobs/createTask"


class _NoDefault:
    """Marks a field kie documents no default for (``None`` can be a real default)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


_NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class Field:
    """One wire field of a model's request: its JSON type and every limit kie documents for it."""

    name: str
    type: str  # "string" | "integer" | "number" | "boolean" | "array" | "object"
    required: bool = False
    enum: tuple[Any, ...] | None = None
    default: Any = _NO_DEFAULT
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    item_type: str | None = None
    max_file_mb: float | None = None
    mime_types: tuple[str, ...] = ()
    is_file: bool = False  # the value is the URL (or URLs) of an image kie downloads
    note: str = ""  # where sources disagree: the choice made and its source

    @property
    def has_default(self) -> bool:
        """Whether kie documents a default for this field."""
        return self.default is not _NO_DEFAULT

    @property
    def max_bytes(self) -> int | None:
        """The per-file size limit in bytes, for file fields."""
        return None if self.max_file_mb is None else int(self.max_file_mb * 1024 * 1024)

    def describe_allowed(self) -> str | None:
        """The allowed values or range as one short human string."""
        if self.enum is not None:
            return ", ".join(_show(v) for v in self.enum)
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else _num(self.minimum)
            hi = "" if self.maximum is None else _num(self.maximum)
            return f"{lo}–{hi}" if lo and hi else (f">= {lo}" if lo else f"<= {hi}")
        return None

    def problems(self, value: Any, model: str) -> list[Problem]:
        """Every way ``value`` breaks this field's type, enum, range, length or item limits."""
        if value is None:
            return [Problem(self.name, "must not be null", value, _TYPE_WORDS[self.type], model)]
        if not _type_ok(value, self.type):
            return [Problem(self.name, f"must be {_TYPE_WORDS[self.type]}", value, None, model)]
        out: list[Problem] = []
        if self.enum is not None and value not in self.enum:
            out.append(_enum_problem(self.name, value, self.enum, model))
        if self.type in ("integer", "number") and (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
        ):
            out.append(
                Problem(self.name, f"{_num(value)} is out of range", value, self.describe_allowed(), model)
            )
        if self.type == "string":
            if self.max_length is not None and len(value) > self.max_length:
                out.append(
                    Problem(
                        self.name,
                        f"is {len(value)} characters long, more than {self.max_length}",
                        _clip(value),
                        f"at most {self.max_length} characters",
                        model,
                    )
                )
            if self.min_length is not None and len(value) < self.min_length:
                out.append(
                    Problem(
                        self.name,
                        f"is {len(value)} characters long, fewer than {self.min_length}",
                        value,
                        f"at least {self.min_length} characters",
                        model,
                    )
                )
            if self.is_file and not _is_url(value):
                out.append(Problem(self.name, "must be a public http(s) URL", _clip(value), None, model))
        if self.type == "array":
            out.extend(self._array_problems(value, model))
        return out

    def _array_problems(self, value: Sequence[Any], model: str) -> list[Problem]:
        out: list[Problem] = []
        if self.max_items is not None and len(value) > self.max_items:
            out.append(
                Problem(
                    self.name,
                    f"has {len(value)} items, more than {self.max_items}",
                    len(value),
                    f"at most {self.max_items}",
                    model,
                )
            )
        if self.min_items is not None and len(value) < self.min_items:
            out.append(
                Problem(
                    self.name,
                    f"has {len(value)} items, fewer than {self.min_items}",
                    len(value),
                    f"at least {self.min_items}",
                    model,
                )
            )
        if self.item_type is not None:
            for i, item in enumerate(value):
                if not _type_ok(item, self.item_type):
                    out.append(
                        Problem(
                            f"{self.name}[{i}]", f"must be {_TYPE_WORDS[self.item_type]}", item, None, model
                        )
                    )
                elif self.is_file and not _is_url(item):
                    out.append(
                        Problem(f"{self.name}[{i}]", "must be a public http(s) URL", _clip(item), None, model)
                    )
        return out


@dataclass(frozen=True)
class Price:
    """A model's credit price: per image or per request, optionally by tier, plus per extra input."""

    credits: float  # per unit when no tier applies
    per: str = "image"  # "image": times the images produced; "request": once per request
    tier_field: str | None = None  # the wire field whose value selects the tier
    tiers: Mapping[str, float] = field(default_factory=dict)  # wire value (as text) -> credits
    tier_default: str | None = None  # the tier when the field is absent and has no documented default
    per_extra_input: float = 0.0
    inputs_field: str | None = None
    free_inputs: int = 1
    source: str = "[PRICE] kie pricingDesc (kie-api.md §7)"
    label: str = ""  # a hand-written summary where the tier table reads badly (per-megapixel prices)

    def unit(self, fields: Mapping[str, Any], spec: ModelSpec) -> float:
        """Credits per unit for the tier these wire fields select."""
        if self.tier_field is None:
            return self.credits
        value = fields.get(self.tier_field, _NO_DEFAULT)
        if value is _NO_DEFAULT:
            f = spec.field(self.tier_field)
            value = f.default if f is not None and f.has_default else self.tier_default
        return self.tiers.get(_tier_key(value), self.credits)

    def describe(self) -> str:
        """The price as a short human string, e.g. '8 cr/image' or '18 / 18 / 24 cr (resolution)'."""
        unit = "image" if self.per == "image" else "request"
        if self.label:
            return self.label
        if not self.tiers:
            text = f"{_num(self.credits)} cr/{unit}"
        elif set(self.tiers) == {"false", "true"}:
            text = (
                f"{_num(self.tiers['false'])} cr/{unit} ({_num(self.tiers['true'])} with {self.tier_field})"
            )
        else:
            parts = " / ".join(f"{k} {_num(v)}" for k, v in self.tiers.items())
            text = f"{parts} cr/{unit} by {self.tier_field}"
        if self.per_extra_input:
            text += f" + {_num(self.per_extra_input)} per {'extra ' if self.free_inputs else ''}input"
        return text


@dataclass(frozen=True)
class MaskConvention:
    """How a model reads a mask image: which grey value marks the area to change, where, in what file.

    The catalog only describes conventions; the pixels are converted in ``kie_widgets.assets`` (the
    one place that decodes images) before the mask is uploaded.
    """

    change: int  # the value marking the area to change: 0 (black) or 255 (white)
    channel: str = "grey"  # "grey": a greyscale image; "alpha": the alpha channel of an RGBA image
    same_size: bool = True  # the mask must have the image's exact pixel size
    format: str = "PNG"  # the file format sent (lossless, so the mask stays binary)
    source: str = field(default="", compare=False)  # where the convention is documented

    def __post_init__(self) -> None:
        if self.change not in (0, 255) or self.channel not in ("grey", "alpha"):
            raise ValueError(f"not a mask convention: change={self.change!r}, channel={self.channel!r}")

    @property
    def keep(self) -> int:
        """The value marking the area to keep."""
        return 255 - self.change

    def describe(self) -> str:
        """One line for people, e.g. 'black = change, white = keep; greyscale PNG; same size as the image'."""
        if self.channel == "alpha":
            meaning = (
                "transparent = change, opaque = keep"
                if self.change == 0
                else ("opaque = change, transparent = keep")
            )
            kind = f"{self.format} with an alpha channel"
        else:
            meaning = "black = change, white = keep" if self.change == 0 else "white = change, black = keep"
            kind = f"greyscale {self.format}"
        size = "; same size as the image" if self.same_size else ""
        return f"{meaning}; {kind}{size}"


OUR_MASK = MaskConvention(change=255, source="kie_widgets: MaskEditor.mask, masks passed to plan()")
"""kie_widgets' own convention: a greyscale image, 255 (white) where the image is to change."""


Rule = Callable[[Mapping[str, Any], "ModelSpec"], list[Problem]]
"""A cross-field check on a model's wire fields; returns the problems it finds."""


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """One kie.ai model (one mode of it, for Flux Kontext) as data, with wire-level helpers."""

    key: str  # unique in the catalog: the kie id, plus "#edit" for Flux Kontext's edit mode
    id: str
    display_name: str
    family: str  # "gpt4o" | "flux-kontext" | "market"
    endpoint: str
    mode: str
    fields: tuple[Field, ...]
    pricing: Price
    default_timeout: float = 300.0
    modes: tuple[str, ...] = ()  # every kind of job the model serves (listing)
    wire: Mapping[str, str] = field(default_factory=dict)  # unified name -> wire field
    value_aliases: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # wire field -> {unified: wire}
    group: str = ""  # family name that picks between variants (resolve)
    role: str = "t2i"  # "t2i" | "edit" | "masked" | "only"
    aliases: tuple[str, ...] = ()
    fixed_outputs: int | None = None  # images per request when no field controls it
    output_limit: int | None = None  # most images per request when a rule, not the field, bounds it
    outputs_rule: Callable[[Mapping[str, Any]], int] | None = None
    rules: tuple[Rule, ...] = ()
    mask_convention: MaskConvention | None = None  # set on every model that takes a mask
    input_required: bool = False  # Market: whether kie's schema requires the top-level "input"
    # Required wire fields kie documents without a default: what plan() sends when the user says nothing.
    plan_defaults: Mapping[str, Any] = field(default_factory=dict)
    # The model makes more than one image only when the prompt says how many (Seedream 4.0).
    count_in_prompt: bool = False
    notes: tuple[str, ...] = ()  # conflicts between sources: the choice and its source
    unsure: bool = False  # documented only by older sources; may be retired on kie's side
    docs: str = ""
    # "new": among kie's latest releases; "older": kie's docs file it under older models; "" otherwise
    age: str = ""

    def __repr__(self) -> str:
        return f"ModelSpec({self.key!r}, {self.display_name!r}, mode={self.mode!r})"

    # ----------------------------------------------------------------- lookups
    def field(self, name: str) -> Field | None:
        """The wire field called ``name``, if the model has one."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Every wire field name of the request (inside ``input`` for Market models)."""
        return tuple(f.name for f in self.fields)

    def supports(self, unified: str) -> bool:
        """Whether a unified parameter (``seed``, ``mask``, ``negative_prompt`` ...) maps to a wire field."""
        return unified in self.wire

    @property
    def negative_prompt(self) -> bool:
        """Whether the model takes a negative prompt."""
        return "negative_prompt" in self.wire

    @property
    def seed(self) -> bool:
        """Whether the model takes a seed."""
        return "seed" in self.wire

    @property
    def mask(self) -> bool:
        """Whether the model takes a mask image."""
        return "mask" in self.wire

    @property
    def max_outputs(self) -> int:
        """The most images one request can produce."""
        if self.fixed_outputs is not None:
            return self.fixed_outputs
        if self.output_limit is not None:
            return self.output_limit
        n_field = self.field(self.wire.get("n", ""))
        if n_field is None:
            return 1
        if n_field.enum is not None:
            return max(int(v) for v in n_field.enum)
        return int(n_field.maximum or 1)

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The image counts one request can be asked for, smallest first (``n`` is split into these).

        A model with a fixed output count offers only that count; one whose count field is an enum
        offers its values; a ranged field offers every count up to its maximum.
        """
        if self.fixed_outputs is not None:
            return (self.fixed_outputs,)
        n_field = self.field(self.wire.get("n", ""))
        if n_field is not None and n_field.enum is not None:
            return tuple(sorted({int(v) for v in n_field.enum}))
        return tuple(range(1, self.max_outputs + 1))

    @property
    def aspect_ratios(self) -> tuple[str, ...]:
        """The aspect ratios the model accepts, as unified ``W:H`` values (plus ``auto``)."""
        f = self.field(self.wire.get("aspect_ratio", ""))
        if f is None or f.enum is None:
            return ()
        out: list[str] = []
        for v in f.enum:
            ratio = named_size_ratio(v) if isinstance(v, str) else None
            text = ratio if ratio is not None else str(v)
            if text not in out:
                out.append(text)
        return tuple(out)

    # -------------------------------------------------------------- wire level
    def wire_fields(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The model's fields of a wire body: ``input`` for Market, the body itself otherwise."""
        if self.family == "market":
            inp = body.get("input")
            return inp if isinstance(inp, Mapping) else {}
        return body

    def wire_problems(self, body: Mapping[str, Any]) -> list[Problem]:
        """The problems kie would report for this wire body, as structured ``Problem``\\ s."""
        name = self.display_name
        if not isinstance(body, Mapping):
            return [Problem("body", "must be a JSON object", type(body).__name__, None, name)]
        out: list[Problem] = []
        if self.family == "market":
            for key in body:
                if key not in ("model", "input", "callBackUrl"):
                    out.append(
                        Problem(key, "unknown top-level field", body[key], "model, input, callBackUrl", name)
                    )
            if body.get("model") != self.id:
                out.append(Problem("model", "does not name this model", body.get("model"), self.id, name))
            if "input" not in body and self.input_required:
                out.append(Problem("input", "is required", None, None, name))
            elif "input" in body and not isinstance(body["input"], Mapping):
                out.append(Problem("input", "must be a JSON object", body["input"], None, name))
        # Every family documents callBackUrl as a uri (kie-api.md §2.1, §3.1, §4.1); in a flat body
        # the field check below already reports a value that is not a string.
        callback = body.get("callBackUrl")
        flat_type_error = self.family != "market" and not isinstance(callback, str)
        if "callBackUrl" in body and not flat_type_error and not _is_url(str(callback)):
            out.append(Problem("callBackUrl", "must be an http(s) URL", _clip(callback), None, name))
        fields = self.wire_fields(body)
        known = {f.name: f for f in self.fields}
        for key, value in fields.items():
            f = known.get(key)
            if f is None:
                out.append(
                    Problem(key, "is not a field of this model", _clip(value), _close(key, known), name)
                )
            else:
                out.extend(f.problems(value, name))
        for f in self.fields:
            if f.required and f.name not in fields:
                out.append(Problem(f.name, "is required", None, f.describe_allowed(), name))
        if not out:
            # Cross-field rules assume each field is well-formed on its own.
            for rule in self.rules:
                out.extend(rule(fields, self))
        return out

    def check_wire(self, body: Mapping[str, Any]) -> list[str]:
        """The problems kie would report for this wire body (wire field, value, allowed values)."""
        return [
            f"{p}; got {_show(p.value)}" if p.value is not None else str(p) for p in self.wire_problems(body)
        ]

    def outputs(self, body: Mapping[str, Any]) -> int:
        """How many images this wire request produces."""
        fields = self.wire_fields(body)
        if self.outputs_rule is not None:
            return self.outputs_rule(fields)
        if self.fixed_outputs is not None:
            return self.fixed_outputs
        n_name = self.wire.get("n")
        f = self.field(n_name) if n_name else None
        if f is None:
            return 1
        value = fields.get(f.name, f.default if f.has_default else 1)
        try:
            return max(1, int(value))
        except (TypeError, ValueError):
            return 1

    def price(self, body: Mapping[str, Any]) -> float:
        """Credits kie charges for this whole wire request (an estimate where kie prices by output size)."""
        fields = self.wire_fields(body)
        p = self.pricing
        total = p.unit(fields, self) * (self.outputs(body) if p.per == "image" else 1)
        if p.per_extra_input and p.inputs_field:
            inputs = fields.get(p.inputs_field)
            count = len(inputs) if isinstance(inputs, (list, tuple)) else 0
            total += p.per_extra_input * max(0, count - p.free_inputs)
        return round(total, 4)


# ---------------------------------------------------------------------- helpers

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}

_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*$")
_NAMED = re.compile(r"^(landscape|portrait)_(\d+)_(\d+)$")


def _type_ok(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "array":
        return isinstance(value, (list, tuple))
    if type_ == "object":
        return isinstance(value, Mapping)
    return True


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


def _tier_key(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _close(name: str, known: Mapping[str, Any]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return ", ".join(close) if close else None


def ratio_value(text: Any) -> float | None:
    """``'16:9'`` -> 1.777..., ``'landscape_16_9'`` -> 1.777..., ``'square'`` -> 1.0; else None."""
    if not isinstance(text, str):
        return None
    m = _RATIO.match(text)
    if m:
        w, h = float(m.group(1)), float(m.group(2))
        return w / h if h else None
    if text in ("square", "square_hd"):
        return 1.0
    m = _NAMED.match(text)
    if m:
        a, b = float(m.group(2)), float(m.group(3))
        return a / b if m.group(1) == "landscape" else b / a
    return None


def named_size_ratio(value: str) -> str | None:
    """``'landscape_16_9'`` -> ``'16:9'``, ``'portrait_4_3'`` -> ``'3:4'``, ``'square_hd'`` -> ``'1:1'``."""
    if value in ("square", "square_hd"):
        return "1:1"
    m = _NAMED.match(value)
    if not m:
        return None
    a, b = m.group(2), m.group(3)
    return f"{a}:{b}" if m.group(1) == "landscape" else f"{b}:{a}"


def nearest_ratio(value: Any, allowed: Sequence[Any]) -> Any | None:
    """The allowed value whose aspect is nearest to ``value`` (on a log scale), or None."""
    target = ratio_value(value)
    if target is None:
        return None
    best, best_d = None, math.inf
    for candidate in allowed:
        r = ratio_value(candidate)
        if r is None:
            continue
        d = abs(math.log(r / target))
        if d < best_d - 1e-9:
            best, best_d = candidate, d
    return best


def _enum_problem(name: str, value: Any, enum: Sequence[Any], model: str) -> Problem:
    near = nearest_ratio(value, enum)
    if near is not None and near != value:
        msg = f"{_show(value)} is not supported; the nearest supported value is {_show(near)}"
    else:
        msg = f"{_show(value)} is not one of the allowed values"
    return Problem(name, msg, value, ", ".join(_show(v) for v in enum), model)
