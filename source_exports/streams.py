"""Stream base classes every vendor builds on: cached schemas, column checks and cursor state.

`ExportsStream` loads a fixed-shape stream's JSON schema from `source_exports/schemas/` once
(the CDK asks for it per record); file-backed streams (`discovered_schema = True`) build theirs
from samples at discover and take the configured catalog's schema at read. Every read passes
through a `ColumnGuard` (`schema_policy.py`): a column the configured catalog lacks is warned
about, skipped or refused, and `schemaless` file streams put their data columns into `data`.
`IncrementalExportsStream` keeps a single timestamp cursor in state, starting from the saved
state or the config's `start_date`, and only moves it forward when the caller says the rows up
to that point were emitted.
A start before the vendor's data can exist (`earliest_data`) is moved up to it with a warning —
nothing is lost, and a sync from year 1 does not plan thousands of empty export windows; a saved
cursor in the future is replaced by now with a warning, since it would keep the stream empty for good.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Dict, Iterable, List, Mapping, MutableMapping, Optional, Union

import pendulum
from airbyte_cdk.models import ConfiguredAirbyteStream, SyncMode
from airbyte_cdk.sources.streams import CheckpointMixin, Stream
from airbyte_cdk.sources.utils.schema_helpers import ResourceSchemaLoader

from source_exports.config import parse_datetime
from source_exports.estimates import StreamEstimate
from source_exports.schema_policy import ColumnGuard, SchemaSettings, schemaless_schema
from source_exports.timestamps import iso_millis

LOGGER = logging.getLogger("airbyte")
EARLIEST_DATA = pendulum.datetime(2000, 1, 1, tz="UTC")
"""Default lower bound of any vendor's data; vendors younger than that set their own `earliest_data`."""
FUTURE_TOLERANCE = timedelta(days=1)
"""How far past our clock a saved cursor may be (clock skew between vendors and us) before it is refused."""

PrimaryKey = Optional[Union[str, List[str], List[List[str]]]]


class ExportsStream(Stream):
    """A stream with a cached JSON schema; fixed-shape streams ship `schemas/<name>.json`."""

    primary_key: PrimaryKey = None
    discovered_schema = False
    """True for file-backed streams: columns come from samples, so a refresh of the schema adds new ones."""
    schema_settings = SchemaSettings()
    """The config's `validation_policy` / `schemaless`; `SourceExports.streams` sets it."""
    batches = False
    """Whether the current read asked for `RecordBatch`es (`read(..., batches=True)`: the fast read loop,
    `source_exports.fast_read`); file-backed streams hand it to `ExportFileReader.records`."""

    def __init__(self) -> None:
        self._json_schema: Optional[Mapping[str, Any]] = None
        self._estimate: Optional[StreamEstimate] = None

    @property
    def estimate(self) -> StreamEstimate:
        """This sync's known totals of the stream's rows and bytes; `SourceExports` sends them as ESTIMATEs."""
        if getattr(self, "_estimate", None) is None:
            self._estimate = StreamEstimate(self.name, self.namespace)
        return self._estimate

    def get_json_schema(self) -> Mapping[str, Any]:
        if self._json_schema is None:
            schemaless = self.schemaless
            self._json_schema = schemaless_schema(self.metadata_schema()) if schemaless else self.build_json_schema()
        return self._json_schema

    def build_json_schema(self) -> Mapping[str, Any]:
        """Load `source_exports/schemas/<name>.json`; file-backed streams override this."""
        return ResourceSchemaLoader("source_exports").get_schema(self.name)

    @property
    def schemaless(self) -> bool:
        return self.discovered_schema and self.schema_settings.schemaless

    def check_schema_settings(self) -> None:
        """Raise a ConfigError when `schema_settings` cannot work with this stream's other settings."""

    def metadata_schema(self) -> Mapping[str, Any]:
        """The columns the connector adds to each row of a file-backed stream (kept top-level when schemaless)."""
        return {}

    def read(
        self, configured_stream: ConfiguredAirbyteStream, *args: Any, batches: bool = False, **kwargs: Any
    ) -> Iterable[Any]:
        """The CDK's read, with every row checked against the configured catalog's columns.

        `batches=True` lets the stream yield `RecordBatch`es as well as rows; the CDK's own read
        path calls this without it and gets rows only.
        """
        self.batches = batches
        items = super().read(configured_stream, *args, **kwargs)
        properties = (configured_stream.stream.json_schema or {}).get("properties") or {}
        guard = ColumnGuard(
            self.name,
            properties,
            self.schema_settings.validation_policy,
            self.logger,
            refreshable=self.discovered_schema,
            schemaless_metadata=set(self.metadata_schema()) if self.schemaless else None,
        )
        return guard.apply(items)

    @property
    def configured_json_schema(self) -> Optional[Dict[str, Any]]:
        return self._configured_json_schema

    @configured_json_schema.setter
    def configured_json_schema(self, json_schema: Dict[str, Any]) -> None:
        """A file-backed stream's read takes the catalog's schema as its own: no sample download to re-derive it."""
        if not self.discovered_schema:
            Stream.configured_json_schema.fset(self, json_schema)
            return
        self._configured_json_schema = json_schema
        if json_schema is not None and self._json_schema is None:
            self._json_schema = json_schema


class IncrementalExportsStream(ExportsStream, CheckpointMixin):
    """A stream whose state is ``{cursor_field: "<ISO-8601 UTC>"}``.

    Subclasses call `advance_cursor(value)` only after every row up to `value` was yielded;
    the CDK then emits the state at the end of the slice.
    """

    cursor_field: str = ""
    earliest_data: datetime = EARLIEST_DATA
    """No row of this stream can be older: an earlier start is moved up to it (see the module docstring)."""

    def __init__(self, start_date: Optional[pendulum.DateTime] = None) -> None:
        super().__init__()
        self.start_date = start_date
        self._state: MutableMapping[str, Any] = {}

    @property
    def source_defined_cursor(self) -> bool:
        return True

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def cursor_value(self, sync_mode: SyncMode = SyncMode.incremental) -> Optional[pendulum.DateTime]:
        """Where this sync starts: the saved cursor (incremental only), else `start_date`."""
        saved = self._state.get(self.cursor_field) if sync_mode == SyncMode.incremental else None
        if saved:
            field = f"state.{self.name}.{self.cursor_field}"
            parsed = parse_datetime(saved, field)
            cursor = future_cursor_to_now(parsed, str(saved), self.name, field)
            if cursor != parsed:
                self._state[self.cursor_field] = iso_millis(cursor)  # never saved again
            return self._not_before_earliest(cursor, field, str(saved))
        if self.start_date is None:
            return None
        return self._not_before_earliest(self.start_date, "start_date", iso_millis(self.start_date))

    def _not_before_earliest(self, start: pendulum.DateTime, field: str, shown: str) -> pendulum.DateTime:
        earliest = pendulum.instance(self.earliest_data).in_timezone("UTC")
        if start >= earliest:
            return start
        LOGGER.warning(
            f"{self.name}: {field} {shown} is before any data this stream can hold; "
            f"starting at {iso_millis(earliest)} instead"
        )
        return earliest

    def advance_cursor(self, value: Optional[Union[str, pendulum.DateTime]]) -> None:
        """Move the cursor forward to `value` (never backwards)."""
        if value is None:
            return
        moved = value if isinstance(value, pendulum.DateTime) else parse_datetime(value, self.cursor_field)
        current = self._state.get(self.cursor_field)
        if current is None or moved > parse_datetime(current, self.cursor_field):
            self._state[self.cursor_field] = iso_millis(moved)


def future_cursor_to_now(cursor: pendulum.DateTime, saved: str, stream: str, field: str) -> pendulum.DateTime:
    """The saved cursor, unless it is past our clock (beyond FUTURE_TOLERANCE): then now, with a warning.

    Kept, a future cursor would keep the stream empty for good; from now on, the stream reads what
    comes next, and the warning says how to read what lies before.
    """
    now = pendulum.now("UTC")
    if cursor <= now + FUTURE_TOLERANCE:
        return cursor
    LOGGER.warning(
        f"{stream}: the saved cursor {saved} ({field}) is in the future; reading from now ({iso_millis(now)}) "
        "and saving that instead. Reset this stream's state to read it again from start_date"
    )
    return now
