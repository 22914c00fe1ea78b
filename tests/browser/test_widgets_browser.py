"""Widgets in real JupyterLab 4 and Notebook 7: what a user types and clicks reaches Python, and back."""

from __future__ import annotations

from browser_helpers import NotebookPage, expect

FORM_CELL = """\
import ipywidgets as widgets

prompt = widgets.Text(description="Prompt")
generate = widgets.Button(description="Generate")
result = widgets.Label(value="nothing generated yet")
clicks = []


def on_generate(button):
    clicks.append(prompt.value)
    result.value = f"Generating: {prompt.value}"


generate.on_click(on_generate)
widgets.VBox([prompt, generate, result])
"""
FORM_REPORT_CELL = 'print("python saw clicks with:", clicks)'

# The mask editor's path: the browser produces bytes (a PNG later), Python must receive them as bytes.
BYTES_PROBE_CELL = '''\
import anywidget
import traitlets


class BytesProbe(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const button = document.createElement("button");
      button.textContent = "Send bytes";
      button.addEventListener("click", () => {
        model.set("payload", new DataView(new Uint8Array([0, 1, 2, 254, 255]).buffer));
        model.save_changes();
      });
      const status = document.createElement("span");
      status.textContent = model.get("status");
      model.on("change:status", () => { status.textContent = model.get("status"); });
      el.append(button, status);
    }
    export default { render };
    """
    status = traitlets.Unicode("nothing received").tag(sync=True)
    # Bytes from the browser arrive as a memoryview, which traitlets.Bytes would silently reject.
    payload = traitlets.Bytes(None, allow_none=True).tag(
        sync=True, from_json=lambda js, obj: bytes(js) if js is not None else None
    )

    @traitlets.observe("payload")
    def _acknowledge(self, change):
        self.status = f"python received {len(change['new'])} bytes"


probe = BytesProbe()
probe
'''
BYTES_REPORT_CELL = 'print("payload:", type(probe.payload).__name__, list(probe.payload or b""))'


def test_form_click_reaches_python_and_updates_the_label(notebook_page: NotebookPage) -> None:
    """Typing into "Prompt" and clicking "Generate" runs the callback, which the page and Python both see."""
    notebook_page.run_notebook("form.ipynb", [FORM_CELL, FORM_REPORT_CELL])
    form = notebook_page.output(0)
    assert "python saw clicks with: []" in notebook_page.output_text(1)
    expect(form.get_by_text("nothing generated yet")).to_be_visible()
    notebook_page.screenshot("before-click")

    form.get_by_label("Prompt").fill("a red fox in the snow")
    form.get_by_role("button", name="Generate").click()

    expect(form.get_by_text("Generating: a red fox in the snow")).to_be_visible()
    notebook_page.run_cell(1)
    assert "python saw clicks with: ['a red fox in the snow']" in notebook_page.output_text(1)
    notebook_page.screenshot("after-click")
    assert notebook_page.unexpected_page_errors() == []


def test_anywidget_bytes_from_the_browser_arrive_in_python_as_bytes(notebook_page: NotebookPage) -> None:
    """Bytes an anywidget sets in the browser reach Python intact, as ``bytes`` (the mask editor's path)."""
    notebook_page.run_notebook("probe.ipynb", [BYTES_PROBE_CELL, BYTES_REPORT_CELL])
    probe = notebook_page.output(0)
    assert "payload: NoneType []" in notebook_page.output_text(1)

    probe.get_by_role("button", name="Send bytes").click()

    expect(probe.get_by_text("python received 5 bytes")).to_be_visible()
    notebook_page.run_cell(1)
    assert "payload: bytes [0, 1, 2, 254, 255]" in notebook_page.output_text(1)
    notebook_page.screenshot("bytes-received")
    saved = notebook_page.save_and_read()
    assert "payload: bytes [0, 1, 2, 254, 255]" in saved.cells[1].outputs[0]["text"]
    assert notebook_page.unexpected_page_errors() == []
