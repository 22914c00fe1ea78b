"""The Studio's form, generated from the catalog: pick models, write the prompt, set what they take.

Nothing here is written per model. The shared (unified) controls are shown when at least one picked
model takes them; each model's own fields come from ``catalog.parameters()`` and sit under its name.
Switching models keeps every value the new set accepts and says which were dropped, and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w

from kie_widgets.catalog import NEGATIVE_PRESETS, PromptFormula, parameters, recommend, resolve
from kie_widgets.catalog import models as catalog_models
from kie_widgets.widgets._inputs import InputList
from kie_widgets.widgets._util import replace_children

# Fields the shared controls (or the inputs row) already cover; never repeated per model.
_SHARED = {
    "prompt",
    "aspect_ratio",
    "negative_prompt",
    "seed",
    "n",
    "images",
    "image",
    "mask",
    "callback_url",
}
_WIRE_INPUTS = {"image_urls", "image_url", "input_urls", "filesUrl", "maskUrl", "mask_url", "inputImage"}
_UNSET = "(model default)"
#: Labels shown in full rather than cut to ipywidgets' default label width.
WIDE = {"description_width": "initial"}


def model_choices() -> list[tuple[str, str]]:
    """(label, name) for every model, grouped by mode, with its price: what the picker lists."""
    seen: dict[str, tuple[str, str]] = {}
    for row in sorted(catalog_models(), key=lambda r: (r["modes"][0], r["name"])):
        if row["name"] not in seen:
            seen[row["name"]] = (f"{row['modes'][0]} · {row['name']} — {row['price']}", row["name"])
    return list(seen.values())


def _searchable(name: str) -> str:
    """Every name a user might type for a model: display name, kie ids and aliases."""
    spec = resolve(name)
    words = [spec.display_name, spec.id, spec.group, *spec.aliases]
    return " ".join(words).lower()


class Form(w.VBox):
    """Models, prompt and parameters; ``values`` is the list of requests a Generate would send.

    Scriptable: ``form.set(models=["Imagen 4"], prompt="...", aspect_ratio="16:9")``.
    """

    def __init__(self, *, find_asset: Callable[[str], Any] | None = None, **defaults: Any) -> None:
        self._choices = model_choices()
        self._haystack = {name: _searchable(name) for _, name in self._choices}
        self._listeners: list[Callable[[], None]] = []
        self._own: dict[str, dict[str, w.ValueWidget]] = {}
        self._own_values: dict[str, dict[str, Any]] = {}
        self._quiet = False
        self.search = w.Text(description="Find model", placeholder="name, kie id or alias", style=WIDE)
        self.models = w.SelectMultiple(
            options=self._choices, description="Models", rows=6, layout=w.Layout(width="98%")
        )
        self.models.tooltip = "Pick one or several models (Ctrl/Cmd-click); several run side by side"
        self.need = w.Text(description="What do you need?", placeholder="e.g. text in the image", style=WIDE)
        self.suggestions = w.HTML()
        self.use_suggestions = w.Button(description="Pick suggested", tooltip="Pick the two best matches")
        self.prompt = w.Textarea(
            description="Prompt", placeholder="Describe the image", layout=w.Layout(width="98%", height="6em")
        )
        self.prompt_count = w.Label()
        self.formula = _FormulaBuilder(self.prompt)
        self.n = w.BoundedIntText(1, min=1, max=64, description="Images")
        self.aspect_ratio = w.Dropdown(options=[_UNSET], description="Aspect ratio")
        self.negative_prompt = w.Textarea(
            description="Negative prompt", style=WIDE, layout=w.Layout(width="60%", height="4em")
        )
        self.presets = w.SelectMultiple(options=sorted(NEGATIVE_PRESETS), description="Presets", rows=3)
        self.seed = w.IntText(0, description="Seed", tooltip="0 picks a random seed on kie's side")
        self.inputs = InputList(self._changed, find_asset)
        self.mask = w.Text(description="Mask", placeholder="path, URL or asset id (255 / white = change)")
        self.painted_mask: Any = None  # a PIL mask from the mask editor, in our convention
        self.notice = w.HTML()
        self.own_box = w.VBox()
        self._shared_rows: dict[str, w.Widget] = {
            "negative_prompt": w.HBox([self.negative_prompt, self.presets]),
            "seed": self.seed,
            "mask": self.mask,
        }
        self.search.observe(self._filter, "value")
        self.models.observe(self._models_changed, "value")
        self.need.observe(self._rank, "value")
        self.use_suggestions.on_click(lambda _b: self._pick_suggested())
        self.prompt.observe(self._count, "value")
        for control in (
            self.prompt,
            self.n,
            self.aspect_ratio,
            self.negative_prompt,
            self.presets,
            self.seed,
            self.mask,
        ):
            control.observe(lambda _c: self._changed(), "value")
        super().__init__(
            [
                w.HBox([self.search, self.need, self.use_suggestions]),
                self.suggestions,
                self.models,
                self.notice,
                self.prompt,
                self.prompt_count,
                self.formula,
                w.HBox([self.n, self.aspect_ratio]),
                *self._shared_rows.values(),
                self.inputs,
                self.own_box,
            ]
        )
        self.set(**defaults)
        self._models_changed()

    # ---- scripting --------------------------------------------------------------------------

    def set(
        self, models: Sequence[str] | str | None = None, prompt: str | None = None, **params: Any
    ) -> None:
        """Fill the form as a user would; unknown parameters go to each model's own fields."""
        self._quiet = True
        try:
            if models is not None:
                names = [models] if isinstance(models, str) else list(models)
                self.models.value = tuple(resolve_name(n, self._choices) for n in names)
            if prompt is not None:
                self.prompt.value = prompt
            for key, value in params.items():
                self._set_one(key, value)
        finally:
            self._quiet = False
        self._changed()

    def _set_one(self, key: str, value: Any) -> None:
        if key == "n":
            self.n.value = int(value)
        elif key == "aspect_ratio":
            if value not in self.aspect_ratio.options:
                self.aspect_ratio.options = [*self.aspect_ratio.options, value]
            self.aspect_ratio.value = value
        elif key == "negative_prompt":
            self.negative_prompt.value = value or ""
        elif key == "seed":
            self.seed.value = int(value or 0)
        elif key in ("images", "image"):
            items = value if isinstance(value, (list, tuple)) else [value]
            self.inputs.set_sources([getattr(i, "id", i) for i in items])
        elif key == "mask":
            self.mask.value = str(getattr(value, "id", value) or "")
        else:
            for model in self.models.value:
                self._own_values.setdefault(model, {})[key] = value
            self._build_own()

    @property
    def values(self) -> list[dict[str, Any]]:
        """One request per picked model: ``{"model", "prompt", "n", ...}`` with what that model takes."""
        shared: dict[str, Any] = {"prompt": self.prompt.value.strip() or None, "n": self.n.value}
        if self.aspect_ratio.value != _UNSET:
            shared["aspect_ratio"] = self.aspect_ratio.value
        images = list(self.inputs.sources)
        if images:
            shared["images"] = images
        out = []
        for model in self.models.value:
            has_mask = self.painted_mask is not None or bool(self.mask.value.strip())
            spec = resolve(model, has_image=bool(images), has_mask=has_mask)
            request = {"model": model, **shared}
            if spec.negative_prompt and self.negative_prompt.value.strip():
                request["negative_prompt"] = self.negative_prompt.value.strip()
            if spec.negative_prompt and self.presets.value:
                request["negative_presets"] = list(self.presets.value)
            if spec.seed and self.seed.value:
                request["seed"] = self.seed.value
            if spec.mask and self.painted_mask is not None:
                request["mask"] = self.painted_mask
            elif spec.mask and self.mask.value.strip():
                request["mask"] = self.mask.value.strip()
            request.update(self._own_values.get(model, {}))
            out.append(request)
        return out

    def use_painted_mask(self, mask: Any) -> None:
        """Send ``mask`` (a PIL image, 255 = change) with the next request; picks a mask model if needed."""
        self.painted_mask = mask
        self.mask.value = "(painted in the mask editor)"
        if not any(resolve(m, has_image=True, has_mask=True).mask for m in self.models.value):
            from kie_widgets.catalog import default_model

            self.set(models=[default_model("masked-edit")])
        self._changed()

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of the form (the Studio re-estimates)."""
        self._listeners.append(callback)

    # ---- reacting ---------------------------------------------------------------------------

    def _changed(self) -> None:
        if self._quiet:
            return
        for callback in self._listeners:
            callback()

    def _filter(self, _change: Any = None) -> None:
        words = self.search.value.lower().split()
        picked = set(self.models.value)
        keep = [
            c for c in self._choices if c[1] in picked or all(word in self._haystack[c[1]] for word in words)
        ]
        self.models.options = keep
        self.models.value = tuple(n for n in self.models.value if n in picked)

    def _rank(self, _change: Any = None) -> None:
        text = self.need.value.strip()
        ranked = recommend(text)[:5] if text else []
        self._suggested = [r.name for r in ranked if r.name in self._haystack]
        self.suggestions.value = "".join(f"<div>{_esc(str(r))}</div>" for r in ranked)

    def _pick_suggested(self) -> None:
        suggested = getattr(self, "_suggested", [])[:2]
        if suggested:
            self.search.value = ""
            self.models.value = tuple(suggested)

    def _count(self, _change: Any = None) -> None:
        limits = [
            p["max_length"]
            for m in self.models.value
            for p in parameters(m)
            if p["name"] == "prompt" and p["max_length"]
        ]
        limit = f" of {min(limits)}" if limits else ""
        self.prompt_count.value = f"{len(self.prompt.value)}{limit} characters"

    def _models_changed(self, _change: Any = None) -> None:
        picked = list(self.models.value)
        specs = [resolve(m) for m in picked]
        dropped: list[str] = []
        ratios = _common_ratios(specs)
        old_ratio = self.aspect_ratio.value
        self.aspect_ratio.options = [_UNSET, *ratios]
        if old_ratio in ratios:
            self.aspect_ratio.value = old_ratio
        elif old_ratio != _UNSET:
            dropped.append(
                f"aspect ratio {old_ratio} (the picked models share {', '.join(ratios) or 'none'})"
            )
        for unified, row in self._shared_rows.items():
            takes = any(s.supports(unified) for s in specs)
            row.layout.display = "" if takes or not specs else "none"
            value = (
                getattr(self, unified).value if unified != "negative_prompt" else self.negative_prompt.value
            )
            if not takes and specs and value:
                dropped.append(f"{unified.replace('_', ' ')} (none of the picked models takes one)")
        for model in list(self._own_values):
            if model not in picked and self._own_values[model]:
                fields = ", ".join(sorted(self._own_values[model]))
                dropped.append(f"{model}'s own settings ({fields}): no longer picked")
                del self._own_values[model]
        self.notice.value = (
            f"<div role='status'>Dropped: {_esc('; '.join(dropped))}.</div>" if dropped else ""
        )
        self._build_own()
        self._count()
        self._changed()

    def _build_own(self) -> None:
        """Each picked model's own fields, as controls that fit their type and bounds."""
        sections = []
        self._own = {}
        for model in self.models.value:
            controls: dict[str, w.ValueWidget] = {}
            for param in parameters(model):
                if param["name"] in _SHARED or param["wire"] in _WIRE_INPUTS or param["type"] == "array":
                    continue
                control = _control_for(param, self._own_values.get(model, {}).get(param["name"]))
                if control is None:
                    continue
                control.observe(self._own_changed(model, param["name"], param.get("default")), "value")
                controls[param["name"]] = control
            self._own[model] = controls
            if controls:
                sections.append(w.VBox([w.HTML(f"<b>{_esc(model)}</b>"), *controls.values()]))
        replace_children(self.own_box, sections)

    def _own_changed(self, model: str, name: str, default: Any) -> Callable[[Any], None]:
        def changed(change: Any) -> None:
            value = change["new"]
            values = self._own_values.setdefault(model, {})
            if value in (_UNSET, None, "") or value == default:
                values.pop(name, None)
            else:
                values[name] = value
            self._changed()

        return changed


class _FormulaBuilder(w.VBox):
    """The prompt formula (subject, environment, lighting, ...) as fields that fill the prompt."""

    def __init__(self, prompt: w.Textarea) -> None:
        self._prompt = prompt
        self.parts = {
            name: w.Text(description=name.replace("_", " ").capitalize())
            for name in PromptFormula.__dataclass_fields__
        }
        self.fill = w.Button(description="Fill prompt", tooltip="Write these parts into the prompt")
        self.fill.on_click(lambda _b: self.apply())
        toggle = w.Accordion([w.VBox([*self.parts.values(), self.fill])])
        toggle.set_title(0, "Prompt formula")
        toggle.selected_index = None
        super().__init__([toggle])

    def apply(self) -> None:
        """Compose the parts into the prompt box."""
        filled = {k: c.value.strip() for k, c in self.parts.items() if c.value.strip()}
        if filled:
            self._prompt.value = str(PromptFormula(**filled))


def resolve_name(name: str, choices: Sequence[tuple[str, str]]) -> str:
    """The picker's name for what a user typed (display name, kie id or alias)."""
    display = resolve(name).display_name
    names = {n for _, n in choices}
    if display in names:
        return display
    group = resolve(name).group
    if group in names:
        return group
    raise ValueError(f"models: {name!r} is not in the picker")


def _common_ratios(specs: Sequence[Any]) -> list[str]:
    """The aspect ratios every picked model accepts (all of them when only one model takes any)."""
    sets = [list(s.aspect_ratios) for s in specs if s.aspect_ratios]
    if not sets:
        return []
    common = [r for r in sets[0] if all(r in other for other in sets[1:])]
    return common


def _control_for(param: Mapping[str, Any], value: Any) -> w.ValueWidget | None:
    """A control for one wire field: enum → dropdown, bounded number → slider, bool → checkbox."""
    label = param["name"].replace("_", " ")
    tip = param.get("note") or param["name"]
    default = param.get("default")
    if param.get("choices"):
        options = [_UNSET, *[str(c) for c in param["choices"]]]
        current = str(value) if value is not None else _UNSET
        return w.Dropdown(
            options=options, value=current if current in options else _UNSET, description=label, tooltip=tip
        )
    kind = param["type"]
    if kind == "boolean":
        return w.Checkbox(value=bool(default if value is None else value), description=label, tooltip=tip)
    if (
        kind in ("integer", "number")
        and param.get("minimum") is not None
        and param.get("maximum") is not None
    ):
        cls = w.IntSlider if kind == "integer" else w.FloatSlider
        start = value if value is not None else (default if default is not None else param["minimum"])
        return cls(value=start, min=param["minimum"], max=param["maximum"], description=label, tooltip=tip)
    if kind in ("integer", "number"):
        cls2 = w.IntText if kind == "integer" else w.FloatText
        return cls2(value=value or default or 0, description=label, tooltip=tip)
    if kind == "string":
        return w.Text(value=str(value or ""), description=label, tooltip=tip)
    return None


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


__all__ = ["Form", "model_choices", "resolve_name"]
