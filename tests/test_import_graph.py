"""The package's import graph: no cycle anywhere, and the core never imports an adapter.

Every import counts, also the ones inside functions (a lazy import is still a
dependency, and a lazy cycle is how `cli` <-> `docker.cli` crept in); only
``if TYPE_CHECKING:`` blocks are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import reactor_ci

PACKAGE = Path(reactor_ci.__file__).parent
# Dependencies point one way: entrypoints -> adapters -> core (docs/architecture).
CORE = {
    "reactor_ci.keys",
    "reactor_ci.credentials",
    "reactor_ci.api",
    "reactor_ci.session",
    "reactor_ci.errors",
    "reactor_ci.redact",
    "reactor_ci.logsafe",
    "reactor_ci.fsutil",
    "reactor_ci.paths",
    "reactor_ci.console",
    "reactor_ci.argparsing",
    "reactor_ci.proxy",
}
ADAPTERS = ("reactor_ci.ci", "reactor_ci.docker", "reactor_ci.scan", "reactor_ci.emulator", "reactor_ci.cli")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {t for t in targets if t in known and t != module}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_graph_sees_real_edges() -> None:
    graph = _graph()
    # Guards the test itself: lazy, relative and package imports are all seen.
    assert "reactor_ci.paths" in graph["reactor_ci.docker.cli"]
    assert "reactor_ci.ci._base" in graph["reactor_ci.ci"]
    assert "reactor_ci.docker.cli" in graph["reactor_ci.flows"]  # imported inside a function


def test_no_import_cycle_in_the_package() -> None:
    assert _cycles(_graph()) == []


def test_core_never_imports_an_adapter() -> None:
    graph = _graph()
    bad = {
        module: sorted(t for t in targets if t.startswith(ADAPTERS))
        for module, targets in graph.items()
        if module in CORE
    }
    assert {m: t for m, t in bad.items() if t} == {}
