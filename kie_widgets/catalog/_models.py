"""4o Image and Flux Kontext as data, and the assembly of the whole catalog.

Both families have their own endpoints and flat (camelCase) bodies; the Market models live in
the ``_market`` package (one module per provider). ``note=``/``notes=`` record where sources
disagree: the choice and its source.
"""

from __future__ import annotations

from kie_widgets.catalog import _rules as rules
from kie_widgets.catalog._build import (
    choice,
    derive_aliases,
    derive_wire,
    flag,
    integer,
    prompt,
    text,
    url,
    urls,
)
from kie_widgets.catalog._market import market_models
from kie_widgets.catalog._schema import ENDPOINT_4O, ENDPOINT_FLUX, Field, MaskConvention, ModelSpec, Price

R_FLUX_KONTEXT = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
# kie's docs now file 4o Image and Flux Kontext under older models (pages under docs.kie.ai/old-model/,
# kie-api.md §1.6); one peer says both are also reachable through jobs/createTask. Nothing retires the
# dedicated endpoints, so the skill document's endpoints stay.
_OLDER_NOTE = "filed under kie's older models; the dedicated endpoint is kept (not retired in kie's docs)"


# ---------------------------------------------------------------- 4o and Flux
def _gpt4o() -> ModelSpec:
    fields = (
        prompt(None, required=False),
        urls(
            "filesUrl",
            5,
            25.0,
            mimes=("image/jpeg", "image/png", "image/webp"),
            required=False,
            note="extensions .jfif .pjpeg .jpeg .pjp .jpg .png .webp; ≤25 MB (26214400 bytes, §2.2)",
        ),
        choice("size", ("1:1", "3:2", "2:3"), required=True),
        choice(
            "nVariants",
            (1, 2, 4),
            1,
            type_="integer",
            note="kept from the older OpenAPI [FEL]; absent from the newest schema [SNAP] (UNSURE)",
        ),
        url(
            "maskUrl",
            25.0,
            required=False,
            note="black = edit, white = keep (skill document, [FEL]); absent from [SNAP] but kept",
        ),
        text("callBackUrl"),
        flag("isEnhance", False),
        flag("uploadCn", False),
        flag("enableFallback", False),
        choice("fallbackModel", ("GPT_IMAGE_1", "FLUX_MAX"), "FLUX_MAX"),
        url("fileUrl", 25.0, required=False, note="deprecated single-image predecessor of filesUrl"),
    )
    wire = derive_wire(fields, {"image": "filesUrl"})
    return ModelSpec(
        key="gpt4o-image",
        id="gpt4o-image",
        display_name="4o Image",
        family="gpt4o",
        endpoint=ENDPOINT_4O,
        mode="text-to-image",
        modes=("text-to-image", "edit", "masked-edit", "reference"),
        fields=fields,
        pricing=Price(6, source="[PRICE] 4o-image-api: 6 cr per image, flat ([ELI] agrees)"),
        default_timeout=600.0,
        wire=wire,
        value_aliases=derive_aliases(fields, wire),
        group="4o Image",
        role="only",
        aliases=("4o", "gpt4o", "gpt-4o", "4o Image (GPT)", "GPT-4o Image", "gpt-image-1", "GPT Image 1"),
        rules=(rules.gpt4o_inputs,),
        mask_convention=MaskConvention(
            change=0,
            source="skill document: maskUrl black = modify, white = preserve; kie-api.md §2.1: same size "
            "as the source",
        ),
        plan_defaults={"size": "1:1"},
        notes=(
            "size has no documented default although it is required; plan() sends '1:1' when none is given",
            "nVariants (1/2/4) and maskUrl kept from [FEL] although absent from [SNAP] (kie-api.md §2.1)",
            "maskUrl with several filesUrl: docs say it is ignored; we reject it (contract: mask "
            "only with one image)",
            _OLDER_NOTE,
        ),
        docs="https://docs.kie.ai/4o-image-api/generate-4-o-image.md",
        age="older",
    )


def _flux(model_id: str, display: str, credits: float, *, edit: bool) -> ModelSpec:
    tolerance = (0, 2) if edit else (0, 6)
    fields: tuple[Field, ...] = (
        prompt(None, note="English only; enableTranslation (default true) translates other languages"),
        flag("enableTranslation", True),
        flag("uploadCn", False),
        *((url("inputImage", None, mimes=()),) if edit else ()),
        choice(
            "aspectRatio",
            R_FLUX_KONTEXT,
            *(() if edit else ("16:9",)),
            note="edit mode: omitted keeps the source image's ratio",
        ),
        choice("outputFormat", ("jpeg", "png"), "jpeg"),
        flag("promptUpsampling", False),
        choice("model", ("flux-kontext-pro", "flux-kontext-max"), "flux-kontext-pro"),
        text("callBackUrl"),
        integer(
            "safetyTolerance",
            *tolerance,
            2,
            note="0–6 when generating, 0–2 when editing (kie-api.md §3.1; out of range -> code 500)",
        ),
        text("watermark"),
    )
    wire = derive_wire(fields)
    mode = "edit" if edit else "text-to-image"
    return ModelSpec(
        key=f"{model_id}#edit" if edit else model_id,
        id=model_id,
        display_name=display,
        family="flux-kontext",
        endpoint=ENDPOINT_FLUX,
        mode=mode,
        modes=(mode,),
        fields=fields,
        pricing=Price(
            credits, source="[PRICE] flux1-kontext: Pro 5 / Max 10 per image ([ELI] 50/100 rejected)"
        ),
        default_timeout=300.0,
        wire=wire,
        value_aliases=derive_aliases(fields, wire),
        group=display,
        role="edit" if edit else "t2i",
        aliases=(model_id,) if not edit else (),
        fixed_outputs=1,
        notes=("price: [PRICE] 5/10 chosen over [ELI] 50/100 (kie-api.md §3)", _OLDER_NOTE),
        docs="https://docs.kie.ai/flux-kontext-api/generate-or-edit-image.md",
        age="older",
    )


def build_specs() -> tuple[ModelSpec, ...]:
    """Every model spec, 4o and Flux first, then the Market models."""
    specs = [
        _gpt4o(),
        _flux("flux-kontext-pro", "Flux Kontext Pro", 5, edit=False),
        _flux("flux-kontext-pro", "Flux Kontext Pro", 5, edit=True),
        _flux("flux-kontext-max", "Flux Kontext Max", 10, edit=False),
        _flux("flux-kontext-max", "Flux Kontext Max", 10, edit=True),
        *market_models(),
    ]
    return tuple(specs)


__all__ = ["build_specs"]
