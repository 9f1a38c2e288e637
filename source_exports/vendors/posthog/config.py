"""Typed, validated view of the `posthog` config block; every problem names its field.

Validation happens here once (at `check` and when streams are built), so the client, jobs and
streams can trust their inputs and stay free of config parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from source_exports.config import optional_strings, require_choice, require_number, require_string, require_url
from source_exports.errors import ConfigError

PREFIX = "posthog"
DEFAULT_API_URL = "https://us.posthog.com"
MODELS = ("events", "persons", "sessions")
FORMATS = ("JSONLines", "Parquet")
# Only the compressions whose decoding the connector supports (JSON Lines is whole-file compressed and
# decoded by magic bytes; Parquet compression is internal to the file and read by pyarrow).
COMPRESSIONS = (None, "gzip", "zstd")
NO_COMPRESSION = "none"
"""The form's spelling of PostHog's `null` (no compression); a config may also hold `null` itself."""
MAX_WINDOW_DAYS = 7  # PostHog refuses file downloads spanning more than 7 days
MAX_LOGS_PAGE_SIZE = 500  # PostHog's cap on the logs `limit`
MAX_EXPORT_CONCURRENCY = 10
MAX_DOWNLOAD_CONCURRENCY = 16  # the connection pool's size per host
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class FileDownloadConfig:
    """What to export on demand and in which file format."""

    models: Tuple[str, ...] = ("events",)
    format: str = "JSONLines"
    compression: Optional[str] = "gzip"
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()


@dataclass(frozen=True)
class PostHogConfig:
    """The `posthog` block after validation, with defaults applied."""

    api_key: str
    api_url: str = DEFAULT_API_URL
    organization_id: Optional[str] = None
    environment_id: Optional[str] = None
    file_download: Optional[FileDownloadConfig] = None
    poll_interval_seconds: float = 2.0
    poll_timeout_minutes: float = 60.0
    window_days: int = MAX_WINDOW_DAYS
    initial_lookback_days: int = 7
    end_lag_seconds: int = 300
    logs_page_size: int = MAX_LOGS_PAGE_SIZE
    concurrency_retries: int = 10
    export_recreations: int = 2
    export_concurrency: int = 3
    download_concurrency: int = 8

    @classmethod
    def from_block(cls, block: Mapping[str, Any]) -> PostHogConfig:
        """Validate `block` (the value of the config's `posthog` key)."""
        if not isinstance(block, Mapping):
            raise ConfigError("must be an object", field=PREFIX)
        organization_id = optional_identifier(block, "organization_id")
        environment_id = optional_identifier(block, "environment_id")
        if organization_id is None and environment_id is None:
            raise ConfigError(
                "needs organization_id or environment_id",
                field=f"{PREFIX}.environment_id",
                hint="Copy the environment (project) id from PostHog's settings page, e.g. 12345",
            )
        file_download = parse_file_download(block.get("file_download"))
        if file_download is not None and environment_id is None:
            raise ConfigError(
                "is required when file_download is configured (file downloads belong to an environment)",
                field=f"{PREFIX}.environment_id",
            )
        return cls(
            api_key=require_string(block, "api_key", PREFIX),
            api_url=require_url(block.get("api_url") or DEFAULT_API_URL, f"{PREFIX}.api_url"),
            organization_id=organization_id,
            environment_id=environment_id,
            file_download=file_download,
            poll_interval_seconds=require_number(block, "poll_interval_seconds", PREFIX, 2.0, 0.01, 600),
            poll_timeout_minutes=require_number(block, "poll_timeout_minutes", PREFIX, 60.0, 0.01, 24 * 60),
            window_days=int(
                require_number(block, "window_days", PREFIX, MAX_WINDOW_DAYS, 1, MAX_WINDOW_DAYS, integer=True)
            ),
            initial_lookback_days=int(require_number(block, "initial_lookback_days", PREFIX, 7, 1, 3650, integer=True)),
            end_lag_seconds=int(require_number(block, "end_lag_seconds", PREFIX, 300, 0, 86400, integer=True)),
            logs_page_size=int(
                require_number(block, "logs_page_size", PREFIX, MAX_LOGS_PAGE_SIZE, 1, MAX_LOGS_PAGE_SIZE, integer=True)
            ),
            concurrency_retries=int(require_number(block, "concurrency_retries", PREFIX, 10, 0, 100, integer=True)),
            export_recreations=int(require_number(block, "export_recreations", PREFIX, 2, 0, 10, integer=True)),
            export_concurrency=int(
                require_number(block, "export_concurrency", PREFIX, 3, 1, MAX_EXPORT_CONCURRENCY, integer=True)
            ),
            download_concurrency=int(
                require_number(block, "download_concurrency", PREFIX, 8, 1, MAX_DOWNLOAD_CONCURRENCY, integer=True)
            ),
        )

    @property
    def environment_path(self) -> str:
        """`/api/environments/<id>`: where file downloads and environment-level batch exports live."""
        return f"/api/environments/{self.environment_id}"

    @property
    def listing_path(self) -> str:
        """Where batch exports are listed: the organisation when given, else the environment."""
        if self.organization_id:
            return f"/api/organizations/{self.organization_id}/batch_exports/"
        return f"{self.environment_path}/batch_exports/"


def optional_identifier(block: Mapping[str, Any], key: str) -> Optional[str]:
    """An optional id that goes into URL paths: digits, letters, '-' and '_' only."""
    value = block.get(key)
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not _IDENTIFIER.match(text):
        raise ConfigError(
            f"'{value}' is not a PostHog id", field=f"{PREFIX}.{key}", hint="Use the id shown in PostHog's settings"
        )
    return text


def upgrade_block(block: Mapping[str, Any]) -> Mapping[str, Any]:
    """The block with `file_download.compression: null` (the spelling of 0.1) written as "none", the form's value."""
    download = block.get("file_download")
    if not isinstance(download, Mapping) or "compression" not in download or download["compression"] is not None:
        return block
    return {**block, "file_download": {**download, "compression": NO_COMPRESSION}}


def parse_file_download(raw: Any) -> Optional[FileDownloadConfig]:
    """Validate the optional `file_download` object; None when file downloads are off."""
    if raw is None:
        return None
    prefix = f"{PREFIX}.file_download"
    if not isinstance(raw, Mapping):
        raise ConfigError("must be an object", field=prefix)
    models = raw.get("models") or ["events"]
    if not isinstance(models, list):
        raise ConfigError("must be a list", field=f"{prefix}.models", hint=f"Valid values: {', '.join(MODELS)}")
    for index, model in enumerate(models):
        require_choice(model, MODELS, f"{prefix}.models[{index}]")
    compression = raw.get("compression", "gzip")
    compression = None if compression == NO_COMPRESSION else compression
    if compression not in COMPRESSIONS:
        raise ConfigError(
            f"'{compression}' is not a supported compression",
            field=f"{prefix}.compression",
            hint="Valid values: none, gzip, zstd — the ones this connector can decode",
        )
    return FileDownloadConfig(
        models=tuple(dict.fromkeys(models)),
        format=require_choice(raw.get("format") or "JSONLines", FORMATS, f"{prefix}.format"),
        compression=compression,
        include=optional_strings(raw, "include", prefix),
        exclude=optional_strings(raw, "exclude", prefix),
    )
