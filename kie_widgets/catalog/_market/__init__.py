"""The Market (``jobs/createTask``) image models as data: our own table, written from kie-api.md §5.

One module per provider, in the reference's order. Conventions: ``note=`` on a field and ``notes=``
on a model record where sources disagree — the choice made and where it comes from. Prices are
credits (1 credit ≈ US$0.005) from kie's own ``pricingDesc`` texts ([PRICE], kie-api.md §7) unless
the price's ``source`` says otherwise.
"""

from __future__ import annotations

from kie_widgets.catalog._market import (
    _flux2,
    _google,
    _gpt,
    _grok,
    _ideogram,
    _qwen,
    _recraft_topaz,
    _seedream,
    _wan,
)
from kie_widgets.catalog._market._shared import MASK_IDEOGRAM
from kie_widgets.catalog._schema import ModelSpec

_PROVIDERS = (_google, _seedream, _grok, _flux2, _qwen, _ideogram, _recraft_topaz, _gpt, _wan)


def market_models() -> list[ModelSpec]:
    """Every Market image model, grouped by provider (kie-api.md §5.1–§5.10)."""
    return [spec for provider in _PROVIDERS for spec in provider.models()]


__all__ = ["MASK_IDEOGRAM", "market_models"]
