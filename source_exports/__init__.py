"""source-exports: an Airbyte source for vendor export APIs.

Importing the package changes nothing in the process; the `source-exports` command applies its
start-up settings itself (`startup.main`).
"""

from typing import Any

__all__ = ["SourceExports"]


def __getattr__(name: str) -> Any:
    """`SourceExports` on first use, so that `startup.main` runs before airbyte-cdk is imported."""
    if name == "SourceExports":
        from source_exports.source import SourceExports

        return SourceExports
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
