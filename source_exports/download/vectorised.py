"""Vectorised encoders: a whole block of a file to JSON object bytes without a Python loop per row.

CSV: pyarrow's streaming CSV reader (every column read as text, quoted newlines allowed), each
column escaped as a whole (`json_strings`) and pyarrow's kernel that joins the pieces of every
JSON object.
JSON Lines: each line of a block is validated by orjson and spliced as it is.
Parquet: `parquet_batches.py`, column by column.

All must give exactly what the row parsers give (`parsers/csv_parser.py`, `parsers/jsonl_parser.py`,
`parsers/parquet_parser.py`) plus the row metadata. Whatever they cannot reproduce — ragged CSV rows,
a header that does not fit the first block, invalid UTF-8, non-object JSON lines — raises
`Unsupported`, and the reader continues on the row path from the first row not yet emitted.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
from typing import AbstractSet, Any, BinaryIO, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

import orjson

from source_exports.download.batch import RecordBatch
from source_exports.download.columns import describe, renamed, unique_names
from source_exports.download.limits import current, deeper_lines_possible, nesting_depth
from source_exports.download.parsers.csv_parser import EXTRA_VALUES_COLUMN
from source_exports.download.parsers.parquet_parser import ParquetParser
from source_exports.download.quotes import QuoteCheck
from source_exports.download.row_tail import ROW_NUMBER, TailText, json_text

LOGGER = logging.getLogger("airbyte")

CSV_BLOCK_SIZE = 3 << 16
"""pyarrow's CSV reader holds several blocks (read-ahead, allocator caches): peak RSS grows with
the block size (~+14 MB from 64 to 256 KiB at 1M rows). Every block also costs a fixed ~100 µs of
Python and kernel calls, which at 64 KiB was a third of the CPU time on quote-heavy rows; 192 KiB
keeps nearly all of 256 KiB's gain and stays under the 150 MB budget (docs/performance.md). A row
longer than a block makes pyarrow fail; that file then continues on the row path."""
JSONL_BLOCK_SIZE = 1 << 17
"""Small on purpose: the dicts orjson builds to validate a 128 KiB block stay in the CPU caches and
pymalloc reuses their memory block after block; with 1 MiB blocks the encoder took 2.7 s per 1M
benchmark rows instead of 1.5 s (docs/performance.md). A line longer than a block is carried over."""
HEADER_PEEK = 1 << 16
_ESCAPES = {
    code: orjson.dumps(chr(code))[1:-1].decode()
    for code in range(128)
    if orjson.dumps(chr(code))[1:-1] != bytes([code])
}
"""byte → its escape inside a JSON string, taken from orjson itself (`\\b`, `\\u0001`, `\\"`, ...)."""
_ESCAPE_ORDER = sorted(_ESCAPES, key=lambda code: code != ord("\\"))  # backslash first: later escapes add some
_ORDINARY = bytes(code for code in range(256) if code not in _ESCAPES)
_BYTES = {code: bytes([code]) for code in _ESCAPES}
_QUOTE, _COMMA = ord('"'), ord(",")
LISTED_DENSITY = 1 / 20
"""Special bytes per byte of a column from which `json_strings` has orjson write it (`Listed`). Measured
on 150 KB columns: escaping the buffer costs ~20-40 ns per special byte, orjson ~0.5 ns per byte of
ASCII values and ~3 ns of non-ASCII ones. From one special byte in 20, orjson was as fast or faster
for every value length (20 to 1,000 bytes) and alphabet tried; at one in 50, up to 1.6x slower on
non-ASCII text."""
DENSITY_SAMPLE = 1 << 14
"""Bytes of a long column whose density of special bytes decides, without scanning it all, that orjson writes it."""


class Column(NamedTuple):
    """A layout entry taken from the CSV column at `index` (anything else is a literal value)."""

    index: int


class Quoted(NamedTuple):
    """An encoded column (no nulls) whose values are the insides of JSON strings: `object_pieces` writes
    their quotes into the literals around it, so no copy of the column is made to add them."""

    texts: Any


class Listed(NamedTuple):
    """An encoded column (no nulls) whose values are whole JSON texts each followed by a comma:
    `object_pieces` takes that comma as the separator before the next key."""

    texts: Any


class Unsupported(Exception):
    """The vectorised path cannot reproduce the row path here (the reader counts the rows already emitted)."""


def row_numbers(first: int, count: int) -> Any:
    """`first`, `first + 1`, ... as a string array (JSON numbers), built without pandas checks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.py_buffer(np.arange(first, first + count, dtype=np.int64))
    numbers = pa.Array.from_buffers(pa.int64(), count, [None, values])
    return pc.cast(numbers, pa.string())


# ---------------------------------------------------------------- CSV


def read_csv_header(stream: io.BufferedReader) -> List[str]:
    """The header row, parsed like the row path does, from the first bytes (not consumed)."""
    head = stream.peek(HEADER_PEEK)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    newline = max(head.rfind(b"\n"), head.rfind(b"\r"))
    if newline < 0:
        raise Unsupported("no complete line in the first block")
    try:
        text = head[: newline + 1].decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unsupported("header is not UTF-8") from error
    lines = io.StringIO(text, newline="")
    header = next(csv.reader(lines, strict=False), None)
    if not header or lines.tell() > len(text) or (lines.tell() == len(text) and text[-1] not in "\r\n"):
        raise Unsupported("header does not end within the first block")
    return header


def object_layout(header: List[str], tail: Mapping[str, Any]) -> List[Tuple[str, Any]]:
    """(key, source) in the order the row path's dict has: header columns, then `tail` fields.

    A later duplicate keeps the first one's position and takes the later value, as `dict` does.
    """
    layout: Dict[str, Any] = {}
    for index, name in enumerate(header):
        layout[name] = Column(index)
    for name, value in tail.items():
        layout[name] = value
    return list(layout.items())


def escape_json_strings(column: Any) -> Any:
    """A string column with every value escaped for the inside of a JSON string literal, as orjson does.

    One C-speed scan (`bytes.translate` deleting every ordinary byte) finds which special bytes
    the column's data holds at all; most columns of real exports hold none and cost only the scan.
    """
    raw, present = _special_bytes(column)
    return _escaped(column, raw, present) if present else column


def json_strings(column: Any) -> Any:
    """A string column without nulls as JSON strings, `Quoted` or `Listed`, whichever costs less here.

    Both are exact; what each costs differs. Escaping the data buffer (`_escaped`) costs per special
    byte; orjson writing the values as one list (`_listed`) costs per byte, more for non-ASCII values
    (each value becomes a Python string first), and no more for a dense column such as JSON in a
    cell, where a sixth of the bytes are quotes and backslashes (docs/performance.md).
    """
    sampled = _dense_sample(column)
    listed = _listed(column) if sampled else None
    if listed is not None:
        return Listed(listed)
    raw, present = _special_bytes(column)
    if not present:
        return Quoted(column)
    if not sampled and len(present) >= LISTED_DENSITY * len(raw):
        listed = _listed(column)
        if listed is not None:
            return Listed(listed)
    return Quoted(_escaped(column, raw, present))


def _dense_sample(column: Any) -> bool:
    """Whether the first `DENSITY_SAMPLE` bytes of a column longer than that hold specials at
    `LISTED_DENSITY`: such a column is written by orjson without the full scan, which costs a fifth
    of `_listed` on JSON text cells. The choice only moves cost: both forms are exact."""
    _, offsets, data = column.buffers()
    if data is None or not len(column):
        return False
    bounds = memoryview(offsets).cast("i")
    start, end = bounds[column.offset], bounds[column.offset + len(column)]
    if end - start <= 2 * DENSITY_SAMPLE:
        return False
    sample = data[start : start + DENSITY_SAMPLE].to_pybytes()
    return len(sample.translate(None, _ORDINARY)) >= LISTED_DENSITY * DENSITY_SAMPLE


def _special_bytes(column: Any) -> Tuple[bytes, bytes]:
    """The column's value bytes and, in order, every byte of them that a JSON string escapes."""
    _, offsets, data = column.buffers()
    if data is None or not len(column):
        return b"", b""
    bounds = memoryview(offsets).cast("i")  # int32 offsets of a StringArray
    raw = data[bounds[column.offset] : bounds[column.offset + len(column)]].to_pybytes()
    return raw, raw.translate(None, _ORDINARY)


def _escaped(column: Any, raw: bytes, present: bytes) -> Any:
    """`escape_json_strings` where `raw` holds the special bytes `present`: the whole data buffer is
    escaped at once by `bytes.replace` (backslash first), and each value's new offset is its old one
    plus the bytes the escapes before it added, counted with numpy. pyarrow's `replace_substring`
    does the same per value, a pass per byte to escape."""
    import numpy as np
    import pyarrow as pa

    validity, offsets, _ = column.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(column) + 1, offset=column.offset * 4)
    view = np.frombuffer(raw, dtype=np.uint8)
    relative = bounds - bounds[0]
    shifted = relative.astype(np.int64)
    for code in _ESCAPE_ORDER:
        if _BYTES[code] in present:
            escape = _ESCAPES[code].encode()
            shifted += (len(escape) - 1) * np.searchsorted(np.flatnonzero(view == code), relative)
            raw = raw.replace(_BYTES[code], escape)
    if len(raw) >= 1 << 31:
        raise Unsupported("a column's escaped text exceeds 2 GiB")
    shifted = np.concatenate((np.zeros(column.offset, dtype=np.int64), shifted))  # the bitmap keeps its offset
    return pa.Array.from_buffers(
        pa.string(),
        len(column),
        [validity, pa.py_buffer(shifted.astype(np.int32)), pa.py_buffer(raw)],
        null_count=column.null_count,
        offset=column.offset,
    )


def _listed(column: Any) -> Optional[Any]:
    """The column's values as orjson writes them in a list, each with the comma after it, or None.

    orjson writes `["v0",...,"vn",""]` (the empty string appended gives the last value its comma).
    A value ends where `","` follows its closing quote. Inside a value every quote is escaped, so the
    pattern also matches inside one only where a value ends in `",`: then there are more matches
    than values, and the column is escaped the other way.
    """
    import numpy as np
    import pyarrow as pa

    values = column.to_pylist()
    values.append("")
    text = orjson.dumps(values)
    if len(text) >= 1 << 31:
        return None
    view = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero((view[:-2] == _QUOTE) & (view[1:-1] == _COMMA) & (view[2:] == _QUOTE))
    if len(ends) != len(column):
        return None
    offsets = np.empty(len(column) + 1, dtype=np.int32)
    offsets[0] = 1
    offsets[1:] = ends + 2
    return pa.Array.from_buffers(pa.string(), len(column), [None, pa.py_buffer(offsets), pa.py_buffer(text)])


def object_pieces(layout: Any, block: Any, first_row: int, encode: Any) -> List[Any]:
    """The pieces of one block's JSON objects, in `layout` order: constant text between columns,
    one encoded array per column (`encode(column)`: JSON texts, or `Quoted` or `Listed` ones)
    and the row numbers."""
    import pyarrow.compute as pc

    count = block.num_rows
    pieces: List[Any] = []
    literal, separator = "{", ""
    for position, (key, source) in enumerate(layout):
        literal += separator + json_text(key) + ":"
        separator = ","
        if source is ROW_NUMBER:
            pieces += [literal, row_numbers(first_row, count)]
            literal = ""
        elif isinstance(source, Column):
            encoded = encode(block.column(source.index))
            if isinstance(encoded, Listed) and position == len(layout) - 1:  # no key follows its comma
                encoded = pc.utf8_slice_codeunits(encoded.texts, 0, -1)
            if isinstance(encoded, Listed):
                pieces += [literal, encoded.texts]
                literal, separator = "", ""
            else:
                around, encoded = ('"', encoded.texts) if isinstance(encoded, Quoted) else ("", encoded)
                pieces += [literal + around, encoded]
                literal = around
        else:
            literal += json_text(source)
    pieces.append(literal + "}")
    return pieces


def csv_batches(stream: io.BufferedReader, tail: Mapping[str, Any], file_name: str) -> Iterator[RecordBatch]:
    """JSON objects for the rows of a CSV stream, one batch per pyarrow block."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = read_csv_header(stream)
    # renamed as the row parser (repeats) and then the reader (metadata names) rename them
    names = unique_names(unique_names(header, reserved=(EXTRA_VALUES_COLUMN,)), reserved=tail)
    changes = renamed(header, names)
    if changes:
        LOGGER.warning(
            f"{file_name}: column names repeat or collide with metadata columns; every column is kept, "
            f"read as {describe(changes)}"
        )
    checked = QuoteCheck(stream)
    try:
        reader = pacsv.open_csv(
            checked,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_SIZE, use_threads=False, encoding="utf8"),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False, check_utf8=True
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise Unsupported(f"pyarrow could not open it: {error}") from error
    if reader.schema.names != header or any(field.type != pa.string() for field in reader.schema):
        raise Unsupported("pyarrow read a different header")
    layout = object_layout(names, tail)
    done = 0
    while True:
        try:
            block = reader.read_next_batch()
        except StopIteration:
            block = None
        except (pa.ArrowInvalid, OSError) as error:
            raise Unsupported(f"block after row {done}: {error}") from error
        if checked.violation is not None:  # set before pyarrow saw the bad bytes: nothing bad was emitted
            raise Unsupported(f"strict quoting: {checked.violation}")
        if block is None:
            return
        count = block.num_rows
        if not count:
            continue
        pieces = object_pieces(layout, block, done + 1, json_strings)
        done += count
        yield RecordBatch.from_pieces(pieces, count, columns=[key for key, _ in layout])


# ---------------------------------------------------------------- JSON Lines


def jsonl_batches(stream: BinaryIO, tail: Mapping[str, Any], file_name: str) -> Iterator[RecordBatch]:
    """JSON objects for the lines of a JSON Lines stream: each line as written, metadata appended.

    orjson validates every line on its own (the row path rejects the same input).
    Lines that hold non-objects, or objects that already have a metadata key, go to the row path.
    """
    text = TailText(tail)
    tail_keys = set(tail)
    done = 0
    for lines, values in jsonl_blocks(stream, tail_keys):
        # a Python loop, but no pyarrow: importing it costs JSON Lines ~48 MB of RSS
        yield RecordBatch(text.ended(lines, values, done + 1), columns=tail_keys.union(*values))
        done += len(lines)


def jsonl_rows(stream: BinaryIO, tail: Mapping[str, Any], file_name: str) -> Iterator[List[Dict[str, Any]]]:
    """The rows the row path gives for a JSON Lines stream, a block of lines at a time, without the metadata
    `tail` (`row_tail`): for streams that work on the rows before writing them (no generator step per row)."""
    return (values for _, values in jsonl_blocks(stream, set(tail)))


def parquet_rows(stream: BinaryIO, tail: Mapping[str, Any], file_name: str) -> Iterator[List[Dict[str, Any]]]:
    """As `jsonl_rows`, for Parquet: the row parser's rows a batch at a time; `Unsupported` before a batch
    of which a row has a metadata column's name (the row path renames it)."""
    reserved = set(tail)
    done = 0
    for rows in ParquetParser().parse_blocks(stream, file_name):
        if any_key_of(reserved, rows):
            raise Unsupported(f"a row after row {done} has a metadata column's name")
        done += len(rows)
        yield rows


def any_key_of(keys: AbstractSet[str], rows: List[Dict[str, Any]]) -> bool:
    """Whether any of `rows` has one of `keys`: a C-speed pass per key (a handful), not one per row."""
    return any(any(map(dict.__contains__, rows, itertools.repeat(key))) for key in keys)


def jsonl_blocks(stream: BinaryIO, reserved: AbstractSet[str]) -> Iterator[Tuple[List[bytes], List[Dict[str, Any]]]]:
    """The non-blank lines of each block of a JSON Lines stream (stripped) and the objects they hold.

    Each line is parsed on its own, as the row path parses it; `Unsupported` for what only the row path
    reproduces: over-long or over-deep lines, vertical tabs and form feeds, non-objects, `reserved` keys.
    """
    limits = current()
    depth_limit, line_limit = limits.max_nesting_depth, limits.max_record_bytes
    done = 0
    carry = b""
    unfinished: List[bytes] = []  # blocks of a line longer than a block, joined once its end arrives
    unfinished_size = 0
    first = True
    while True:
        block = stream.read(JSONL_BLOCK_SIZE)
        if block and b"\n" not in block:
            unfinished.append(block)
            unfinished_size += len(block)
            if len(carry) + unfinished_size > line_limit:
                raise Unsupported(f"a line after row {done} is longer than the limit")
            continue
        data = carry + b"".join(unfinished) + block
        unfinished, unfinished_size = [], 0
        if first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = False
        if block:
            cut = data.rfind(b"\n") + 1
            data, carry = data[:cut], data[cut:]
        longest = max(map(len, data.split(b"\n"))) if len(data) > line_limit else 0
        if longest > line_limit or len(carry) > line_limit:
            raise Unsupported(f"a line after row {done} is longer than the limit")
        if b"\x0b" in data or b"\x0c" in data:  # stripped below, but not JSON whitespace: the row path decides
            raise Unsupported(f"a line after row {done} holds a vertical tab or form feed")
        lines = [line.strip() for line in data.split(b"\n")] if data else []
        lines = [line for line in lines if line]
        if lines:
            if deeper_lines_possible(data, depth_limit) and any(nesting_depth(line) > depth_limit for line in lines):
                raise Unsupported(f"a line after row {done} nests deeper than the limit")
            try:  # line by line, as the row path parses: lines joined could parse as what no line is
                values = list(map(orjson.loads, lines))
            except orjson.JSONDecodeError as error:
                raise Unsupported(f"invalid JSON after row {done}") from error
            if set(map(type, values)) != {dict} or any_key_of(reserved, values):
                raise Unsupported(f"a line after row {done} needs the row path")
            done += len(lines)
            yield lines, values
        if not block:
            return
