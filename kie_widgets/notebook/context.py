"""The calling cell's context: ``session._context`` (both front ends need it), re-exported here."""

from kie_widgets.session._context import CellContext, capture

__all__ = ["CellContext", "capture"]
