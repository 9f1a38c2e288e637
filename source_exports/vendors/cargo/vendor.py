"""`CargoVendor`: the `cargo` config block's check and streams."""

from __future__ import annotations

import logging
from typing import Any, List, Mapping

from airbyte_cdk.sources.streams import Stream

from source_exports.config import CommonConfig
from source_exports.http import build_session, retry_policy
from source_exports.vendors.base import Vendor
from source_exports.vendors.cargo.client import RETRIED_METHODS, CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.streams import build_streams

CHECK_RETRIES = 2
"""`check` answers while a user waits: fewer retries than a sync (about 1.5 s of backoff, not 15 s)."""


class CargoVendor(Vendor):
    """Cargo (getcargo.io): plays, runs and workflow run outputs."""

    key = "cargo"
    title = "Cargo"

    def check(self, block: Mapping[str, Any], common: CommonConfig, logger: logging.Logger) -> None:
        """Validate the block, then one cheap authenticated call: the first page (one run) of runs/list."""
        config = parse_cargo_config(block)
        session = build_session(retry_policy(total=CHECK_RETRIES, methods=RETRIED_METHODS))
        CargoClient(config, session=session).list_runs({}, limit=1)
        if config.run_outputs:
            names = ", ".join(output.name for output in config.run_outputs)
            logger.info(f"Cargo: token accepted; run output streams: {names}")

    def streams(self, block: Mapping[str, Any], common: CommonConfig) -> List[Stream]:
        config = parse_cargo_config(block)
        return build_streams(CargoClient(config), config, common.start_date)
