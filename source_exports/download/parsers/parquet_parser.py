"""Parquet: spooled to a temporary file (Parquet needs random access) and read by batches.

Memory stays bounded by one batch, not the file. Values become JSON-native: timestamps and
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
from typing import Any, BinaryIO, Callable, Iterator, List

from source_exports.download.parsers.base import RecordParser, Row, register
from source_exports.errors import RecordParseError

SPOOL_CHUNK = 1 << 20
READ_BUFFER = 1 << 16
"""Column chunks are read through a buffer of this size rather than whole row groups at once
(`pre_buffer=False`): peak memory follows the batch, not the row group's compressed size."""


def to_json_value(value: Any) -> Any:
    """Convert the Python objects pyarrow returns into values a JSON record can carry."""
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


def batch_rows(batch: Any) -> List[Row]:
    """`batch.to_pylist()`, with columns converted by `column_values` (no pandas for tz-aware timestamps)."""
    import pyarrow as pa

    if not any(pa.types.is_timestamp(field.type) and field.type.tz is not None for field in batch.schema):
        return batch.to_pylist()
    names = batch.schema.names
    return [dict(zip(names, values)) for values in zip(*map(column_values, batch.columns))]


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


@register
class ParquetParser(RecordParser):
    """Apache Parquet, any internal compression pyarrow supports."""

    format = "parquet"
    batch_size = 2_000

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        import pyarrow as pa

        def unreadable(error: Exception) -> Exception:
            return RecordParseError(f"Not a readable Parquet file ({error})", file=file_name)

        with open_spooled_parquet(stream, unreadable) as parquet:
            convert = [field.name for field in parquet.schema_arrow if needs_conversion(field.type)]
            row = 0
            try:
                for batch in parquet.iter_batches(batch_size=self.batch_size):
                    for record in batch_rows(batch):
                        row += 1
                        for column in convert:
                            record[column] = to_json_value(record[column])
                        yield record
            except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as error:  # invalid UTF-8 in a string column
                raise RecordParseError(f"Corrupt Parquet data ({error})", file=file_name, row=row + 1) from error
