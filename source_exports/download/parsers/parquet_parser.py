"""Parquet: spooled to a temporary file (Parquet needs random access) and read by batches.

Memory stays bounded by one batch, not the file; values and rows past the file limits are
refused (`parquet_limits`). Values become JSON-native: timestamps and
dates as ISO-8601 text, decimals as text (no precision lost), binary as base64.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import logging
import shutil
import tempfile
from typing import Any, BinaryIO, Callable, Iterator, List, Optional

from source_exports.download.parquet_limits import bounded_batches
from source_exports.download.parsers.base import RecordParser, Row
from source_exports.errors import RecordParseError

SPOOL_CHUNK = 1 << 20
READ_BUFFER = 1 << 16
"""Column chunks are read through a buffer of this size rather than whole row groups at once
(`pre_buffer=False`): peak memory follows the batch, not the row group's compressed size."""


def to_json_value(value: Any) -> Any:
    """Convert the Python objects pyarrow returns into values a JSON record can carry."""
    if value.__class__ is str:  # most values, and UTC timestamps `batch_rows` already spelled: one check
        return value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_value(item) for item in value]
    return value


def column_values(column: Any) -> List[Any]:
    """`column.to_pylist()`, except that tz-aware timestamps are converted here.

    pyarrow converts them through pandas, importing it on the first value: +40 MB of RSS for any
    file with a tz-aware timestamp column (PostHog's, for one). Cast to naive (the same UTC
    instants) and given the zone pyarrow itself would attach, they are the same datetimes.
    Nanosecond columns keep pyarrow's own conversion (it may return pandas Timestamps).
    """
    import pyarrow as pa

    kind = column.type
    to_zone = getattr(pa.lib, "string_to_tzinfo", None)
    if not pa.types.is_timestamp(kind) or kind.tz is None or kind.unit == "ns" or to_zone is None:
        return column.to_pylist()
    zone = to_zone(kind.tz)
    utc = datetime.timezone.utc
    naive = column.cast(pa.timestamp(kind.unit)).to_pylist()
    return [None if value is None else value.replace(tzinfo=utc).astimezone(zone) for value in naive]


UTC_ZONES = frozenset({"UTC", "Etc/UTC", "+00:00"})
ISO_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000}
EPOCH = datetime.datetime(1970, 1, 1)
ISO_YEARS = (datetime.datetime(1000, 1, 1), datetime.datetime(9999, 12, 31, 23, 59, 59, 999999))
"""strftime pads years to four digits as isoformat does only from year 1000."""


def utc_iso_texts(column: Any) -> Optional[Any]:
    """`to_json_value(value)` of every value of a UTC timestamp column, as one string array (`_iso_texts`).

    Exported timestamps are mostly UTC; converting them one Python datetime at a time costs ~3 µs
    each. isoformat's spelling: seconds, then '.ffffff' only when the fraction is not zero, then
    '+00:00'. None when the column is another type, zone or unit, or holds years outside 1000–9999.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not pa.types.is_timestamp(kind) or kind.tz not in UTC_ZONES or kind.unit not in ISO_UNITS:
        return None
    if len(column) > column.null_count:
        ticks = pc.min_max(column.cast(pa.int64())).as_py()
        per_second = ISO_UNITS[kind.unit]
        low, high = ((year - EPOCH) // datetime.timedelta(microseconds=1_000_000 // per_second) for year in ISO_YEARS)
        if ticks["min"] < low or ticks["max"] > high:
            return None
    return _iso_texts(column, ISO_UNITS[kind.unit])


def _iso_texts(column: Any, per_second: int) -> Any:
    """The isoformat texts of a UTC timestamp column whose years are 1000–9999, digit by digit with
    numpy (arrow's `strftime` costs ~1.4 µs a value: most of a PostHog Parquet read's timestamp work).

    Days become civil dates by the proleptic Gregorian arithmetic `date.fromordinal` implements; each
    text is 'YYYY-MM-DDTHH:MM:SS', then '.ffffff' when the fraction is not zero, then '+00:00'.
    """
    import numpy as np
    import pyarrow as pa

    count = len(column)
    ticks = np.frombuffer(column.buffers()[1], dtype=np.int64, count=count, offset=column.offset * 8)
    validity = None
    if column.null_count:  # a null's slot may hold any number: the epoch is formatted there instead
        bits = np.unpackbits(np.frombuffer(column.buffers()[0], dtype=np.uint8), bitorder="little")
        valid = bits[column.offset : column.offset + count].astype(np.bool_)  # no `to_numpy`: it imports pandas
        ticks = np.where(valid, ticks, 0)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    micros = ticks * (1_000_000 // per_second)
    days, micro_of_day = np.divmod(micros, 86_400_000_000)
    # civil_from_days (days since 1970-01-01 → year, month, day), valid for every Gregorian date
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = np.where(month_index < 10, month_index + 3, month_index - 9)
    year = year_of_era + era * 400 + (month <= 2)
    seconds, fraction = np.divmod(micro_of_day, 1_000_000)
    fields = [
        (year, 4, 0),
        (month, 2, 5),
        (day, 2, 8),
        (seconds // 3_600, 2, 11),
        (seconds // 60 % 60, 2, 14),
        (seconds % 60, 2, 17),
        (fraction, 6, 20),
    ]  # (value, digits, position in the text)
    text = np.empty((count, 32), dtype=np.uint8)
    text[:] = np.frombuffer(b"0000-00-00T00:00:00.000000+00:00", dtype=np.uint8)
    for value, digits, position in fields:
        for place in range(digits):
            text[:, position + digits - 1 - place] = value // 10**place % 10 + ord("0")
    whole = fraction == 0
    keep = np.ones((count, 32), dtype=np.bool_)
    keep[whole, 19:26] = False  # no '.000000', as isoformat writes a whole second
    lengths = np.where(whole, 25, 32)
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = pa.py_buffer(text[keep].tobytes())
    buffers = [validity, pa.py_buffer(offsets), data]
    return pa.Array.from_buffers(pa.string(), count, buffers, null_count=column.null_count)


def batch_rows(batch: Any) -> List[Row]:
    """`batch.to_pylist()`, but tz-aware timestamps without pandas: UTC ones already as their isoformat
    text (`utc_iso_texts`, what `to_json_value` makes of them), others by `column_values`."""
    import pyarrow as pa

    if not any(pa.types.is_timestamp(field.type) and field.type.tz is not None for field in batch.schema):
        return batch.to_pylist()
    names = batch.schema.names
    columns = []
    for column in batch.columns:
        texts = utc_iso_texts(column)
        columns.append(texts.to_pylist() if texts is not None else column_values(column))
    return [dict(zip(names, values)) for values in zip(*columns)]


def needs_conversion(data_type: Any) -> bool:
    """True for arrow types whose Python values are not JSON-native."""
    import pyarrow as pa

    return not (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_null(data_type)
    )


@contextlib.contextmanager
def open_spooled_parquet(stream: BinaryIO, unreadable: Callable[[Exception], Exception]) -> Iterator[Any]:
    """Spool `stream` to a temporary file (Parquet needs random access) and open it lean:
    no pre-buffering, small read buffers. `unreadable(error)` builds the error to raise."""
    import pyarrow as pa  # ~45 MB: loaded only when a Parquet file is read
    import pyarrow.parquet as pq

    with tempfile.TemporaryFile(prefix="source-exports-", suffix=".parquet") as spool:
        shutil.copyfileobj(stream, spool, SPOOL_CHUNK)
        spool.seek(0)
        try:
            parquet = pq.ParquetFile(spool, pre_buffer=False, buffer_size=READ_BUFFER)
        except (pa.ArrowInvalid, OSError) as error:
            raise unreadable(error) from error
        yield parquet


class ParquetParser(RecordParser):
    """Apache Parquet, any internal compression pyarrow supports."""

    batch_size = 2_000  # at most: fewer when rows are wide (`parquet_limits.rows_per_batch`)

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        for block in self.parse_blocks(stream, file_name):
            yield from block

    def parse_blocks(self, stream: BinaryIO, file_name: str) -> Iterator[List[Row]]:
        """The rows of `parse_records`, a batch at a time."""
        import pyarrow as pa

        def unreadable(error: Exception) -> Exception:
            return RecordParseError(f"Not a readable Parquet file ({error})", file=file_name)

        with open_spooled_parquet(stream, unreadable) as parquet:
            convert = [field.name for field in parquet.schema_arrow if needs_conversion(field.type)]
            row = 0
            try:
                for batch in bounded_batches(parquet, self.batch_size, file_name):
                    records = batch_rows(batch)
                    for column in convert:
                        for record in records:
                            record[column] = to_json_value(record[column])
                    row += len(records)
                    yield records
            except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:  # invalid UTF-8 in a string column
                raise RecordParseError(f"Corrupt Parquet data ({error})", file=file_name, row=row + 1) from error
