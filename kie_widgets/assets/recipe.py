"""The recipe hash: what a result was made from, as one stable string.

Two requests with the same resolved model id, the same normalised parameters and the same input
images (by content) have the same recipe, so the notebook layer can hand back the earlier result
instead of paying for it again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

RECIPE_VERSION = 1
RECIPE_PREFIX = f"r{RECIPE_VERSION}-"

# Parameters that change where a result is delivered, not what it looks like.
_DELIVERY_KEYS = frozenset({"callback_url", "callbackurl", "callBackUrl", "webhook", "webhook_url"})


def normalise(value: Any) -> Any:
    """A canonical, JSON-safe form: sorted mappings, lists for tuples, whole floats as ints, no ``None``.

    Missing and ``None`` parameters mean the same ("use the default"), so ``None`` values are dropped.
    """
    if isinstance(value, Mapping):
        return {
            str(k): normalise(v)
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if v is not None and str(k) not in _DELIVERY_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a recipe cannot hold the number {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, (set, frozenset)):
        return sorted(normalise(v) for v in value)
    return str(value)


def recipe_document(model_id: str, params: Mapping[str, Any], input_hashes: Sequence[str]) -> dict[str, Any]:
    """The exact document the recipe hash is taken of (also what files carry as their recipe)."""
    return {
        "v": RECIPE_VERSION,
        "model_id": model_id,
        "params": normalise(params),
        "inputs": [str(h).lower() for h in input_hashes],
    }


def recipe_hash(model_id: str, params: Mapping[str, Any], input_hashes: Sequence[str]) -> str:
    """A stable hash of the model id, the normalised parameters and the input images' content hashes.

    Key order, tuple-vs-list, ``1.0``-vs-``1`` and ``None`` parameters do not change it; the order of
    the input images does (it changes the result). The form is ``r1-`` + 64 hex digits.
    """
    canonical = json.dumps(
        recipe_document(model_id, params, input_hashes),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return RECIPE_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
