"""Per-model row transform for PostHog export files: JSON text → objects, one timestamp spelling.

PostHog writes `properties`, `set` and `set_once` as JSON *text* in both JSON Lines and Parquet
files; records carry them as objects so destinations can query them. Timestamps arrive as
'2025-01-01 00:00:00.123456+00:00' (JSON Lines) or as Parquet timestamps; both become
'2025-01-01T00:00:00.123456Z', so a record is the same whichever file format was chosen.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Tuple

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


_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_UTC_STAMP = f"[0-9]{{4}}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[ T]{_CLOCK}(?:\\.[0-9]{{6}})?\\+00:00"
_UTC_STAMPS = re.compile(f"(?:{_UTC_STAMP}\n)*{_UTC_STAMP}")
"""Lines of the two UTC spellings PostHog writes, with every field in range; only the day of the
month may still be past the month's end (checked per distinct date)."""
_SECONDS_ONLY = re.compile(r"(:[0-9][0-9])Z$", re.M)
_MAYBE_NO_DATE = re.compile(r"^(?:0000|.{8}(?:29|3[01]))", re.M)
"""A year 0 or a day that not every month has: the only dates the pattern allows that may not exist."""
_loads = orjson.loads


def respell_timestamps(values: List[Any]) -> List[Any]:
    """`respell_timestamp` of every string of `values` (a column of many rows), others unchanged.

    PostHog writes every timestamp of a column in the same two spellings: when each value is one of
    them (one regex over the column's values joined, plus `date.fromisoformat` of each distinct
    date), the whole column is respelled with three string replacements instead of a Python call
    per value. Any other column takes `respell_timestamp` value by value.
    """
    try:
        text = "\n".join(values)
    except TypeError:  # a null or a non-string: value by value
        text = ""
    if not text or _UTC_STAMPS.fullmatch(text) is None or not _valid_dates(text):
        return [_respelled(value) if value.__class__ is str else value for value in values]
    text = text.replace(" ", "T").replace("+00:00", "Z")  # the pattern allows no other space or '+'
    if len(text) != 28 * len(values) - 1:  # some values without a fraction (isoformat leaves out a zero one)
        text = _SECONDS_ONLY.sub(r"\1.000000Z", text)
    respelled = text.split("\n")
    if len(respelled) != len(values):  # a value held a newline: value by value
        return [_respelled(value) if value.__class__ is str else value for value in values]
    return respelled


def _valid_dates(text: str) -> bool:
    """Whether every line's leading date exists (the pattern allowed e.g. February 30 or year 0)."""
    if _MAYBE_NO_DATE.search(text) is None:
        return True
    try:
        for day in set(re.findall(r"^.{10}", text, re.M)):
            date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _respelled(value: str) -> str:
    normalised = respell_timestamp(value)
    return value if normalised is None else normalised


class RowTransform:
    """Applied to every row of one model's files: `objects` per row as it is read, `timestamps` per chunk of rows."""

    def __init__(self, model: str, stream: str) -> None:
        self.stream = stream
        self.json_columns = JSON_TEXT_COLUMNS.get(model, ())
        self.time_columns = TIMESTAMP_COLUMNS.get(model, ("_inserted_at",))

    def __call__(self, row: Row) -> Row:
        return self.timestamps([self.objects(row)])[0]

    def objects(self, row: Row) -> Row:
        """The row with its JSON text columns parsed (in place): `self(row)` but for the timestamps."""
        get = row.get
        for column in self.json_columns:
            value = get(column)
            if value.__class__ is str:
                try:
                    row[column] = _loads(value) if value else None
                except orjson.JSONDecodeError:
                    self._json(value, column, row)
        return row

    def timestamps(self, rows: List[Row]) -> List[Row]:
        """The timestamps of `rows` respelled in place, column by column (`respell_timestamps`)."""
        for column in self.time_columns:
            values = [row.get(column) for row in rows]
            for row, value, respelled in zip(rows, values, respell_timestamps(values)):
                if value.__class__ is str:
                    row[column] = respelled
        return rows

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
