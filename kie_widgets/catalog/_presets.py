"""Negative-prompt presets (named term lists that combine) and the structured prompt formula."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType

# The term lists are the skill document's (facts, kept exactly); they are grouped by what they guard.
NEGATIVE_PRESETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "universal": (
            "blurry",
            "pixelated",
            "low resolution",
            "grainy",
            "distorted",
            "watermark",
            "text",
            "logo",
            "signature",
            "compression artifacts",
            "jpeg artifacts",
        ),
        "human figures": (
            "extra digits",
            "extra arms",
            "extra hands",
            "fused fingers",
            "malformed limbs",
            "mutated hands",
            "deformed face",
            "asymmetric eyes",
            "cross-eyed",
            "extra limbs",
        ),
        "photorealism": (
            "cartoon",
            "illustration",
            "drawing",
            "painting",
            "CGI",
            "3D render",
            "anime",
            "sketch",
            "digital art",
            "flat colors",
        ),
    }
)
"""Named negative-prompt term lists; combine them with ``combine_presets``."""

_PRESET_ALIASES = {
    "human": "human figures",
    "humans": "human figures",
    "people": "human figures",
    "anatomy": "human figures",
    "photo": "photorealism",
    "photoreal": "photorealism",
    "realism": "photorealism",
    "default": "universal",
    "base": "universal",
}


def preset_terms(names: str | Iterable[str]) -> list[str]:
    """The terms of one or more presets, in order, without duplicates (``KeyError`` for unknown names)."""
    wanted = [names] if isinstance(names, str) else list(names)
    out: list[str] = []
    for raw in wanted:
        key = raw.strip().lower().replace("_", " ").replace("-", " ")
        key = _PRESET_ALIASES.get(key, key)
        if key not in NEGATIVE_PRESETS:
            raise KeyError(f"unknown negative preset {raw!r}; choose from {', '.join(NEGATIVE_PRESETS)}")
        for term in NEGATIVE_PRESETS[key]:
            if term not in out:
                out.append(term)
    return out


def combine_presets(names: str | Iterable[str]) -> str:
    """One comma-separated negative prompt from one or more presets, e.g. ``("universal", "human")``."""
    return ", ".join(preset_terms(names))


@dataclass
class PromptFormula:
    """A prompt built part by part: subject and action, environment, lighting, camera, style, palette, mood,
    quality. ``str(formula)`` (or ``.build()``) joins the filled parts in that order."""

    subject: str = ""
    environment: str = ""
    lighting: str = ""
    camera: str = ""
    style: str = ""
    palette: str = ""
    mood: str = ""
    quality: str = ""

    #: Each part with a label and a short example, for forms that build prompts.
    PARTS = (
        ("subject", "Subject and action", "a lighthouse keeper climbing a spiral stair"),
        ("environment", "Environment", "inside a storm-battered tower on a rocky coast"),
        ("lighting", "Lighting", "warm lantern light against cold blue moonlight"),
        ("camera", "Camera", "low angle, 35mm lens, shallow depth of field"),
        ("style", "Style", "cinematic photograph"),
        ("palette", "Color palette", "deep teal and amber"),
        ("mood", "Mood", "tense, solitary"),
        ("quality", "Quality", "highly detailed, sharp focus"),
    )

    def build(self) -> str:
        """The prompt: the filled parts in formula order, joined by commas."""
        parts = [getattr(self, f.name).strip().rstrip(",.") for f in fields(self)]
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        return self.build()

    def missing(self) -> list[str]:
        """The parts still empty (useful for a hint next to a prompt form)."""
        return [f.name for f in fields(self) if not getattr(self, f.name).strip()]

    @property
    def word_count(self) -> int:
        """How many words the built prompt has (complex scenes do best with roughly 50–100)."""
        return len(self.build().split())

    @classmethod
    def from_mapping(cls, parts: Mapping[str, str]) -> PromptFormula:
        """A formula from a mapping of part name -> text (unknown keys raise ``TypeError``)."""
        return cls(**dict(parts))
