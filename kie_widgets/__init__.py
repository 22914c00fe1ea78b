"""kie_widgets: a Jupyter studio for the kie.ai image API.

Importing the package is cheap: every public name is loaded on first use (PEP 562), so
``%load_ext kie_widgets`` does not pull in httpx, Pillow or ipywidgets until a cell needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from kie_widgets import errors as _errors

__version__ = "0.1.0"

# Public name -> module that defines it. One table, so the lazy loader and __all__ agree.
_LAZY: dict[str, str] = {
    # the catalog
    "plan": "kie_widgets.catalog",
    "Plan": "kie_widgets.catalog",
    "models": "kie_widgets.catalog",
    "recommend": "kie_widgets.catalog",
    "NEGATIVE_PRESETS": "kie_widgets.catalog",
    "PromptFormula": "kie_widgets.catalog",
    # assets and the manifest
    "Asset": "kie_widgets.assets",
    "Manifest": "kie_widgets.assets",
    "verify": "kie_widgets.assets",
    "recipe_from": "kie_widgets.assets",
    # the async client
    "KieClient": "kie_widgets.jobs",
    # the blocking facade
    "generate": "kie_widgets.runner",
    "edit": "kie_widgets.runner",
    "upscale": "kie_widgets.runner",
    "remove_background": "kie_widgets.runner",
    "credits": "kie_widgets.runner",
    "resume": "kie_widgets.runner",
    # the session: what the magic and the Studio stand on
    "Session": "kie_widgets.session",
    "current_session": "kie_widgets.session",
    "drift_report": "kie_widgets.assets",
    # widgets
    "Studio": "kie_widgets.widgets",
    "MaskEditor": "kie_widgets.widgets",
    # settings
    "Settings": "kie_widgets.config",
    "load_settings": "kie_widgets.config",
}
# errors is a leaf module with no dependencies: cheap to import eagerly.
_LAZY.update(dict.fromkeys(_errors.__all__, "kie_widgets.errors"))

#: The assets of the most recent %%kie_image cell (set by the notebook layer).
last: list[Any] = []

__all__ = sorted([*_LAZY, "last", "load_ipython_extension", "unload_ipython_extension"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kie_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext kie_widgets``: register the ``%kie_image`` magics."""
    from kie_widgets.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext kie_widgets``."""
    from kie_widgets.notebook import unload_ipython_extension as unload

    unload(ipython)
