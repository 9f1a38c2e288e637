"""Registry of vendors: one entry per package under this folder, in spec order."""

from __future__ import annotations

from typing import Tuple

from source_exports.vendors.base import Vendor
from source_exports.vendors.cargo import VENDOR as CARGO
from source_exports.vendors.posthog import VENDOR as POSTHOG
from source_exports.vendors.sourcecraft import VENDOR as SOURCECRAFT
from source_exports.vendors.spaaza import VENDOR as SPAAZA

VENDORS: Tuple[Vendor, ...] = (CARGO, SOURCECRAFT, SPAAZA, POSTHOG)
