"""The Studio: widgets generated from the catalog, standing on the session (DESIGN.md §2).

``Studio`` joins a ``Form`` (models, prompt, parameters), live ``RunTile``\\ s and a ``Gallery``
over the manifest; each part can be used alone. ``MaskEditor`` paints masks in the browser
(an anywidget module shipped in the package).
ipywidgets is imported only when one is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kie_widgets.widgets._form import Form
    from kie_widgets.widgets._gallery import Gallery
    from kie_widgets.widgets._studio import Studio
    from kie_widgets.widgets._tiles import RunTile
    from kie_widgets.widgets.mask import MaskEditor

_LAZY = {
    "Studio": "_studio",
    "Form": "_form",
    "Gallery": "_gallery",
    "RunTile": "_tiles",
    "MaskEditor": "mask",
}
__all__ = ["Form", "Gallery", "MaskEditor", "RunTile", "Studio"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kie_widgets.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kie_widgets.widgets.{module}"), name)
    globals()[name] = value
    return value
