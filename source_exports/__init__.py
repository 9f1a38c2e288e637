"""source-exports: an Airbyte source for vendor export APIs."""

from source_exports import startup

startup.install()  # before airbyte-cdk is imported: see startup.py

from source_exports.source import SourceExports  # noqa: E402

__all__ = ["SourceExports"]
