"""Masks and shapes in the catalog's terms: conventions as data, what plan() records and says."""

from __future__ import annotations

import pytest

from kie_widgets.catalog import OUR_MASK, MaskConvention, all_specs, plan
from kie_widgets.errors import KieValidationError

MASK_MODELS = sorted({s.display_name for s in all_specs() if s.mask})


def test_every_mask_taking_model_has_a_convention() -> None:
    """Each model with a mask field carries its mask convention as data."""
    assert MASK_MODELS, "the catalog lists no mask-taking model"
    for spec in all_specs():
        if spec.mask:
            assert isinstance(spec.mask_convention, MaskConvention), spec.key


@pytest.mark.parametrize(
    ("model", "change"), [("4o Image", 0), ("Ideogram V3 Edit", 0), ("Ideogram Character Edit", 0)]
)
def test_documented_conventions(model: str, change: int) -> None:
    """4o Image and the Ideogram edits read black as the area to change, in a same-size greyscale PNG."""
    spec = next(s for s in all_specs() if s.display_name == model)
    convention = spec.mask_convention
    assert convention is not None
    assert (convention.change, convention.channel, convention.same_size, convention.format) == (
        change,
        "grey",
        True,
        "PNG",
    )
    assert convention.describe().startswith("black = change, white = keep")


def test_a_convention_rejects_a_value_that_is_neither_black_nor_white() -> None:
    """A convention is 0 or 255 in grey or alpha; anything else is a catalog bug caught at import."""
    with pytest.raises(ValueError, match="not a mask convention"):
        MaskConvention(change=128)


@pytest.mark.parametrize("model", MASK_MODELS)
def test_plan_records_the_conversion_on_the_mask_input(model: str) -> None:
    """plan() marks the mask upload: our convention in, the model's out, and its image for the size check."""
    # Ideogram Character Edit also needs a reference image; the mask belongs to image_url, not to it.
    extra = {"images": [b"reference"]} if model == "Ideogram Character Edit" else {}
    p = plan(model, "replace the sky", image=b"image", mask=b"mask", **extra)
    (mask_ref,) = [u for u in p.uploads if u.field == "mask"]
    assert mask_ref.mask is not None
    assert mask_ref.mask.given == OUR_MASK
    assert mask_ref.mask.wanted == p.spec.mask_convention
    image_ref = next(u for u in p.uploads if u.field == "image")
    assert mask_ref.mask.image == image_ref.placeholder
    assert any(note.startswith("mask: read as white = change") for note in p.notes)


def test_a_mask_that_names_its_convention_is_not_converted_twice() -> None:
    """A mask carrying kie_mask_convention (mask_for output) is read in that convention."""

    class Tagged(bytes):
        kie_mask_convention = MaskConvention(change=0)

    p = plan("4o Image", "x", images=[b"image"], mask=Tagged(b"mask"))
    ref = next(u for u in p.uploads if u.field == "mask")
    assert ref.mask is not None
    assert ref.mask.given == ref.mask.wanted
    assert "already in that convention" in p.notes[0]


def test_a_mask_over_a_remote_image_warns_that_sizes_are_unchecked() -> None:
    """With the image given as a URL, plan() says the mask's size cannot be compared before sending."""
    p = plan("4o Image", "x", images=["https://example.com/a.png"], mask=b"mask")
    assert any("could not be compared" in w for w in p.warnings)


def test_a_4o_edit_of_a_wide_source_asks_for_the_nearest_ratio_and_warns() -> None:
    """4o has no 16:9: a 1920×1080 source gets 3:2 (not the silent 1:1) and a warning listing the choices."""
    p = plan("4o Image", "x", images=[b"image"], source_size=(1920, 1080))
    assert p.body["size"] == "3:2"
    (warning,) = [w for w in p.warnings if "shape" in w]
    assert "1920×1080" in warning
    assert "1:1, 3:2, 2:3" in warning


def test_an_edit_keeps_a_ratio_the_model_has_without_a_warning() -> None:
    """Seedream 4.5 Edit of a 1920×1080 source asks for 16:9 and only notes it."""
    p = plan("Seedream 4.5 Edit", "x", images=[b"image"], source_size=(1920, 1080))
    assert p.body["input"]["aspect_ratio"] == "16:9"
    assert not [w for w in p.warnings if "shape" in w]
    assert any("16:9" in n and "1920×1080" in n for n in p.notes)


def test_an_edit_model_with_auto_is_asked_for_auto() -> None:
    """Nano Banana Edit (default 1:1, 'auto' offered) is sent 'auto' so the source's shape is kept."""
    p = plan("Nano Banana Edit", "x", images=[b"image"], source_size=(1920, 1080))
    assert p.body["input"]["aspect_ratio"] == "auto"


def test_an_explicit_ratio_wins_over_the_source_shape() -> None:
    """aspect_ratio= given by the user is sent as given, whatever the source's shape."""
    p = plan("4o Image", "x", images=[b"image"], aspect_ratio="1:1", source_size=(1920, 1080))
    assert p.body["size"] == "1:1"
    assert not [w for w in p.warnings if "shape" in w]


def test_source_size_is_never_sent() -> None:
    """source_size is data for the planner, not a wire field."""
    p = plan("Seedream 4.5 Edit", "x", images=[b"image"], source_size=(800, 800))
    assert "source_size" not in str(p.body)
    assert "source_size" not in p.params


def test_a_mask_made_for_the_model_is_sent_unconverted_when_told() -> None:
    """mask_convention='model' reads the mask in the model's own convention; an unknown value is refused."""
    p = plan("4o Image", "x", images=[b"image"], mask=b"mask", mask_convention="model")
    ref = next(u for u in p.uploads if u.field == "mask")
    assert ref.mask is not None
    assert ref.mask.given == ref.mask.wanted
    with pytest.raises(KieValidationError, match="mask_convention"):
        plan("4o Image", "x", images=[b"image"], mask=b"mask", mask_convention="black")
