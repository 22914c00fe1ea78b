"""The calling cell's context, read in ``session._context`` (both front ends need it).

Here a problem with it (a bad scene number in the cell's metadata) becomes the magic's short
``UsageError`` instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from kie_widgets.errors import KieValidationError
from kie_widgets.session._context import CellContext
from kie_widgets.session._context import capture as _capture


def capture(shell: Any, *, cell_source: str | None = None, scene_option: int | None = None) -> CellContext:
    """The executing cell's id, metadata, notebook path and scene (``session._context.capture``)."""
    try:
        return _capture(shell, cell_source=cell_source, scene_option=scene_option)
    except KieValidationError as exc:
        problem = exc.problems[0]
        raise UsageError(
            f"{problem.field}: expected a scene number like 3 or scene-3, got {problem.value!r}."
        ) from None


__all__ = ["CellContext", "capture"]
