"""The package READMEs list exactly the formats and vendors the code registers."""

import re
from pathlib import Path

from source_exports.download.formats import FORMATS
from source_exports.vendors import VENDORS

PACKAGE = Path(__file__).resolve().parents[1] / "source_exports"


def listed(readme: str, label: str) -> list:
    line = next(line for line in (PACKAGE / readme).read_text().splitlines() if line.startswith(label))
    return re.findall(r"`([^`]+)`", line.split(":", 1)[1])


def test_given_download_readme_when_reading_registered_formats_then_they_match_the_format_registry():
    assert sorted(listed("download/README.md", "Registered formats")) == sorted(FORMATS)


def test_given_vendors_readme_when_reading_registered_vendors_then_they_match_the_registry_in_order():
    assert listed("vendors/README.md", "Registered vendors") == [vendor.key for vendor in VENDORS]


def test_given_download_readme_when_naming_modules_then_each_module_exists():
    text = (PACKAGE / "download/README.md").read_text()
    for module in re.findall(r"^\| `([a-z_/]+(?:\.py)?)`", text, flags=re.M):
        for name in module.split("`, `"):
            assert (PACKAGE / "download" / name).exists(), name
