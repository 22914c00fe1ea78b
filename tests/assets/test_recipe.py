"""The recipe hash is stable under cosmetic differences and changes with anything that matters."""

from __future__ import annotations

import pytest

from kie_widgets.assets import recipe_hash

BASE = {"prompt": "a fox", "aspect_ratio": "16:9", "seed": 7, "n": 1}


def test_recipe_hash_has_a_versioned_form() -> None:
    """The hash is r1- followed by 64 hex digits."""
    value = recipe_hash("google/imagen4", BASE, [])
    assert value.startswith("r1-")
    assert len(value) == 67
    int(value[3:], 16)


@pytest.mark.parametrize(
    "same",
    [
        dict(reversed(list(BASE.items()))),
        {**BASE, "seed": 7.0},
        {**BASE, "negative_prompt": None},
        {**BASE, "callBackUrl": "https://example.com/hook"},
    ],
    ids=["key-order", "float-int", "none-value", "callback"],
)
def test_cosmetic_differences_keep_the_hash(same: dict[str, object]) -> None:
    """Key order, 7 vs 7.0, None parameters and delivery URLs do not change the recipe."""
    assert recipe_hash("google/imagen4", same, ["AB"]) == recipe_hash("google/imagen4", BASE, ["ab"])


@pytest.mark.parametrize(
    ("model", "params", "inputs"),
    [
        ("google/imagen4-fast", BASE, []),
        ("google/imagen4", {**BASE, "seed": 8}, []),
        ("google/imagen4", {**BASE, "prompt": "a fox "}, []),
        ("google/imagen4", BASE, ["aa"]),
    ],
    ids=["model", "seed", "prompt-whitespace", "inputs"],
)
def test_anything_that_matters_changes_the_hash(
    model: str, params: dict[str, object], inputs: list[str]
) -> None:
    """Another model, seed, prompt or input image gives another recipe."""
    assert recipe_hash(model, params, inputs) != recipe_hash("google/imagen4", BASE, [])


def test_input_order_matters() -> None:
    """Swapping two reference images is a different request."""
    assert recipe_hash("m", {}, ["aa", "bb"]) != recipe_hash("m", {}, ["bb", "aa"])
