"""Vectorised Parquet encoder: each record batch of a Parquet file to JSON object bytes, column by column.

The row path (`parsers/parquet_parser.py`) turns each batch into dicts (`to_pylist`), converts
values with `to_json_value` and serialises rows with orjson. Here every column becomes one
string array of JSON texts, and the pieces of each object are joined row-wise by pyarrow
(`RecordBatch.from_pieces`), so no Python loop runs per row for the common types:

- integers and booleans: arrow's cast to text (`12`, `-3`, `true`), which is what orjson writes;
- floats: orjson over the column as one float64 numpy array (nulls, NaN and ±inf all become
  `null`, as orjson writes them), split on commas; float32 widened first, as `to_pylist` does;
- strings: as the CSV encoder writes them (`json_strings`, `escape_json_strings` where a column has nulls);
- UTC timestamps (s, ms, us): their digits by numpy, as isoformat writes them (`utc_iso_texts`);
- every other type (other timestamps, dates, decimals, binary, lists, structs, maps, ...): the row
  path's own functions per value (`to_json_value` + `orjson.dumps`), so those columns match
  by construction and only they pay for Python objects.

Values and rows past the file limits are refused as the row path refuses them (`parquet_limits`).
A null of any type is `null`. Files pyarrow cannot open or read, duplicate column names and
strings that are not valid UTF-8 raise `Unsupported`: the row path then reports (or reads) them.
"""

from __future__ import annotations

import array
import functools
import itertools
import struct
from typing import Any, BinaryIO, Iterator, List, Mapping

import orjson

from source_exports.download.arrow_buffers import string_scalar
from source_exports.download.batch import RecordBatch
from source_exports.download.parquet_limits import bounded_batches
from source_exports.download.parsers.parquet_parser import (
    column_values,
    open_spooled_parquet,
    to_json_value,
    utc_iso_texts,
)
from source_exports.download.vectorised import (
    Quoted,
    Unsupported,
    escape_json_strings,
    json_strings,
    object_layout,
    object_pieces,
)

BATCH_ROWS = 2_000
"""Rows per record batch at most (`parquet_limits.rows_per_batch` takes fewer when rows are wide): bounds the
Arrow memory of one batch and its JSON text. 2,000 rather than 10,000: peak RSS 14 MB lower on the
benchmark file, same speed (docs/performance.md)."""


@functools.lru_cache(maxsize=1)
def _nan() -> Any:
    """A float64 NaN scalar built from buffers (see `string_scalar`: no pandas check)."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(struct.pack("<d", float("nan")))])[0]


def _strings_from(encoded: List[bytes]) -> Any:
    """A string array of the given UTF-8 texts, built from buffers (no pandas check, see `string_scalar`)."""
    import pyarrow as pa

    offsets = array.array("i", itertools.accumulate(map(len, encoded), initial=0))
    data = b"".join(encoded)
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _floats(column: Any) -> Any:
    """orjson's text for each float (shortest round trip; NaN, ±inf and null as `null`)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    if column.null_count:  # NaN, which orjson writes as null; `to_numpy` would import pandas to do it (+40 MB)
        column = pc.fill_null(column, _nan())
    values = np.frombuffer(column.buffers()[1], dtype=np.float64, count=len(column), offset=column.offset * 8)
    text = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1]
    raw = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(raw == ord(","))
    ends = np.append(commas, len(text)) - np.arange(len(commas) + 1)  # each value's end once commas are gone
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    data = raw[raw != ord(",")].tobytes()
    return pa.Array.from_buffers(pa.string(), len(column), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _python_values(column: Any) -> Any:
    """The row path's conversion, value by value (types arrow cannot format like it)."""
    return _strings_from([orjson.dumps(to_json_value(value), default=str) for value in column_values(column)])


def encode_column(column: Any) -> Any:
    """A column as a string array of JSON texts (no nulls): exactly what orjson writes for `to_pylist()` values.

    Strings and timestamps without nulls come back `Quoted` (their quotes go into the literals
    around them) or, strings dense in quotes and backslashes, `Listed`; with nulls they are joined
    with their quotes here, as `null` takes none.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as types

    kind = column.type
    texts = utc_iso_texts(column)
    if texts is not None and not texts.null_count:
        return Quoted(texts)
    if texts is not None:
        quote = string_scalar('"')
        encoded = pc.binary_join_element_wise(quote, texts, quote, string_scalar(""))
    elif types.is_null(kind) or types.is_integer(kind) or types.is_boolean(kind):
        encoded = pc.cast(column, pa.string())
    elif types.is_float32(kind) or types.is_float64(kind):
        return _floats(column)
    elif types.is_string(kind) or types.is_large_string(kind):
        try:
            column.validate(full=True)  # the row path cannot decode invalid UTF-8 either
        except pa.ArrowInvalid as error:
            raise Unsupported(f"invalid UTF-8 in a string column: {error}") from error
        if types.is_large_string(kind):
            column = pc.cast(column, pa.string())
        if not column.null_count:
            return json_strings(column)
        quote = string_scalar('"')
        encoded = pc.binary_join_element_wise(quote, escape_json_strings(column), quote, string_scalar(""))
    else:
        return _python_values(column)
    if encoded.null_count:
        encoded = pc.fill_null(encoded, string_scalar("null"))
    return encoded


def parquet_batches(stream: BinaryIO, tail: Mapping[str, Any], file_name: str) -> Iterator[RecordBatch]:
    """JSON objects for the rows of a Parquet stream, a batch of at most `BATCH_ROWS` rows at a time."""
    import pyarrow as pa

    with open_spooled_parquet(stream, lambda error: Unsupported(f"pyarrow could not open it: {error}")) as parquet:
        names = parquet.schema_arrow.names
        if len(set(names)) != len(names):
            raise Unsupported("duplicate column names")
        if not set(names).isdisjoint(tail):
            raise Unsupported("a column is named like a metadata column: the row path renames it")
        layout = object_layout(names, tail)
        done = 0
        batches = bounded_batches(parquet, BATCH_ROWS, file_name, use_threads=False)
        while True:
            try:
                block = next(batches, None)
            except (pa.ArrowInvalid, OSError) as error:
                raise Unsupported(f"batch after row {done}: {error}") from error
            if block is None:
                return
            count = block.num_rows
            if not count:
                continue
            pieces = object_pieces(layout, block, done + 1, encode_column)
            done += count
            yield RecordBatch.from_pieces(pieces, count, columns=[key for key, _ in layout])
