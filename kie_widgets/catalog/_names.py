"""Finding a model by the names people use, and by the wire request that addresses it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from kie_widgets.catalog._models import build_specs
from kie_widgets.catalog._schema import ENDPOINT_4O, ENDPOINT_FLUX, ENDPOINT_MARKET, ModelSpec
from kie_widgets.errors import KieModelNotFoundError

# Family names that are not any one model's display name.
_GROUP_ALIASES = {
    "Flux Kontext": "Flux Kontext Pro",
    "Kontext": "Flux Kontext Pro",
    "Kontext Pro": "Flux Kontext Pro",
    "Kontext Max": "Flux Kontext Max",
    "Flux-2": "Flux-2 Pro",
    "Flux 2": "Flux-2 Pro",
    "Seedream 5 Pro Edit": "Seedream 5 Pro",
}

# Names people try that are not image models on kie (or are spelled wrongly): the closest real ones.
_MISNAMED = {
    "Grok Imagine Upscale": ("Topaz Image Upscale", "Recraft Crisp Upscale"),  # kie's is a *video* upscaler
    "grok-imagine/upscale": ("Topaz Image Upscale", "Recraft Crisp Upscale"),
    "google/nano-banana-pro": ("Nano Banana Pro", "Nano Banana 2"),  # kie answers 422; the id has no prefix
    "qwen2/image-to-image": ("Qwen 2 Image Edit", "Qwen Image-to-Image"),  # never existed (n8n peer)
}

_ROLE_ORDER = {
    "mask": ("masked", "edit", "t2i", "only"),
    "image": ("edit", "only", "t2i", "masked"),
    "none": ("t2i", "only", "edit", "masked"),
}


def normalize(name: str) -> str:
    """Case- and punctuation-free key: ``'Seedream 4.5'`` and ``'seedream-4.5'`` -> ``'seedream45'``."""
    return re.sub(r"[^0-9a-z]+", "", name.lower())


class Registry:
    """Every spec, indexed by key, kie id, family group and every accepted name."""

    def __init__(self, specs: tuple[ModelSpec, ...]) -> None:
        self.specs = specs
        self.by_key = {s.key: s for s in specs}
        self.by_id: dict[str, list[ModelSpec]] = {}
        self.groups: dict[str, dict[str, ModelSpec]] = {}
        for s in specs:
            self.by_id.setdefault(s.id, []).append(s)
            self.groups.setdefault(s.group, {})[s.role] = s
        # normalized name -> ("group", group name) | ("spec", key); display: the name to suggest
        self.names: dict[str, tuple[str, str]] = {}
        self.shown: dict[str, str] = {}
        for group, members in self.groups.items():
            if len(members) > 1:
                self._add(group, ("group", group), group)
        for s in specs:
            multi = len(self.groups[s.group]) > 1
            named_as_group = s.role == "t2i" or s.display_name == s.group
            target = ("group", s.group) if multi and named_as_group else ("spec", s.key)
            self._add(s.display_name, target, s.display_name)
            for alias in s.aliases:
                self._add(alias, ("group", s.group) if multi else ("spec", s.key), s.display_name)
            if len(self.by_id[s.id]) > 1:
                self._add(s.id, ("group", s.group), s.display_name)
            else:
                self._add(s.id, ("spec", s.key), s.id)
        for alias, group in _GROUP_ALIASES.items():
            self._add(alias, ("group", group), group)
        # A provider-less id ("imagen4-fast") is a natural short alias, but only where it is unambiguous.
        tails: dict[str, list[ModelSpec]] = {}
        for s in specs:
            if "/" in s.id:
                tails.setdefault(normalize(s.id.split("/", 1)[1]), []).append(s)
        for tail, owners in tails.items():
            if len(owners) == 1 and tail not in self.names:
                self.names[tail] = ("spec", owners[0].key)

    def _add(self, name: str, target: tuple[str, str], shown: str) -> None:
        key = normalize(name)
        existing = self.names.get(key)
        if existing is not None and existing != target:
            # A kie id that reads like its family name ("ideogram/character") means the family.
            pair = {existing[0]: existing[1], target[0]: target[1]}
            if set(pair) == {"group", "spec"} and self.by_key[pair["spec"]].group == pair["group"]:
                self.names[key] = ("group", pair["group"])
                return
            raise ValueError(f"catalog name clash: {name!r} -> {existing} and {target}")
        self.names[key] = target
        self.shown.setdefault(key, shown)

    def lookup(self, name: str, *, has_image: bool, has_mask: bool) -> ModelSpec | None:
        """The spec ``name`` denotes, choosing a family's variant from the inputs; None if unknown."""
        target = self.names.get(normalize(name))
        if target is None:
            return None
        kind, value = target
        if kind == "spec":
            return self.by_key[value]
        members = self.groups[value]
        order = _ROLE_ORDER["mask" if has_mask else "image" if has_image else "none"]
        for role in order:
            if role in members:
                return members[role]
        return next(iter(members.values()))

    def suggestions(self, name: str, n: int = 3) -> list[str]:
        """The ``n`` accepted names closest to ``name`` (display names, not raw keys)."""
        wanted = normalize(name)
        scored = sorted(
            self.shown,
            key=lambda k: (-difflib.SequenceMatcher(None, wanted, k).ratio(), k),
        )
        out: list[str] = []
        seen: set[tuple[str, str]] = set()
        for key in scored:
            target, shown = self.names[key], self.shown[key]
            if target in seen or shown in out:  # one suggestion per model, however many names it has
                continue
            seen.add(target)
            out.append(shown)
            if len(out) == n:
                break
        return out


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The process-wide catalog registry (built once, immutable)."""
    return Registry(build_specs())


def all_specs() -> tuple[ModelSpec, ...]:
    """Every model spec in the catalog (Flux Kontext once per mode)."""
    return registry().specs


def resolve(name: str | ModelSpec, *, has_image: bool = False, has_mask: bool = False) -> ModelSpec:
    """The model a user means: display names, kie ids and short aliases, any case or punctuation.

    A family name (``"Seedream 4.5"``, ``"Flux Kontext Max"``, ``"Ideogram"``) picks its edit variant
    when images (``has_image``) or a mask (``has_mask``) are given. Unknown names raise
    ``KieModelNotFoundError`` carrying the three closest names.
    """
    if isinstance(name, ModelSpec):
        return name
    if not isinstance(name, str) or not name.strip():
        raise KieModelNotFoundError(str(name), registry().suggestions(str(name)))
    reg = registry()
    spec = reg.lookup(name, has_image=has_image, has_mask=has_mask)
    if spec is not None:
        return spec
    for wrong, better in _MISNAMED.items():
        if normalize(wrong) == normalize(name):
            raise KieModelNotFoundError(name, list(better))
    raise KieModelNotFoundError(name, reg.suggestions(name))


def _path(endpoint: str) -> str:
    path = urlparse(endpoint).path if "://" in endpoint else endpoint.split("?", 1)[0]
    return "/" + path.strip("/")


def spec_for_request(endpoint: str, body: Mapping[str, Any]) -> ModelSpec:
    """The model a *wire* request addresses (used by the sandbox to validate and charge it).

    4o endpoint -> 4o Image; Flux endpoint -> Pro or Max (``body["model"]``, default Pro) in generate or
    edit mode (``inputImage`` present); ``createTask`` -> ``body["model"]`` exactly as kie matches it.
    """
    reg = registry()
    path = _path(endpoint)
    body = body if isinstance(body, Mapping) else {}
    if path == ENDPOINT_4O:
        return reg.by_key["gpt4o-image"]
    if path == ENDPOINT_FLUX:
        model = body.get("model", "flux-kontext-pro")
        if model not in ("flux-kontext-pro", "flux-kontext-max"):
            raise KieModelNotFoundError(str(model), ["flux-kontext-pro", "flux-kontext-max"])
        return reg.by_key[f"{model}#edit" if "inputImage" in body else model]
    if path == ENDPOINT_MARKET:
        model = body.get("model")
        candidates = reg.by_id.get(model) if isinstance(model, str) else None
        if not candidates or candidates[0].family != "market":
            ids = sorted(i for i, ss in reg.by_id.items() if ss[0].family == "market")
            close = difflib.get_close_matches(str(model), ids, n=3, cutoff=0.0)
            raise KieModelNotFoundError(str(model), close)
        return candidates[0]
    raise KieModelNotFoundError(endpoint, [ENDPOINT_4O, ENDPOINT_FLUX, ENDPOINT_MARKET])
