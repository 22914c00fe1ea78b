"""GPT Image 1.5, 2 and 2.5 (kie-api.md §5.9; 2.5 from tests/catalog/fixtures/new_models.json)."""

from __future__ import annotations

from typing import Any

from kie_widgets.catalog import _rules as rules
from kie_widgets.catalog._build import choice, market, prompt, urls
from kie_widgets.catalog._market._shared import RES_124
from kie_widgets.catalog._schema import ModelSpec, Price

R_GPT15 = ("1:1", "2:3", "3:2")
R_GPT2 = (
    "auto",
    "1:1",
    "3:2",
    "2:3",
    "4:3",
    "3:4",
    "5:4",
    "4:5",
    "16:9",
    "9:16",
    "2:1",
    "1:2",
    "3:1",
    "1:3",
    "21:9",
    "9:21",
)
# GPT Image 2.5 drops 5:4, 4:5, 2:1, 1:2, 3:1, 1:3, 9:21 and adds 27:16, 16:27, 9:8, 8:9.
R_GPT25 = ("auto", "1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9", "27:16", "16:27", "9:8", "8:9")
_GPT25_DOCS = "https://docs.kie.ai/market/gpt/gpt-image-2-5-{tier}-{mode}.md"
_GPT25_DEFAULTS = (
    "aspect_ratio/resolution: kie's model page (kie.ai/gpt-image-2-5) says auto and 1K, the OpenAPI "
    "block declares no default — we send nothing when unset and price it as 1K (UNSURE)"
)


def _gpt25(tier: str, blurb: str, aliases: tuple[str, ...]) -> list[ModelSpec]:
    """One GPT Image 2.5 tier (Flare or Sunburst): text-to-image and image-to-image, one schema.

    Source: a transcription of docs.kie.ai market/gpt/gpt-image-2-5-*.md (see the fixture); no page of
    kie's own was in the searchable corpora, so every field here is marked UNSURE in the fixture.
    """
    name = f"GPT Image 2.5 {tier.title()}"
    price = Price(
        6,
        tier_field="resolution",
        tiers={"1K": 6, "2K": 10, "4K": 16},
        tier_default="1K",
        source="kie published 6/10/16 by resolution, both tiers alike (peer transcription and [ELI] "
        "pricing.mjs agree; [ELI] measured 6 at 1K) — UNSURE",
    )
    aspect = choice("aspect_ratio", R_GPT25, note=_GPT25_DEFAULTS)
    resolution = choice("resolution", RES_124, note=_GPT25_DEFAULTS)
    shared: dict[str, Any] = {
        "group": name,
        "input_required": True,
        "rules": (rules.gpt_image_25,),
        "timeout": 600.0,
        "age": "new",
        "notes": (blurb, _GPT25_DEFAULTS),
    }
    return [
        market(
            f"gpt-image-2-5-{tier}-text-to-image",
            name,
            "text-to-image",
            (prompt(20000, min_len=1), aspect, resolution),
            price,
            role="t2i",
            aliases=aliases,
            docs=_GPT25_DOCS.format(tier=tier, mode="text-to-image"),
            **shared,
        ),
        market(
            f"gpt-image-2-5-{tier}-image-to-image",
            f"{name} Image-to-Image",
            "edit",
            (
                prompt(None, note="no maxLength in the schema; its description says up to 20,000 characters"),
                urls("input_urls", 16, None, mimes=()),
                aspect,
                resolution,
            ),
            price,
            role="edit",
            docs=_GPT25_DOCS.format(tier=tier, mode="image-to-image"),
            **shared,
        ),
    ]


def models() -> list[ModelSpec]:
    """GPT Image 1.5, GPT Image 2 and GPT Image 2.5 (Flare and Sunburst)."""
    g15_quality = choice("quality", ("medium", "high"), "medium", required=True)
    g15 = Price(
        4,
        tier_field="quality",
        tiers={"medium": 4, "high": 22},
        source="[PRICE] 4 (medium) / 22 (high) ([ELI] 6 rejected)",
    )
    g2 = Price(
        6,
        tier_field="resolution",
        tiers={"1K": 6, "2K": 10, "4K": 16},
        tier_default="1K",
        source="[PRICE] 6/10/16 by resolution ([ELI] 8 rejected); omitted resolution priced as 1K",
    )
    return [
        market(
            "gpt-image/1.5-text-to-image",
            "GPT Image 1.5",
            "text-to-image",
            (
                choice("aspect_ratio", R_GPT15, "1:1", required=True),
                prompt(None),
                g15_quality,
            ),
            g15,
            group="GPT Image 1.5",
            role="t2i",
            aliases=("gpt-image-1.5",),
            timeout=600.0,
        ),
        market(
            "gpt-image/1.5-image-to-image",
            "GPT Image 1.5 Image-to-Image",
            "edit",
            (
                choice("aspect_ratio", R_GPT15, "3:2", required=True),
                urls("input_urls", 16),
                prompt(None),
                g15_quality,
            ),
            g15,
            group="GPT Image 1.5",
            role="edit",
            timeout=600.0,
        ),
        market(
            "gpt-image-2-text-to-image",
            "GPT Image 2",
            "text-to-image",
            (prompt(20000, min_len=1), choice("aspect_ratio", R_GPT2), choice("resolution", RES_124)),
            g2,
            group="GPT Image 2",
            role="t2i",
            aliases=("gpt-image-2", "GPT Image"),
            input_required=True,
            rules=(rules.gpt_image_2(image_to_image=False),),
            timeout=600.0,
            docs="https://docs.kie.ai/market/gpt/gpt-image-2-text-to-image.md",
        ),
        market(
            "gpt-image-2-image-to-image",
            "GPT Image 2 Image-to-Image",
            "edit",
            (
                urls("input_urls", 16, None, mimes=()),
                prompt(None),
                choice("aspect_ratio", R_GPT2),
                choice("resolution", RES_124),
            ),
            g2,
            group="GPT Image 2",
            role="edit",
            input_required=True,
            rules=(rules.gpt_image_2(image_to_image=True),),
            timeout=600.0,
        ),
        *_gpt25(
            "flare",
            "Flare: kie's default 2.5 tier, lower latency, for everyday and high-volume work",
            ("gpt-image-2.5", "GPT Image 2.5", "Flare", "gpt-image-2.5-flare"),
        ),
        *_gpt25(
            "sunburst",
            "Sunburst: the premium 2.5 tier, slower, tighter control and more polished output",
            ("Sunburst", "gpt-image-2.5-sunburst"),
        ),
    ]
