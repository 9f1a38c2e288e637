"""SourceCraft CI/CD (https://sourcecraft.dev): runs, artifacts, report rows and artifact files of one repository."""

from source_exports.vendors.sourcecraft.vendor import SourceCraftVendor

VENDOR = SourceCraftVendor()

__all__ = ["VENDOR", "SourceCraftVendor"]
