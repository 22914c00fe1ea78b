"""The Studio in real JupyterLab 4 and Notebook 7: pick, price, generate, keep, upscale, restore."""

from __future__ import annotations

import json

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


def _manifest_rows(page: NotebookPage) -> list[list[object]]:
    page.run_cell(2)
    first_line = page.output_text(2).splitlines()[0]
    return json.loads(first_line)


def test_studio_generates_keeps_upscales_and_restores(notebook_page: NotebookPage) -> None:
    """Pick two models, see the cost, generate while another cell runs, keep, upscale and restore."""
    page = notebook_page
    page.run_notebook("studio.ipynb", [STUDIO_CELL, OTHER_CELL, REPORT_CELL])
    studio = page.output(0)
    page.screenshot("opened")
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
    page.screenshot("tiles")

    studio.get_by_role("tab", name="Gallery").click()
    expect(studio.get_by_role("button", name="img-001")).to_be_visible()
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
