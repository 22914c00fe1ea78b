"""resolve(): the names people use, kie's ids, short aliases and family variants; helpful misses."""

from __future__ import annotations

import pytest

from kie_widgets.catalog import all_specs, normalize, resolve
from kie_widgets.errors import KieModelNotFoundError, KieValidationError


@pytest.mark.parametrize(
    ("name", "key"),
    [
        # the skill document's names, as written
        ("4o Image", "gpt4o-image"),
        ("Flux Kontext Max", "flux-kontext-max"),
        ("Flux Kontext Pro", "flux-kontext-pro"),
        ("Imagen 4", "google/imagen4"),
        ("Seedream 4.5", "seedream/4.5-text-to-image"),
        ("Grok Imagine", "grok-imagine/text-to-image"),
        ("Flux-2", "flux-2/pro-text-to-image"),
        ("Qwen", "qwen/text-to-image"),
        ("Ideogram", "ideogram/v3-text-to-image"),
        ("Nano Banana", "google/nano-banana"),
        ("Recraft Remove Background", "recraft/remove-background"),
        ("Topaz Image Upscale", "topaz/image-upscale"),
        ("Recraft Crisp Upscale", "recraft/crisp-upscale"),
        ("Z-Image", "z-image"),
        ("GPT Image 1.5", "gpt-image/1.5-text-to-image"),
        # kie ids
        ("google/imagen4", "google/imagen4"),
        ("flux-kontext-pro", "flux-kontext-pro"),
        ("seedream/4.5-edit", "seedream/4.5-edit"),
        ("nano-banana-pro", "nano-banana-pro"),
        ("gpt-image-2-text-to-image", "gpt-image-2-text-to-image"),
        ("qwen3/pro-text-to-image", "qwen3/pro-text-to-image"),
        ("ideogram/character", "ideogram/character"),
        # the skill document's example ids, which differ from kie's only in punctuation
        ("google/imagen-4", "google/imagen4"),
        ("flux2/pro-text-to-image", "flux-2/pro-text-to-image"),
        # case and punctuation do not matter
        ("SEEDREAM-4.5", "seedream/4.5-text-to-image"),
        ("seedream 45", "seedream/4.5-text-to-image"),
        ("flux_kontext_max", "flux-kontext-max"),
        ("  imagen   4  ", "google/imagen4"),
        ("z image", "z-image"),
        # short aliases
        ("4o", "gpt4o-image"),
        ("gpt-4o", "gpt4o-image"),
        ("Flux Kontext", "flux-kontext-pro"),
        ("Seedream", "seedream/4.5-text-to-image"),
        ("imagen4-fast", "google/imagen4-fast"),
        ("topaz", "topaz/image-upscale"),
        ("remove background", "recraft/remove-background"),
        ("GPT Image", "gpt-image-2-text-to-image"),
        ("Grok Imagine 2", "grok-imagine-image-2-0/text-to-image"),
    ],
)
def test_names_resolve(name: str, key: str) -> None:
    """Display names, ids and aliases resolve to the intended spec regardless of case and punctuation."""
    assert resolve(name).key == key


@pytest.mark.parametrize(
    ("name", "has_image", "has_mask", "key"),
    [
        ("Seedream 4.5", True, False, "seedream/4.5-edit"),
        ("Seedream 4.0", True, False, "bytedance/seedream-v4-edit"),
        ("Flux Kontext Max", True, False, "flux-kontext-max#edit"),
        ("flux-kontext-pro", True, False, "flux-kontext-pro#edit"),
        ("Nano Banana", True, False, "google/nano-banana-edit"),
        ("Grok Imagine", True, False, "grok-imagine/image-to-image"),
        ("Flux-2 Flex", True, False, "flux-2/flex-image-to-image"),
        ("Qwen", True, False, "qwen/image-edit"),
        ("Qwen 3 Pro", True, False, "qwen3/pro-image-to-image"),
        ("GPT Image 2", True, False, "gpt-image-2-image-to-image"),
        ("Ideogram", True, False, "ideogram/v3-remix"),
        ("Ideogram", True, True, "ideogram/v3-edit"),
        ("Ideogram Character", True, False, "ideogram/character"),
        ("Ideogram Character", True, True, "ideogram/character-edit"),
        ("4o Image", True, True, "gpt4o-image"),
        ("Imagen 4", True, False, "google/imagen4"),
        ("seedream/4.5-text-to-image", True, False, "seedream/4.5-text-to-image"),
    ],
)
def test_family_names_pick_the_variant_from_the_inputs(
    name: str, has_image: bool, has_mask: bool, key: str
) -> None:
    """A family name picks its edit (or masked) variant when images (or a mask) are given; ids stay put."""
    assert resolve(name, has_image=has_image, has_mask=has_mask).key == key


def test_edit_variant_has_edit_safety_range() -> None:
    """Flux Kontext with an image resolves to edit mode, whose safetyTolerance tops out at 2."""
    edit = resolve("Flux Kontext Pro", has_image=True)
    gen = resolve("Flux Kontext Pro")
    edit_field, gen_field = edit.field("safetyTolerance"), gen.field("safetyTolerance")
    assert edit_field is not None
    assert gen_field is not None
    assert (edit_field.maximum, gen_field.maximum) == (2, 6)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Seedram 4.6", "Seedream 4.5"),
        ("Imagen 5", "Imagen 4"),
        ("Flux Kontekst Max", "Flux Kontext Max"),
        ("nano banan", "Nano Banana"),
        ("google/imagen5", "Imagen 4"),
    ],
)
def test_unknown_names_suggest_the_three_closest(name: str, expected: str) -> None:
    """A miss raises KieModelNotFoundError with exactly three suggestions, the right one among them."""
    with pytest.raises(KieModelNotFoundError) as excinfo:
        resolve(name)
    assert len(excinfo.value.suggestions) == 3
    assert expected in excinfo.value.suggestions
    assert isinstance(excinfo.value, KieValidationError)
    assert expected in str(excinfo.value)
    assert len({resolve(s).id for s in excinfo.value.suggestions}) == 3  # three different models


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Grok Imagine Upscale", "Topaz Image Upscale"), ("google/nano-banana-pro", "Nano Banana Pro")],
)
def test_known_wrong_names_point_to_the_real_model(name: str, expected: str) -> None:
    """Names that look right but are not kie image models point to what the user needs."""
    with pytest.raises(KieModelNotFoundError) as excinfo:
        resolve(name)
    assert excinfo.value.suggestions[0] == expected


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_empty_names_are_not_found(name: str) -> None:
    """Blank or punctuation-only names do not match anything."""
    with pytest.raises(KieModelNotFoundError):
        resolve(name)


def test_every_display_name_and_id_resolves_to_its_own_spec() -> None:
    """No name in the catalog is shadowed by another model's alias."""
    for spec in all_specs():
        image = spec.role in ("edit", "masked")
        mask = spec.role == "masked"
        assert resolve(spec.display_name, has_image=image, has_mask=mask) is spec
        assert resolve(spec.id, has_image=image, has_mask=mask) is spec


def test_normalize_ignores_case_and_punctuation() -> None:
    """normalize() keeps only lowercase letters and digits."""
    assert normalize("Seedream-4.5 (Edit)") == "seedream45edit"
