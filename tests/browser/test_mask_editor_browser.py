"""The mask editor in real JupyterLab 4 and Notebook 7: a dragged rectangle becomes exactly that mask."""

from __future__ import annotations

import json

from browser_helpers import NotebookPage, expect

EDITOR_CELL = """\
from PIL import Image, ImageDraw
import kie_widgets as kw

source = Image.new("RGB", (640, 360), (30, 90, 160))
ImageDraw.Draw(source).ellipse((40, 40, 600, 320), fill=(200, 160, 60))
source.save("source.png")
editor = kw.MaskEditor("source.png")
editor
"""
REPORT_CELL = """\
import json
mask = editor.mask
counts = mask.histogram()
values = [value for value, count in enumerate(counts) if count]
print(json.dumps({"size": mask.size, "bbox": mask.getbbox(), "values": values, "white": counts[255]}))
"""
EDIT_CELL = """\
session = kw.current_session()
(edit,) = kw.edit("source.png", "a small wooden window", model="4o Image", mask=editor.mask)
drift = session.drift(edit, "source.png", editor.mask)
fixed = session.composite(edit, "source.png", editor.mask)
clean = session.drift(fixed, "source.png", editor.mask)
print(json.dumps({"drift": drift.changed_share, "clean": clean.changed_share,
                  "parent": fixed.entry["kie"]["parents"]}))
"""


def test_dragged_rectangle_is_the_mask_and_the_composite_keeps_the_rest(notebook_page: NotebookPage) -> None:
    """Drag a rectangle, Apply: Python's mask is 255 exactly there; the 4o edit drifts, its composite not."""
    page = notebook_page
    page.run_notebook("mask.ipynb", [EDITOR_CELL, REPORT_CELL, EDIT_CELL])
    editor = page.output(0)
    ghost = editor.locator(".kie-mask-ghost")
    expect(ghost).to_be_visible()
    page.screenshot("editor")

    editor.get_by_role("button", name="Rectangle").click()
    box = ghost.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25
    x1, y1 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.75
    page.page.mouse.move(x0, y0)
    page.page.mouse.down()
    page.page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=5)
    page.page.mouse.move(x1, y1, steps=5)
    page.page.mouse.up()
    page.screenshot("painted")
    editor.get_by_role("button", name="Apply").click()
    expect(editor.get_by_text("Applied:")).to_be_visible()

    page.run_cell(1)
    report = json.loads(page.output_text(1).strip().splitlines()[0])
    assert report["size"] == [640, 360]
    assert report["values"] == [0, 255]
    left, top, right, bottom = report["bbox"]
    # The drag went from 25 %/25 % to 50 %/75 % of the image: (160, 90) to (320, 270), to a pixel or two.
    for got, want in zip((left, top, right, bottom), (160, 90, 320, 270), strict=True):
        assert abs(got - want) <= 2, report
    assert report["white"] == (right - left) * (bottom - top)  # a filled rectangle, nothing else

    page.run_cell(2)
    result = json.loads(page.output_text(2).strip().splitlines()[0])
    assert result["drift"] > 0.5  # the sandbox's 4o shifts colours outside the mask, as real 4o does
    assert result["clean"] == 0.0
    assert len(result["parent"]) == 1
    page.screenshot("edited")
    assert page.unexpected_page_errors() == []
