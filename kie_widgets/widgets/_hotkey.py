"""Ctrl/Cmd+Enter in a text box of the Studio generates: a few lines of browser code, no build step.

ipywidgets' text boxes report no key presses, so this small anywidget listens in the page and sends
one message to Python per press. It handles the key before the notebook does, so the press does not
also run the Studio's cell again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anywidget

log = logging.getLogger("kie_widgets.widgets")

_ESM = """
function render({ model, el }) {
  el.style.display = "none";
  const onKey = (event) => {
    const root = el.closest(".kie-studio");
    if (!root || !(event.ctrlKey || event.metaKey) || event.key !== "Enter") return;
    if (!event.target || event.target.tagName !== "TEXTAREA" || !root.contains(event.target)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    model.send({ event: "submit" });
  };
  window.addEventListener("keydown", onKey, true);
  return () => window.removeEventListener("keydown", onKey, true);
}
export default { render };
"""


class Hotkey(anywidget.AnyWidget):
    """An invisible widget that calls ``on_submit()`` when Ctrl/Cmd+Enter is pressed in a text box."""

    _esm = _ESM

    def __init__(self, on_submit: Callable[[], Any]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self.on_msg(self._message)

    def _message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            try:
                self._on_submit()
            except Exception:  # anywidget swallows errors in callbacks: say what went wrong
                log.exception("Ctrl+Enter could not generate")


__all__ = ["Hotkey"]
