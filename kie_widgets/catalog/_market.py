"""The Market (``jobs/createTask``) image models as data: our own table, written from kie-api.md §5.

Conventions: ``note=`` on a field and ``notes=`` on a model record where sources disagree — the
choice made and where it comes from. Prices are credits (1 credit ≈ US$0.005) from kie's own
``pricingDesc`` texts ([PRICE], kie-api.md §7) unless the price's ``source`` says otherwise.
"""

from __future__ import annotations

from kie_widgets.catalog import _rules as rules
from kie_widgets.catalog._build import (
    choice,
    flag,
    integer,
    market,
    nsfw,
    number,
    prompt,
    text,
    url,
    urls,
)
from kie_widgets.catalog._schema import Field, ModelSpec, Price

# ------------------------------------------------------------------ shared enums
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
R_SEEDREAM = ("1:1", "4:3", "3:4", "16:9", "9:16", "2:3", "3:2", "21:9")
R_GROK = ("2:3", "3:2", "1:1", "16:9", "9:16")
R_GROK_2 = ("1:1", "2:3", "3:2", "16:9", "9:16")
R_FLUX2 = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3")
R_QWEN2_T2I = ("1:1", "3:4", "4:3", "9:16", "16:9")
R_QWEN2_EDIT = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")
R_QWEN3 = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
R_Z = ("1:1", "4:3", "3:4", "16:9", "9:16")
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
R_WAN = ("1:1", "16:9", "4:3", "21:9", "3:4", "9:16", "8:1", "1:8")
SIZE_6 = ("square", "square_hd", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
SIZE_9 = (
    "square",
    "square_hd",
    "portrait_4_3",
    "portrait_3_2",
    "portrait_16_9",
    "landscape_4_3",
    "landscape_3_2",
    "landscape_16_9",
    "landscape_21_9",
)
RES_12 = ("1K", "2K")
RES_124 = ("1K", "2K", "4K")
SPEED = ("TURBO", "BALANCED", "QUALITY")
STYLE_V3 = ("AUTO", "GENERAL", "REALISTIC", "DESIGN")
STYLE_CHAR = ("AUTO", "REALISTIC", "FICTION")
NUM_STR = ("1", "2", "3", "4")
ACCEL = ("none", "regular", "high")
PNG_JPEG = ("png", "jpeg")
JPEG_PNG = ("jpeg", "png")
PNG_JPG = ("png", "jpg")
QWEN3_MIMES = ("image/bmp", "image/gif", "image/jpeg", "image/png", "image/tiff", "image/webp")
SEED_MAX = 2147483647

MASK_BLACK_EDITS = "black = area to change, white = keep"

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


def _ideogram_price(tiers: tuple[float, float, float], source: str) -> Price:
    return Price(
        tiers[1],
        tier_field="rendering_speed",
        tiers=dict(zip(SPEED, tiers, strict=True)),
        tier_default="BALANCED",
        source=source,
    )


V3_PRICE = "[PRICE] ideogram v3 3.5/7/10 by rendering speed ([ELI] flat 5 rejected)"
CHAR_PRICE = "[PRICE] ideogram character 12/18/24 by rendering speed ([ELI] flat 5 rejected)"


# ---------------------------------------------------------------- Market table
def market_models() -> list[ModelSpec]:
    """Every Market image model, grouped by provider (kie-api.md §5.1–§5.10)."""
    m: list[ModelSpec] = []
    add = m.append

    # Google Imagen 4 (kie-api.md §5.1) -------------------------------------------------
    seed_str = text("seed", 500)
    seed_note = (
        "seed: a string ≤500 chars on imagen4/ultra but an integer on imagen4-fast "
        "([SNAP] inconsistency); plan() converts the unified integer seed for each model"
    )
    add(
        market(
            "google/imagen4",
            "Imagen 4",
            "text-to-image",
            (prompt(5000), choice("aspect_ratio", R_IMAGEN, "1:1"), text("negative_prompt", 5000), seed_str),
            Price(8),
            aliases=("Google Imagen 4", "Imagen", "imagen4"),
            notes=(seed_note,),
        )
    )
    add(
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
        )
    )
    add(
        market(
            "google/imagen4-ultra",
            "Imagen 4 Ultra",
            "text-to-image",
            (prompt(5000), choice("aspect_ratio", R_IMAGEN, "1:1"), text("negative_prompt", 5000), seed_str),
            Price(12),
            aliases=("imagen4-ultra",),
            timeout=420.0,
            notes=(seed_note,),
        )
    )

    # Nano Banana (§5.2) ---------------------------------------------------------------
    nano_note = "image_size is the older name of aspect_ratio; both listed by [SNAP], we send aspect_ratio"
    add(
        market(
            "google/nano-banana",
            "Nano Banana",
            "text-to-image",
            (
                prompt(5000),
                choice("aspect_ratio", R_NANO, "1:1"),
                choice("image_size", R_NANO, "1:1"),
                nsfw(),
                choice("output_format", PNG_JPEG, "png"),
            ),
            Price(4),
            group="Nano Banana",
            role="t2i",
            aliases=("nano-banana", "Gemini Image"),
            notes=(nano_note,),
        )
    )
    add(
        market(
            "google/nano-banana-edit",
            "Nano Banana Edit",
            "edit",
            (
                urls("image_urls", 10),
                prompt(5000),
                choice("aspect_ratio", R_NANO, "1:1"),
                choice("image_size", R_NANO, "1:1"),
                choice("output_format", PNG_JPEG, "png"),
            ),
            Price(4),
            group="Nano Banana",
            role="edit",
            notes=(nano_note,),
        )
    )
    add(
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
        )
    )
    add(
        market(
            "nano-banana-2",
            "Nano Banana 2",
            "text-to-image",
            (
                prompt(20000),
                choice("aspect_ratio", R_NANO_2, "auto"),
                urls("image_input", 14, 30.0, required=False),
                choice("output_format", PNG_JPG, "jpg"),
                choice("resolution", RES_124, "1K"),
            ),
            Price(
                8,
                tier_field="resolution",
                tiers={"1K": 8, "2K": 12, "4K": 18},
                source="[PRICE] 8/12/18 by resolution ([ELI] flat 4 rejected)",
            ),
            modes=("text-to-image", "edit", "reference"),
            input_required=True,
            timeout=420.0,
        )
    )
    add(
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
        )
    )

    # Seedream (§5.3) ------------------------------------------------------------------
    add(
        market(
            "bytedance/seedream",
            "Seedream 3.0",
            "text-to-image",
            (
                prompt(5000),
                number("guidance_scale", 1, 10, 2.5),
                choice("image_size", SIZE_6, "square_hd"),
                integer("seed"),
            ),
            Price(3.5),
            aliases=("Seedream 3", "seedream-3"),
            timeout=240.0,
        )
    )
    v4_count = (
        "max_images caps the set size; the prompt must also state the count; price is per image "
        "returned and estimates assume max_images (kie-api.md §5.3)"
    )
    v4_common = (
        choice("image_resolution", RES_124, "1K"),
        choice("image_size", SIZE_9, "square_hd"),
        number("max_images", 1, 6, 1),
        nsfw(),
        integer("seed"),
    )
    add(
        market(
            "bytedance/seedream-v4-text-to-image",
            "Seedream 4.0",
            "text-to-image",
            (prompt(5000), *v4_common),
            Price(5, source="[PRICE] 5 per returned image"),
            group="Seedream 4.0",
            role="t2i",
            aliases=("Seedream 4", "seedream-v4"),
            timeout=420.0,
            notes=(v4_count,),
        )
    )
    add(
        market(
            "bytedance/seedream-v4-edit",
            "Seedream 4.0 Edit",
            "edit",
            (urls("image_urls", 10), prompt(5000), *v4_common),
            Price(5, source="[PRICE] 5 per returned image ([ELI] 3.5 rejected)"),
            group="Seedream 4.0",
            role="edit",
            aliases=("Seedream 4 Edit",),
            timeout=420.0,
            notes=(v4_count, "price: [PRICE] 5 chosen over [ELI] 3.5"),
        )
    )
    q45 = {"2K": "basic", "4K": "high"}
    p45 = Price(6.5, source="[PRICE] 6.5 ([ELI] 5 rejected)")
    add(
        market(
            "seedream/4.5-text-to-image",
            "Seedream 4.5",
            "text-to-image",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                prompt(3000),
                choice("quality", ("basic", "high"), "basic", required=True, note="basic = 2K, high = 4K"),
                nsfw(),
            ),
            p45,
            group="Seedream 4.5",
            role="t2i",
            aliases=("seedream-4.5", "Seedream"),
            wire={"resolution": "quality"},
            value_aliases={"quality": q45},
            notes=("price: [PRICE] 6.5 chosen over [ELI] 5",),
        )
    )
    add(
        market(
            "seedream/4.5-edit",
            "Seedream 4.5 Edit",
            "edit",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                urls("image_urls", 14),
                prompt(3000),
                choice("quality", ("basic", "high"), "basic", required=True, note="basic = 2K, high = 4K"),
                nsfw(),
            ),
            p45,
            group="Seedream 4.5",
            role="edit",
            wire={"resolution": "quality"},
            value_aliases={"quality": q45},
            notes=("price: [PRICE] 6.5 chosen over [ELI] 5",),
        )
    )
    q5l = {"2K": "basic", "3K": "high", "4K": "ultra"}
    p5l = Price(5.5, source="[PRICE] 5.5 ([ELI] 5 rejected)")
    q5l_field = choice(
        "quality",
        ("basic", "high", "ultra"),
        "basic",
        required=True,
        note="basic = 2K, high = 3K, ultra = 4K",
    )
    add(
        market(
            "seedream/5-lite-text-to-image",
            "Seedream 5 Lite",
            "text-to-image",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                prompt(3000, min_len=3),
                q5l_field,
                nsfw(),
                choice("output_format", PNG_JPEG, "png"),
            ),
            p5l,
            group="Seedream 5 Lite",
            role="t2i",
            aliases=("Seedream 5",),
            wire={"resolution": "quality"},
            value_aliases={"quality": q5l},
        )
    )
    add(
        market(
            "seedream/5-lite-image-to-image",
            "Seedream 5 Lite Image-to-Image",
            "edit",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                urls("image_urls", 14),
                prompt(3000, min_len=3),
                q5l_field,
                nsfw(),
                choice("output_format", PNG_JPEG, "png"),
            ),
            p5l,
            group="Seedream 5 Lite",
            role="edit",
            wire={"resolution": "quality"},
            value_aliases={"quality": q5l},
            docs="https://docs.kie.ai/market/seedream-5-lite-image-to-image.md",
        )
    )
    q5p = {"1K": "basic", "2K": "high"}
    q5p_field = choice("quality", ("basic", "high"), "basic", required=True, note="basic = 1K, high = 2K")
    p5p_tiers = {"basic": 7.0, "high": 14.0}
    add(
        market(
            "seedream/5-pro-text-to-image",
            "Seedream 5 Pro",
            "text-to-image",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                prompt(5000, min_len=3),
                q5p_field,
                nsfw(),
                choice("output_format", PNG_JPEG, "png"),
            ),
            Price(7, tier_field="quality", tiers=p5p_tiers, source="[PRICE] 7 (1K) / 14 (2K)"),
            group="Seedream 5 Pro",
            role="t2i",
            wire={"resolution": "quality"},
            value_aliases={"quality": q5p},
            input_required=True,
        )
    )
    add(
        market(
            "seedream/5-pro-image-to-image",
            "Seedream 5 Pro Image-to-Image",
            "edit",
            (
                choice("aspect_ratio", R_SEEDREAM, "1:1", required=True),
                urls("image_urls", 10),
                prompt(5000, min_len=3),
                q5p_field,
                nsfw(),
                choice("output_format", PNG_JPEG, "png"),
            ),
            Price(
                7,
                tier_field="quality",
                tiers=p5p_tiers,
                per_extra_input=0.5,
                inputs_field="image_urls",
                source="[PRICE] 7 (1K) / 14 (2K) + 0.5 per input image after the first",
            ),
            group="Seedream 5 Pro",
            role="edit",
            wire={"resolution": "quality"},
            value_aliases={"quality": q5p},
            input_required=True,
        )
    )
    add(
        market(
            "seedream/5-pro-layer-decomposition",
            "Seedream 5 Pro Layer Decomposition",
            "layer-decomposition",
            (
                url(
                    "image_url",
                    30.0,
                    mimes=(),
                    note="≤30 MB, 262,144–36,000,000 pixels, aspect 1:16–16:1, no HEIC",
                ),
                choice(
                    "output_format", PNG_JPEG, "jpeg", note="applies to the base image; layers are always PNG"
                ),
                prompt(5000, required=False, min_len=0, note="may carry <bbox>x1 y1 x2 y2</bbox> (0–1000)"),
                choice("size", ("auto", "1K", "1.5K", "2K"), "auto"),
            ),
            Price(
                7,
                source="no published price; assumed equal to Seedream 5 Pro 1K (7 cr), billed per output "
                "layer per [ELI] — we estimate one unit",
            ),
            aliases=("Seedream Layers", "layer decomposition"),
            wire={"resolution": "size", "aspect_ratio": None},
            input_required=True,
            timeout=600.0,
            notes=("layer count is decided by kie; outputs() counts 1 (the base image) for estimates",),
        )
    )

    # Grok Imagine (§5.4) --------------------------------------------------------------
    add(
        market(
            "grok-imagine/text-to-image",
            "Grok Imagine",
            "text-to-image",
            (
                prompt(None, note="≤5000 chars per the page text; not in the schema"),
                choice("aspect_ratio", R_GROK),
                flag("enable_pro"),
                nsfw(),
            ),
            Price(
                4,
                per="request",
                tier_field="enable_pro",
                tiers={"false": 4, "true": 5},
                tier_default="false",
                source="[PRICE] 4 (speed) / 5 (quality, enable_pro) per generation of 2 images",
            ),
            group="Grok Imagine",
            role="t2i",
            aliases=("grok", "grok-imagine", "xAI Grok Imagine"),
            fixed_outputs=2,
            input_required=True,
            notes=(
                "outputs: [PRICE] says 2 images per generation; a peer implies up to 6 (UNSURE) — we use 2",
            ),
        )
    )
    add(
        market(
            "grok-imagine/image-to-image",
            "Grok Imagine Image-to-Image",
            "edit",
            (
                urls(
                    "image_urls",
                    5,
                    note="schema maxItems 5 chosen over the page text 'up to 1' (kie-api.md §5.4)",
                ),
                nsfw(),
                prompt(390000, required=False, note="refer to references as @image1, @image2 ..."),
            ),
            Price(4),
            group="Grok Imagine",
            role="edit",
            notes=("image_urls: schema maxItems 5 chosen over description 'up to 1' ([SNAP] conflict)",),
        )
    )
    add(
        market(
            "grok-imagine-image-2-0/text-to-image",
            "Grok Imagine Image 2.0",
            "text-to-image",
            (choice("aspect_ratio", R_GROK_2, required=True), prompt(None)),
            Price(4, source="[ELI] 4 (no [PRICE] text captured)"),
            aliases=("Grok Imagine 2", "grok 2", "grok-imagine-2"),
            input_required=True,
            notes=("aspect_ratio is required without a documented default; plan() sends '1:1'",),
        )
    )
    add(
        market(
            "grok-imagine-image-2-0/image-edit",
            "Grok Imagine Image 2.0 Edit",
            "masked-edit",
            (
                prompt(None),
                text("task_id", required=True),
                Field("mask_indexs", "array", min_items=1, item_type="integer"),
            ),
            Price(4, source="[ELI] 4 (no [PRICE] text captured)"),
            aliases=("Grok Imagine 2 Edit",),
            input_required=True,
            notes=(
                "[SNAP] schema (task_id + mask_indexs) kept; a peer reports the live API moved region edits "
                "to segment-edit and made image-edit take image_urls — UNSURE (kie-api.md §5.4)",
            ),
        )
    )
    add(
        market(
            "grok-imagine-image-2-0/segment-map",
            "Grok Imagine Image 2.0 Segment Map",
            "segment-map",
            (),
            Price(0, source="[ELI] free"),
            aliases=("Grok Segment Map",),
            input_required=True,
            notes=("no input fields published in [SNAP]; accepted as an empty input",),
        )
    )

    # Flux-2 (§5.5) --------------------------------------------------------------------
    f2_prompt = prompt(
        5000, min_len=3, note="3–5000 chars per the page text; [SNAP] schema has only maxLength"
    )
    f2_refs = urls(
        "input_urls", 8, min_items=1, note="1–8 references per the page text; schema has only maxItems"
    )
    f2_res = choice("resolution", RES_12, "1K", required=True)
    for tier, display, t2i_price, src in (
        ("pro", "Flux-2 Pro", {"1K": 5, "2K": 7}, "[PRICE] 5 (1K) / 7 (2K)"),
        ("flex", "Flux-2 Flex", {"1K": 14, "2K": 24}, "[PRICE] 14 (1K) / 24 (2K) ([ELI] flat 4 rejected)"),
    ):
        price = Price(t2i_price["1K"], tier_field="resolution", tiers=t2i_price, source=src)
        add(
            market(
                f"flux-2/{tier}-text-to-image",
                display,
                "text-to-image",
                (choice("aspect_ratio", R_FLUX2, "1:1", required=True), f2_prompt, f2_res, nsfw()),
                price,
                group=display,
                role="t2i",
                aliases=(f"flux2-{tier}", f"Flux 2 {tier}"),
            )
        )
        add(
            market(
                f"flux-2/{tier}-image-to-image",
                f"{display} Image-to-Image",
                "edit",
                (
                    choice("aspect_ratio", (*R_FLUX2, "auto"), "1:1", required=True),
                    f2_refs,
                    f2_prompt,
                    f2_res,
                    nsfw(),
                ),
                price,
                group=display,
                role="edit",
            )
        )

    # Qwen (§5.6) ----------------------------------------------------------------------
    q_common = (choice("acceleration", ACCEL, "none"), flag("enable_safety_checker"))
    add(
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
        )
    )
    add(
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
        )
    )
    add(
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
        )
    )
    add(
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
        )
    )
    add(
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
        )
    )
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
    add(
        market(
            "qwen3/text-to-image",
            "Qwen 3",
            "text-to-image",
            (prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12), q3_seed),
            q3_price,
            group="Qwen 3",
            role="t2i",
            input_required=True,
        )
    )
    add(
        market(
            "qwen3/image-to-image",
            "Qwen 3 Image-to-Image",
            "edit",
            (q3_refs, prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12, "1K"), q3_seed),
            q3_price,
            group="Qwen 3",
            role="edit",
            input_required=True,
        )
    )
    q3p_tiers = {"1K": 6.4, "2K": 12.0}
    add(
        market(
            "qwen3/pro-text-to-image",
            "Qwen 3 Pro",
            "text-to-image",
            (prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12), q3_seed),
            Price(
                6.4,
                tier_field="resolution",
                tiers=q3p_tiers,
                tier_default="1K",
                source="[PRICE] 6.4 (1K) / 12 (2K)",
            ),
            group="Qwen 3 Pro",
            role="t2i",
            input_required=True,
            docs="https://docs.kie.ai/market/qwen3-pro/text-to-image.md",
        )
    )
    add(
        market(
            "qwen3/pro-image-to-image",
            "Qwen 3 Pro Image-to-Image",
            "edit",
            (q3_refs, prompt(5000, min_len=0), *q3_common, choice("resolution", RES_12, "1K"), q3_seed),
            Price(
                6.4,
                tier_field="resolution",
                tiers=q3p_tiers,
                tier_default="1K",
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
        )
    )

    # Ideogram (§5.7) ------------------------------------------------------------------
    seed_i = integer("seed")
    add(
        market(
            "ideogram/v3-text-to-image",
            "Ideogram",
            "text-to-image",
            (
                prompt(5000),
                flag("expand_prompt"),
                choice("image_size", SIZE_6),
                text("negative_prompt", 5000),
                choice("rendering_speed", SPEED),
                seed_i,
                choice("style", STYLE_V3),
            ),
            _ideogram_price((3.5, 7, 10), V3_PRICE),
            group="Ideogram",
            role="t2i",
            aliases=("Ideogram V3", "Ideogram 3", "ideogram-v3"),
            input_required=True,
        )
    )
    add(
        market(
            "ideogram/v3-edit",
            "Ideogram V3 Edit",
            "masked-edit",
            (
                url("image_url"),
                url("mask_url"),
                prompt(5000),
                flag("expand_prompt", True),
                choice("rendering_speed", SPEED, "BALANCED"),
                seed_i,
            ),
            _ideogram_price((3.5, 7, 10), V3_PRICE),
            group="Ideogram",
            role="masked",
            input_required=True,
            mask_convention=MASK_BLACK_EDITS + " (Ideogram 3.0 inpaint docs); same size as the image",
            notes=("image_url and mask_url must have identical dimensions (not checkable without decoding)",),
        )
    )
    add(
        market(
            "ideogram/v3-remix",
            "Ideogram V3 Remix",
            "edit",
            (
                url("image_url"),
                prompt(5000),
                flag("expand_prompt"),
                choice("image_size", SIZE_6),
                text("negative_prompt", 5000),
                choice("num_images", NUM_STR),
                choice("rendering_speed", SPEED),
                seed_i,
                number("strength", 0.01, 1),
                choice("style", STYLE_V3),
            ),
            _ideogram_price((3.5, 7, 10), "no published remix price; assumed equal to v3 3.5/7/10 [PRICE]"),
            group="Ideogram",
            role="edit",
            input_required=True,
        )
    )
    char_common = (flag("expand_prompt"),)
    add(
        market(
            "ideogram/character",
            "Ideogram Character",
            "reference",
            (
                prompt(5000),
                urls("reference_image_urls", None, note="only the first reference is used"),
                *char_common,
                choice("image_size", SIZE_6, "square_hd"),
                text("negative_prompt", 5000),
                choice("num_images", NUM_STR, "1"),
                choice("rendering_speed", SPEED, "BALANCED"),
                seed_i,
                choice("style", STYLE_CHAR, "AUTO"),
            ),
            _ideogram_price((12, 18, 24), CHAR_PRICE),
            group="Ideogram Character",
            role="t2i",
            aliases=("ideogram-character",),
        )
    )
    add(
        market(
            "ideogram/character-edit",
            "Ideogram Character Edit",
            "masked-edit",
            (
                url("image_url"),
                url("mask_url"),
                prompt(5000),
                urls("reference_image_urls", None),
                *char_common,
                choice("num_images", NUM_STR, "1"),
                choice("rendering_speed", SPEED, "BALANCED"),
                seed_i,
                choice("style", STYLE_CHAR, "AUTO"),
            ),
            _ideogram_price((12, 18, 24), CHAR_PRICE),
            group="Ideogram Character",
            role="masked",
            mask_convention=MASK_BLACK_EDITS + " (Ideogram 3.0 inpaint docs); same size as the image",
        )
    )
    add(
        market(
            "ideogram/character-remix",
            "Ideogram Character Remix",
            "reference",
            (
                url("image_url"),
                prompt(5000),
                urls("reference_image_urls", None),
                *char_common,
                choice("image_size", SIZE_6, "square_hd"),
                urls("image_urls", None, required=False),
                text("negative_prompt", 500),
                choice("num_images", NUM_STR, "1"),
                url("reference_mask_urls", required=False),
                choice("rendering_speed", SPEED, "BALANCED"),
                seed_i,
                number("strength", 0.1, 1, 0.8),
                choice("style", STYLE_CHAR, "AUTO"),
            ),
            _ideogram_price((12, 18, 24), CHAR_PRICE),
            modes=("reference", "edit"),
        )
    )
    add(
        market(
            "ideogram/v3-reframe",
            "Ideogram Reframe",
            "reframe",
            (
                url("image_url"),
                choice("image_size", SIZE_6, "square_hd", required=True),
                choice("rendering_speed", SPEED, "BALANCED"),
                choice("style", STYLE_V3, "AUTO"),
                choice("num_images", NUM_STR, "1"),
                number("seed", default=0),
            ),
            _ideogram_price((3.5, 7, 10), "no published reframe price; assumed equal to v3 3.5/7/10 [PRICE]"),
            aliases=("Ideogram V3 Reframe", "reframe"),
            unsure=True,
            notes=("not in [SNAP]; from older docs [FEL] — may be retired (kie-api.md §5.7)",),
        )
    )

    # Recraft, Topaz, Z-Image (§5.8) ---------------------------------------------------
    add(
        market(
            "recraft/remove-background",
            "Recraft Remove Background",
            "remove-background",
            (url("image", 5.0, note="≤16 MP, longest side ≤4096 px, shortest ≥256 px"),),
            Price(1),
            aliases=("remove background", "remove-bg", "rembg", "background removal"),
            timeout=180.0,
        )
    )
    add(
        market(
            "recraft/crisp-upscale",
            "Recraft Crisp Upscale",
            "upscale",
            (url("image"),),
            Price(0.5),
            aliases=("crisp upscale",),
            timeout=300.0,
        )
    )
    add(
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
        )
    )
    add(
        market(
            "z-image",
            "Z-Image",
            "text-to-image",
            (choice("aspect_ratio", R_Z, "1:1", required=True), prompt(1000), nsfw()),
            Price(0.8, source="[PRICE] 0.8 ([ELI] 3 rejected)"),
            aliases=("zimage",),
            timeout=180.0,
            notes=("no 'auto' aspect although the page text mentions it: the schema enum wins",),
        )
    )

    # GPT Image (§5.9) -----------------------------------------------------------------
    g15 = Price(
        4,
        tier_field="quality",
        tiers={"medium": 4, "high": 22},
        source="[PRICE] 4 (medium) / 22 (high) ([ELI] 6 rejected)",
    )
    add(
        market(
            "gpt-image/1.5-text-to-image",
            "GPT Image 1.5",
            "text-to-image",
            (
                choice("aspect_ratio", R_GPT15, "1:1", required=True),
                prompt(None),
                choice("quality", ("medium", "high"), "medium", required=True),
            ),
            g15,
            group="GPT Image 1.5",
            role="t2i",
            aliases=("gpt-image-1.5",),
            timeout=600.0,
        )
    )
    add(
        market(
            "gpt-image/1.5-image-to-image",
            "GPT Image 1.5 Image-to-Image",
            "edit",
            (
                choice("aspect_ratio", R_GPT15, "3:2", required=True),
                urls("input_urls", 16),
                prompt(None),
                choice("quality", ("medium", "high"), "medium", required=True),
            ),
            g15,
            group="GPT Image 1.5",
            role="edit",
            timeout=600.0,
        )
    )
    g2 = Price(
        6,
        tier_field="resolution",
        tiers={"1K": 6, "2K": 10, "4K": 16},
        tier_default="1K",
        source="[PRICE] 6/10/16 by resolution ([ELI] 8 rejected); omitted resolution priced as 1K",
    )
    add(
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
        )
    )
    add(
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
        )
    )

    # Wan 2.7 (§5.10) ------------------------------------------------------------------
    for model_id, display, credits, pro in (
        ("wan/2-7-image", "Wan 2.7 Image", 4.8, False),
        ("wan/2-7-image-pro", "Wan 2.7 Image Pro", 12, True),
    ):
        add(
            market(
                model_id,
                display,
                "text-to-image",
                (
                    prompt(5000),
                    choice("aspect_ratio", R_WAN),
                    Field("bbox_list", "array", item_type="array"),
                    Field("color_palette", "array", min_items=3, max_items=10, item_type="object"),
                    flag("enable_sequential", False),
                    urls("input_urls", 9, None, mimes=(), required=False),
                    integer("n", note="1–4 (default 4), or 1–12 (default 12) with enable_sequential"),
                    *(() if pro else (nsfw(),)),
                    choice("resolution", RES_124, "2K"),
                    integer("seed", 0, SEED_MAX, 0),
                    flag("thinking_mode", False),
                    flag("watermark", False),
                ),
                Price(credits, source=f"[PRICE] {credits} per image"),
                modes=("text-to-image", "edit", "reference"),
                aliases=(model_id.replace("/", "-"),),
                outputs_rule=rules.wan_outputs,
                output_limit=12,
                rules=(rules.wan(pro=pro),),
                input_required=True,
                timeout=600.0,
            )
        )
    return m
