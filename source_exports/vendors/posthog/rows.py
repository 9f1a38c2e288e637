"""Per-model row transform for PostHog export files: JSON text → objects, one timestamp spelling.

PostHog writes `properties`, `set` and `set_once` as JSON *text* in both JSON Lines and Parquet
files; records carry them as objects so destinations can query them. Timestamps arrive as
'2025-01-01 00:00:00.123456+00:00' (JSON Lines) or as Parquet timestamps; both become
'2025-01-01T00:00:00.123456Z', so a record is the same whichever file format was chosen.
"""

from __future__ import annotations

import functools
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


_LINE = b"0000-00-00 00:00:00.000000+00:00\n"
"""A UTC timestamp as PostHog writes it, every digit shown as 0 and a 'T' separator as a space."""
_SHAPE = bytes.maketrans(b"123456789T", b"000000000 ")
_WIDTH = len(_LINE)
_NO_FRACTION = re.compile(r"(:[0-9][0-9])\+00:00$", re.M)
"""A stamp without its fraction: isoformat leaves out a zero one."""
_loads = orjson.loads


def respell_timestamps(values: List[Any]) -> List[Any]:
    """`respell_timestamp` of every string of `values` (a column of many rows), others unchanged.

    PostHog writes every timestamp of a column in the same two spellings: when each value is one of
    them (`utc_stamps`), the whole column is respelled at once instead of by a Python call per
    value. Any other column takes `respell_timestamp` value by value.
    """
    respelled = utc_stamps(values)
    if respelled is None:
        return [_respelled(value) if value.__class__ is str else value for value in values]
    return respelled


def utc_stamps(values: List[Any]) -> Optional[List[str]]:
    """`values` respelled as `respell_timestamp` does when every one is a string in a spelling PostHog
    writes ('2025-01-01 00:00:00.123456+00:00', without the fraction, or with a 'T') with every field
    in range and a date that exists; else None.

    The values are checked together: joined into one text, its shape proved by one translation of
    the digits, its fields compared as fixed-width byte strings by numpy, each distinct date after
    the 28th checked by `date.fromisoformat`.
    """
    import numpy as np

    count = len(values)
    if not count:
        return None
    try:
        text = "\n".join(values)
    except TypeError:  # a null or a non-string
        return None
    if len(text) != _WIDTH * count - 1:
        text = _NO_FRACTION.sub(r"\1.000000+00:00", text)
    try:
        data = text.encode("ascii") + b"\n"
    except UnicodeEncodeError:
        return None
    if len(data) != _WIDTH * count or data.translate(_SHAPE) != _LINE * count:
        return None  # a value of another shape, or one holding a newline
    fields = np.frombuffer(data, _fields())
    month, day = fields["month"], fields["day"]
    in_range = (
        (fields["zone"] == b"+00:00").all()
        and (fields["year"] != b"0000").all()
        and (month >= b"01").all()
        and (month <= b"12").all()
        and (day >= b"01").all()
        and (fields["hour"] <= b"23").all()
        and (fields["minute"] <= b"59").all()
        and (fields["second"] <= b"59").all()
    )
    if not in_range or not _dates_exist(fields["date"][day > b"28"].tolist()):
        return None
    lines = np.frombuffer(data, np.uint8).reshape(count, _WIDTH)[:, :28].copy()  # up to the zone's '+0'
    lines[:, 10], lines[:, 26], lines[:, 27] = ord("T"), ord("Z"), ord("\n")
    return lines.tobytes()[:-1].decode("ascii").split("\n")


@functools.cache
def _fields() -> Any:
    """The fields of a line of `_LINE`'s shape, as a numpy record of byte strings."""
    import numpy as np

    names = {"date": (0, 10), "year": (0, 4), "month": (5, 2), "day": (8, 2), "hour": (11, 2)}
    names.update({"minute": (14, 2), "second": (17, 2), "zone": (26, 6)})
    return np.dtype(
        {
            "names": list(names),
            "formats": [f"S{size}" for _, size in names.values()],
            "offsets": [offset for offset, _ in names.values()],
            "itemsize": _WIDTH,
        }
    )


def _dates_exist(dates: List[bytes]) -> bool:
    """Whether every one of `dates` ('2025-02-30' passes the field checks) is a real date."""
    try:
        for day in set(dates):
            date.fromisoformat(day.decode("ascii"))
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
        """The timestamps of `rows` respelled in place: every column at once when all are in PostHog's
        spellings (`utc_stamps`), else column by column (`respell_timestamps`)."""
        count, columns = len(rows), self.time_columns
        values = [row.get(column) for column in columns for row in rows]
        respelled = utc_stamps(values)
        for index, column in enumerate(columns):
            part = slice(index * count, (index + 1) * count)
            if respelled is not None:
                for row, new in zip(rows, respelled[part]):
                    row[column] = new
            else:
                for row, value, new in zip(rows, values[part], respell_timestamps(values[part])):
                    if value.__class__ is str:
                        row[column] = new
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
