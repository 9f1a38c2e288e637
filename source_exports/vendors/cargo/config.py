"""Typed, validated view of the `cargo` config block; every refusal names the offending field.

The identifier checks mirror the version-4 uuid pattern Cargo's API checks its own ids with, so a typo is
reported here, with the field path (`cargo.run_outputs[0].workflow_uuid`), instead of as an
HTTP 400 halfway through a sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, Mapping, Optional, Tuple

from source_exports.config import (
    require_choice,
    require_number,
    require_stream_name,
    require_string,
    require_url,
    require_uuid4,
)
from source_exports.errors import ConfigError

PREFIX = "cargo"
DEFAULT_API_URL = "https://api.getcargo.io/v1"
FORMATS = ("csv", "json")
RUN_STATUSES = ("idle", "pending", "running", "success", "error", "cancelling", "cancelled", "skipped")
FIXED_STREAM_NAMES = ("cargo_plays", "cargo_runs")
DEFAULT_WINDOW_DAYS = 30
DEFAULT_MAX_WAIT_DAYS = 7.0
DEFAULT_SAMPLE_RUNS = 20
MAX_WINDOW_DAYS = 366
MAX_WAIT_DAYS = 3650.0
MAX_SAMPLE_RUNS = 1000


@dataclass(frozen=True)
class RunOutputConfig:
    """One `run_outputs[]` entry: which workflow output node becomes which stream."""

    index: int
    name: str
    workflow_uuid: str
    output_node_slug: str
    format: str = "csv"
    statuses: Tuple[str, ...] = ()
    release_uuid: Optional[str] = None
    batch_uuid: Optional[str] = None
    primary_key: Tuple[str, ...] = ()

    @property
    def field(self) -> str:
        """The config path of this entry, used in every message about it."""
        return f"{PREFIX}.run_outputs[{self.index}]"

    def run_filters(self) -> Dict[str, Any]:
        """The run filters shared by `runs/list` and `download-outputs` (no time bounds, no statuses)."""
        filters: Dict[str, Any] = {"workflowUuid": self.workflow_uuid}
        if self.release_uuid:
            filters["releaseUuid"] = self.release_uuid
        if self.batch_uuid:
            filters["batchUuid"] = self.batch_uuid
        return filters

    def export_body(self) -> Dict[str, Any]:
        """The `download-outputs` body without a time window."""
        body = {**self.run_filters(), "outputNodeSlug": self.output_node_slug, "format": self.format}
        if self.statuses:
            body["statuses"] = list(self.statuses)
        return body


@dataclass(frozen=True)
class CargoConfig:
    """The whole `cargo` block."""

    api_token: str
    api_url: str = DEFAULT_API_URL
    workspace_uuid: Optional[str] = None
    run_outputs: Tuple[RunOutputConfig, ...] = ()
    window: timedelta = timedelta(days=DEFAULT_WINDOW_DAYS)
    max_wait_for_unfinished: timedelta = timedelta(days=DEFAULT_MAX_WAIT_DAYS)
    sample_runs: int = DEFAULT_SAMPLE_RUNS


def parse_cargo_config(block: Mapping[str, Any]) -> CargoConfig:
    """Validate the block and return its typed view, or raise a ConfigError naming the field."""
    if not isinstance(block, Mapping):
        raise ConfigError("must be an object", field=PREFIX)
    token = require_string(block, "api_token", PREFIX)
    workspace = block.get("workspace_uuid")
    raw_outputs = block.get("run_outputs") or []
    if not isinstance(raw_outputs, list):
        raise ConfigError("must be a list of run output entries", field=f"{PREFIX}.run_outputs")
    outputs = tuple(parse_run_output(entry, index) for index, entry in enumerate(raw_outputs))
    refuse_duplicate_names(outputs)
    return CargoConfig(
        api_token=token,
        api_url=require_url(block.get("api_url") or DEFAULT_API_URL, f"{PREFIX}.api_url"),
        workspace_uuid=require_uuid4(workspace, f"{PREFIX}.workspace_uuid") if workspace else None,
        run_outputs=outputs,
        window=timedelta(
            days=require_number(block, "window_days", PREFIX, DEFAULT_WINDOW_DAYS, 1, MAX_WINDOW_DAYS, integer=True)
        ),
        max_wait_for_unfinished=timedelta(
            days=require_number(
                block, "max_wait_days_for_unfinished_runs", PREFIX, DEFAULT_MAX_WAIT_DAYS, 0, MAX_WAIT_DAYS
            )
        ),
        sample_runs=int(
            require_number(block, "schema_sample_runs", PREFIX, DEFAULT_SAMPLE_RUNS, 1, MAX_SAMPLE_RUNS, integer=True)
        ),
    )


def parse_run_output(entry: Any, index: int) -> RunOutputConfig:
    """Validate one `run_outputs[index]` entry."""
    prefix = f"{PREFIX}.run_outputs[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError("must be an object with name, workflow_uuid and output_node_slug", field=prefix)
    name = require_stream_name(entry.get("name"), f"{prefix}.name")
    if name in FIXED_STREAM_NAMES:
        raise ConfigError(
            f"'{name}' is already the name of a built-in Cargo stream",
            field=f"{prefix}.name",
            hint="Choose another name",
        )
    statuses = entry.get("statuses") or []
    if not isinstance(statuses, list):
        raise ConfigError("must be a list of run statuses", field=f"{prefix}.statuses")
    primary_key = entry.get("primary_key") or []
    if not isinstance(primary_key, list) or not all(isinstance(column, str) and column for column in primary_key):
        raise ConfigError("must be a list of column names", field=f"{prefix}.primary_key", hint='e.g. ["runUuid"]')
    optional_uuids = {
        key: require_uuid4(entry[key], f"{prefix}.{key}") if entry.get(key) else None
        for key in ("release_uuid", "batch_uuid")
    }
    return RunOutputConfig(
        index=index,
        name=name,
        workflow_uuid=require_uuid4(entry.get("workflow_uuid"), f"{prefix}.workflow_uuid"),
        output_node_slug=require_string(entry, "output_node_slug", prefix),
        format=require_choice(entry.get("format") or "csv", FORMATS, f"{prefix}.format"),
        statuses=tuple(
            require_choice(status, RUN_STATUSES, f"{prefix}.statuses[{position}]")
            for position, status in enumerate(statuses)
        ),
        primary_key=tuple(primary_key),
        **optional_uuids,
    )


def refuse_duplicate_names(outputs: Tuple[RunOutputConfig, ...]) -> None:
    """Two entries with one name would be two streams with one table."""
    seen: Dict[str, int] = {}
    for output in outputs:
        if output.name in seen:
            raise ConfigError(
                f"'{output.name}' is also the name of run_outputs[{seen[output.name]}]",
                field=f"{output.field}.name",
                hint="Give every run output a unique name",
            )
        seen[output.name] = output.index
