"""The widgets: the mask editor (an anywidget shipped in the package); the Studio is being built."""

from __future__ import annotations

from kie_widgets.widgets.mask import MaskEditor

__all__ = ["MaskEditor"]
