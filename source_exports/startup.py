"""Process start-up: what must be set before airbyte-cdk and pyarrow are imported.

Memory: pyarrow (26) allocates from mimalloc by default, which keeps ~12 MB more resident than
jemalloc on the CSV and Parquet readers (docs/performance.md), so `install()` asks for jemalloc
unless `ARROW_DEFAULT_MEMORY_POOL` is already set.

Time: every `source-exports` command imports airbyte-cdk, which takes about a second.

Almost half of it is one function. Importing `airbyte_cdk.models` builds eight serpyco-rs
serializers; serpyco-rs reads each protocol class's attribute docstrings with
`attributes_doc.get_attributes_doc`, which calls `inspect.getsource` on every class of the MRO,
and for a class `inspect` parses and walks the *whole* module again each time: 64 parses of the
protocol module, ~0.45 s of every `spec`, `check`, `discover` and `read`.

`fast_attributes_doc` gives the same result from one parse per source file. `install()` hands
it to serpyco-rs before airbyte-cdk is imported (`source_exports/__init__.py`). If serpyco-rs
no longer has the names it patches, nothing is patched and start-up is only slower.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
from typing import Dict, List, Optional

PATCHED = ("serpyco_rs._utils", "serpyco_rs._describe", "serpyco_rs._json_schema._convert")


class _Classes(ast.NodeVisitor):
    """Every class of a module by qualified name (first definition wins, as `inspect` finds it)."""

    def __init__(self) -> None:
        self.stack: List[str] = []
        self.found: Dict[str, ast.ClassDef] = {}

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.stack += [node.name, "<locals>"]  # type: ignore[attr-defined]
        self.generic_visit(node)
        del self.stack[-2:]

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.found.setdefault(".".join(self.stack), node)
        self.generic_visit(node)
        self.stack.pop()


def _documented(node: ast.ClassDef) -> Optional[Dict[str, str]]:
    """Attribute name → the string literal written under it; None if one is an f-string."""
    docs: Dict[str, str] = {}
    for statement, following in zip(node.body, node.body[1:]):
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or not isinstance(following, ast.Expr):
            continue
        if isinstance(following.value, ast.JoinedStr):
            return None
        if isinstance(following.value, ast.Constant) and isinstance(following.value.value, str):
            targets = [statement.target] if isinstance(statement, ast.AnnAssign) else statement.targets
            for target in targets:
                if isinstance(target, ast.Name):
                    docs[target.id] = following.value.value
    return docs


@functools.cache
def _docs_in(filename: str) -> Dict[str, Optional[Dict[str, str]]]:
    """`_documented` for every class of a source file, from one parse (the tree is not kept)."""
    lines = linecache.getlines(filename)
    if not lines:
        return {}
    finder = _Classes()
    finder.visit(ast.parse("".join(lines)))
    return {name: _documented(node) for name, node in finder.found.items()}


def fast_attributes_doc(cls: type) -> Dict[str, str]:
    """`attributes_doc.get_attributes_doc(cls)`: attribute name → docstring, over the MRO, base classes first."""
    from attributes_doc._base import FStringFound

    result: Dict[str, str] = {}
    for parent in reversed(cls.mro()):
        try:
            filename = inspect.getsourcefile(parent)
        except TypeError:  # built-in classes
            continue
        docs = _docs_in(filename).get(parent.__qualname__, {}) if filename else {}
        if docs is None:
            raise FStringFound
        result.update(docs)
    return result


def install() -> None:
    """Choose pyarrow's allocator; give serpyco-rs `fast_attributes_doc` (it caches per class, as before)."""
    import importlib

    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    try:
        modules = [importlib.import_module(name) for name in PATCHED]
    except ImportError:
        return
    if not all(hasattr(module, "get_attributes_doc") for module in modules):
        return
    cached = functools.cache(fast_attributes_doc)
    for module in modules:
        module.get_attributes_doc = cached
