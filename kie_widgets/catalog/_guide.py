"""Model selection: ``recommend(need)`` ranks models for a job, each with a one-line reason.

The ranking follows the skill document's selection guide (its facts, our words), widened to the
Market models this catalog knows, with prices taken from the catalog itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kie_widgets.catalog._names import all_specs, resolve
from kie_widgets.errors import KieValidationError, Problem

# need -> (words that ask for it, ranked (model name, reason)).
_NEEDS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "general": (
        ("general", "best", "quality", "default", "anything", "all round", "all-round"),
        (
            (
                "4o Image",
                "Strong all-rounder: follows long, conversational prompts and handles many objects.",
            ),
            ("Flux Kontext Max", "Top-tier Flux: vivid, coherent scenes and native 16:9."),
            ("Imagen 4", "Google's flagship: crisp detail and reliable composition."),
            ("GPT Image 2.5 Sunburst", "OpenAI's newest premium tier: polished, detailed output up to 4K."),
        ),
    ),
    "text": (
        ("text", "typography", "lettering", "logo", "poster", "sign", "caption", "infographic", "words"),
        (
            ("4o Image", "The most dependable at spelling out words; quote the exact text in the prompt."),
            ("Ideogram", "Built around typography and graphic design layouts."),
            ("GPT Image 2.5 Flare", "OpenAI's newest model: legible text up to 4K, faster than GPT Image 2."),
            ("GPT Image 2", "OpenAI's previous model, also good at legible text, up to 4K."),
            ("Imagen 4", "Handles short text well (a few phrases, about 25 characters)."),
        ),
    ),
    "edit": (
        ("edit", "editing", "modify", "change", "retouch", "image to image", "img2img", "i2i"),
        (
            ("Flux Kontext Pro", "Surgical instruction edits that keep identity and context; cheap."),
            ("Flux Kontext Max", "Same edit style as Pro with higher fidelity."),
            (
                "GPT Image 2.5 Sunburst Image-to-Image",
                "Changes only what the instruction names and stays stable over repeated edits.",
            ),
            ("4o Image", "Edits from reference images, optionally with a mask; may shift colours."),
            ("Seedream 4.5 Edit", "Multi-reference edits (up to 14 images) with good prompt understanding."),
            ("Nano Banana Edit", "Fast, low-cost edits from up to 10 references."),
        ),
    ),
    "masked-edit": (
        ("mask", "masked", "inpaint", "inpainting", "region", "local edit"),
        (
            ("4o Image", "Takes a mask with one source image (black marks the area to change)."),
            ("Ideogram V3 Edit", "Mask-based inpainting in Ideogram's style (black marks the area)."),
            ("Ideogram Character Edit", "Inpainting that keeps a reference character consistent."),
            (
                "Grok Imagine Image 2.0 Segment Edit",
                "Edits chosen regions of a Grok segment map: no mask image to draw.",
            ),
        ),
    ),
    "fast": (
        ("fast", "cheap", "quick", "budget", "draft", "low cost", "inexpensive", "speed", "iterate"),
        (
            ("Z-Image", "Cheapest generator in the catalog, good for quick drafts."),
            ("Seedream 5.0 Flash", "Low flat price up to 2K with readable in-image text."),
            ("Nano Banana", "Fast and inexpensive, with many aspect ratios."),
            ("Flux Kontext Pro", "Quick, inexpensive and strong at edits."),
            ("Imagen 4 Fast", "Google quality at half the price of Imagen 4."),
        ),
    ),
    "photorealism": (
        ("photo", "photorealism", "photorealistic", "realistic", "realism", "photography", "product photo"),
        (
            ("Imagen 4", "Excellent fine detail (fabric, water, fur); answers camera terminology well."),
            ("Imagen 4 Ultra", "Imagen's highest-fidelity tier for hero shots."),
            ("Flux-2 Pro", "Sharp, natural-looking photographs at 1K or 2K."),
            ("Seedream 4.5", "Realistic output up to 4K from short prompts."),
        ),
    ),
    "upscale": (
        ("upscale", "upscaling", "enlarge", "super resolution", "higher resolution", "sharpen"),
        (
            ("Topaz Image Upscale", "Dedicated upscaler, 1×/2×/4× with detail recovery."),
            ("Recraft Crisp Upscale", "Very cheap crisp upscale for web-sized images."),
        ),
    ),
    "remove-background": (
        (
            "background removal",
            "remove background",
            "remove the background",
            "cutout",
            "transparent",
            "no background",
            "rembg",
        ),
        (("Recraft Remove Background", "One-click cut-out to a transparent PNG for 1 credit."),),
    ),
    "character": (
        ("character", "consistent", "consistency", "same person", "same face", "identity", "mascot"),
        (
            ("Ideogram Character", "Generates new scenes around one reference character."),
            ("Flux Kontext Pro", "Keeps a subject's identity through successive edits."),
            ("Nano Banana Pro", "Combines up to 8 references while keeping faces stable."),
        ),
    ),
    "reframe": (
        ("reframe", "outpaint", "outpainting", "extend", "expand canvas", "change aspect"),
        (
            ("Ideogram Reframe", "Extends an image to a new frame (older kie docs; may be retired)."),
            ("Flux Kontext Pro", "Edit mode with a new aspect ratio also widens the scene."),
        ),
    ),
    "widescreen": (
        ("16:9", "widescreen", "video frame", "cinematic", "banner", "youtube", "thumbnail"),
        (
            ("Flux Kontext Max", "Produces 16:9 (and 21:9) natively."),
            ("Imagen 4", "Offers 16:9 and 9:16 directly."),
            ("Seedream 4.5", "Offers 16:9 and 21:9 at 2K or 4K."),
        ),
    ),
    "high-resolution": (
        ("4k", "high resolution", "print", "large", "hi-res", "hires"),
        (
            ("Seedream 4.5", "4K output with quality='high'."),
            ("Nano Banana Pro", "Up to 4K with strong prompt following."),
            ("GPT Image 2", "Up to 4K (not for 1:1)."),
            ("Nano Banana 2.1", "Up to 4K like Nano Banana 2, at about half the price."),
        ),
    ),
    "layers": (
        ("layers", "layer", "decompose", "decomposition", "psd", "separate elements"),
        (
            ("Seedream 5 Pro Layer Decomposition", "Splits an image into editable layers."),
            (
                "Seedream 5.0 Flash Layer Decomposition",
                "The same split for less than half the price per layer.",
            ),
        ),
    ),
    "many": (
        ("many", "batch", "variations", "several", "multiple", "set of images", "series"),
        (
            ("Wan 2.7 Image", "Up to 4 images per request (12 in sequential mode)."),
            ("Seedream 4.0", "Up to 6 related images per request; say the count in the prompt."),
            ("Ideogram V3 Remix", "Up to 4 variations of one image per request."),
        ),
    ),
}


@dataclass(frozen=True)
class Recommendation:
    """One suggested model for a need: its name, kie id, why, and its price."""

    rank: int
    name: str
    model_id: str
    reason: str
    price: str
    need: str

    def __str__(self) -> str:
        return f"{self.rank}. {self.name} ({self.price}): {self.reason}"


def needs() -> tuple[str, ...]:
    """The needs ``recommend`` knows, e.g. 'text', 'edit', 'fast', 'photorealism', 'upscale'."""
    return tuple(_NEEDS)


def _matches(need_text: str) -> list[str]:
    text = " " + re.sub(r"[^0-9a-z:]+", " ", need_text.lower()) + " "
    found: list[str] = []
    for key, (words, _) in _NEEDS.items():
        key_words = (key, key.replace("-", " "))
        if any(f" {w} " in text or (len(w) > 4 and w in text) for w in (*key_words, *words)):
            found.append(key)
    return found


def recommend(need: str, *, limit: int = 5) -> list[Recommendation]:
    """Models ranked for a need in plain words ('text in the image', 'fast and cheap', 'upscaling', ...).

    Several needs in one phrase are combined: models that serve more of them rank first.
    Unknown needs raise ``KieValidationError`` listing the known ones.
    """
    keys = _matches(need) if isinstance(need, str) else []
    if not keys:
        raise KieValidationError(
            [Problem("need", "no model guidance for this need", need, ", ".join(_NEEDS))],
            hint="Describe the job, e.g. recommend('text in the image').",
        )
    score: dict[str, float] = {}
    reasons: dict[str, str] = {}
    first_need: dict[str, str] = {}
    for key in keys:
        ranked = _NEEDS[key][1]
        for i, (name, reason) in enumerate(ranked):
            score[name] = score.get(name, 0.0) + (len(ranked) - i) / len(ranked) + 1.0
            reasons.setdefault(name, reason)
            first_need.setdefault(name, key)
    order = sorted(score, key=lambda n: (-score[n], list(score).index(n)))
    out: list[Recommendation] = []
    for rank, name in enumerate(order[:limit], start=1):
        spec = resolve(name)
        out.append(
            Recommendation(
                rank, spec.display_name, spec.id, reasons[name], spec.pricing.describe(), first_need[name]
            )
        )
    return out


def default_model(mode: str) -> str:
    """The kie id to use for ``mode`` ('upscale', 'remove-background', ...) when the user names none.

    The guidance's first choice for that job, so a default never contradicts ``recommend``; a mode
    the guidance does not cover falls back to the catalog's first model of that mode.
    """
    candidates = [spec.id for spec in all_specs() if spec.mode == mode]
    try:
        ranked = [r.model_id for r in recommend(mode.replace("-", " "))]
    except KieValidationError:
        ranked = []
    for model_id in [*ranked, *candidates]:
        if model_id in candidates:
            return model_id
    raise KieValidationError(
        [Problem("model", f"the catalog has no {mode} model", mode)], hint="Pass a model explicitly."
    )


__all__ = ["Recommendation", "default_model", "needs", "recommend"]
