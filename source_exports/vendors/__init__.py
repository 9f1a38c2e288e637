"""Registry of vendors: one entry per package under this folder, in spec order."""

from __future__ import annotations

from typing import Tuple

from source_exports.vendors.base import Vendor

VENDORS: Tuple[Vendor, ...] = ()
