"""Per-model row transform for PostHog export files: JSON text → objects, one timestamp spelling.

PostHog writes `properties`, `set` and `set_once` as JSON *text* in both JSON Lines and Parquet
files; records carry them as objects so destinations can query them. Timestamps arrive as
'2025-01-01 00:00:00.123456+00:00' (JSON Lines) or as Parquet timestamps; both become
'2025-01-01T00:00:00.123456Z', so a record is the same whichever file format was chosen.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import orjson

from source_exports.download.parsers import Row
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN
from source_exports.errors import RecordParseError
from source_exports.vendors.posthog.errors import VENDOR
from source_exports.vendors.posthog.windows import normalise_timestamp

JSON_TEXT_COLUMNS: Dict[str, Tuple[str, ...]] = {
    "events": ("properties", "set", "set_once"),
    "persons": ("properties",),
    "sessions": (),
}
TIMESTAMP_COLUMNS: Dict[str, Tuple[str, ...]] = {
    "events": ("timestamp", "_inserted_at", "created_at"),
    "persons": ("created_at", "_inserted_at"),
    "sessions": ("_inserted_at",),
}


class RowTransform:
    """Callable applied to every row of one model's files (kept small: it runs per record)."""

    def __init__(self, model: str, stream: str) -> None:
        self.stream = stream
        self.json_columns = JSON_TEXT_COLUMNS.get(model, ())
        self.time_columns = TIMESTAMP_COLUMNS.get(model, ("_inserted_at",))

    def __call__(self, row: Row) -> Row:
        for column in self.json_columns:
            value = row.get(column)
            if isinstance(value, str):
                row[column] = self._json(value, column, row)
        for column in self.time_columns:
            value = row.get(column)
            if isinstance(value, str):
                normalised = normalise_timestamp(value)
                if normalised is not None:
                    row[column] = normalised
        return row

    def _json(self, text: str, column: str, row: Row) -> Any:
        if not text:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise RecordParseError(
                f"Column '{column}' is not valid JSON text ({error.msg})",
                vendor=VENDOR,
                stream=self.stream,
                file=row.get(FILE_COLUMN),
                row=row.get(ROW_COLUMN),
                field=column,
                hint="The export file looks damaged; the next sync exports this window again",
            ) from error
