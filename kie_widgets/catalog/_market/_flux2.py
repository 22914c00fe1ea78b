"""Black Forest Labs Flux-2 Pro and Flex (kie-api.md §5.5)."""

from __future__ import annotations

from kie_widgets.catalog._build import choice, market, nsfw, prompt, urls
from kie_widgets.catalog._market._shared import RES_12
from kie_widgets.catalog._schema import ModelSpec, Price

R_FLUX2 = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3")


def models() -> list[ModelSpec]:
    """Black Forest Labs Flux-2 Pro and Flex."""
    out: list[ModelSpec] = []
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
        t2i = market(
            f"flux-2/{tier}-text-to-image",
            display,
            "text-to-image",
            (choice("aspect_ratio", R_FLUX2, "1:1", required=True), f2_prompt, f2_res, nsfw()),
            price,
            group=display,
            role="t2i",
            aliases=(f"flux2-{tier}", f"Flux 2 {tier}"),
        )
        edit = market(
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
        out += [t2i, edit]
    return out
