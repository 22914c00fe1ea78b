"""Recraft background removal and upscaling, Topaz upscaling, Z-Image (kie-api.md §5.8)."""

from __future__ import annotations

from kie_widgets.catalog._build import choice, market, nsfw, prompt, url
from kie_widgets.catalog._schema import ModelSpec, Price

R_Z = ("1:1", "4:3", "3:4", "16:9", "9:16")


def models() -> list[ModelSpec]:
    """Recraft background removal and upscaling, Topaz upscaling, Z-Image."""
    return [
        market(
            "recraft/remove-background",
            "Recraft Remove Background",
            "remove-background",
            (url("image", 5.0, note="≤16 MP, longest side ≤4096 px, shortest ≥256 px"),),
            Price(1),
            aliases=("remove background", "remove-bg", "rembg", "background removal"),
            timeout=180.0,
        ),
        market(
            "recraft/crisp-upscale",
            "Recraft Crisp Upscale",
            "upscale",
            (url("image"),),
            Price(0.5),
            aliases=("crisp upscale",),
            timeout=300.0,
        ),
        market(
            "topaz/image-upscale",
            "Topaz Image Upscale",
            "upscale",
            (
                url("image_url"),
                choice(
                    "upscale_factor",
                    ("1", "2", "4"),
                    "2",
                    required=True,
                    note="docs enum 1/2/4 chosen over the marketing page's 1/2/4/8 (kie-api.md §5.8)",
                ),
            ),
            Price(
                10,
                tier_field="upscale_factor",
                tiers={"1": 10, "2": 10, "4": 20},
                label="10 cr (≤2K output) / 20 cr (4K), estimated from upscale_factor",
                source="[PRICE] 10 (≤2K out) / 20 (4K) / 40 (8K): estimated from the factor, as the "
                "output size depends on the input ([ELI] 4 rejected as stale)",
            ),
            aliases=("topaz", "topaz upscale"),
            timeout=600.0,
        ),
        market(
            "z-image",
            "Z-Image",
            "text-to-image",
            (choice("aspect_ratio", R_Z, "1:1", required=True), prompt(1000), nsfw()),
            Price(0.8, source="[PRICE] 0.8 ([ELI] 3 rejected)"),
            aliases=("zimage",),
            timeout=180.0,
            notes=("no 'auto' aspect although the page text mentions it: the schema enum wins",),
        ),
    ]
