"""The model catalog: every kie.ai image model as validated data, one parameter vocabulary, guidance.

No network, no IPython, no PIL. The main entry points::

    plan(model, prompt=None, **params) -> Plan        # the exact request, validated, priced (dry run)
    plan_request(model, prompt, n=4, **params)        # the plans n images take (n split into batches)
    plan(model_id, input={...}) / plan(..., raw=True)  # a model the catalog lacks, sent unvalidated
    resolve(name, has_image=False, has_mask=False)    # a name as people write it -> ModelSpec
    spec_for_request(endpoint, body) -> ModelSpec     # which model a wire request addresses (sandbox)
    models(mode=None, capability=None) -> list[dict]  # the listing
    parameters(model) -> list[dict]                   # one model's parameters, for forms and --help
    recommend(need) -> list[Recommendation]           # which model for a job, and why

Layout: ``_schema`` (field/price/spec shapes, wire checks), ``_build`` (constructors for the tables),
``_models`` (4o and Flux Kontext, and the whole catalog), ``_market/`` (the Market models, one module
per provider), ``_rules`` (cross-field rules), ``_names`` (resolution), ``_plan`` (unified vocabulary),
``_lint``, ``_guide``, ``_presets``, ``_listing``.
"""

from __future__ import annotations

from kie_widgets.catalog._batch import MAX_IMAGES_PER_REQUEST, plan_request
from kie_widgets.catalog._guide import Recommendation, default_model, needs, recommend
from kie_widgets.catalog._lint import LintWarning, lint
from kie_widgets.catalog._listing import CAPABILITIES, models, parameters
from kie_widgets.catalog._names import all_specs, normalize, resolve, spec_for_request
from kie_widgets.catalog._plan import (
    PLACEHOLDER_PREFIX,
    UNIFIED,
    InputRef,
    KieUnvalidatedWarning,
    MaskPlan,
    Plan,
    plan,
    raw_spec,
)
from kie_widgets.catalog._presets import NEGATIVE_PRESETS, PromptFormula, combine_presets, preset_terms
from kie_widgets.catalog._schema import OUR_MASK, Field, MaskConvention, ModelSpec, Price

__all__ = [
    "CAPABILITIES",
    "MAX_IMAGES_PER_REQUEST",
    "NEGATIVE_PRESETS",
    "OUR_MASK",
    "PLACEHOLDER_PREFIX",
    "UNIFIED",
    "Field",
    "InputRef",
    "KieUnvalidatedWarning",
    "LintWarning",
    "MaskConvention",
    "MaskPlan",
    "ModelSpec",
    "Plan",
    "Price",
    "PromptFormula",
    "Recommendation",
    "all_specs",
    "combine_presets",
    "default_model",
    "lint",
    "models",
    "needs",
    "normalize",
    "parameters",
    "plan",
    "plan_request",
    "preset_terms",
    "raw_spec",
    "recommend",
    "resolve",
    "spec_for_request",
]
