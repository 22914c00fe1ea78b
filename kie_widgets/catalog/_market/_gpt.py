"""GPT Image 1.5 and GPT Image 2 (kie-api.md §5.9)."""

from __future__ import annotations

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


def models() -> list[ModelSpec]:
    """GPT Image 1.5 and GPT Image 2."""
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
    ]
