"""The shape of the code: packages import one way only, and every late import says why."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def _package_of(module: str) -> str:
    """portal.areas.issuer.contacts -> portal.areas.issuer; portal.invoices.pdf -> portal.invoices."""
    parts = module.split(".")
    depth = 3 if len(parts) > 2 and parts[1] == "areas" else 2
    return ".".join(parts[:depth])


def package_cycles() -> list[list[str]]:
    graph = grimp.build_graph("portal")
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        src = _package_of(module)
        for imported in graph.find_modules_directly_imported_by(module):
            dst = _package_of(imported)
            if dst != src and imported.startswith("portal.") and module.count(".") >= 1:
                edges.setdefault(src, set()).add(dst)
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles_between_packages_of_portal():
    """No two packages of portal/ import each other, directly or round a longer loop."""
    top_level = {"portal", "portal.cli", "portal.demo", "portal.run", "portal.models"}
    cycles = [c for c in package_cycles() if not set(c) & top_level]
    assert cycles == []


def test_cycle_finder_finds_a_cycle(monkeypatch):
    """The check above can fail: a made-up graph with a loop is reported."""

    class Graph:
        modules = {"portal.a.x", "portal.b.y"}

        def find_modules_directly_imported_by(self, module):
            return {"portal.a.x": {"portal.b.y"}, "portal.b.y": {"portal.a.x"}}[module]

    monkeypatch.setattr(grimp, "build_graph", lambda _name: Graph())
    assert package_cycles() == [["portal.a", "portal.b", "portal.a"]]


def late_imports_without_reason() -> list[str]:
    found = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    here = lines[inner.lineno - 1]
                    above = lines[inner.lineno - 2] if inner.lineno > 1 else ""
                    if "#" not in here and not above.strip().startswith("#"):
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {here.strip()}")
    return found


def test_every_import_inside_a_function_says_why():
    """An import inside a function carries a comment (on its line or the line above) with the reason."""
    assert late_imports_without_reason() == []
