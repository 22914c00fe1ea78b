"""The notebook layer: ``%kie_image`` / ``%%kie_image``, cell-metadata capture and inline display.

``%load_ext kie_widgets`` only registers the magics: the catalog, the client, httpx and Pillow are
imported when a cell first needs them, so loading the extension costs milliseconds.
"""

from __future__ import annotations

from typing import Any

_MAGICS_ATTR = "_kie_widgets_magics"


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%kie_image`` magics on ``ipython`` (idempotent) and make them configurable."""
    from kie_widgets.notebook.magics import KieMagics

    if getattr(ipython, _MAGICS_ATTR, None) is not None:
        return
    magics = KieMagics(shell=ipython)
    ipython.register_magics(magics)
    # %config only reaches configurables the shell lists.
    ipython.configurables.append(magics)
    setattr(ipython, _MAGICS_ATTR, magics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the ``%kie_image`` magics again."""
    magics = getattr(ipython, _MAGICS_ATTR, None)
    if magics is None:
        return
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("kie_image", None)
    ipython.magics_manager.registry.pop(type(magics).__name__, None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
    setattr(ipython, _MAGICS_ATTR, None)


__all__ = ["load_ipython_extension", "unload_ipython_extension"]
