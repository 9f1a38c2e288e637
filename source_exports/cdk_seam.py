"""Every touch of airbyte-cdk's or serpyco-rs's private names, in one module.

The connector replaces or mirrors a few CDK internals; each is named here, with the digest of
the CDK source it was written against (`MIRRORED`), and a unit test fails when an installed
CDK's source differs: an upgrade is then a conscious act (README.md, "Upgrading the CDK").

- `SourceSeam` replaces two `AbstractSource` methods: the per-stream read (so rows can travel in
  batches, `fast_read`) and the exception serializer (our failure types, `errors`).
- `fast_read.read_stream` mirrors `AbstractSource._read_stream`; it reads the source's slice
  logger, message queue and the transformer's flags through the accessors below.
- `run.ExportsEntrypoint.run` mirrors the `read` branch of `AirbyteEntrypoint.run` and drains the
  entrypoint's queue through `entrypoint_queue`.
- `speed_up_serpyco` hands serpyco-rs a faster attribute-doc reader, and `defer_package_init`
  skips the package `__init__` of airbyte-cdk (its declarative framework) until a name of it is
  used. Only the `source-exports` command applies them (`startup.main`): importing
  `source_exports` patches nothing.

This module imports neither airbyte-cdk nor pyarrow at import time: `startup.main` uses it before
either is loaded.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import linecache
import sys
import warnings
from typing import Any, Dict, Iterable, List, Optional

CDK_VERSION = "7.39.1"
"""The airbyte-cdk release `setup.py` pins and the digests below were taken from."""

MIRRORED: Dict[str, str] = {
    "airbyte_cdk.sources.abstract_source:AbstractSource.read": "03a07ff511e7b773",
    "airbyte_cdk.sources.abstract_source:AbstractSource._read_stream": "be87865274c2961d",
    "airbyte_cdk.sources.abstract_source:AbstractSource._serialize_exception": "543aa7fe76ef2e99",
    "airbyte_cdk.sources.abstract_source:AbstractSource._emit_queued_messages": "cc3caad56de146db",
    "airbyte_cdk.entrypoint:AirbyteEntrypoint.run": "b5d0edc048e7e051",
    "airbyte_cdk.entrypoint:AirbyteEntrypoint._emit_queued_messages": "ad07294ea969266c",
    "airbyte_cdk.sources.utils.transform:TypeTransformer.__init__": "13cb8cfda62b93c7",
    "attributes_doc:get_attributes_doc": "11e275cde6dc09b5",
}
"""`module:qualified name` of each CDK (or serpyco-rs dependency) function the connector mirrors,
replaces or reads a private attribute of → `digest` of its source in `CDK_VERSION`."""

SERPYCO_PATCHED = ("serpyco_rs._utils", "serpyco_rs._describe", "serpyco_rs._json_schema._convert")


def digest(name: str) -> str:
    """The first 16 hex digits of the SHA-256 of the source of `module:qualified.name`."""
    module_name, qualified = name.split(":")
    target: Any = importlib.import_module(module_name)
    for part in qualified.split("."):
        target = getattr(target, part)
    return hashlib.sha256(inspect.getsource(target).encode()).hexdigest()[:16]


# --- AbstractSource -------------------------------------------------------------------------


class SourceSeam:
    """Mixed in before `AbstractSource`: the two of its private methods the connector replaces.

    `_read_stream` hands every stream to `self.read_stream_messages(stock, ...)`, where `stock()`
    is the CDK's own reader; `_serialize_exception` asks `self.traced_exception(error, stream)`.
    """

    def _read_stream(self, logger, stream_instance, configured_stream, state_manager, internal_config):  # noqa: ANN001
        args = (logger, stream_instance, configured_stream, state_manager, internal_config)
        stock = functools.partial(super()._read_stream, *args)  # type: ignore[misc]
        return self.read_stream_messages(stock, *args)  # type: ignore[attr-defined]

    def _serialize_exception(self, stream_descriptor, e, stream_instance=None):  # noqa: ANN001 (CDK signature)
        return self.traced_exception(e, stream_descriptor)  # type: ignore[attr-defined]


def slice_logger(source: Any) -> Any:
    """The slice logger `AbstractSource._read_stream` passes to `Stream.read`."""
    return source._slice_logger


def source_queue(source: Any) -> Iterable[Any]:
    """The messages queued on the source's message repository (logs, traces), drained."""
    return source._emit_queued_messages()


def transform_flags(transformer: Any) -> Any:
    """The `TransformConfig` flags a stream's `TypeTransformer` was built with."""
    return transformer._config


# --- AirbyteEntrypoint ----------------------------------------------------------------------


def entrypoint_queue(entrypoint: Any) -> Iterable[Any]:
    """The messages queued on the entrypoint's source, drained as `AirbyteEntrypoint.run` does."""
    return entrypoint._emit_queued_messages(entrypoint.source)


# --- serpyco-rs -----------------------------------------------------------------------------
#
# Importing `airbyte_cdk.models` builds eight serpyco-rs serializers; serpyco-rs reads each
# protocol class's attribute docstrings with `attributes_doc.get_attributes_doc`, which calls
# `inspect.getsource` on every class of the MRO, and for a class `inspect` parses and walks the
# *whole* module again each time: 64 parses of the protocol module, ~0.45 s of every command.
# `fast_attributes_doc` gives the same result from one parse per source file.


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


def speed_up_serpyco() -> None:
    """Give serpyco-rs `fast_attributes_doc` (cached per class, as before); before airbyte-cdk is imported.

    If serpyco-rs no longer has the names it patches, nothing is patched and start-up is only slower.
    """
    try:
        modules = [importlib.import_module(name) for name in SERPYCO_PATCHED]
    except ImportError:
        return
    if not all(hasattr(module, "get_attributes_doc") for module in modules):
        return
    cached = functools.cache(fast_attributes_doc)
    for module in modules:
        module.get_attributes_doc = cached


# --- the airbyte_cdk package ----------------------------------------------------------------
#
# `airbyte_cdk/__init__.py` imports the whole declarative (low-code) framework: ~900 modules,
# pydantic models of the manifest schema, jinja2, PyJWT and `cryptography` (whose Rust library
# alone keeps ~8 MB resident). The connector imports only submodules (`airbyte_cdk.models`,
# `airbyte_cdk.sources.streams`, ...), none of which needs the framework.


def defer_package_init() -> None:
    """Load `airbyte_cdk`'s submodules without its package `__init__` until a name of the package itself is asked for.

    The package is put in `sys.modules` uninitialised, with a module `__getattr__`: a submodule
    being imported is found as usual, and any other name (`from airbyte_cdk import X`,
    `airbyte_cdk.__version__`) runs the real `__init__` first, so every name the package offers
    is still there. The framework's import changes two process-wide settings, made here the same
    way so a command's stderr stays the same: SyntaxWarnings ignored, warnings printed as
    `Category: message`. Call before anything imports airbyte-cdk; a no-op after.
    """
    if "airbyte_cdk" in sys.modules:
        return
    spec = importlib.util.find_spec("airbyte_cdk")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)

    def initialise_on_first_use(name: str) -> Any:
        submodule = sys.modules.get(f"airbyte_cdk.{name}")
        if submodule is not None:  # `import airbyte_cdk.a.b as c` while airbyte_cdk.a is being imported
            return submodule
        del package.__getattr__
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = initialise_on_first_use  # type: ignore[attr-defined]
    sys.modules["airbyte_cdk"] = package
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
