"""The Studio in real JupyterLab 4 and Notebook 7: pick, price, generate, keep, upscale, restore."""

from __future__ import annotations

import json
from typing import Any

from browser_helpers import NotebookPage, expect

from kie_widgets.widgets._form import model_choices

STUDIO_CELL = "import kie_widgets as kw\nstudio = kw.Studio()\nstudio"
OTHER_CELL = 'print("another cell ran")'
REPORT_CELL = """\
import json
entries = json.load(open("assets/manifest.json"))["assets"]
print(json.dumps([[e["id"], e["kie"].get("cell_id"), bool(e["kie"].get("kept")), e["kie"].get("operation")]
                  for e in entries]))
print("form prompt:", studio.form.prompt.value, "| models:", list(studio.form.models.value))
"""
LABELS = dict((name, label) for label, name in model_choices())


def _show_tabs(studio: Any) -> None:
    """Scroll so the tab bar (runs, gallery, storyboard) is at the top of the screenshot."""
    studio.get_by_role("tab", name="Runs").evaluate("e => e.scrollIntoView({block: 'start'})")


def _manifest_rows(page: NotebookPage) -> list[list[object]]:
    page.run_cell(2)
    first_line = page.output_text(2).splitlines()[0]
    return json.loads(first_line)


def test_studio_generates_keeps_upscales_and_restores(notebook_page: NotebookPage) -> None:
    """Pick two models, see the cost, generate while another cell runs, keep, upscale and restore."""
    page = notebook_page
    page.run_notebook("studio.ipynb", [STUDIO_CELL, OTHER_CELL, REPORT_CELL])
    studio = page.output(0)
    studio.get_by_label("Prompt", exact=True).fill("A lighthouse on a rocky coast at dusk")
    studio.get_by_label("Models", exact=True).select_option(
        label=[LABELS["Imagen 4"], LABELS["Seedream 4.5"]]
    )
    expect(studio.get_by_text("Estimate: 14.5 credits")).to_be_visible()
    page.screenshot("form")

    studio.get_by_role("button", name="Generate").click()
    page.run_cell(1)  # the kernel is free while the tasks run
    assert "another cell ran" in page.output_text(1)
    expect(studio.get_by_text("✔ done")).to_have_count(2)
    _show_tabs(studio)
    page.screenshot("tiles")

    studio.get_by_role("tab", name="Gallery").click()
    expect(studio.get_by_role("button", name="img-001")).to_be_visible()
    _show_tabs(studio)
    page.screenshot("gallery")
    studio.get_by_role("button", name="img-001").click()
    studio.get_by_role("button", name="Keep", exact=True).last.click()
    studio.get_by_role("button", name="Upscale").click()
    studio.get_by_role("tab", name="Runs").click()
    expect(studio.get_by_text("✔ done")).to_have_count(3)
    page.screenshot("upscaled")

    studio.get_by_role("tab", name="Gallery").click()
    studio.get_by_role("button", name="img-002").click()
    studio.get_by_role("button", name="Restore settings").click()

    rows = _manifest_rows(page)
    cell_id = page.save_and_read().cells[0]["id"]
    assert len(rows) == 3
    assert {r[1] for r in rows} == {cell_id}
    assert [r[0] for r in rows if r[2]] == ["img-001"]
    assert rows[2][3] == "upscale"
    report = page.output_text(2)
    assert "form prompt: A lighthouse on a rocky coast at dusk" in report
    assert page.unexpected_page_errors() == []


SCENES = "# Story\n\n## Scene 1: Dusk\nThe lighthouse at dusk.\n\n## Scene 2: Storm\nWaves at night.\n"


def test_ctrl_enter_sweep_grid_and_storyboard(notebook_page: NotebookPage) -> None:
    """Ctrl+Enter in the prompt generates (not re-running the cell); a sweep grid; the storyboard."""
    page = notebook_page
    (page.server.root / "SCENES.md").write_text(SCENES)
    page.run_notebook("compare.ipynb", [STUDIO_CELL])
    studio = page.output(0)
    prompt = studio.get_by_label("Prompt", exact=True)
    studio.get_by_label("Models", exact=True).select_option(label=[LABELS["Imagen 4"]])
    prompt.fill("A red fox in fresh snow")
    expect(studio.get_by_text("Estimate: 8 credits")).to_be_visible()
    prompt.press("Control+Enter")
    expect(studio.get_by_text("✔ done")).to_have_count(1)
    assert page.cells.nth(0).locator(".jp-InputPrompt").inner_text().strip() == "[1]:"  # not run again

    studio.get_by_label("Sweep field").fill("seed")
    studio.get_by_label("Values").fill("1, 2, 3")
    studio.get_by_role("button", name="Run sweep").click()
    expect(studio.get_by_text("✔ done")).to_have_count(4)
    expect(studio.get_by_text("seed = 3")).to_have_count(1)
    _show_tabs(studio)
    page.screenshot("compare-grid")

    studio.get_by_role("tab", name="Storyboard").click()
    expect(studio.get_by_text("Scene 2")).to_be_visible()
    studio.get_by_role("button", name="Generate missing").click()
    expect(studio.get_by_text("Confirm to send")).to_be_visible()
    studio.get_by_role("button", name="Confirm").click()
    studio.get_by_role("tab", name="Runs").click()
    expect(studio.get_by_text("✔ done")).to_have_count(6)  # one take for each of the two scenes
    studio.get_by_role("tab", name="Storyboard").click()
    studio.get_by_role("tab", name="Runs").click()
    studio.get_by_role("tab", name="Storyboard").click()
    expect(studio.get_by_text("2 scene(s), 0 without a take")).to_be_visible()
    _show_tabs(studio)
    page.screenshot("storyboard")
    assert page.unexpected_page_errors() == []
