"""SpaazaVendor: the `spaaza` block's spec, its check (one cheap authenticated call), its streams."""

from __future__ import annotations

import logging
from typing import Any, List, Mapping

from airbyte_cdk.sources.streams import Stream

from source_exports.config import CommonConfig
from source_exports.vendors.base import Vendor
from source_exports.vendors.spaaza.client import SpaazaClient
from source_exports.vendors.spaaza.config import DATE_FIELDS, SpaazaConfig
from source_exports.vendors.spaaza.jobs import DoneExports
from source_exports.vendors.spaaza.pipeline import ExportPlan
from source_exports.vendors.spaaza.streams import SpaazaExportStream, SpaazaTasksStream, SpaazaWindowedExportStream


class SpaazaVendor(Vendor):
    """Spaaza Services API export tasks: the task list and one stream per export index."""

    key = "spaaza"
    title = "Spaaza"

    def check(self, block: Mapping[str, Any], common: CommonConfig, logger: logging.Logger) -> None:
        """Validate the block, then list one task: proves the hostname and the token."""
        config = SpaazaConfig.from_block(block)
        tasks = SpaazaClient(config).list_tasks(limit=1)
        chains = {task.get("chain") for task in tasks if isinstance(task, dict) and task.get("chain") is not None}
        if chains and chains != {config.chain_id}:
            logger.warning(
                f"Spaaza: the token lists tasks of chain {sorted(chains)}, but spaaza.chain_id is {config.chain_id}; "
                "check spaaza.chain_id"
            )

    def streams(self, block: Mapping[str, Any], common: CommonConfig) -> List[Stream]:
        config = SpaazaConfig.from_block(block)
        client = SpaazaClient(config)
        done_exports = DoneExports(client)
        plan = ExportPlan(config.export_concurrency)
        streams: List[Stream] = [SpaazaTasksStream(client)]
        for index in config.exports:
            if config.create_exports and index in DATE_FIELDS:
                streams.append(SpaazaWindowedExportStream(index, config, client, done_exports, common.start_date, plan))
            else:
                streams.append(SpaazaExportStream(index, config, client, done_exports, plan))
        return streams
