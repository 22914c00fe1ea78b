"""Ideogram V3 and Ideogram Character (kie-api.md §5.7)."""

from __future__ import annotations

from kie_widgets.catalog._build import choice, flag, integer, market, number, prompt, text, url, urls
from kie_widgets.catalog._market._shared import MASK_IDEOGRAM, NUM_STR, SIZE_6
from kie_widgets.catalog._schema import ModelSpec, Price

SPEED = ("TURBO", "BALANCED", "QUALITY")
STYLE_V3 = ("AUTO", "GENERAL", "REALISTIC", "DESIGN")
STYLE_CHAR = ("AUTO", "REALISTIC", "FICTION")


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


def models() -> list[ModelSpec]:
    """Ideogram V3 and Ideogram Character."""
    seed_i = integer("seed")
    char_tail = (
        choice("num_images", NUM_STR, "1"),
        choice("rendering_speed", SPEED, "BALANCED"),
        seed_i,
        choice("style", STYLE_CHAR, "AUTO"),
    )
    return [
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
        ),
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
            mask_convention=MASK_IDEOGRAM,
            notes=("image_url and mask_url must have identical dimensions (not checkable without decoding)",),
        ),
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
        ),
        market(
            "ideogram/character",
            "Ideogram Character",
            "reference",
            (
                prompt(5000),
                urls("reference_image_urls", None, note="only the first reference is used"),
                flag("expand_prompt"),
                choice("image_size", SIZE_6, "square_hd"),
                text("negative_prompt", 5000),
                *char_tail,
            ),
            _ideogram_price((12, 18, 24), CHAR_PRICE),
            group="Ideogram Character",
            role="t2i",
            aliases=("ideogram-character",),
        ),
        market(
            "ideogram/character-edit",
            "Ideogram Character Edit",
            "masked-edit",
            (
                url("image_url"),
                url("mask_url"),
                prompt(5000),
                urls("reference_image_urls", None),
                flag("expand_prompt"),
                *char_tail,
            ),
            _ideogram_price((12, 18, 24), CHAR_PRICE),
            group="Ideogram Character",
            role="masked",
            mask_convention=MASK_IDEOGRAM,
        ),
        market(
            "ideogram/character-remix",
            "Ideogram Character Remix",
            "reference",
            (
                url("image_url"),
                prompt(5000),
                urls("reference_image_urls", None),
                flag("expand_prompt"),
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
        ),
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
        ),
    ]
