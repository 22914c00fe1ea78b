"""The Studio: widgets generated from the catalog, standing on the session (DESIGN.md §2).

``Studio`` joins a ``Form`` (models, prompt, parameters), live ``RunTile``\\ s and a ``Gallery``
over the manifest; each part can be used alone. ``MaskEditor`` paints masks in the browser
(an anywidget module shipped in the package).
ipywidgets is imported only when one is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kie_widgets._lazy import lazy_getattr

if TYPE_CHECKING:
    from kie_widgets.widgets._form import Form
    from kie_widgets.widgets._gallery import Gallery
    from kie_widgets.widgets._studio import Studio
    from kie_widgets.widgets._tiles import RunTile
    from kie_widgets.widgets.mask import MaskEditor

_LAZY = {
    "Studio": "._studio",
    "Form": "._form",
    "Gallery": "._gallery",
    "RunTile": "._tiles",
    "MaskEditor": ".mask",
}
__all__ = ["Form", "Gallery", "MaskEditor", "RunTile", "Studio"]


__getattr__ = lazy_getattr("kie_widgets.widgets", _LAZY, globals())
