"""MaskEditor in Python: sources, the browser's Apply as traits, imports, exports, conventions."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kie_widgets.catalog import all_specs
from kie_widgets.errors import KieValidationError
from kie_widgets.widgets import MaskEditor
from kie_widgets.widgets.mask import PREVIEW_MAX_SIDE

MASK_MODELS = sorted({s.display_name for s in all_specs() if s.mask})


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _painted_preview(editor: MaskEditor, box: tuple[int, int, int, int]) -> bytes:
    """What the browser sends on Apply: white on black at the preview's size."""
    mask = Image.new("L", (editor.preview_width, editor.preview_height), 0)
    mask.paste(255, box)
    return _png(mask)


@pytest.fixture
def photo() -> Image.Image:
    """A 300×200 RGB source."""
    return Image.linear_gradient("L").resize((300, 200)).convert("RGB")


def test_apply_from_the_browser_sets_the_mask(photo: Image.Image) -> None:
    """The browser's memoryview of the painted PNG becomes editor.mask: mode L, source size, 255 inside."""
    editor = MaskEditor(photo)
    editor.set_state({"mask_png": memoryview(_painted_preview(editor, (30, 40, 90, 100))), "apply_count": 1})
    mask = editor.mask
    assert (mask.mode, mask.size) == ("L", (300, 200))
    assert mask.getbbox() == (30, 40, 90, 100)
    assert sum(mask.histogram()[1:255]) == 0
    assert "Applied" in editor.status


def test_a_large_source_gets_a_small_preview_and_a_full_size_mask() -> None:
    """A 3000×1500 source shows as a 1024-wide preview; the applied mask is scaled back to 3000×1500."""
    editor = MaskEditor(Image.new("RGB", (3000, 1500), (90, 90, 200)))
    assert (editor.preview_width, editor.preview_height) == (PREVIEW_MAX_SIDE, 512)
    assert len(editor.image_data) < 100_000
    editor.set_state({"mask_png": memoryview(_painted_preview(editor, (0, 0, 512, 512)))})
    mask = editor.mask
    assert mask.size == (3000, 1500)
    assert sum(mask.histogram()[1:255]) == 0
    assert mask.getbbox() == (0, 0, 1500, 1500)


def test_on_apply_callbacks_run_and_their_errors_are_logged(
    photo: Image.Image, caplog: pytest.LogCaptureFixture
) -> None:
    """Each Apply calls the registered callbacks; one that raises is logged, the next still runs."""
    seen: list[float] = []
    editor = MaskEditor(photo)

    def broken(_: MaskEditor) -> None:
        raise RuntimeError("boom")

    editor.on_apply(broken)
    editor.on_apply(lambda e: seen.append(e.coverage))
    editor.set_state({"mask_png": memoryview(_painted_preview(editor, (0, 0, 150, 200))), "apply_count": 1})
    assert seen == [pytest.approx(0.5)]
    assert "on_apply callback failed" in caplog.text


def test_an_unreadable_mask_from_the_browser_is_reported_not_raised(
    photo: Image.Image, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage bytes from the front end leave the mask alone and say so in the status line and the log."""
    editor = MaskEditor(photo)
    editor.set_rectangle(0, 0, 10, 10)
    editor.set_state({"mask_png": memoryview(b"not a png")})
    assert editor.mask.getbbox() == (0, 0, 10, 10)
    assert "could not be read" in editor.status
    assert "could not read the mask" in caplog.text


@pytest.mark.parametrize("model", MASK_MODELS)
def test_mask_for_gives_each_model_its_convention(photo: Image.Image, model: str) -> None:
    """mask_for(model) is a same-size PNG where the model's 'change' value marks exactly our painted box."""
    editor = MaskEditor(photo)
    editor.set_rectangle(10, 20, 110, 120)
    spec = next(s for s in all_specs() if s.display_name == model)
    convention = spec.mask_convention
    assert convention is not None
    data = editor.mask_for(model)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out = Image.open(io.BytesIO(data))
    assert out.size == (300, 200)
    band = out.getchannel("A") if convention.channel == "alpha" else out
    assert out.mode == ("RGBA" if convention.channel == "alpha" else "L")
    assert band.getpixel((50, 50)) == convention.change
    assert band.getpixel((200, 150)) == convention.keep


def test_mask_for_a_model_without_masks_names_it(photo: Image.Image) -> None:
    """Asking for an Imagen 4 mask fails with an error naming the model and the ones that take masks."""
    editor = MaskEditor(photo)
    with pytest.raises(KieValidationError) as info:
        editor.mask_for("Imagen 4")
    assert "Imagen 4 takes no mask" in str(info.value)
    assert "4o Image" in str(info.value)


def test_import_from_a_file_shows_in_the_browser(photo: Image.Image, tmp_path: Path) -> None:
    """load_mask(path) sets the mask and sends its preview to the front end in mask_png."""
    path = tmp_path / "mask.png"
    made = Image.new("L", (300, 200), 0)
    made.paste(255, (150, 0, 300, 200))
    made.save(path)
    editor = MaskEditor(photo)
    editor.load_mask(path)
    assert editor.mask.getbbox() == (150, 0, 300, 200)
    sent = Image.open(io.BytesIO(editor.mask_png))
    assert sent.size == (editor.preview_width, editor.preview_height)
    assert sent.getbbox() == (150, 0, 300, 200)


def test_import_of_a_mask_of_another_size_is_refused_unless_resized(photo: Image.Image) -> None:
    """A 100×100 mask for a 300×200 image names both sizes; resize=True scales it instead."""
    editor = MaskEditor(photo)
    small = Image.new("L", (100, 100), 255)
    with pytest.raises(KieValidationError, match=r"100×100.*300×200"):
        editor.load_mask(small)
    editor.load_mask(small, resize=True)
    assert editor.coverage == 1.0


def test_import_from_an_alpha_channel(photo: Image.Image) -> None:
    """Transparent pixels of an RGBA image become the area to change (or the opposite when told)."""
    cutout = photo.convert("RGBA")
    cutout.putalpha(Image.new("L", (300, 200), 255))
    cutout.paste((0, 0, 0, 0), (0, 0, 100, 200))
    editor = MaskEditor(photo)
    editor.load_alpha(cutout)
    assert editor.mask.getbbox() == (0, 0, 100, 200)
    editor.load_alpha(cutout, transparent_means_change=False)
    assert editor.mask.getbbox() == (100, 0, 300, 200)


def test_rectangles_ellipses_invert_and_clear_from_code(photo: Image.Image) -> None:
    """Shapes given in code mark exactly their pixels; invert swaps; clear empties and tells the browser."""
    editor = MaskEditor(photo)
    editor.set_rectangle(0, 0, 30, 20)
    assert editor.coverage == pytest.approx(600 / 60000)
    editor.set_ellipse(100, 100, 200, 200, add=True)
    assert editor.mask.getpixel((150, 150)) == 255
    assert editor.mask.getpixel((5, 5)) == 255
    editor.invert()
    assert editor.mask.getpixel((5, 5)) == 0
    editor.clear()
    assert editor.mask.getbbox() is None
    assert editor.mask_png == b""


def test_save_mask_in_ours_or_a_models_convention(photo: Image.Image, tmp_path: Path) -> None:
    """save_mask writes white = change by default and 4o's black = change with model='4o Image'."""
    editor = MaskEditor(photo)
    editor.set_rectangle(0, 0, 50, 50)
    ours = Image.open(editor.save_mask(tmp_path / "ours.png"))
    theirs = Image.open(editor.save_mask(tmp_path / "4o.png", model="4o Image"))
    assert (ours.getpixel((10, 10)), theirs.getpixel((10, 10))) == (255, 0)
    assert (ours.getpixel((100, 100)), theirs.getpixel((100, 100))) == (0, 255)


def test_sources_path_bytes_asset_and_asset_id(
    photo: Image.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path, bytes, an Asset-like object and an asset id (through the session) all load the same image."""
    path = tmp_path / "src.png"
    photo.save(path)
    asset = types.SimpleNamespace(id="img-003", path=path)
    session = types.ModuleType("kie_widgets.session")
    session.current_session = lambda: types.SimpleNamespace(  # type: ignore[attr-defined]
        asset=lambda asset_id: asset if asset_id == "img-003" else None
    )
    monkeypatch.setitem(sys.modules, "kie_widgets.session", session)
    for source in (path, str(path), path.read_bytes(), asset, "img-003"):
        assert MaskEditor(source).source_size == (300, 200)
    with pytest.raises(KieValidationError, match="no asset 'img-009'"):
        MaskEditor("img-009")


def test_the_text_repr_explains_the_file_based_path(photo: Image.Image) -> None:
    """Without widget JavaScript the plain-text and HTML reprs say how to make a mask file instead."""
    bundle, _ = MaskEditor(photo)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    for mime in ("text/plain", "text/html"):
        assert "widget JavaScript" in bundle[mime]
        assert "300×200" in bundle[mime]
        assert "mask=" in bundle[mime]


def test_the_front_end_ships_inside_the_package() -> None:
    """The ES module and its CSS are files in the package that label every control."""
    from kie_widgets.widgets import mask

    js = (Path(mask.__file__).parent / "_mask.js").read_text()
    assert (Path(mask.__file__).parent / "_mask.css").is_file()
    assert "export default" in js
    for label in (
        "Brush", "Eraser", "Rectangle", "Ellipse", "Invert", "Clear", "Undo", "Redo", "Apply",
        "Brush size", "Overlay opacity",
    ):  # fmt: skip
        assert f'"{label}"' in js, label
    assert "http" not in js.replace("kie_widgets", "")


def test_the_editor_keeps_its_synced_state_small() -> None:
    """A 4000×3000 source syncs only its preview: well under a websocket message's comfortable size."""
    editor = MaskEditor(Image.new("RGB", (4000, 3000), (10, 200, 30)))
    state: dict[str, Any] = editor.get_state()
    assert len(state["image_data"]) < 200_000
    assert state["source_width"] == 4000
