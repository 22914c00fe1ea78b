"""The modules of ``kie_widgets.assets`` import each other one way only, deferred imports included."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "kie_widgets.assets"
FOLDER = Path(__file__).resolve().parents[2] / "kie_widgets" / "assets"


def _module_names() -> set[str]:
    return {p.stem for p in FOLDER.glob("*.py")}


def _targets(node: ast.AST, names: set[str]) -> set[str]:
    """The sibling modules one import statement loads (``__init__`` for names of the package itself)."""
    if isinstance(node, ast.Import):
        dotted = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == PACKAGE:
            return {alias.name if alias.name in names else "__init__" for alias in node.names}
        dotted = [node.module]
    else:
        return set()
    found = set()
    for name in dotted:
        if name == PACKAGE:
            found.add("__init__")
        elif name.startswith(PACKAGE + "."):
            found.add(name[len(PACKAGE) + 1 :].split(".")[0])
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the sibling modules it imports anywhere: at the top, in a function, under TYPE_CHECKING."""
    names = _module_names()
    graph: dict[str, set[str]] = {}
    for path in sorted(FOLDER.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[path.stem] = set().union(*(_targets(node, names) for node in ast.walk(tree))) - {path.stem}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as a path that ends where it starts, or ``None`` when the graph has none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            loop = visit(target, [*path, node])
            if loop:
                return loop
        done.add(node)
        return None

    for start in sorted(graph):
        loop = visit(start, [])
        if loop:
            return loop
    return None


def test_the_cycle_finder_sees_a_loop_hidden_two_steps_away() -> None:
    """A loop through three modules is reported as that loop; a chain is not a loop."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_function_local_and_type_checking_imports_count() -> None:
    """The walk sees imports inside functions and under TYPE_CHECKING, not only the top-level ones."""
    names = {"manifest", "meta"}
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kie_widgets.assets.manifest import Manifest\n"
        "def f():\n    from kie_widgets.assets import meta\n"
    )
    assert set().union(*(_targets(node, names) for node in ast.walk(tree))) == {"manifest", "meta"}


def test_assets_modules_form_no_import_loop() -> None:
    """No module of the assets package reaches itself through its imports, however deferred."""
    graph = import_graph()
    assert {"asset", "manifest", "meta", "record"} <= set(graph)
    assert find_cycle(graph) is None, f"import loop: {' -> '.join(find_cycle(graph) or [])}"
