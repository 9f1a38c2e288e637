"""Per-model row transform for PostHog export files: JSON text → objects, one timestamp spelling.

PostHog writes `properties`, `set` and `set_once` as JSON *text* in both JSON Lines and Parquet
files; records carry them as objects so destinations can query them. Timestamps arrive as
'2025-01-01 00:00:00.123456+00:00' (JSON Lines) or as Parquet timestamps; both become
'2025-01-01T00:00:00.123456Z', so a record is the same whichever file format was chosen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional, Tuple

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


def respell_timestamp(value: str) -> Optional[str]:
    """`normalise_timestamp(value)`, with a shortcut for the two spellings PostHog writes.

    '2025-01-01 00:00:00.123456+00:00' and '2025-01-01 00:00:00+00:00' (or with a 'T'), which
    `fromisoformat` accepts, only need their separator and zone respelled: no datetime is
    formatted. Three columns of every event take this path; anything else takes the general one.
    """
    size = len(value)
    if (
        (size == 32 and value[19] == "." or size == 25)
        and value.endswith("+00:00")
        and value[4] == value[7] == "-"
        and value[10] in " T"
        and value[13] == value[16] == ":"
    ):
        try:
            datetime.fromisoformat(value)  # a valid date and time, digits where the separators say
        except ValueError:
            return normalise_timestamp(value)  # which decides what else it may be
        return value[:10] + "T" + (value[11:26] + "Z" if size == 32 else value[11:19] + ".000000Z")
    return normalise_timestamp(value)


class RowTransform:
    """Callable applied to every row of one model's files (kept small: it runs per record)."""

    def __init__(self, model: str, stream: str) -> None:
        self.stream = stream
        self.json_columns = JSON_TEXT_COLUMNS.get(model, ())
        self.time_columns = TIMESTAMP_COLUMNS.get(model, ("_inserted_at",))

    def __call__(self, row: Row) -> Row:
        get = row.get
        for column in self.json_columns:
            value = get(column)
            if value.__class__ is str:
                row[column] = self._json(value, column, row) if value else None
        for column in self.time_columns:
            value = get(column)
            if value.__class__ is str:
                normalised = respell_timestamp(value)
                if normalised is not None:
                    row[column] = normalised
        return row

    def _json(self, text: str, column: str, row: Row) -> Any:
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
