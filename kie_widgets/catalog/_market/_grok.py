"""xAI Grok Imagine and Grok Imagine Image 2.0 (kie-api.md §5.4)."""

from __future__ import annotations

from kie_widgets.catalog._build import choice, flag, market, nsfw, prompt, text, urls
from kie_widgets.catalog._schema import Field, ModelSpec, Price

R_GROK = ("2:3", "3:2", "1:1", "16:9", "9:16")
R_GROK_2 = ("1:1", "2:3", "3:2", "16:9", "9:16")
_SEGMENT_SOURCE = (
    "the task whose image is edited: a Grok Imagine Image 2.0 generation, or a segment-map task "
    "made from an image_url"
)


def models() -> list[ModelSpec]:
    """xAI Grok Imagine and Grok Imagine Image 2.0."""
    return [
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
        ),
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
        ),
        market(
            "grok-imagine-image-2-0/text-to-image",
            "Grok Imagine Image 2.0",
            "text-to-image",
            (choice("aspect_ratio", R_GROK_2, required=True), prompt(None)),
            Price(4, source="[ELI] 4 (no [PRICE] text captured)"),
            aliases=("Grok Imagine 2", "grok 2", "grok-imagine-2"),
            input_required=True,
            plan_defaults={"aspect_ratio": "1:1"},
            notes=("aspect_ratio is required without a documented default; plan() sends '1:1'",),
        ),
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
        ),
        market(
            "grok-imagine-image-2-0/segment-edit",
            "Grok Imagine Image 2.0 Segment Edit",
            "segment-edit",
            (
                prompt(None),
                text("task_id", required=True, note=_SEGMENT_SOURCE),
                Field(
                    "mask_indexs",
                    "array",
                    min_items=1,
                    item_type="integer",
                    note="indexes into the segment map's list of regions; kie spells it mask_indexs",
                ),
            ),
            Price(4, source="[ELI] pricing.mjs: measured 4.0 cr on 2026-09-28 (no pricingDesc) — UNSURE"),
            aliases=("Grok Segment Edit", "segment edit"),
            input_required=True,
            age="new",
            notes=(
                "schema: docs.kie.ai market/grok-imagine-image-2-0/image-edit.md now documents segment-edit "
                "(the page kept its old path), per three peer transcriptions; the older image-edit entry "
                "above keeps the [SNAP] schema (kie-api.md §5.4)",
            ),
        ),
        market(
            "grok-imagine-image-2-0/segment-map",
            "Grok Imagine Image 2.0 Segment Map",
            "segment-map",
            (),
            Price(0, source="[ELI] free"),
            aliases=("Grok Segment Map",),
            input_required=True,
            notes=("no input fields published in [SNAP]; accepted as an empty input",),
        ),
    ]
