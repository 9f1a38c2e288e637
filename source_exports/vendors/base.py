"""The contract every vendor package fulfils: its spec block, its check, its streams.

A new vendor is one package under `source_exports/vendors/` exposing a `Vendor` instance and
one line in `source_exports/vendors/__init__.py`.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from importlib import resources
from typing import Any, List, Mapping

from airbyte_cdk.sources.streams import Stream

from source_exports.config import CommonConfig


class Vendor(ABC):
    """One upstream API: the key of its config block, its spec fragment, check and streams."""

    key: str
    """The config block's key, e.g. ``"cargo"``."""
    title: str
    """The vendor's display name used in messages, e.g. ``"Cargo"``."""

    def spec_block(self) -> Mapping[str, Any]:
        """The JSON schema of this vendor's config block, read from the package's spec.json."""
        package = type(self).__module__.rsplit(".", 1)[0]
        return json.loads(resources.files(package).joinpath("spec.json").read_text())

    def upgrade_block(self, block: Mapping[str, Any]) -> Mapping[str, Any]:
        """The block with settings of earlier versions spelled as the spec now asks; unchanged by default.

        Runs before the config is validated against the spec, so configs saved by an older version
        keep working after a value's spelling changed in the form.
        """
        return block

    @abstractmethod
    def check(self, block: Mapping[str, Any], common: CommonConfig, logger: logging.Logger) -> None:
        """Validate the block and make one cheap authenticated call; raise ExportsError on failure."""

    @abstractmethod
    def streams(self, block: Mapping[str, Any], common: CommonConfig) -> List[Stream]:
        """Validate the block and return this vendor's stream objects (no network calls)."""
