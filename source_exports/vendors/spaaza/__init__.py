"""Spaaza Services API: export tasks and their CSV/JSON result files (see docs/vendors/spaaza.md).

Modules: `config` (the validated block), `client` (the only HTTP to Spaaza), `errors` (failures
by message text), `segments` (date windows and their segment rules), `jobs` (task lifecycle and
result files), `pipeline` (export tasks run ahead across the selected streams), `streams`,
`vendor` (spec/check/streams for the registry).
"""

from source_exports.vendors.spaaza.vendor import SpaazaVendor

VENDOR = SpaazaVendor()

__all__ = ["VENDOR", "SpaazaVendor"]
