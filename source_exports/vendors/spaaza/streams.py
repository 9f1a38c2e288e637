"""Spaaza streams: the task list, and one stream per export index.

- `SpaazaTasksStream` (`spaaza_tasks`): every task, full refresh, key `id`.
- `SpaazaExportStream` (`spaaza_<index>`), full refresh: with `create_exports: false` the rows of
  the newest DONE export task of the index (empty, with a warning, when there is none); with
  `create_exports: true` the rows of a new export task created, run and awaited for this sync.
- `SpaazaWindowedExportStream`: `create_exports: true` on an index with a date field
  (transactions, wallet-ledger: `timestamp`; vouchers: `date_time_redeemed`). One export task per
  date window from the saved cursor (or start_date) to now, each asked a day wider on each side
  (`segments.py`) and kept to the rows dated in the window; state moves to a window's end only
  after all of that window's rows were emitted.

Rows carry the file's columns plus `_ab_source_file`, `_ab_source_row` and `_ab_task_id`.
Schemas come from the first rows of the newest DONE export of the index (discover only; a read
uses the configured catalog's schema), or a permissive schema when no export exists yet.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from datetime import timedelta
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import pendulum
from airbyte_cdk.models import AirbyteStream, ConfiguredAirbyteCatalog, SyncMode

from source_exports.config import parse_datetime
from source_exports.download.formats import get_format
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN, ExportFile, ExportFileReader
from source_exports.download.schema import infer_schema
from source_exports.errors import ExportsError
from source_exports.schema_policy import DATA_COLUMN
from source_exports.schema_samples import nothing_to_sample, sample_failed
from source_exports.streams import ExportsStream, IncrementalExportsStream
from source_exports.vendors.spaaza.client import SpaazaClient
from source_exports.vendors.spaaza.config import DATE_FIELDS, SpaazaConfig, stream_name_of
from source_exports.vendors.spaaza.jobs import TASK_ID_COLUMN, DoneExports, SpaazaExportJob, result_file
from source_exports.vendors.spaaza.pipeline import ExportPlan, Sleep
from source_exports.vendors.spaaza.segments import date_window_segment, iso
from source_exports.windows import Window, plan_windows

LOGGER = logging.getLogger("airbyte")


def parse_date(value: Any) -> Optional[pendulum.DateTime]:
    """A row's date cell as UTC, or None when it is empty or not a date (such rows are kept)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = pendulum.parse(value, tz="UTC")
    except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
        return None
    return parsed if isinstance(parsed, pendulum.DateTime) else None


SAMPLE_ROWS = 100
METADATA_COLUMNS: Dict[str, Any] = {
    FILE_COLUMN: {"type": ["null", "string"]},
    ROW_COLUMN: {"type": ["null", "integer"]},
    TASK_ID_COLUMN: {"type": ["null", "integer"]},
}
FULL_EXPORT = "full"


class SpaazaTasksStream(ExportsStream):
    """`GET /tasks` paged with limit/offset; schema `schemas/spaaza_tasks.json`."""

    name = "spaaza_tasks"
    primary_key = "id"

    def __init__(self, client: SpaazaClient) -> None:
        super().__init__()
        self.client = client

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield from self.client.iter_tasks()


class _SpaazaFileStream:
    """What both export-stream kinds share: identity, sampling-based schema, reading one task's file."""

    index: str
    config: SpaazaConfig
    client: SpaazaClient
    done_exports: DoneExports
    reader: ExportFileReader
    plan: ExportPlan
    _json_schema: Optional[Mapping[str, Any]]
    discovered_schema = True

    def _setup(
        self, index: str, config: SpaazaConfig, client: SpaazaClient, done_exports: DoneExports, plan: ExportPlan
    ) -> None:
        self.index = index
        self.config = config
        self.client = client
        self.done_exports = done_exports
        self.reader = ExportFileReader()
        self.plan = plan
        plan.register(self)

    def plan_read(self, catalog: ConfiguredAirbyteCatalog, state: Any) -> Callable[[], None]:
        """Called by the source before a read: the plan learns the selected streams; returns its `close`."""
        return self.plan.select(catalog, state)

    @property
    def name(self) -> str:
        return stream_name_of(self.index)

    def known_columns(self) -> Dict[str, Any]:
        return dict(METADATA_COLUMNS)

    def metadata_schema(self) -> Mapping[str, Any]:
        return dict(METADATA_COLUMNS)

    def build_json_schema(self) -> Mapping[str, Any]:
        """Columns from the first rows of the newest DONE export (then the connection is closed)."""
        known = self.known_columns()
        try:
            task = self.done_exports.newest(self.index, self.config.export_format)
            if task is None:
                return nothing_to_sample(self.name, f"DONE {self.index} export task", known)
            export = self.result_file(task)
            rows = self.reader.sample(export, limit=SAMPLE_ROWS)
        except ExportsError as error:
            raise sample_failed(error, self.name) from error
        if not rows:
            return nothing_to_sample(self.name, f"row in the newest {self.index} export", known)
        file_format = get_format(export.format)
        schema = infer_schema(rows, typed_values=file_format.typed_values, known=known)
        for column, column_schema in file_format.extra_columns.items():  # e.g. surplus cells of ragged CSV rows
            if column in schema["properties"]:
                schema["properties"][column] = copy.deepcopy(column_schema)
        return schema

    def read_task_rows(self, task: Mapping[str, Any], batches: bool = False) -> Iterable[Mapping[str, Any]]:
        """The rows of the task's result file (batches when `batches`: see `ExportsStream.batches`)."""
        export = self.result_file(task)
        LOGGER.info(f"{self.name}: reading {export.name} of Spaaza task {task['id']} ({export.format})")
        yield from self.reader.records(export, batches)

    def result_file(self, task: Mapping[str, Any]) -> ExportFile:
        export = result_file(self.client, task, self.name, self.config.export_format, self.config.poll_interval_seconds)
        return dataclasses.replace(export, on_size=self.estimate.add_bytes)

    def new_job(self, sleep: Sleep) -> SpaazaExportJob:
        return SpaazaExportJob(self.client, self.config, stream=self.name, sleep=sleep)


class SpaazaExportStream(_SpaazaFileStream, ExportsStream):
    """Full refresh of one export index: the newest DONE export, or a fresh one (`create_exports`)."""

    def __init__(
        self, index: str, config: SpaazaConfig, client: SpaazaClient, done_exports: DoneExports, plan: ExportPlan
    ) -> None:
        ExportsStream.__init__(self)
        self._setup(index, config, client, done_exports, plan)

    def planned_keys(self, sync_mode: SyncMode, state: Dict[str, Any]) -> List[str]:
        return [FULL_EXPORT] if self.config.create_exports else []

    def run_export(self, key: str, sleep: Sleep) -> Mapping[str, Any]:
        return self.new_job(sleep).run(self.index)

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        if self.config.create_exports:
            yield from self.read_task_rows(self.plan.task_for(self, FULL_EXPORT), self.batches)
            return
        task = self.done_exports.newest(self.index)
        if task is None:
            LOGGER.warning(
                f"{self.name}: Spaaza has no DONE export task for '{self.index}', so this stream is empty. "
                f"Create a {self.index} export in Spaaza's console (or with POST /tasks), "
                "or set spaaza.create_exports to true to let the connector create one per sync"
            )
            return
        state = task.get("state") if isinstance(task.get("state"), Mapping) else {}
        LOGGER.info(
            f"{self.name}: newest DONE export is task {task['id']} ('{task.get('desc', '')}', "
            f"last run {state.get('last_run_date', 'unknown')})"
        )
        yield from self.read_task_rows(task, self.batches)


class SpaazaWindowedExportStream(_SpaazaFileStream, IncrementalExportsStream):
    """Incremental by date windows; the state `{date_field: end of the last fully emitted window}`."""

    def __init__(
        self,
        index: str,
        config: SpaazaConfig,
        client: SpaazaClient,
        done_exports: DoneExports,
        start_date: Optional[pendulum.DateTime],
        plan: ExportPlan,
    ) -> None:
        IncrementalExportsStream.__init__(self, start_date)
        self._setup(index, config, client, done_exports, plan)
        self.cursor_field = DATE_FIELDS[index]
        self._windows: Optional[Tuple[Optional[pendulum.DateTime], List[Window]]] = None

    def build_json_schema(self) -> Mapping[str, Any]:
        """The sampled schema; the cursor column is declared even before any export holds it."""
        schema = dict(super().build_json_schema())
        if self.cursor_field not in schema["properties"]:
            schema["properties"] = {**schema["properties"], self.cursor_field: {"type": ["null", "string"]}}
        return schema

    def as_airbyte_stream(self) -> AirbyteStream:
        """Schemaless, the cursor column is inside `data`."""
        stream = super().as_airbyte_stream()
        if self.schemaless:
            stream.default_cursor_field = [DATA_COLUMN, self.cursor_field]
        return stream

    def stream_slices(
        self,
        *,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Optional[Mapping[str, Any]]]:
        windows = self.windows(sync_mode)
        if windows:
            first = windows[0].start.isoformat() if windows[0].start else "the beginning"
            LOGGER.info(f"{self.name}: {len(windows)} export window(s) from {first} to {windows[-1].end.isoformat()}")
        return [window.as_slice(iso) for window in windows]

    def windows(self, sync_mode: SyncMode) -> List[Window]:
        """The windows from the cursor to now; the same ones the plan started ahead, for the same cursor."""
        cursor = self.cursor_value(sync_mode)
        if self._windows is None or self._windows[0] != cursor:
            now = pendulum.now("UTC").replace(microsecond=0)
            self._windows = cursor, plan_windows(cursor, now, timedelta(days=self.config.window_days))
        return self._windows[1]

    def planned_keys(self, sync_mode: SyncMode, state: Dict[str, Any]) -> List[str]:
        """The keys of this sync's windows, from the state the sync starts this stream with."""
        self.state = state
        return [window_key(window.as_slice(iso)) for window in self.windows(sync_mode)]

    def run_export(self, key: str, sleep: Sleep) -> Mapping[str, Any]:
        window = Window.from_slice(json.loads(key), parse_datetime)
        ends_now = self._windows is not None and bool(self._windows[1]) and window.end == self._windows[1][-1].end
        segment = date_window_segment(self.index, self.cursor_field, self.config.chain_id, window, ends_now)
        return self.new_job(sleep).run(self.index, segment, label=f"window {window.describe(iso)}")

    def read_records(
        self, sync_mode: SyncMode, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any
    ) -> Iterable[Mapping[str, Any]]:
        if not stream_slice:
            return
        window = Window.from_slice(stream_slice, parse_datetime)
        task = self.plan.task_for(self, window_key(window.as_slice(iso)))
        yield from self.rows_in_window(self.read_task_rows(task), window)  # looks at every row
        self.advance_cursor(window.end)

    def rows_in_window(self, rows: Iterable[Mapping[str, Any]], window: Window) -> Iterator[Mapping[str, Any]]:
        """The export's rows whose own date lies in the window `[start, end)`; the others are dropped.

        Each export is asked for its window widened on both sides (`segments.MARGIN`), as Spaaza does
        not say how its date rules read their bounds; the rows of the margins belong to the
        neighbouring windows (or the next sync), whose exports hold them too. A row whose date is
        empty or not a timestamp cannot be placed, so it is kept, in every window whose export holds it.
        """
        dropped = 0
        for row in rows:
            stamp = parse_date(row.get(self.cursor_field))
            if stamp is not None and not window.holds(stamp):
                dropped += 1
                continue
            yield row
        if dropped:
            LOGGER.info(
                f"{self.name}: {dropped} row(s) stamped outside the window {window.describe(iso)} were dropped "
                "(each export is asked for a wider range; they are read with the window they belong to)"
            )


def window_key(window_slice: Mapping[str, Any]) -> str:
    """A window's slice as the plan's key (JSON, sorted keys)."""
    return json.dumps(dict(window_slice), sort_keys=True)
