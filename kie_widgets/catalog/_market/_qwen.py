"""Qwen image models, v1 to 3 Pro (kie-api.md §5.6)."""

from __future__ import annotations

from dataclasses import replace

from kie_widgets.catalog._build import choice, flag, integer, market, nsfw, number, prompt, text, url, urls
from kie_widgets.catalog._market._shared import NUM_STR, PNG_JPEG, RES_12, SEED_MAX, SIZE_6
from kie_widgets.catalog._schema import ModelSpec, Price

R_QWEN2_T2I = ("1:1", "3:4", "4:3", "9:16", "16:9")
R_QWEN2_EDIT = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
R_QWEN3 = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
ACCEL = ("none", "regular", "high")
JPEG_PNG = ("jpeg", "png")
QWEN3_MIMES = ("image/bmp", "image/gif", "image/jpeg", "image/png", "image/tiff", "image/webp")

# Qwen (v1) text-to-image is priced per megapixel; these are the megapixels of each named size
# (square 512², square_hd 1024², 4:3 1024×768, 16:9 1024×576) times 4 credits.
_QWEN_MP = {
    "square": 0.262144,
    "square_hd": 1.048576,
    "portrait_4_3": 0.786432,
    "landscape_4_3": 0.786432,
    "portrait_16_9": 0.589824,
    "landscape_16_9": 0.589824,
}


def _per_mp(credits_per_mp: float) -> dict[str, float]:
    return {k: round(v * credits_per_mp, 2) for k, v in _QWEN_MP.items()}


def models() -> list[ModelSpec]:
    """Qwen image models, v1 to 3 Pro."""
    q_common = (choice("acceleration", ACCEL, "none"), flag("enable_safety_checker"))
    q3_common = (
        choice("image_size", R_QWEN3, "16:9"),
        text("negative_prompt", 5000, min_len=0),
        nsfw(False),
        choice("output_format", PNG_JPEG, "png"),
        flag("prompt_extend", True),
    )
    q3_seed = integer("seed", 0, SEED_MAX, 1)
    q3_refs = urls("image_urls", 3, min_items=1, mimes=QWEN3_MIMES)
    q3_price = Price(4.8, source="[ELI] 4.8 (not in the captured [PRICE] pages, UNSURE)")
    q3p = Price(
        6.4,
        tier_field="resolution",
        tiers={"1K": 6.4, "2K": 12.0},
        tier_default="1K",
        source="[PRICE] 6.4 (1K) / 12 (2K)",
    )
    return [
        market(
            "qwen/text-to-image",
            "Qwen",
            "text-to-image",
            (
                prompt(5000),
                *q_common,
                number("guidance_scale", 0, 20, 2.5),
                choice("image_size", SIZE_6, "square_hd"),
                text("negative_prompt", 500),
                nsfw(),
                number("num_inference_steps", 2, 250, 30),
                choice("output_format", PNG_JPEG, "png"),
                integer("seed"),
            ),
            Price(
                4.19,
                tier_field="image_size",
                tiers=_per_mp(4),
                label="4 cr/megapixel (4.19 at square_hd)",
                source="[PRICE] 4 cr per megapixel; tiers computed from each named size",
            ),
            group="Qwen",
            role="t2i",
            aliases=("qwen-image", "Qwen Image"),
        ),
        market(
            "qwen/image-to-image",
            "Qwen Image-to-Image",
            "edit",
            (
                url("image_url"),
                prompt(5000),
                *q_common,
                number("guidance_scale", 0, 20, 2.5),
                text("negative_prompt", 500),
                nsfw(),
                number("num_inference_steps", 2, 250, 30),
                choice("output_format", PNG_JPEG, "png"),
                integer("seed"),
                number("strength", 0, 1, 0.8),
            ),
            Price(4),
            aliases=("qwen-i2i",),
        ),
        market(
            "qwen/image-edit",
            "Qwen Image Edit",
            "edit",
            (
                url("image_url"),
                prompt(2000),
                *q_common,
                number("guidance_scale", 0, 20, 4),
                choice("image_size", SIZE_6, "landscape_4_3"),
                text("negative_prompt", 500),
                nsfw(),
                choice("num_images", NUM_STR),
                number("num_inference_steps", 2, 49, 25),
                choice("output_format", JPEG_PNG, "png"),
                integer("seed"),
                flag("sync_mode"),
            ),
            Price(
                6,
                tier_field="image_size",
                tiers=_per_mp(6),
                tier_default="landscape_4_3",
                label="≈6 cr/megapixel per image (4.72 at landscape_4_3)",
                source="[PRICE] ≈$0.03 (≈6 cr) per megapixel per image ([ELI] 3 rejected)",
            ),
            group="Qwen",
            role="edit",
            notes=("num_inference_steps: schema default 25 chosen over page text 30 (kie-api.md §5.6)",),
        ),
        market(
            "qwen2/text-to-image",
            "Qwen 2",
            "text-to-image",
            (
                prompt(800),
                choice("image_size", R_QWEN2_T2I, "16:9"),
                nsfw(),
                choice("output_format", JPEG_PNG, "png"),
                integer("seed"),
            ),
            Price(6, source="[PRICE] ≈$0.03 (≈6 cr) per image ([ELI] 3 rejected)"),
            group="Qwen 2",
            role="t2i",
            notes=(
                "the docs page enumerates the wrong model value (qwen2/image-edit); id qwen2/text-to-image "
                "from the executable example ([SNAP] docs_manifest)",
            ),
        ),
        market(
            "qwen2/image-edit",
            "Qwen 2 Image Edit",
            "edit",
            (
                url("image_url"),
                prompt(800),
                choice("image_size", R_QWEN2_EDIT, "16:9"),
                nsfw(),
                choice("output_format", JPEG_PNG, "png"),
                integer("seed"),
            ),
            Price(6, source="[PRICE] ≈$0.03 (≈6 cr) per image ([ELI] 3 rejected)"),
            group="Qwen 2",
            role="edit",
        ),
        market(
            "qwen3/text-to-image",
            "Qwen 3",
            "text-to-image",
            (prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12), q3_seed),
            q3_price,
            group="Qwen 3",
            role="t2i",
            input_required=True,
        ),
        market(
            "qwen3/image-to-image",
            "Qwen 3 Image-to-Image",
            "edit",
            (q3_refs, prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12, "1K"), q3_seed),
            q3_price,
            group="Qwen 3",
            role="edit",
            input_required=True,
        ),
        market(
            "qwen3/pro-text-to-image",
            "Qwen 3 Pro",
            "text-to-image",
            (prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12), q3_seed),
            q3p,
            group="Qwen 3 Pro",
            role="t2i",
            input_required=True,
            docs="https://docs.kie.ai/market/qwen3-pro/text-to-image.md",
        ),
        market(
            "qwen3/pro-image-to-image",
            "Qwen 3 Pro Image-to-Image",
            "edit",
            (q3_refs, prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12, "1K"), q3_seed),
            replace(
                q3p,
                per_extra_input=0.5,
                inputs_field="image_urls",
                free_inputs=0,
                source=(
                    "[PRICE] 6.4 (1K) / 12 (2K) + 0.5 per input image; unlike Seedream 5 Pro the text does "
                    "not say 'after the first', so every input is counted"
                ),
            ),
            group="Qwen 3 Pro",
            role="edit",
            input_required=True,
        ),
    ]
