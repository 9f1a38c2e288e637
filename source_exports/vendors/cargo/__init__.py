"""Cargo (getcargo.io): plays, runs, and workflow run outputs exported with `download-outputs`.

Modules: `config` (the validated block), `client` (the only HTTP code), `errors` (Cargo's
error bodies → typed errors and signals), `windows` (half-open time windows), `edges` (window
edges no run sits on), `unfinished` (where an incremental sync must stop), `exports` (window →
export file → rows, splitting on `tooManyRuns`), `streams`, `vendor`.
"""

from source_exports.vendors.cargo.vendor import CargoVendor

VENDOR = CargoVendor()

__all__ = ["VENDOR", "CargoVendor"]
