"""Wan 2.7 Image and Image Pro (kie-api.md §5.10)."""

from __future__ import annotations

from kie_widgets.catalog import _rules as rules
from kie_widgets.catalog._build import choice, flag, integer, market, nsfw, prompt, urls
from kie_widgets.catalog._market._shared import RES_124, SEED_MAX
from kie_widgets.catalog._schema import Field, ModelSpec, Price

R_WAN = ("1:1", "16:9", "4:3", "21:9", "3:4", "9:16", "8:1", "1:8")


def models() -> list[ModelSpec]:
    """Wan 2.7 Image and Image Pro."""
    return [
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
        for model_id, display, credits, pro in (
            ("wan/2-7-image", "Wan 2.7 Image", 4.8, False),
            ("wan/2-7-image-pro", "Wan 2.7 Image Pro", 12, True),
        )
    ]
