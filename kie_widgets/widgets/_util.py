"""Replacing a box's children without leaking widgets into the saved notebook.

A widget that is no longer shown still has a live model, and every live model (with its layout and
style) is saved in the notebook's widget state; so what a redraw replaces is closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ipywidgets as w


def close_tree(widget: Any) -> None:
    """Close ``widget``, everything inside it, and its layout and style models."""
    for child in getattr(widget, "children", ()) or ():
        close_tree(child)
    for part in ("layout", "style"):
        model = getattr(widget, part, None)
        if isinstance(model, w.Widget):
            model.close()
    if isinstance(widget, w.Widget):
        widget.close()


def replace_children(box: w.Box, children: Iterable[Any]) -> None:
    """Show ``children`` in ``box`` and close the ones it showed before that are not among them."""
    new = tuple(children)
    old = box.children
    box.children = new
    for child in old:
        if child not in new:
            close_tree(child)


__all__ = ["close_tree", "replace_children"]
