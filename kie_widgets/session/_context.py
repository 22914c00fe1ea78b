"""Which cell is running: its id, its metadata, the notebook path and the scene, read once at the start.

Frontends put this in different places of the ``execute_request``:

* JupyterLab 4 and Notebook 7 merge the cell's own metadata into the request's ``metadata`` and add
  ``cellId`` (plus bookkeeping keys such as ``deletedCells`` and ``recordTiming``);
* VS Code sends ``cellId`` as a ``vscode-notebook-cell:`` URI that also names the notebook file, and
  defines ``__vsc_ipynb_file__`` in the user namespace;
* Colab sends its own ids under ``colab`` keys;
* nbclient, papermill and a terminal IPython send none of it.

The parent header is read on the calling thread when the magic starts (DESIGN.md §4), never later
from the loop thread, where it would already belong to another cell.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from kie_widgets.errors import KieValidationError, Problem

# Keys JupyterLab / Notebook / VS Code add to the request's metadata that are not the cell's own, and
# "execution", the frontend's (or nbclient's) timing record: bookkeeping, not what the author wrote.
_FRONTEND_KEYS = frozenset({"cellId", "cell_id", "deletedCells", "recordTiming", "trusted", "execution"})
_SCENE_TAG = re.compile(r"^scene[-_:]?(\d+)$", re.IGNORECASE)


_SCENE = re.compile(r"^(?:scene[-_: ]?|s)?(\d+)$", re.IGNORECASE)


def scene_number(value: str | int | None, *, field_name: str = "scene") -> int | None:
    """``3``, ``"3"``, ``"scene-3"``, ``"scene_03"`` -> 3; None stays None; else a validation error."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SCENE.match(str(value).strip()) if not isinstance(value, bool) else None
    if not match:
        raise KieValidationError([Problem(field_name, "expected a scene number like 3 or scene-3", value)])
    return int(match.group(1))


@dataclass(frozen=True)
class CellContext:
    """What the manifest records about the cell an image came from, and where each fact came from."""

    cell_id: str | None = None
    cell_id_source: str | None = None  # "jupyterlab" | "vscode" | "colab" | None
    notebook: str | None = None
    notebook_source: str | None = None  # "JPY_SESSION_NAME" | "__vsc_ipynb_file__" | "vscode-cell-uri"
    cell_metadata: dict[str, Any] = field(default_factory=dict)
    cell_source: str | None = None
    scene_id: int | None = None
    scene_source: str | None = None  # "option" | "cell-metadata" | "cell-tag" | None

    @property
    def headless(self) -> bool:
        """True when the frontend sent no cell id (nbclient, papermill, a terminal)."""
        return self.cell_id is None

    def as_context(self) -> dict[str, Any]:
        """The ``context`` mapping the client records with every image (see the contract)."""
        return {
            "cell_id": self.cell_id,
            "notebook": self.notebook,
            "cell_source": self.cell_source,
            "scene_source": self.scene_source,
            "cell_metadata": dict(self.cell_metadata),
            # Which frontend key / variable supplied the id and the path (kept by clients that know them).
            "cell_id_source": self.cell_id_source,
            "notebook_source": self.notebook_source,
        }

    def describe(self) -> str:
        """One line for ``doctor`` and the status line: what the frontend told us."""
        if self.headless:
            return "no cell id from the frontend (headless run): images are recorded without it"
        where = f" in {self.notebook}" if self.notebook else ""
        return f"cell {self.cell_id} ({self.cell_id_source}){where}"


def parent_message(shell: Any) -> dict[str, Any]:
    """The ``execute_request`` being run by ``shell``, or ``{}`` outside a kernel."""
    kernel = getattr(shell, "kernel", None)
    parent: Any = None
    if kernel is not None and hasattr(kernel, "get_parent"):
        try:
            parent = kernel.get_parent("shell")
        except Exception:  # an old or unusual kernel; fall back to the shell's own copy
            parent = None
    if not parent:
        parent = getattr(shell, "parent_header", None)
    return parent if isinstance(parent, dict) else {}


def _vscode_notebook(cell_uri: str) -> str | None:
    parsed = urlparse(cell_uri)
    if parsed.scheme != "vscode-notebook-cell" or not parsed.path:
        return None
    return unquote(parsed.path)


def _cell_id(metadata: Mapping[str, Any], header: Mapping[str, Any]) -> tuple[str | None, str | None]:
    value = metadata.get("cellId") or metadata.get("cell_id")
    if isinstance(value, str) and value:
        return value, ("vscode" if value.startswith("vscode-notebook-cell:") else "jupyterlab")
    colab = metadata.get("colab") or header.get("colab")
    if isinstance(colab, Mapping):
        value = colab.get("cell_id") or colab.get("cellId")
        if isinstance(value, str) and value:
            return value, "colab"
    return None, None


def notebook_path(shell: Any, cell_id: str | None = None) -> tuple[str | None, str | None]:
    """The running notebook's path and which source named it (None, None when nothing does)."""
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        return session, "JPY_SESSION_NAME"
    user_ns = getattr(shell, "user_ns", None) or {}
    vsc = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vsc, str) and vsc:
        return vsc, "__vsc_ipynb_file__"
    if cell_id:
        path = _vscode_notebook(cell_id)
        if path:
            return path, "vscode-cell-uri"
    return None, None


def scene_from(option: int | None, cell_metadata: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The scene id: ``--scene``, else ``kie.scene_id`` in the cell metadata, else a ``scene-N`` tag."""
    if option is not None:
        return option, "option"
    kie = cell_metadata.get("kie")
    if isinstance(kie, Mapping) and kie.get("scene_id") not in (None, ""):
        return scene_number(kie["scene_id"], field_name="cell metadata kie.scene_id"), "cell-metadata"
    tags = cell_metadata.get("tags")
    if isinstance(tags, list):
        for tag in tags:
            match = _SCENE_TAG.match(str(tag))
            if match:
                return int(match.group(1)), "cell-tag"
    return None, None


def capture(shell: Any, *, cell_source: str | None = None, scene_option: int | None = None) -> CellContext:
    """Read the executing cell's id, metadata and notebook path now, on the calling thread."""
    parent = parent_message(shell)
    metadata = parent.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    header = parent.get("header")
    header = header if isinstance(header, Mapping) else {}
    cell_id, id_source = _cell_id(metadata, header)
    cell_metadata = {k: v for k, v in metadata.items() if k not in _FRONTEND_KEYS}
    notebook, nb_source = notebook_path(shell, cell_id)
    scene_id, scene_source = scene_from(scene_option, cell_metadata)
    return CellContext(
        cell_id=cell_id,
        cell_id_source=id_source,
        notebook=notebook,
        notebook_source=nb_source,
        cell_metadata=cell_metadata,
        cell_source=cell_source,
        scene_id=scene_id,
        scene_source=scene_source,
    )


__all__ = ["CellContext", "capture", "notebook_path", "parent_message", "scene_from"]
