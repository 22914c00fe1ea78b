"""ByteDance Seedream 3.0 to 5 Pro (kie-api.md §5.3) and 5.0 Flash (tests/catalog/fixtures)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kie_widgets.catalog._build import choice, integer, market, nsfw, number, prompt, url, urls
from kie_widgets.catalog._market._shared import PNG_JPEG, RES_124, SIZE_6
from kie_widgets.catalog._schema import Field, ModelSpec, Price

R_SEEDREAM = ("1:1", "4:3", "3:4", "16:9", "9:16", "2:3", "3:2", "21:9")
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


def _pair(
    stem: str,
    name: str,
    tail: tuple[Field, ...],
    price: Price,
    quality: dict[str, str],
    *,
    max_urls: int,
    edit_suffix: str = "image-to-image",
    edit_name: str | None = None,
    edit_price: Price | None = None,
    aliases: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
    edit_docs: str = "",
    input_required: bool = False,
    tier: str = "quality",
    aspect_note: str = "",
    image_urls: Field | None = None,
    age: str = "",
) -> tuple[ModelSpec, ModelSpec]:
    """A Seedream 4.5/5 text-to-image model and its edit twin: same fields but the reference images.

    Both take the aspect ratio first and map the unified ``resolution`` to ``tier`` (``quality``,
    or ``size`` for 5.0 Flash).
    """
    aspect = choice("aspect_ratio", R_SEEDREAM, "1:1", required=True, note=aspect_note)
    shared: dict[str, Any] = {
        "group": name,
        "wire": {"resolution": tier},
        "value_aliases": {tier: quality},
        "notes": notes,
        "input_required": input_required,
        "age": age,
    }
    t2i = market(
        f"{stem}-text-to-image",
        name,
        "text-to-image",
        (aspect, *tail),
        price,
        role="t2i",
        aliases=aliases,
        **shared,
    )
    edit = market(
        f"{stem}-{edit_suffix}",
        edit_name or f"{name} Image-to-Image",
        "edit",
        (aspect, image_urls or urls("image_urls", max_urls), *tail),
        edit_price or price,
        role="edit",
        docs=edit_docs,
        **shared,
    )
    return t2i, edit


def _layers(
    model_id: str,
    name: str,
    image_note: str,
    prompt_field: Field,
    price: Price,
    *,
    extra: tuple[Field, ...] = (),
    **more: Any,
) -> ModelSpec:
    """A Seedream layer decomposition: one source image in, a base image plus PNG layers out."""
    return market(
        model_id,
        name,
        "layer-decomposition",
        (
            url("image_url", 30.0, mimes=(), note=image_note),
            choice(
                "output_format", PNG_JPEG, "jpeg", note="applies to the base image; layers are always PNG"
            ),
            prompt_field,
            choice("size", ("auto", "1K", "1.5K", "2K"), "auto"),
            *extra,
        ),
        price,
        wire={"resolution": "size", "aspect_ratio": None},
        input_required=True,
        timeout=600.0,
        notes=("layer count is decided by kie; outputs() counts 1 (the base image) for estimates",),
        **more,
    )


def models() -> list[ModelSpec]:
    """ByteDance Seedream 3.0 to 5 Pro, and 5.0 Flash."""
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
    q45 = {"2K": "basic", "4K": "high"}
    s45_tail = (
        prompt(3000),
        choice("quality", ("basic", "high"), "basic", required=True, note="basic = 2K, high = 4K"),
        nsfw(),
    )
    p45 = Price(6.5, source="[PRICE] 6.5 ([ELI] 5 rejected)")
    q5l = {"2K": "basic", "3K": "high", "4K": "ultra"}
    p5l = Price(5.5, source="[PRICE] 5.5 ([ELI] 5 rejected)")
    s5l_tail = (
        prompt(3000, min_len=3),
        choice(
            "quality",
            ("basic", "high", "ultra"),
            "basic",
            required=True,
            note="basic = 2K, high = 3K, ultra = 4K",
        ),
        nsfw(),
        choice("output_format", PNG_JPEG, "png"),
    )
    q5p = {"1K": "basic", "2K": "high"}
    s5p_tail = (
        prompt(5000, min_len=3),
        choice("quality", ("basic", "high"), "basic", required=True, note="basic = 1K, high = 2K"),
        nsfw(),
        choice("output_format", PNG_JPEG, "png"),
    )
    p5p = Price(
        7, tier_field="quality", tiers={"basic": 7.0, "high": 14.0}, source="[PRICE] 7 (1K) / 14 (2K)"
    )
    # Seedream 5.0 Flash: tests/catalog/fixtures/new_models.json (peer transcriptions of docs.kie.ai
    # market/seedream/5-flash-*.md and of kie.ai/seedream-5-0-flash, 2026-10).
    flash_price = Price(
        3.24,
        source="kie.ai/seedream-5-0-flash, quoted by two peers: 3.24 cr per image at 1K, 1.5K and 2K alike "
        "([ELI] pricing.mjs agrees) — UNSURE",
    )
    flash_tail = (
        prompt(5000, min_len=3),
        choice("size", ("1K", "1.5K", "2K"), "1K"),
        choice("output_format", PNG_JPEG),
        nsfw(False),
    )
    flash_aspect = "no default published for Flash; 1:1 as for Seedream 5 Lite and Pro (UNSURE)"
    flash_refs = urls(
        "image_urls",
        10,
        mimes=("image/jpeg", "image/png"),
        note="no per-file size published for Flash; 10 MB as for Seedream 5 Lite (UNSURE)",
    )
    return [
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
        ),
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
            count_in_prompt=True,
            notes=(v4_count,),
        ),
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
            count_in_prompt=True,
            notes=(v4_count, "price: [PRICE] 5 chosen over [ELI] 3.5"),
        ),
        *_pair(
            "seedream/4.5",
            "Seedream 4.5",
            s45_tail,
            p45,
            q45,
            edit_suffix="edit",
            edit_name="Seedream 4.5 Edit",
            max_urls=14,
            aliases=("seedream-4.5", "Seedream"),
            notes=("price: [PRICE] 6.5 chosen over [ELI] 5",),
        ),
        *_pair(
            "seedream/5-lite",
            "Seedream 5 Lite",
            s5l_tail,
            p5l,
            q5l,
            max_urls=14,
            aliases=("Seedream 5",),
            edit_docs="https://docs.kie.ai/market/seedream-5-lite-image-to-image.md",
        ),
        *_pair(
            "seedream/5-pro",
            "Seedream 5 Pro",
            s5p_tail,
            p5p,
            q5p,
            max_urls=10,
            edit_price=replace(
                p5p,
                per_extra_input=0.5,
                inputs_field="image_urls",
                source="[PRICE] 7 (1K) / 14 (2K) + 0.5 per input image after the first",
            ),
            input_required=True,
        ),
        *_pair(
            "seedream/5-flash",
            "Seedream 5.0 Flash",
            flash_tail,
            flash_price,
            {},
            max_urls=10,
            aliases=("Seedream Flash", "seedream-5-flash", "Seedream 5 Flash"),
            tier="size",
            aspect_note=flash_aspect,
            image_urls=flash_refs,
            input_required=True,
            age="new",
            notes=(
                "size (1K/1.5K/2K) takes the unified resolution; Lite and Pro use quality instead",
                "a flat price: the resolution does not change the cost",
            ),
        ),
        _layers(
            "seedream/5-flash-layer-decomposition",
            "Seedream 5.0 Flash Layer Decomposition",
            "limits not published for Flash; 30 MB as for the Pro decomposition (UNSURE)",
            prompt(
                5000,
                required=False,
                min_len=3,
                note="optional; when given, at least 3 characters; may carry <bbox>x1 y1 x2 y2</bbox>",
            ),
            Price(
                3.24,
                source="[ELI] pricing.mjs: 3.24 cr per output layer, the base included, any size; we "
                "estimate one unit — UNSURE",
            ),
            extra=(nsfw(),),
            aliases=("Seedream Flash Layers", "flash layer decomposition"),
            age="new",
            docs="https://docs.kie.ai/market/seedream/5-flash-layer-decomposition.md",
        ),
        _layers(
            "seedream/5-pro-layer-decomposition",
            "Seedream 5 Pro Layer Decomposition",
            "≤30 MB, 262,144–36,000,000 pixels, aspect 1:16–16:1, no HEIC",
            prompt(5000, required=False, min_len=0, note="may carry <bbox>x1 y1 x2 y2</bbox> (0–1000)"),
            Price(
                7,
                source="no published price; assumed equal to Seedream 5 Pro 1K (7 cr), billed per output "
                "layer per [ELI] — we estimate one unit",
            ),
            aliases=("Seedream Layers", "layer decomposition"),
        ),
    ]
