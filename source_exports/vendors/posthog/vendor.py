"""PostHogVendor: the `posthog` config block's check and streams, wired from the package's parts."""

from __future__ import annotations

import logging
from typing import Any, List, Mapping

from airbyte_cdk.sources.streams import Stream

from source_exports.config import CommonConfig
from source_exports.vendors.base import Vendor
from source_exports.vendors.posthog.client import PostHogClient
from source_exports.vendors.posthog.config import PostHogConfig, upgrade_block
from source_exports.vendors.posthog.errors import WRITE_SCOPE
from source_exports.vendors.posthog.streams import (
    PostHogBatchExportLogs,
    PostHogBatchExportRuns,
    PostHogBatchExports,
    PostHogFileDownloadStream,
)


class PostHogVendor(Vendor):
    """Batch exports, their runs and logs, and on-demand file downloads (events, persons, sessions)."""

    key = "posthog"
    title = "PostHog"

    def upgrade_block(self, block: Mapping[str, Any]) -> Mapping[str, Any]:
        return upgrade_block(block)

    def check(self, block: Mapping[str, Any], common: CommonConfig, logger: logging.Logger) -> None:
        """One cheap listing call; a missing scope comes back as an AuthError naming the scope."""
        config = PostHogConfig.from_block(block)
        client = PostHogClient(config)
        client.check_access()
        if config.file_download is not None:
            if config.organization_id:
                client.check_environment()
            logger.info(
                f"PostHog: file downloads are configured; the API key also needs the {WRITE_SCOPE} scope "
                "(checked when the first export is created, since checking it here would start an export)"
            )

    def streams(self, block: Mapping[str, Any], common: CommonConfig) -> List[Stream]:
        config = PostHogConfig.from_block(block)
        client = PostHogClient(config)
        streams: List[Stream] = [
            PostHogBatchExports(client, config),
            PostHogBatchExportRuns(client, config, common.start_date),
            PostHogBatchExportLogs(client, config, common.start_date),
        ]
        if config.file_download is not None:
            for model in config.file_download.models:
                streams.append(PostHogFileDownloadStream(client, config, model, common.start_date))
        return streams


VENDOR = PostHogVendor()
