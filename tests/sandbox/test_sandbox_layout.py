"""The sandbox stays split: imports between its modules point one way, with no loop anywhere."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import kie_widgets.sandbox

SANDBOX = Path(kie_widgets.sandbox.__file__).resolve().parent


def module_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """Module of ``package_dir`` -> the modules of the same package it imports, wherever it imports them.

    Every import statement counts: at the top, inside functions and under ``TYPE_CHECKING``.
    ``from package import name`` points at the submodule ``name`` when there is one, else at
    ``__init__``; relative imports are resolved against the package.
    """
    modules = {p.stem for p in package_dir.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted(package_dir.glob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Import):
                targets = [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    # A module of a flat package resolves one level up to the package itself.
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                targets = [(base, [alias.name for alias in node.names])]
            for module, names in targets:
                if module == package:
                    found |= {n if n in modules else "__init__" for n in names} if names else {"__init__"}
                elif module.startswith(package + "."):
                    found.add(module[len(package) + 1 :].split(".")[0])
        graph[path.stem] = found - {path.stem}
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop of ``graph`` (its modules in order, the first repeated at the end), or ``None``."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def test_sandbox_modules_import_each_other_without_a_loop() -> None:
    """No module of kie_widgets/sandbox reaches itself through its imports, counting local ones."""
    graph = module_graph(SANDBOX, "kie_widgets.sandbox")
    assert {"_core", "_routes", "_tasks", "_ledger", "_files", "_uploads", "_faults", "_callbacks"} <= set(
        graph
    )
    assert import_cycle(graph) is None, " -> ".join(import_cycle(graph) or [])


def test_a_loop_hidden_in_a_function_or_type_checking_block_is_found(tmp_path: Path) -> None:
    """The walker sees imports inside functions and TYPE_CHECKING blocks, and relative ones."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from pkg.b import thing\n")
    (tmp_path / "b.py").write_text("def late():\n    from . import c\n")
    (tmp_path / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n"
    )
    graph = module_graph(tmp_path, "pkg")
    assert graph == {"__init__": set(), "a": {"b"}, "b": {"c"}, "c": {"a"}}
    cycle = import_cycle(graph)
    assert cycle is not None
    assert set(cycle) == {"a", "b", "c"}


def test_importing_a_name_from_the_package_points_at_its_init(tmp_path: Path) -> None:
    """``from pkg import name`` is an edge to ``__init__`` unless ``name`` is a submodule."""
    (tmp_path / "__init__.py").write_text("from pkg.a import A\n")
    (tmp_path / "a.py").write_text("from pkg import b\nA = 1\n")
    (tmp_path / "b.py").write_text("from pkg import A\n")
    graph = module_graph(tmp_path, "pkg")
    assert graph == {"__init__": {"a"}, "a": {"b"}, "b": {"__init__"}}
    assert import_cycle(graph) is not None
