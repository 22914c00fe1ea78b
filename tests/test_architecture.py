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
    "imagetype",
    "_lazy",
    "config",
    "catalog",
    "client",
    "assets",
    "jobs",
    "runner",
    "session",
    "notebook",
    "widgets",
    "sandbox",
}
# The manifest store, journal and their file lock: front ends reach them only through the session.
MANIFEST_STORE = {"assets.manifest", "assets._store", "assets.journal", "assets.verify"}
FORBIDDEN: dict[str, set[str]] = {
    "errors": INTERNAL - {"errors"},
    "clock": INTERNAL - {"clock"},
    # A leaf table of image signatures that everyone may use; it imports nothing.
    "imagetype": INTERNAL - {"imagetype"},
    # The lazy loader of the package __init__ files: a leaf that imports nothing of ours.
    "_lazy": INTERNAL - {"_lazy"},
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
    "jobs": {"runner", "session", "notebook", "widgets", "IPython", "ipywidgets", "filelock"},
    "runner": {"session", "notebook", "widgets", "IPython", "ipywidgets", "httpx", "filelock"},
    "session": {"notebook", "widgets", "IPython", "ipywidgets", "httpx", "filelock"},
    # The two front ends stand side by side on the session; neither reaches below it.
    "notebook": {"widgets", "jobs", "client", "runner", "sandbox", "httpx", "filelock", *MANIFEST_STORE},
    "widgets": {"notebook", "jobs", "client", "runner", "sandbox", "httpx", "filelock", *MANIFEST_STORE},
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
ONLY_IN = {
    "httpx": {"client", "sandbox", "jobs"},
    "filelock": {"assets"},
    # Pixels are decoded in assets (and drawn by the sandbox); widgets only make thumbnails.
    "PIL": {"assets", "sandbox", "widgets"},
}


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
            if parts[0] == "kie_widgets" and len(parts) > 1:
                found.add(parts[1])
                if len(parts) > 2:
                    found.add(".".join(parts[1:3]))  # e.g. assets.manifest, for MANIFEST_STORE
            else:
                found.add(parts[0])
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


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _internal_edges(path: Path) -> set[str]:
    """Every kie_widgets module this file imports, function-local and relative imports included."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        edges.update(t for t in targets if t.startswith("kie_widgets"))
    return edges


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = {t for t in _internal_edges(path) if t in files and t != name}
        # Importing a package runs its __init__: an edge to the package, not to every module in it.
        graph[name] = {t for t in targets if t != "kie_widgets"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (a list of modules that ends where it starts), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _is_package_init_edge(a: str, b: str) -> bool:
    """A sub-package's __init__ re-exporting its own modules is not a loop between concerns."""
    return b.startswith(a + ".")


def test_no_import_cycle_anywhere_in_the_package() -> None:
    """No module reaches itself through imports, function-local ones included, also inside a sub-package."""
    graph = {
        mod: {t for t in targets if not _is_package_init_edge(mod, t)} for mod, targets in _graph().items()
    }
    # A module importing from its own package's __init__ would pass through the re-exports.
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_top_level_modules_are_checked_too() -> None:
    """The package's __init__ and __main__ import only the light modules at import time."""
    top = {_module_name(p) for p in (PACKAGE / "__init__.py", PACKAGE / "__main__.py")}
    for name in top:
        path = PACKAGE / ("__init__.py" if name == "kie_widgets" else "__main__.py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        heavy = [
            getattr(n, "module", None) or n.names[0].name
            for n in module_level
            if (getattr(n, "module", None) or n.names[0].name).split(".")[0]
            in {"httpx", "PIL", "ipywidgets", "IPython", "filelock"}
        ]
        assert not heavy, f"{name} imports {heavy} at import time"
