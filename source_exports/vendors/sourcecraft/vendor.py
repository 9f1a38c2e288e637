"""`SourceCraftVendor`: validates the `sourcecraft` config block, checks it, builds the four streams."""

from __future__ import annotations

import logging
import re
from typing import Any, List, Mapping

from airbyte_cdk.sources.streams import Stream

from source_exports.config import (
    CommonConfig,
    optional_strings,
    require_match,
    require_number,
    require_string,
    require_url,
)
from source_exports.errors import ConfigError
from source_exports.vendors.base import Vendor
from source_exports.vendors.sourcecraft.streams import (
    DEFAULT_DOWNLOAD_CONCURRENCY,
    SourceCraftArtifactFilesStream,
    SourceCraftArtifactRecordsStream,
    SourceCraftArtifactsStream,
    SourceCraftRunsStream,
    SourceCraftSettings,
)

PREFIX = "sourcecraft"
DEFAULT_API_URL = "https://api.sourcecraft.tech"
MAX_DOWNLOAD_CONCURRENCY = 16  # the connection pool's size per host
SLUG = re.compile(r"^[^/\s?#]+$")


def require_slug(block: Mapping[str, Any], key: str) -> str:
    """An org or repo slug: one URL path segment."""
    hint = "Use the name from the repository URL https://sourcecraft.dev/<org_slug>/<repo_slug>, without '/'"
    return require_match(require_string(block, key, PREFIX), SLUG, f"{PREFIX}.{key}", "a slug", hint)


def require_glob(pattern: str, field: str) -> str:
    """A glob pattern whose every `[` opens a closed character class (an unclosed one matches nothing)."""
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            first = position + 2 if pattern[position + 1 : position + 2] in ("]", "!") else position + 1
            close = pattern.find("]", first)  # a `]` right after `[` (or `[!`) is a member, not the end
            if close < 0:
                raise ConfigError(
                    f"'{pattern}' is not a valid glob pattern: the '[' at position {position + 1} is never closed",
                    field=field,
                    hint="Close the character class (e.g. reports/[ab]*.xml), or write a literal bracket as [[]",
                )
            position = close
        position += 1
    return pattern


def parse_settings(block: Mapping[str, Any]) -> SourceCraftSettings:
    """The typed settings of the block, or a ConfigError naming the offending field."""
    return SourceCraftSettings(
        api_url=require_url(block.get("api_url") or DEFAULT_API_URL, f"{PREFIX}.api_url"),
        api_token=require_string(block, "api_token", PREFIX),
        org_slug=require_slug(block, "org_slug"),
        repo_slug=require_slug(block, "repo_slug"),
        workflows=optional_strings(block, "workflows", PREFIX),
        artifact_paths=tuple(
            require_glob(pattern, f"{PREFIX}.artifact_paths[{index}]")
            for index, pattern in enumerate(optional_strings(block, "artifact_paths", PREFIX))
        ),
        download_concurrency=int(
            require_number(
                block,
                "download_concurrency",
                PREFIX,
                DEFAULT_DOWNLOAD_CONCURRENCY,
                1,
                MAX_DOWNLOAD_CONCURRENCY,
                integer=True,
                hint="1 downloads one artifact at a time; more overlap the downloads of small artifacts",
            )
        ),
    )


class SourceCraftVendor(Vendor):
    """SourceCraft CI/CD: runs and artifacts of one repository."""

    key = "sourcecraft"
    title = "SourceCraft"

    def check(self, block: Mapping[str, Any], common: CommonConfig, logger: logging.Logger) -> None:
        """One page of one run: proves the token, the API URL and the repository together."""
        settings = parse_settings(block)
        settings.client().list_runs_page(page_size=1)

    def streams(self, block: Mapping[str, Any], common: CommonConfig) -> List[Stream]:
        settings = parse_settings(block)
        client = settings.client()
        return [
            SourceCraftRunsStream(settings, common.start_date, client=client),
            SourceCraftArtifactsStream(settings, common.start_date, client=client),
            SourceCraftArtifactRecordsStream(settings, common.start_date, client=client),
            SourceCraftArtifactFilesStream(settings, common.start_date, client=client),
        ]
