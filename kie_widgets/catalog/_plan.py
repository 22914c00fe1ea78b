"""``plan()``: one parameter vocabulary in, the exact kie request out (a dry run; no sockets).

The unified names (``prompt, aspect_ratio, negative_prompt, seed, output_format, resolution, quality,
n, images, image, mask, callback_url``) are mapped to each model's wire fields; any other keyword must
be one of the model's own wire fields and passes through as written. Validation reuses the wire-level
checks of ``ModelSpec`` so the client and the sandbox can never disagree, and every problem is
reported under the name the user wrote.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import mimetypes
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kie_widgets.catalog._lint import lint
from kie_widgets.catalog._names import all_specs, registry, resolve
from kie_widgets.catalog._presets import combine_presets
from kie_widgets.catalog._schema import (
    ENDPOINT_MARKET,
    OUR_MASK,
    Field,
    MaskConvention,
    ModelSpec,
    Price,
    named_size_ratio,
    nearest_ratio,
    ratio_value,
)
from kie_widgets.errors import KieValidationError, Problem

UNIFIED = (
    "prompt",
    "aspect_ratio",
    "negative_prompt",
    "seed",
    "output_format",
    "resolution",
    "quality",
    "n",
    "images",
    "image",
    "mask",
    "callback_url",
)
"""The parameter names every model understands (where it has the feature)."""

PLACEHOLDER_PREFIX = "kie-upload://"
_PROBE_PREFIX = "https://upload.invalid/"
_ASSET_ID = re.compile(r"^img-\d{3,}$")
_HTTP_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
# Modes whose output shape is theirs to choose (or is the point of the job): no shape is kept.
_SHAPE_FREE_MODES = ("reference", "reframe", "upscale", "remove-background", "layer-decomposition")
_AUTO = ("auto", "match_input_image")
# How a mask passed to plan() is read: ours (white = change) or already the model's own convention.
_MASK_CONVENTIONS = ("kie_widgets", "model")
# Ratios within 2 % of each other count as the same shape (1920×1080 is 16:9).
_SAME_SHAPE = math.log(1.02)


@dataclass(frozen=True)
class MaskPlan:
    """What happens to a mask before upload: read in one convention, written in the model's, size-checked."""

    given: MaskConvention  # the convention the mask arrives in (ours unless it says otherwise)
    wanted: MaskConvention  # the model's convention
    image: str | None  # placeholder of the image the mask belongs to; None when that image is a URL

    def describe(self, model: str) -> str:
        """One sentence saying what will be done to the mask."""
        same = " (already in that convention)" if self.given == self.wanted else ""
        size = (
            ", after checking that it has the image's pixel size"
            if self.wanted.same_size and self.image is not None
            else ""
        )
        return (
            f"mask: read as {self.given.describe().split(';')[0]} and sent as {model} expects it: "
            f"{self.wanted.describe()}{same}{size}."
        )


@dataclass(frozen=True)
class InputRef:
    """One input image that must be uploaded before the request is sent."""

    placeholder: str  # "kie-upload://0", ...: the string standing in the body until upload
    field: str  # unified name the user gave it under: "images" | "image" | "mask" | a wire name
    source: Any  # the path / bytes / PIL image / array / asset id as given
    kind: str  # "path" | "bytes" | "pil" | "array" | "asset"
    max_bytes: int | None
    mime_types: tuple[str, ...]
    mask: MaskPlan | None = None  # set on a mask input: the conversion to apply before upload


@dataclass(frozen=True)
class Plan:
    """A validated request, ready to upload inputs and send: the dry run behind --dry-run and previews."""

    spec: ModelSpec
    model_id: str
    display_name: str
    family: str
    endpoint: str
    body: dict[str, Any]
    uploads: tuple[InputRef, ...]
    params: dict[str, Any]
    n: int
    size: str
    estimated_credits: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: What plan() decided on the user's behalf (mask conversion, an aspect ratio kept from the source).
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Which request of a submission this plan belongs to (one per model of a compare).
    request: int = 0
    #: Which of the request's ``parts`` plans this is (``n`` split into kie's batch sizes).
    part: int = 0
    parts: int = 1
    #: sent as the caller wrote it (raw): nothing checked, ``estimated_credits`` means "unknown"
    unvalidated: bool = False

    def resolve_body(self, urls: Mapping[str, str]) -> dict[str, Any]:
        """The body with every upload placeholder replaced by its uploaded URL."""
        missing = [u.placeholder for u in self.uploads if u.placeholder not in urls]
        if missing:
            raise KieValidationError(
                [Problem("uploads", "no uploaded URL for these inputs", missing, None, self.display_name)],
                model=self.display_name,
            )
        return _replace_strings(self.body, dict(urls))


# ------------------------------------------------------------------------- plan()
def plan(model: str | ModelSpec, prompt: str | None = None, **params: Any) -> Plan:
    """Resolve the model, map and validate every parameter, and return the exact request (no network).

    Raises ``KieValidationError`` listing every problem at once (field as written, value, allowed
    values, model). Soft issues (a negative prompt for a model without one, prompt-style advice)
    come back in ``Plan.warnings``.

    ``mask`` is read in kie_widgets' convention (white = change) unless it carries its own
    (``kie_mask_convention``, as ``MaskEditor.mask_for`` output does) or ``mask_convention="model"``
    says it is already in the model's; the plan records the conversion to the model's convention.
    ``source_size=(width, height)`` of the image being edited (data read by the caller, never sent)
    lets an edit keep the source's shape when no aspect ratio is given.
    ``raw=True`` or ``input={...}`` asks for a raw request, for a Market model the catalog may not
    know yet: ``input`` (plus ``prompt`` and any other keywords, by kie's own field names) is sent as
    written in a ``jobs/createTask`` body, and the plan is ``unvalidated`` with an unknown cost.
    Without it, an unknown name is a ``KieModelNotFoundError`` that suggests the closest known ones.
    """
    raw = params.pop("raw", False)
    raw_input = params.pop("input", None)
    if raw or raw_input is not None:
        return raw_plan(model, prompt, raw_input, **params)
    if prompt is not None:
        params["prompt"] = prompt
    images = params.get("images")
    if images is not None and not isinstance(images, (list, tuple)):
        params["images"] = images = [images]
    has_image = bool(images) or params.get("image") is not None
    spec = resolve(model, has_image=has_image, has_mask=params.get("mask") is not None)
    return _Planner(spec, params).run()


class _Planner:
    """One plan() call's working state: fields being built, where each came from, problems found."""

    def __init__(self, spec: ModelSpec, params: dict[str, Any]) -> None:
        self.spec = spec
        self.name = spec.display_name
        self.raw = {k: v for k, v in params.items() if v is not None}
        self.fields: dict[str, Any] = {}
        self.origin: dict[str, str] = {}  # wire field -> the name the user wrote
        self.unified: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.bad: set[str] = set()  # wire fields already reported; the wire check must not repeat them
        self.warnings: list[str] = []
        self.uploads: list[InputRef] = []
        self.callback: str | None = None
        self.notes: list[str] = []
        self.source_size = self.raw.pop("source_size", None)

    # ------------------------------------------------------------------ helpers
    def problem(
        self,
        user_field: str,
        message: str,
        value: Any = None,
        allowed: str | None = None,
        wire: str | None = None,
    ) -> None:
        self.problems.append(Problem(user_field, message, value, allowed, self.name))
        if wire:
            self.bad.add(wire)

    def put(self, unified: str, value: Any, *, user_field: str | None = None) -> str | None:
        """Set the wire field ``unified`` maps to; report a clash if the user gave it twice."""
        wire = self.spec.wire[unified]
        if wire in self.fields and self.origin.get(wire) != (user_field or unified):
            self.problem(
                user_field or unified,
                f"sets {wire} a second time (also given as {self.origin[wire]})",
                value,
                None,
                wire,
            )
            return None
        self.fields[wire] = value
        self.origin[wire] = user_field or unified
        return wire

    def wire_field(self, unified: str) -> Field | None:
        wire = self.spec.wire.get(unified)
        return self.spec.field(wire) if wire else None

    # --------------------------------------------------------------------- run
    def run(self) -> Plan:
        raw = self.raw
        self.inputs()
        for key in ("prompt", "aspect_ratio", "seed", "output_format", "resolution", "quality", "n"):
            if key in raw:
                getattr(self, f"p_{key}")(raw[key])
        if "aspect_ratio" not in raw:
            self.keep_shape()
        self.p_negative(raw.get("negative_prompt"), raw.get("negative_presets"))
        if "callback_url" in raw or "callBackUrl" in raw:
            self.p_callback(raw.get("callback_url", raw.get("callBackUrl")))
        self.extras()
        self.text_check()
        self.defaults()
        body = self.body()
        self.wire_check(body)
        self.plan_rules()
        if self.problems:
            raise KieValidationError(self.problems, model=self.name)
        probe = self.probe(body)
        n = self.spec.outputs(probe)
        self.unified["n"] = n
        warnings = [*self.warnings, *(w.message for w in lint(self.spec, self.unified))]
        return Plan(
            spec=self.spec,
            model_id=self.spec.id,
            display_name=self.name,
            family=self.spec.family,
            endpoint=self.spec.endpoint,
            body=body,
            uploads=tuple(self.uploads),
            params=dict(self.unified),
            n=n,
            size=self.size(),
            estimated_credits=self.spec.price(probe),
            warnings=tuple(dict.fromkeys(warnings)),
            notes=tuple(self.notes),
        )

    # ------------------------------------------------------------------ inputs
    def inputs(self) -> None:
        spec, raw = self.spec, self.raw
        images = list(raw.get("images") or [])
        image = raw.get("image")
        mask = raw.get("mask")
        many = spec.wire.get("images")
        one = spec.wire.get("image")
        if image is not None and one is None:
            self.no_inputs("image", image)
        if images and one is None and many is None:
            self.no_inputs("images", images)
        if mask is not None and "mask" not in spec.wire:
            alternatives = [s.display_name for s in _mask_models()]
            self.problem(
                "mask",
                f"{self.name} takes no mask",
                "<mask>",
                "models with masks: " + ", ".join(alternatives),
            )
        if many is not None and (images or (image is not None and one == many)):
            sources = ([image] if image is not None and one == many else []) + images
            f = spec.field(many)
            values = [self.input_value(s, "images" if s is not image else "image", f) for s in sources]
            self.put("images", values, user_field="images" if images else "image")
            self.unified["images"] = values
        if one is not None and one != many:
            image_name = "image"
            if image is None and len(images) == 1 and many is None:
                image, images, image_name = images[0], [], "images"
            if images and many is None:
                self.problem(
                    "images",
                    f"{self.name} takes one input image, not {len(images)}",
                    len(images),
                    "1 image (pass it as image=...)",
                    one,
                )
            if image is not None:
                value = self.input_value(image, image_name, spec.field(one))
                self.put("image", value, user_field=image_name)
                self.unified[image_name] = [value] if image_name == "images" else value
        if mask is not None and "mask" in spec.wire:
            self.p_mask(mask)

    def p_mask(self, mask: Any) -> None:
        spec = self.spec
        wanted = spec.mask_convention or OUR_MASK
        given = getattr(mask, "kie_mask_convention", None)
        stated = self.raw.get("mask_convention", "kie_widgets")
        if stated not in _MASK_CONVENTIONS:
            self.problem("mask_convention", "is not a mask convention", stated, ", ".join(_MASK_CONVENTIONS))
        if stated == "model":
            given = wanted  # a file made for this model as its docs say (4o: black = change)
        elif not isinstance(given, MaskConvention):
            given = OUR_MASK
        # The image the mask belongs to is the one in the model's single-image field (4o: filesUrl[0]).
        target = self.fields.get(spec.wire.get("image", ""))
        if isinstance(target, list):
            target = target[0] if target else None
        image = target if isinstance(target, str) and target.startswith(PLACEHOLDER_PREFIX) else None
        conversion = MaskPlan(given, wanted, image)
        value = self.input_value(mask, "mask", spec.field(spec.wire["mask"]), mask_plan=conversion)
        self.put("mask", value)
        self.unified["mask"] = value
        self.notes.append(conversion.describe(self.name))
        if wanted.same_size and image is None and target is not None:
            self.warnings.append(
                f"{self.name} needs the mask at the image's exact size; the image is a URL, so the "
                "sizes could not be compared before sending."
            )

    def keep_shape(self) -> None:
        """An edit without an aspect ratio asks for the source's shape (or the nearest the model has)."""
        spec, size = self.spec, self.source_size
        f = self.wire_field("aspect_ratio")
        edits = bool(self.raw.get("images") or self.raw.get("image"))
        if f is None or f.enum is None or not edits or spec.mode in _SHAPE_FREE_MODES:
            return
        if not _is_size(size) or f.name in self.fields:
            return
        width, height = int(size[0]), int(size[1])
        default = f.default if f.has_default else spec.plan_defaults.get(f.name)
        if default in _AUTO or (default is None and not f.required and "auto" not in f.enum):
            return  # the model follows its input's shape by itself
        if "auto" in f.enum:
            self.put("aspect_ratio", "auto")
            self.notes.append(f"aspect_ratio: auto, so the edit keeps the source's {width}×{height} shape.")
            return
        choices = [v for v in f.enum if ratio_value(v) is not None]
        near = nearest_ratio(f"{width}:{height}", choices)
        if near is None:
            return
        shown = (named_size_ratio(near) or near) if isinstance(near, str) else str(near)
        self.put("aspect_ratio", near)
        self.unified["aspect_ratio"] = shown
        off = abs(math.log((ratio_value(near) or 1.0) / (width / height)))
        if off <= _SAME_SHAPE:
            self.notes.append(f"aspect_ratio: {shown}, the source's shape ({width}×{height}).")
            return
        self.warnings.append(
            f"{self.name} cannot keep the source's shape ({width}×{height}); the edit asks for {shown}, "
            f"the nearest of {', '.join(spec.aspect_ratios)}, so the result will be cropped or padded. "
            "Give aspect_ratio= to choose another."
        )

    def no_inputs(self, user_field: str, value: Any) -> None:
        members = [s for s in _group(self.spec) if s.wire.get("images") or s.wire.get("image")]
        names = [s.display_name for s in members] or [
            "Flux Kontext Pro",
            "Seedream 4.5 Edit",
            "Nano Banana Edit",
        ]
        allowed = "use " + " or ".join(names)
        count = len(value) if isinstance(value, list) else 1
        self.problem(user_field, f"{self.name} takes no input images", f"{count} image(s)", allowed)

    def input_value(
        self, source: Any, user_field: str, f: Field | None, *, mask_plan: MaskPlan | None = None
    ) -> str:
        """An http(s) URL as is; anything local becomes an upload placeholder."""
        if isinstance(source, str) and _HTTP_SCHEME.match(source.strip()):
            return self.input_url(source.strip(), user_field)
        asset_id = getattr(source, "id", None)
        if isinstance(asset_id, str) and _ASSET_ID.match(asset_id) and hasattr(source, "path"):
            source = asset_id  # an Asset from an earlier result: refer to it by its manifest id
        max_bytes = f.max_bytes if f is not None else None
        mimes = f.mime_types if f is not None else ()
        kind = self.input_kind(source, user_field, max_bytes, mimes)
        placeholder = f"{PLACEHOLDER_PREFIX}{len(self.uploads)}"
        if kind is not None:
            self.uploads.append(InputRef(placeholder, user_field, source, kind, max_bytes, mimes, mask_plan))
        return placeholder

    def input_url(self, url: str, user_field: str) -> str:
        """A checked http(s) URL with its scheme in lower case (``HTTPS://`` is a URL, not a path)."""
        parts = urlsplit(url)
        if not parts.hostname or any(c.isspace() for c in url):
            self.problem(
                user_field, "is not a complete URL (it needs a host)", url, "https://host/path/image.png"
            )
            return url
        return urlunsplit(parts._replace(scheme=parts.scheme.lower()))

    def input_kind(
        self, source: Any, user_field: str, max_bytes: int | None, mimes: tuple[str, ...]
    ) -> str | None:
        limit = f"at most {max_bytes // (1024 * 1024)} MB" if max_bytes else None
        if isinstance(source, str) and _ASSET_ID.match(source):
            return "asset"
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                self.problem(
                    user_field,
                    "file not found (give a path, an http(s) URL, bytes, a PIL image or an "
                    "asset id like img-001)",
                    str(source),
                )
                return None
            size = path.stat().st_size
            if max_bytes and size > max_bytes:
                self.problem(
                    user_field,
                    f"{path.name} is {size / 1048576:.1f} MB, too large for {self.name}",
                    str(source),
                    limit,
                )
            mime = mimetypes.guess_type(path.name)[0]
            # An unknown extension is left to the upload step, which sniffs the bytes.
            if mimes and mime is not None and mime not in mimes:
                self.problem(
                    user_field, f"{path.name} is not an accepted image type", str(source), ", ".join(mimes)
                )
            return "path"
        if isinstance(source, (bytes, bytearray, memoryview)):
            if max_bytes and len(source) > max_bytes:
                self.problem(
                    user_field,
                    f"image data is {len(source) / 1048576:.1f} MB, too large for {self.name}",
                    f"{len(source)} bytes",
                    limit,
                )
            return "bytes"
        # Duck typing: the catalog must not import PIL or numpy.
        if all(hasattr(source, a) for a in ("save", "size", "mode")):
            return "pil"
        if hasattr(source, "__array_interface__") or (hasattr(source, "shape") and hasattr(source, "dtype")):
            return "array"
        self.problem(
            user_field,
            f"cannot use a {type(source).__name__} as an image",
            type(source).__name__,
            "a path, an http(s) URL, bytes, a PIL image, a numpy array or an asset id",
        )
        return None

    def text_check(self) -> None:
        """Every text given must be sendable as UTF-8 (a lone surrogate from a broken paste is not)."""
        for name, value in self.raw.items():
            bad = _unencodable(value)
            if bad is not None:
                self.problem(
                    name,
                    f"contains a lone surrogate (U+{ord(bad):04X}) that cannot be sent; retype or remove it",
                    _clip(value) if isinstance(value, str) else None,
                    "valid Unicode text",
                )

    # ------------------------------------------------------------- parameters
    def p_prompt(self, value: Any) -> None:
        if not isinstance(value, str):
            self.problem("prompt", "must be text", value)
            return
        if "prompt" not in self.spec.wire:
            if value.strip():
                self.problem("prompt", f"{self.name} takes no prompt", _clip(value), "omit it")
            return
        if not value.strip():
            f = self.wire_field("prompt")
            if f is not None and f.required:
                self.problem("prompt", "is empty; describe the image you want", value, "some text")
                self.bad.add(f.name)
            # An optional blank prompt says nothing: it is not sent (kie would reject or ignore it).
            return
        self.put("prompt", value)
        self.unified["prompt"] = value

    def p_aspect_ratio(self, value: Any) -> None:
        f = self.wire_field("aspect_ratio")
        if f is None:
            self.problem("aspect_ratio", f"{self.name} has no aspect-ratio setting", value, "omit it")
            return
        text = str(value).strip().replace(" ", "")
        wire_value = _convert(self.spec, f, text)
        self.unified["aspect_ratio"] = text
        if f.enum is not None and wire_value not in f.enum:
            allowed = ", ".join(self.spec.aspect_ratios)
            near = nearest_ratio(text, f.enum)
            if near is not None:
                shown = named_size_ratio(near) or near if isinstance(near, str) else near
                msg = f"{self.name} has no {text}; the nearest supported ratio is {shown}"
            else:
                msg = f"{text!r} is not an aspect ratio {self.name} offers"
            self.problem("aspect_ratio", msg, value, allowed, f.name)
            return
        self.put("aspect_ratio", wire_value)

    def p_seed(self, value: Any) -> None:
        f = self.wire_field("seed")
        if f is None:
            self.warnings.append(
                f"{self.name} takes no seed; it was not sent, so results are not reproducible."
            )
            return
        seed = _whole_number(value)
        if seed is None:
            self.problem("seed", "must be a whole number", value, f.describe_allowed(), f.name)
            return
        self.put("seed", str(seed) if f.type == "string" else seed)
        self.unified["seed"] = seed

    def p_output_format(self, value: Any) -> None:
        f = self.wire_field("output_format")
        if f is None:
            self.warnings.append(
                f"{self.name} does not let you choose the file format; output_format was not sent."
            )
            return
        text = str(value).lower().lstrip(".")
        self.unified["output_format"] = text
        self.put("output_format", _convert(self.spec, f, text))

    def p_resolution(self, value: Any) -> None:
        self.tier("resolution", value)

    def p_quality(self, value: Any) -> None:
        self.tier("quality", value)

    def tier(self, unified: str, value: Any) -> None:
        f = self.wire_field(unified)
        if f is None:
            other = "quality" if unified == "resolution" else "resolution"
            hint = f"use {other}=" if other in self.spec.wire else "omit it"
            self.problem(unified, f"{self.name} has no {unified} setting", value, hint)
            return
        text = str(value).strip()
        text = text.upper() if re.fullmatch(r"\d+(\.\d+)?k", text, re.I) else text
        self.unified[unified] = text
        self.put(unified, _convert(self.spec, f, text), user_field=unified)

    def p_n(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem("n", "must be a whole number of at least 1", value)
            return
        spec = self.spec
        if spec.fixed_outputs is not None and spec.fixed_outputs > 1:
            if value > spec.fixed_outputs:
                self.problem(
                    "n",
                    f"{self.name} makes {spec.fixed_outputs} images per request",
                    value,
                    f"at most {spec.fixed_outputs}",
                )
            elif value != spec.fixed_outputs:
                self.warnings.append(
                    f"{self.name} always returns {spec.fixed_outputs} images per request "
                    f"(you asked for {value}); all are charged and kept."
                )
            return
        f = self.wire_field("n")
        if f is None:
            if value > 1:
                self.problem(
                    "n", f"{self.name} makes one image per request", value, "1 (send several requests)"
                )
            return
        wire_value = str(value) if f.type == "string" else value
        # n=1 is what most callers pass by default: leave a documented default of 1 to kie.
        if f.has_default and f.default == wire_value:
            return
        self.put("n", wire_value)

    def p_negative(self, text: Any, presets: Any) -> None:
        parts: list[str] = []
        if presets:
            if not _texts(presets):
                self.problem("negative_presets", "must be a preset name or a list of names", presets)
            else:
                try:
                    parts.append(combine_presets(presets))
                except KeyError as exc:
                    self.problem("negative_presets", str(exc.args[0]), presets)
        if text:
            if not _texts(text):
                self.problem("negative_prompt", "must be text or a list of texts", _clip(text))
                return
            parts.insert(0, text if isinstance(text, str) else ", ".join(text))
        if not parts:
            return
        if len(parts) == 1:
            combined = parts[0]  # the user's own text goes out exactly as written
        else:
            terms = (t.strip() for p in parts for t in p.split(","))
            combined = ", ".join(dict.fromkeys(t for t in terms if t))
        self.unified["negative_prompt"] = combined
        if not self.spec.negative_prompt:
            takers = ", ".join(s.display_name for s in _negative_models()[:4])
            self.warnings.append(
                f"{self.name} takes no negative prompt, so it was not sent; describe what you "
                f"want instead, or use a model that takes one ({takers}, ...)."
            )
            return
        self.put("negative_prompt", combined)

    def p_callback(self, value: Any) -> None:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            self.problem("callback_url", "must be an http(s) URL", value)
            return
        self.callback = value
        self.unified["callback_url"] = value

    def extras(self) -> None:
        """Model-specific fields pass by their own wire names; anything else is a typo to report."""
        known = set(self.spec.field_names)
        handled = {*UNIFIED, "negative_presets", "callBackUrl", "source_size", "mask_convention"}
        for key, value in self.raw.items():
            if key in handled:
                continue
            if key not in known:
                choices = sorted({*UNIFIED, *known} - {"callBackUrl"})
                close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
                self.problem(
                    key,
                    f"is not a parameter of {self.name}",
                    _clip(value),
                    ", ".join(close) if close else ", ".join(choices),
                )
                continue
            if key in self.fields:
                self.problem(key, f"given twice (also as {self.origin[key]})", _clip(value), None, key)
                continue
            f = self.spec.field(key)
            if f is not None and f.is_file and value is not None:
                value = (
                    [self.input_value(v, key, f) for v in value]
                    if isinstance(value, (list, tuple))
                    else self.input_value(value, key, f)
                )
            self.fields[key] = value
            self.origin[key] = key
            self.unified[key] = value

    def defaults(self) -> None:
        """Fill required fields kie would otherwise reject, from kie's documented defaults."""
        fallback = self.spec.plan_defaults
        for f in self.spec.fields:
            if f.required and f.name not in self.fields and f.name not in self.bad:
                if f.has_default:
                    self.fields[f.name] = copy.deepcopy(f.default)
                elif f.name in fallback:
                    self.fields[f.name] = fallback[f.name]

    def body(self) -> dict[str, Any]:
        spec = self.spec
        ordered = {f.name: self.fields[f.name] for f in spec.fields if f.name in self.fields}
        if spec.family == "market":
            body: dict[str, Any] = {"model": spec.id}
            if self.callback:
                body["callBackUrl"] = self.callback
            body["input"] = ordered
            return body
        if spec.family == "flux-kontext":
            ordered["model"] = spec.id
            ordered = {f.name: ordered[f.name] for f in spec.fields if f.name in ordered}
        if self.callback:
            ordered["callBackUrl"] = self.callback
        return ordered

    def probe(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with placeholders swapped for URL-shaped stand-ins, so URL checks apply."""
        return _map_strings(body, lambda v: v.replace(PLACEHOLDER_PREFIX, _PROBE_PREFIX, 1))

    def wire_check(self, body: dict[str, Any]) -> None:
        for p in self.spec.wire_problems(self.probe(body)):
            base = p.field.split("[", 1)[0]
            if base in self.bad:
                continue
            user = self.origin.get(base)
            if user is None:
                user = next((u for u, w in self.spec.wire.items() if w == base and u in UNIFIED), base)
            shown_field = user if p.field == base else p.field.replace(base, user, 1)
            value = p.value
            if isinstance(value, str) and value.startswith(_PROBE_PREFIX):
                value = "<uploaded image>"
            self.problems.append(Problem(shown_field, p.message, value, p.allowed, self.name))

    def plan_rules(self) -> None:
        """Rules kie does not check but that decide whether the request does what was meant."""
        spec = self.spec
        if spec.count_in_prompt:
            n = self.fields.get(spec.wire.get("n", ""), 1)
            prompt = self.fields.get("prompt", "")
            limit = self.spec.max_outputs
            if isinstance(n, (int, float)) and 1 < n <= limit and not _states_count(prompt, int(n)):
                self.problem(
                    "n",
                    f"{self.name} makes up to {int(n)} images only when the prompt says how many",
                    int(n),
                    f'say it in the prompt, e.g. "a set of {int(n)} images of ..."',
                )

    def size(self) -> str:
        """The manifest's ``parameters.size``: the aspect ratio, else the resolution tier, else 'auto'."""
        if "aspect_ratio" in self.unified:
            return str(self.unified["aspect_ratio"])
        f = self.wire_field("aspect_ratio")
        if f is not None:
            value = self.fields.get(f.name, f.default if f.has_default else None)
            if isinstance(value, str):
                return named_size_ratio(value) or value
        for key in ("resolution", "quality"):
            if key in self.unified:
                return str(self.unified[key])
        if "upscale_factor" in self.fields:
            return f"{self.fields['upscale_factor']}x"
        return "auto"


# --------------------------------------------------------------------- raw
class KieUnvalidatedWarning(UserWarning):
    """A raw request goes out unchecked: kie's answer is the only validation and the cost is unknown."""


_RAW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_RAW_INPUT_NAMES = ("images", "image", "mask", "negative_presets")


def raw_spec(model_id: str) -> ModelSpec:
    """A stand-in spec for a Market model the catalog does not describe: no fields, no known price."""
    return ModelSpec(
        key=model_id,
        id=model_id,
        display_name=model_id,
        family="market",
        endpoint=ENDPOINT_MARKET,
        mode="raw",
        fields=(),
        pricing=Price(0, source="unknown: the model is not in the catalog"),
        default_timeout=600.0,
        group=model_id,
        role="only",
        unsure=True,
        notes=("sent raw: the catalog does not describe this model",),
    )


def raw_plan(model: str | ModelSpec, prompt: str | None, raw_input: Any = None, **params: Any) -> Plan:
    """A Market ``createTask`` plan that sends ``input`` as written (see ``plan(raw=True)``)."""
    model_id = model.id if isinstance(model, ModelSpec) else model
    problems: list[Problem] = []
    if not isinstance(model_id, str) or not _RAW_ID.match(model_id.strip()):
        problems.append(
            Problem("model", "a raw request needs kie's model id", model_id, "e.g. 'vendor/new-model'")
        )
        model_id = str(model_id)
    model_id = model_id.strip()
    fields: dict[str, Any] = {}
    if raw_input is not None and not isinstance(raw_input, Mapping):
        problems.append(Problem("input", "must be a dict of kie's input fields", type(raw_input).__name__))
    elif raw_input is not None:
        fields.update(raw_input)
    if prompt is not None:
        if "prompt" in fields and fields["prompt"] != prompt:
            problems.append(
                Problem("prompt", "given twice (also in input) with different text", _clip(prompt))
            )
        fields["prompt"] = prompt
    callback = params.pop("callback_url", params.pop("callBackUrl", None))
    n = params.pop("n", None)
    if n not in (None, 1):
        problems.append(
            Problem("n", "a raw request is one request", n, "1 (set the model's own count field in input)")
        )
    for name in _RAW_INPUT_NAMES:
        if params.get(name) is not None:
            problems.append(
                Problem(
                    name,
                    "a raw request cannot know which field takes it",
                    "<given>",
                    "put public image URLs in input under the model's own field name",
                )
            )
    for key, value in params.items():
        if key in _RAW_INPUT_NAMES or value is None:
            continue
        if key in fields and fields[key] != value:
            problems.append(Problem(key, "given twice (also in input) with different values", _clip(value)))
        fields[key] = value
    body: dict[str, Any] = {"model": model_id}
    if callback is not None:
        if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
            problems.append(Problem("callback_url", "must be an http(s) URL", callback))
        body["callBackUrl"] = callback
    body["input"] = fields
    try:
        json.dumps(body)
    except (TypeError, ValueError) as exc:
        problems.append(Problem("input", f"cannot be sent as JSON ({exc})", None))
    if problems:
        raise KieValidationError(problems, model=model_id)
    known = registry().by_id.get(model_id)
    note = " (the catalog knows this id: leave out raw to have it checked)" if known else ""
    warning = (
        f"{model_id} is sent raw: nothing was validated and its cost is unknown{note}; "
        "kie's own answer is the only check."
    )
    warnings.warn(warning, KieUnvalidatedWarning, stacklevel=3)
    return Plan(
        spec=raw_spec(model_id),
        model_id=model_id,
        display_name=model_id,
        family="market",
        endpoint=ENDPOINT_MARKET,
        body=body,
        uploads=(),
        params={"raw": True, **copy.deepcopy(fields)},
        n=1,
        size=str(fields.get("aspect_ratio") or fields.get("size") or fields.get("resolution") or "auto"),
        estimated_credits=0.0,
        warnings=(warning,),
        unvalidated=True,
    )


# ------------------------------------------------------------------- helpers
def _convert(spec: ModelSpec, f: Field, value: Any) -> Any:
    """A unified value in the model's own spelling ('16:9' -> 'landscape_16_9', 'jpg' -> 'jpeg')."""
    if f.enum is not None and value in f.enum:
        return value
    return spec.value_aliases.get(f.name, {}).get(value, value)


def _map_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, Mapping):
        return {k: _map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_map_strings(v, fn) for v in obj]
    return obj


def _replace_strings(obj: Any, table: Mapping[str, str]) -> Any:
    return _map_strings(obj, lambda v: table.get(v, v))


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")


def _states_count(prompt: str, n: int) -> bool:
    words = re.findall(r"[a-z0-9]+", prompt.lower())
    return str(n) in words or (n < len(_NUMBER_WORDS) and _NUMBER_WORDS[n] in words)


def _is_size(value: Any) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )


def _whole_number(value: Any) -> int | None:
    """An int, or a string of ASCII digits with an optional minus, as an int; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def _texts(value: Any) -> bool:
    """Whether ``value`` is a string or a list/tuple of strings."""
    return isinstance(value, str) or (
        isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    )


def _unencodable(value: Any) -> str | None:
    """The first character of ``value`` (text, or texts nested in lists and dicts) UTF-8 cannot hold."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return value[exc.start]
        return None
    items = (
        value.values() if isinstance(value, Mapping) else value if isinstance(value, (list, tuple)) else ()
    )
    for item in items:
        bad = _unencodable(item)
        if bad is not None:
            return bad
    return None


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


def _group(spec: ModelSpec) -> list[ModelSpec]:
    return list(registry().groups.get(spec.group, {}).values())


def _mask_models() -> list[ModelSpec]:
    return [s for s in all_specs() if s.mask]


def _negative_models() -> list[ModelSpec]:
    return [s for s in all_specs() if s.negative_prompt]


__all__ = [
    "PLACEHOLDER_PREFIX",
    "UNIFIED",
    "InputRef",
    "KieUnvalidatedWarning",
    "MaskPlan",
    "Plan",
    "plan",
    "raw_plan",
    "raw_spec",
]
