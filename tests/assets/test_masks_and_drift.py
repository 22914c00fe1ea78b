"""Mask pixels (conventions, scaling, size checks) and drift reports, without any network."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kie_widgets.assets.drift import drift_report
from kie_widgets.assets.masks import (
    encode_png,
    from_convention,
    prepare_mask,
    scale_mask,
    shape_mask,
    to_convention,
)
from kie_widgets.catalog import OUR_MASK, MaskConvention, MaskPlan
from kie_widgets.errors import KieValidationError

BLACK_EDITS = MaskConvention(change=0)
ALPHA_EDITS = MaskConvention(change=0, channel="alpha")


@pytest.mark.parametrize(
    "convention", [OUR_MASK, BLACK_EDITS, ALPHA_EDITS, MaskConvention(change=255, channel="alpha")]
)
def test_a_mask_survives_a_round_trip_through_any_convention(convention: MaskConvention) -> None:
    """Writing our mask in a convention and reading it back in the same convention changes no pixel."""
    ours = shape_mask((64, 48), (8, 8, 40, 30), shape="ellipse")
    back = from_convention(Image.open(io.BytesIO(encode_png(to_convention(ours, convention)))), convention)
    assert back.tobytes() == ours.tobytes()


def test_strokes_on_a_transparent_sheet_read_as_our_mask() -> None:
    """White paint on a transparent RGBA sheet counts as 'change' and the clear part as 'keep'."""
    sheet = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    sheet.paste((255, 255, 255, 255), (0, 0, 10, 20))
    assert from_convention(sheet).getbbox() == (0, 0, 10, 20)


def test_scaling_keeps_a_mask_binary() -> None:
    """Scaling a 0/255 mask up or down leaves only 0 and 255."""
    mask = shape_mask((101, 77), (10, 10, 60, 50), shape="ellipse")
    for size in ((1000, 770), (33, 25)):
        scaled = scale_mask(mask, size)
        assert scaled.size == size
        assert sum(scaled.histogram()[1:255]) == 0


def test_prepare_mask_refuses_another_size_naming_both() -> None:
    """The upload step refuses a 40×40 mask for a 64×48 image with both sizes in the message."""
    image = encode_png(Image.new("RGB", (64, 48)))
    conversion = MaskPlan(OUR_MASK, BLACK_EDITS, "kie-upload://0")
    with pytest.raises(KieValidationError, match=r"40×40 but the image is 64×48"):
        prepare_mask(encode_png(Image.new("L", (40, 40))), conversion, image, model="4o Image")


def test_prepare_mask_converts_to_the_models_convention() -> None:
    """Our white-on-black mask leaves as the model's black-on-white PNG."""
    ours = shape_mask((64, 48), (0, 0, 32, 48))
    conversion = MaskPlan(OUR_MASK, BLACK_EDITS, "kie-upload://0")
    out = Image.open(io.BytesIO(prepare_mask(encode_png(ours), conversion, None, model="x")))
    assert (out.mode, out.getpixel((5, 5)), out.getpixel((50, 5))) == ("L", 0, 255)


def test_the_drift_report_measures_changes_outside_the_mask_only() -> None:
    """Changes inside the mask are ignored; a patch outside it is counted, located and reported."""
    source = Image.new("RGB", (200, 100), (100, 100, 100))
    mask = shape_mask((200, 100), (0, 0, 100, 100))
    result = source.copy()
    result.paste((255, 0, 0), (0, 0, 100, 100))  # inside: allowed
    result.paste((100, 100, 160), (150, 20, 190, 60))  # outside: drift
    report = drift_report(source, result, mask)
    assert report.outside_pixels == 100 * 100
    assert report.changed_pixels == 40 * 40
    assert report.changed_share == pytest.approx(0.16)
    assert report.largest_region == (150, 20, 190, 60)
    assert report.mean_shift == (0.0, 0.0, pytest.approx(9.6))
    text = str(report)
    assert "16.0%" in text
    assert "x 150–190, y 20–60" in text
    assert "16.0% drift" in report._repr_html_()


def test_the_drift_report_compares_a_result_of_another_size_after_scaling() -> None:
    """A result twice the source's size is scaled down first, and the report says so."""
    source = Image.new("RGB", (80, 60), (40, 80, 120))
    report = drift_report(source, source.resize((160, 120)), shape_mask((80, 60), (0, 0, 10, 10)))
    assert report.resized
    assert report.clean
    assert "compared after scaling" in str(report)
