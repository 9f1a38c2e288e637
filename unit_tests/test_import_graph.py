"""The static import graph of `source_exports`: no cycles, and `download/` imports nothing from `vendors/`.

The graph is read with `ast`, without importing anything. An edge A → B means module A names
module B in an `import B`, `from B import name` or `from B.pkg import B` (relative imports
resolved against A's package), at any depth: imports inside functions count, because a cycle
hidden in a function is still a cycle (it only moves the failure to the first call). An import
of `a.b.c` is an edge to `a.b.c` only, not to the packages `a` and `a.b` that Python runs on the
way: every module would otherwise depend on `source_exports/__init__.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, FrozenSet, Iterator, List, Optional, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "source_exports"

Graph = Dict[str, Set[str]]


def module_names(root: Path) -> Dict[str, Path]:
    """Dotted name → file of every module under the package directory `root` (packages by `__init__`)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(module: str, is_package: bool, node: ast.AST, known: Set[str]) -> Iterator[str]:
    """The known modules one import statement names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in known:
                yield alias.name
            else:  # `import a.b.attr` cannot happen, but `import a.b` of an unknown module resolves to nothing
                parent = _longest_known_prefix(alias.name, known)
                if parent is not None:
                    yield parent
    elif isinstance(node, ast.ImportFrom):
        base = _absolute(module, is_package, node.module, node.level)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            if candidate in known:
                yield candidate  # `from pkg import module`
            elif base in known:
                yield base


def _absolute(module: str, is_package: bool, name: Optional[str], level: int) -> str:
    if level == 0:
        return name or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    anchor = package[: len(package) - (level - 1)]
    return ".".join(anchor + ([name] if name else []))


def _longest_known_prefix(name: str, known: Set[str]) -> Optional[str]:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def import_graph(root: Path) -> Graph:
    """Module → the package's modules it imports (any depth of the file, functions included)."""
    modules = module_names(root)
    known = set(modules)
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = {
            target
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for target in _imported(module, is_package, node, known)
        }
        graph[module] = targets - {module}
    return graph


def cycles(graph: Graph) -> List[FrozenSet[str]]:
    """The strongly connected components of more than one module (Tarjan), each a set of modules."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[FrozenSet[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def cycle_path(graph: Graph, component: FrozenSet[str]) -> List[str]:
    """One concrete circle through a component, as `a → b → … → a` names, for the failure message."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"{sorted(component)} is not a cycle")


def describe(graph: Graph, found: List[FrozenSet[str]]) -> str:
    return "; ".join(" → ".join(cycle_path(graph, component)) for component in found)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(PACKAGE)


def test_given_the_package_when_its_imports_are_read_then_no_module_imports_another_in_a_circle(graph: Graph) -> None:
    found = list(cycles(graph))

    assert found == [], f"import cycles: {describe(graph, found)}"


def test_given_the_download_package_when_its_imports_are_read_then_it_imports_nothing_from_vendors(
    graph: Graph,
) -> None:
    upward = {
        module: sorted(target for target in targets if target.startswith("source_exports.vendors"))
        for module, targets in graph.items()
        if module == "source_exports.download" or module.startswith("source_exports.download.")
    }

    assert {module: targets for module, targets in upward.items() if targets} == {}


def test_given_the_package_when_its_imports_are_read_then_the_graph_sees_the_known_edges(graph: Graph) -> None:
    # guards the reader itself: a module-level import and a function-level one, both real today
    assert "source_exports.download.batch" in graph["source_exports.download.vectorised"]
    assert "source_exports.vendors" in graph["source_exports.source"]


def write(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_given_relative_function_level_and_module_imports_when_read_then_each_is_an_edge(tmp_path: Path) -> None:
    package = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\nfrom .sub.c import thing\n",
            "pkg/b.py": "def late():\n    import pkg.sub\n",
            "pkg/sub/__init__.py": "from .. import a\n",
            "pkg/sub/c.py": "import os\nthing = 1\n",
        },
    )

    assert import_graph(package) == {
        "pkg": set(),
        "pkg.a": {"pkg.b", "pkg.sub.c"},
        "pkg.b": {"pkg.sub"},
        "pkg.sub": {"pkg.a"},
        "pkg.sub.c": set(),
    }


def test_given_a_cycle_through_a_function_level_import_when_checked_then_it_is_named(tmp_path: Path) -> None:
    package = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import f\n",
            "pkg/b.py": "def f():\n    from pkg import c\n",
            "pkg/c.py": "import pkg.a\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    graph = import_graph(package)

    found = cycles(graph)

    assert found == [frozenset({"pkg.a", "pkg.b", "pkg.c"})]
    assert describe(graph, found) == "pkg.a → pkg.b → pkg.c → pkg.a"
