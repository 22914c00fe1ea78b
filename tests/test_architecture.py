"""The import arrows of DESIGN.md §2 point one way; a wrong arrow fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kie_widgets"

# Concern -> what it may not import. Concerns are the first component below kie_widgets.
INTERNAL = {
    "errors",
    "clock",
    "config",
    "catalog",
    "client",
    "assets",
    "jobs",
    "runner",
    "notebook",
    "widgets",
    "sandbox",
}
FORBIDDEN: dict[str, set[str]] = {
    "errors": INTERNAL - {"errors"},
    "clock": INTERNAL - {"clock"},
    "config": {
        "catalog",
        "client",
        "assets",
        "jobs",
        "runner",
        "notebook",
        "widgets",
        "sandbox",
        "httpx",
        "IPython",
        "ipywidgets",
        "PIL",
    },
    "catalog": {
        "client",
        "assets",
        "jobs",
        "runner",
        "notebook",
        "widgets",
        "sandbox",
        "httpx",
        "IPython",
        "ipywidgets",
        "PIL",
    },
    "client": {
        "assets",
        "jobs",
        "runner",
        "notebook",
        "widgets",
        "sandbox",
        "IPython",
        "ipywidgets",
        "PIL",
        "filelock",
    },
    "assets": {
        "client",
        "jobs",
        "runner",
        "notebook",
        "widgets",
        "sandbox",
        "httpx",
        "IPython",
        "ipywidgets",
    },
    # jobs builds the session, so it alone may construct the in-process sandbox for KIE_SANDBOX=1.
    "jobs": {"runner", "notebook", "widgets", "IPython", "ipywidgets", "filelock"},
    "runner": {"notebook", "widgets", "IPython", "ipywidgets", "httpx", "filelock"},
    "notebook": {"httpx", "filelock"},
    "widgets": {"httpx", "filelock"},
    # The emulator must not share the client's code paths, or it could hide the client's bugs.
    "sandbox": {
        "client",
        "jobs",
        "runner",
        "assets",
        "notebook",
        "widgets",
        "IPython",
        "ipywidgets",
        "filelock",
    },
}
# Only these concerns may import these third-party packages at all.
ONLY_IN = {"httpx": {"client", "sandbox", "jobs"}, "filelock": {"assets"}}


def _concern(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


def _imports(path: Path) -> set[str]:
    """Top-level names a module imports: our concerns for internal imports, packages otherwise."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            continue  # relative imports stay inside the module's own concern
        for name in names:
            parts = name.split(".")
            found.add(parts[1] if parts[0] == "kie_widgets" and len(parts) > 1 else parts[0])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _concern(p) in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_point_one_way(path: Path) -> None:
    """A module imports nothing its concern is forbidden to import."""
    concern = _concern(path)
    imported = _imports(path) - {concern}
    wrong = sorted(imported & FORBIDDEN[concern])
    wrong += sorted(pkg for pkg, allowed in ONLY_IN.items() if pkg in imported and concern not in allowed)
    assert not wrong, f"{path.relative_to(PACKAGE)} ({concern}) must not import {sorted(set(wrong))}"


def test_package_import_is_cheap() -> None:
    """Importing kie_widgets loads none of the heavy dependencies."""
    import subprocess
    import sys

    code = (
        "import sys, kie_widgets; heavy = [m for m in ('httpx', 'PIL', 'ipywidgets', 'IPython')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
