"""``plan_request()``: one request for ``n`` images as the exact list of plans that will be sent.

kie caps how many images one request makes (4o Image: 1, 2 or 4; most Market models: 1). A request
for more is split into the fewest requests the model's ``batch_sizes`` allow, largest first, and the
seed (where the model takes one) moves by one per request, since the same seed twice would buy the
same picture twice. This is the only place that splits ``n``: the dry run shows these plans and the
client sends them as given.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from kie_widgets.catalog._plan import Plan, plan
from kie_widgets.config import DEFAULT_MAX_IMAGES
from kie_widgets.errors import KieValidationError, Problem

#: The most images one request may ask for unless the caller allows more (a typo like n=2000 would
#: otherwise start spending at once); ``KIE_MAX_IMAGES`` sets the client's cap.
MAX_IMAGES_PER_REQUEST = DEFAULT_MAX_IMAGES


def plan_request(
    model: str,
    prompt: str | None = None,
    *,
    n: Any = 1,
    request: int = 0,
    max_images: int = MAX_IMAGES_PER_REQUEST,
    **params: Any,
) -> list[Plan]:
    """The plans that make ``n`` images of ``model`` (validated and priced; no network).

    ``request`` numbers this request within a submission of several (a side-by-side compare).
    """
    count = _image_count(n, max_images)
    params = {k: v for k, v in params.items() if v is not None}
    first = plan(model, prompt, **params)
    spec = first.spec
    if count == 1:
        return [dataclasses.replace(first, request=request)]
    sizes = _split(count, spec.batch_sizes, spec.fixed_outputs)
    seed = params.get("seed")
    step_seed = spec.seed and isinstance(seed, int) and not isinstance(seed, bool)
    first_seed = seed if isinstance(seed, int) else 0
    plans = []
    for part, size in enumerate(sizes):
        extra = dict(params)
        if step_seed:
            extra["seed"] = first_seed + part
        if size > 1 and spec.fixed_outputs is None:
            extra["n"] = size
        planned = plan(spec, prompt, **extra)
        plans.append(dataclasses.replace(planned, request=request, part=part, parts=len(sizes)))
    return plans


def _image_count(n: Any, max_images: int) -> int:
    """``n`` as a whole number within bounds, or a validation error that names it."""
    whole = n if isinstance(n, int) and not isinstance(n, bool) else None
    if isinstance(n, float) and n.is_integer():
        whole = int(n)
    if whole is None or whole < 1:
        raise KieValidationError([Problem("n", "must be a whole number of at least 1", n)])
    if whole > max_images:
        raise KieValidationError(
            [
                Problem(
                    "n",
                    "asks for more images than one request may",
                    n,
                    f"1 to {max_images}; KIE_MAX_IMAGES raises the cap",
                )
            ]
        )
    return whole


def _split(n: int, sizes: tuple[int, ...], fixed: int | None) -> list[int]:
    """``n`` as the fewest allowed batch sizes, largest first (a fixed-count model rounds up)."""
    if fixed is not None:
        return [fixed] * math.ceil(n / fixed)
    if n in sizes:
        return [n]
    parts: list[int] = []
    for size in sorted(sizes, reverse=True):
        while n >= size:
            parts.append(size)
            n -= size
    if n:  # sizes without 1 (none in the catalog today): one more request, some images extra
        parts.append(min(sizes))
    return parts


__all__ = ["MAX_IMAGES_PER_REQUEST", "plan_request"]
