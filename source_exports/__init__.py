"""source-exports: an Airbyte source for vendor export APIs."""

from source_exports.source import SourceExports

__all__ = ["SourceExports"]
