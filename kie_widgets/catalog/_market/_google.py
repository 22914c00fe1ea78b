"""Google: Imagen 4 and Nano Banana (kie-api.md §5.1, §5.2)."""

from __future__ import annotations

from typing import Any

from kie_widgets.catalog._build import choice, integer, market, nsfw, prompt, text, urls
from kie_widgets.catalog._market._shared import PNG_JPEG, RES_124
from kie_widgets.catalog._schema import ModelSpec, Price

R_IMAGEN = ("1:1", "16:9", "9:16", "3:4", "4:3", "auto")
R_NANO = ("1:1", "9:16", "16:9", "3:4", "4:3", "3:2", "2:3", "5:4", "4:5", "21:9", "auto")
R_NANO_PRO = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "auto")
R_NANO_2 = (
    "1:1",
    "2:3",
    "3:2",
    "1:4",
    "4:1",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "1:8",
    "8:1",
    "9:16",
    "16:9",
    "21:9",
    "auto",
)
R_NANO_2_LITE = (
    "1:1",
    "1:4",
    "1:8",
    "2:3",
    "3:2",
    "3:4",
    "4:1",
    "4:3",
    "4:5",
    "5:4",
    "8:1",
    "9:16",
    "16:9",
    "21:9",
    "auto",
)
PNG_JPG = ("png", "jpg")


def _nano_2(
    model_id: str, name: str, credits: tuple[float, float, float], source: str, **more: Any
) -> ModelSpec:
    """Nano Banana 2 and its successors that take the same body: priced per image by resolution."""
    return market(
        model_id,
        name,
        "text-to-image",
        (
            prompt(20000),
            choice("aspect_ratio", R_NANO_2, "auto"),
            urls("image_input", 14, 30.0, required=False),
            choice("output_format", PNG_JPG, "jpg"),
            choice("resolution", RES_124, "1K"),
        ),
        Price(
            credits[0], tier_field="resolution", tiers=dict(zip(RES_124, credits, strict=True)), source=source
        ),
        modes=("text-to-image", "edit", "reference"),
        input_required=True,
        timeout=420.0,
        **more,
    )


def models() -> list[ModelSpec]:
    """Google: Imagen 4 and Nano Banana (1, Pro, 2, 2.1, 2 Lite)."""
    seed_str = text("seed", 500)
    seed_note = (
        "seed: a string ≤500 chars on imagen4/ultra but an integer on imagen4-fast "
        "([SNAP] inconsistency); plan() converts the unified integer seed for each model"
    )
    nano_note = "image_size is the older name of aspect_ratio; both listed by [SNAP], we send aspect_ratio"
    nano_common = (prompt(5000), choice("aspect_ratio", R_NANO, "1:1"), choice("image_size", R_NANO, "1:1"))
    nano_format = choice("output_format", PNG_JPEG, "png")
    return [
        # Imagen 4 (kie-api.md §5.1)
        market(
            "google/imagen4",
            "Imagen 4",
            "text-to-image",
            (prompt(5000), choice("aspect_ratio", R_IMAGEN, "1:1"), text("negative_prompt", 5000), seed_str),
            Price(8),
            aliases=("Google Imagen 4", "Imagen", "imagen4"),
            notes=(seed_note,),
        ),
        market(
            "google/imagen4-fast",
            "Imagen 4 Fast",
            "text-to-image",
            (
                prompt(5000),
                choice("aspect_ratio", R_IMAGEN, "16:9"),
                text("negative_prompt", 5000),
                integer("seed"),
            ),
            Price(4),
            aliases=("imagen4-fast",),
            timeout=180.0,
            notes=(seed_note,),
        ),
        market(
            "google/imagen4-ultra",
            "Imagen 4 Ultra",
            "text-to-image",
            (prompt(5000), choice("aspect_ratio", R_IMAGEN, "1:1"), text("negative_prompt", 5000), seed_str),
            Price(12),
            aliases=("imagen4-ultra",),
            timeout=420.0,
            notes=(seed_note,),
        ),
        # Nano Banana (§5.2)
        market(
            "google/nano-banana",
            "Nano Banana",
            "text-to-image",
            (*nano_common, nsfw(), nano_format),
            Price(4),
            group="Nano Banana",
            role="t2i",
            aliases=("nano-banana", "Gemini Image"),
            notes=(nano_note,),
        ),
        market(
            "google/nano-banana-edit",
            "Nano Banana Edit",
            "edit",
            (urls("image_urls", 10), *nano_common, nano_format),
            Price(4),
            group="Nano Banana",
            role="edit",
            notes=(nano_note,),
        ),
        market(
            "nano-banana-pro",
            "Nano Banana Pro",
            "text-to-image",
            (
                prompt(10000),
                choice("aspect_ratio", R_NANO_PRO, "1:1"),
                urls("image_input", 8, 30.0, required=False),
                choice("output_format", PNG_JPG, "png"),
                choice("resolution", RES_124, "1K"),
            ),
            Price(
                18,
                tier_field="resolution",
                tiers={"1K": 18, "2K": 18, "4K": 24},
                source="[PRICE] 18 (1K/2K) / 24 (4K) ([ELI] flat 24 rejected)",
            ),
            modes=("text-to-image", "edit", "reference"),
            timeout=420.0,
            notes=("id has no 'google/' prefix (felores CHANGELOG: google/nano-banana-pro -> 422)",),
        ),
        _nano_2(
            "nano-banana-2",
            "Nano Banana 2",
            (8, 12, 18),
            "[PRICE] 8/12/18 by resolution ([ELI] flat 4 rejected)",
        ),
        _nano_2(
            "nano-banana-2-1",
            "Nano Banana 2.1",
            (4, 6, 9),
            "one peer's kie measurement: US$0.02 at 1K, 0.03 (2K) and 0.045 (4K) as listed "
            "— 4/6/9 cr, half Nano Banana 2's price (UNSURE: no pricingDesc captured)",
            aliases=("nano-banana-2.1", "Nano Banana 2 1"),
            age="new",
            notes=(
                "schema: Nano Banana 2's body under a new id, per two peers (a changelog and an MCP tool "
                "description); kie's own page was not in the searchable corpora — UNSURE",
            ),
        ),
        market(
            "nano-banana-2-lite",
            "Nano Banana 2 Lite",
            "text-to-image",
            (
                choice("aspect_ratio", R_NANO_2_LITE, "auto", required=True),
                prompt(20000),
                urls("image_urls", 10, 30.0, required=False, default=[]),
            ),
            Price(4),
            modes=("text-to-image", "edit", "reference"),
            input_required=True,
            timeout=240.0,
        ),
    ]
