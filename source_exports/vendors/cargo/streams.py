"""Cargo's streams: `cargo_plays`, `cargo_runs`, and one stream per configured run output.

Incremental streams read in time windows (one CDK slice each, so state is emitted after
every window's rows). `cargo_runs` windows are of update time, read 1 ms wider on each side and
kept to `[start, end)` by each run's own `updatedAt`; run-output windows are of run creation
time, with edges no run sits on (`edges.py`), and end before the oldest unfinished run
(`unfinished.py`). Either way the result does not depend on how Cargo reads its time filters.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional

from airbyte_cdk.models import AirbyteStream, SyncMode

from source_exports.config import parse_datetime
from source_exports.download.formats import get_format
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN
from source_exports.download.schema import infer_schema, widen_integers
from source_exports.errors import ConfigError, ExportsError
from source_exports.schema_samples import nothing_to_sample, sample_failed
from source_exports.streams import ExportsStream, IncrementalExportsStream, PrimaryKey
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import CargoConfig, RunOutputConfig
from source_exports.vendors.cargo.exports import (
    WINDOW_END_COLUMN,
    WINDOW_START_COLUMN,
    WORKFLOW_COLUMN,
    RunOutputExporter,
)
from source_exports.vendors.cargo.unfinished import end_before_unfinished_runs
from source_exports.vendors.cargo.windows import (
    DEFAULT_START,
    MS,
    filters,
    iso,
    plan_windows,
    shown,
    slice_time,
    sync_end,
    to_utc,
)
from source_exports.windows import Window

LOGGER = logging.getLogger("airbyte")

METADATA_SCHEMA: Dict[str, Any] = {
    FILE_COLUMN: {"type": "string", "description": "Name of the export file the row came from"},
    ROW_COLUMN: {"type": "integer", "description": "1-based row number within that file"},
    WINDOW_START_COLUMN: {
        "type": ["null", "string"],
        "format": "date-time",
        "description": "Start (inclusive) of the run creation window of the export",
    },
    WINDOW_END_COLUMN: {
        "type": ["null", "string"],
        "format": "date-time",
        "description": "End (exclusive) of the run creation window of the export",
    },
    WORKFLOW_COLUMN: {"type": "string", "description": "The Cargo workflow whose runs produced the row"},
}


class CargoPlays(ExportsStream):
    """Every play of the workspace; full refresh (the endpoint has no paging or time filter)."""

    name = "cargo_plays"
    primary_key = "uuid"

    def __init__(self, client: CargoClient) -> None:
        super().__init__()
        self.client = client

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield from self.client.list_plays()


class CargoWindowedStream(IncrementalExportsStream):
    """Shared slicing: windows of `window` from the cursor (or start_date) to the sync's end."""

    earliest_data = DEFAULT_START

    def __init__(self, client: CargoClient, config: CargoConfig, start_date: Optional[datetime] = None) -> None:
        super().__init__(start_date=start_date)
        self.client = client
        self.config = config

    def stream_slices(
        self, *, sync_mode: SyncMode, cursor_field: Optional[List[str]] = None, stream_state: Any = None
    ) -> Iterable[Optional[Mapping[str, Any]]]:
        start = to_utc(self.cursor_value(sync_mode) or DEFAULT_START)
        self.client.count_runs({})  # one cheap call: Cargo's clock (Date header) decides where the sync ends
        windows = self.plan(Window(start, sync_end(self.client.server_time)), sync_mode)
        span = Window(windows[0].start, windows[-1].end) if windows else Window(start, start)
        LOGGER.info(f"{self.name}: reading {len(windows)} window(s) from {shown(span)}")
        for window in windows:
            yield window.as_slice(iso)

    def plan(self, span: Window, sync_mode: SyncMode) -> List[Window]:
        """The windows of this sync, from the cursor to Cargo's clock; subclasses choose their edges."""
        return plan_windows(span.start, span.end, self.config.window)


class CargoRuns(CargoWindowedStream):
    """Runs of the workspace; incremental on `updatedAt` (filter `updatedAfter`/`updatedBefore`)."""

    name = "cargo_runs"
    primary_key = "uuid"
    cursor_field = "updatedAt"

    def read_records(
        self, sync_mode: SyncMode, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any
    ) -> Iterable[Mapping[str, Any]]:
        window = Window.from_slice(stream_slice, slice_time)
        for run in self.client.iter_runs(filters(window.widened(MS), "updated"), on_count=self.estimate.add_rows):
            updated = updated_at(run)
            if updated is None or window.holds(updated):  # a run without updatedAt cannot be placed: keep it
                yield run
        if sync_mode == SyncMode.incremental:
            self.advance_cursor(iso(window.end))


class CargoRunOutputs(CargoWindowedStream):
    """The rows of one workflow output node, exported per window of run creation time.

    State is `{"created_at": <end of the last exported window>}`; the catalog's cursor is the
    `_ab_window_start` column (the state key is not a column of the file).
    """

    cursor_field = "created_at"

    def __init__(
        self,
        client: CargoClient,
        config: CargoConfig,
        output: RunOutputConfig,
        start_date: Optional[datetime] = None,
        exporter: Optional[RunOutputExporter] = None,
    ) -> None:
        super().__init__(client, config, start_date)
        self.output = output
        self.exporter = exporter or RunOutputExporter(
            client, output, stream=output.name, on_size=self.estimate.add_bytes
        )

    @property
    def name(self) -> str:
        return self.output.name

    @property
    def primary_key(self) -> PrimaryKey:
        return [[column] for column in self.output.primary_key] or None

    def as_airbyte_stream(self) -> AirbyteStream:
        stream = super().as_airbyte_stream()
        stream.default_cursor_field = [WINDOW_START_COLUMN]
        return stream

    def plan(self, span: Window, sync_mode: SyncMode) -> List[Window]:
        """Windows whose edges no run sits on; incremental syncs stop before the oldest unfinished run."""
        edges = self.exporter.edges
        start = self._free_edge(edges.at_or_before(span.start, span.start - self.config.window), span.start)
        if span.end <= start:
            return []
        span = Window(start, self._free_edge(edges.at_or_before(span.end, start), span.end))
        if sync_mode == SyncMode.incremental:
            span = Window(
                start, end_before_unfinished_runs(edges, span, self.config.max_wait_for_unfinished, self.name)
            )

        def choose(target: datetime, rest: Window) -> datetime:
            return self._free_edge(edges.near(target, rest), target)

        return plan_windows(span.start, span.end, self.config.window, choose)

    def _free_edge(self, found: Optional[datetime], target: datetime) -> datetime:
        if found is None:
            raise ConfigError(
                f"Runs were created on every millisecond tried near {iso(target)}, so no window edge can be "
                "placed there without depending on how Cargo reads its time filters",
                hint="Narrow the export with release_uuid or batch_uuid, or set start_date elsewhere",
                stream=self.name,
                field=self.output.field,
            )
        return found

    def read_records(
        self, sync_mode: SyncMode, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any
    ) -> Iterable[Mapping[str, Any]]:
        on_done = self._advance_to_end_of if sync_mode == SyncMode.incremental else None
        yield from self.exporter.export(Window.from_slice(stream_slice, slice_time), on_done, self.batches)

    def _advance_to_end_of(self, window: Window) -> None:
        self.advance_cursor(iso(window.end))

    # schema: sampled once per stream instance at discover (ExportsStream caches it; a read takes the catalog's)
    discovered_schema = True

    def metadata_schema(self) -> Mapping[str, Any]:
        return copy.deepcopy(METADATA_SCHEMA)

    def check_schema_settings(self) -> None:
        if self.schemaless and self.output.primary_key:
            raise ConfigError(
                f"Run output '{self.name}' has a primary_key, which needs typed columns, but schemaless is on",
                field="cargo.run_outputs[].primary_key",
                hint="Remove the primary_key of this run output, or set schemaless to false",
            )

    def build_json_schema(self) -> Mapping[str, Any]:
        """Columns from a sample export of recent runs; metadata columns only while there is no run yet."""
        try:
            rows = self.exporter.sample(self.config.sample_runs)
        except ExportsError as error:
            raise sample_failed(error, self.name) from error
        if not rows:
            return nothing_to_sample(self.name, "run output", copy.deepcopy(METADATA_SCHEMA))
        typed = get_format(self.output.format).typed_values
        schema = infer_schema(rows, typed_values=typed, known=copy.deepcopy(METADATA_SCHEMA))
        widen_integers(schema["properties"], skip=METADATA_SCHEMA)
        return schema


def updated_at(run: Mapping[str, Any]) -> Optional[datetime]:
    """A run's `updatedAt`; None when missing or unreadable."""
    try:
        return to_utc(parse_datetime(run["updatedAt"], "run.updatedAt")) if run.get("updatedAt") else None
    except ConfigError:
        return None


def build_streams(client: CargoClient, config: CargoConfig, start_date: Optional[datetime]) -> List[Any]:
    """The Cargo streams of one config block."""
    streams: List[Any] = [CargoPlays(client), CargoRuns(client, config, start_date)]
    streams += [CargoRunOutputs(client, config, output, start_date) for output in config.run_outputs]
    return streams
