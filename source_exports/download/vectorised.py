"""Vectorised encoders: a whole block of a file to JSON object bytes without a Python loop per row.

CSV: pyarrow's streaming CSV reader (every column read as text, quoted newlines allowed) and
pyarrow string kernels that escape each column and join the pieces of every JSON object.
JSON Lines: the lines of a block are validated by one orjson call and spliced as they are.

Both must give exactly what the row parsers give (`parsers/csv_parser.py`,
`parsers/jsonl_parser.py`) plus the row metadata. Whatever they cannot reproduce — ragged CSV
rows, a header that does not fit the first block, invalid UTF-8, non-object JSON lines — raises
`Unsupported`, and the reader continues on the row path from the first row not yet emitted.
"""

from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO, Dict, Iterator, List, Mapping, NamedTuple, Tuple

import orjson

from source_exports.download.batch import RecordBatch
from source_exports.download.parsers.csv_parser import EXTRA_VALUES_COLUMN

ROW_NUMBER = object()
"""Marks the field that carries the 1-based row number in `tail`."""

CSV_BLOCK_SIZE = 1 << 20
JSONL_BLOCK_SIZE = 1 << 20
HEADER_PEEK = 1 << 16
_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))


class Column(NamedTuple):
    """A layout entry taken from the CSV column at `index` (anything else is a literal value)."""

    index: int


class Unsupported(Exception):
    """The vectorised path cannot reproduce the row path here; `rows_done` rows were emitted."""

    def __init__(self, reason: str, rows_done: int = 0) -> None:
        super().__init__(reason)
        self.rows_done = rows_done


def json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


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
    """A string column with every value escaped for the inside of a JSON string literal."""
    import pyarrow.compute as pc

    for raw, escaped in _ESCAPES:
        column = pc.replace_substring(column, raw, escaped)
    if pc.any(pc.match_substring_regex(column, _CONTROL)).as_py():
        for code in (*range(0, 9), 11, 12, *range(14, 32)):
            column = pc.replace_substring(column, chr(code), f"\\u{code:04x}")
    return column


def csv_batches(stream: io.BufferedReader, tail: Mapping[str, Any], file_name: str) -> Iterator[RecordBatch]:
    """JSON objects for the rows of a CSV stream, one batch per pyarrow block."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    header = read_csv_header(stream)
    if EXTRA_VALUES_COLUMN in header:
        raise Unsupported(f"a column is named {EXTRA_VALUES_COLUMN}")
    try:
        reader = pacsv.open_csv(
            stream,
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
    layout = object_layout(header, tail)
    done = 0
    while True:
        try:
            block = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, OSError) as error:
            raise Unsupported(f"block after row {done}: {error}", rows_done=done) from error
        count = block.num_rows
        if not count:
            continue
        pieces: List[Any] = []
        literal = "{"
        for position, (key, source) in enumerate(layout):
            literal += ("," if position else "") + json_text(key) + ":"
            if source is ROW_NUMBER:
                pieces.append(literal)
                pieces.append(pc.cast(pa.array(np.arange(done + 1, done + count + 1, dtype=np.int64)), pa.string()))
                literal = ""
            elif isinstance(source, Column):
                pieces.append(literal + '"')
                pieces.append(escape_json_strings(block.column(source.index)))
                literal = '"'
            else:
                literal += json_text(source)
        pieces.append(literal + "}")
        done += count
        yield RecordBatch(pc.binary_join_element_wise(*pieces, ""))


# ---------------------------------------------------------------- JSON Lines


def jsonl_batches(stream: BinaryIO, tail: Mapping[str, Any], file_name: str) -> Iterator[RecordBatch]:
    """JSON objects for the lines of a JSON Lines stream: each line as written, metadata appended.

    One orjson call per block validates every line (the row path rejects the same input).
    Lines that hold non-objects, or objects that already have a metadata key, go to the row path.
    """
    before: List[bytes] = []
    after: List[bytes] = []
    row_key = b""
    for key, value in tail.items():
        if value is ROW_NUMBER:
            row_key = json_text(key).encode() + b":"
        else:
            (after if row_key else before).append(f"{json_text(key)}:{json_text(value)}".encode())
    before_text = b"".join(item + b"," for item in before) + row_key
    after_text = b"".join(b"," + item for item in after) + b"}"
    done = 0
    carry = b""
    first = True
    while True:
        block = stream.read(JSONL_BLOCK_SIZE)
        data = carry + block
        if first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = False
        if block:
            cut = data.rfind(b"\n") + 1
            data, carry = data[:cut], data[cut:]
        lines = [line.strip() for line in data.split(b"\n")] if data else []
        lines = [line for line in lines if line]
        if lines:
            try:
                values = orjson.loads(b"[" + b",".join(lines) + b"]")
            except orjson.JSONDecodeError as error:
                raise Unsupported(f"invalid JSON after row {done}", rows_done=done) from error
            for value in values:
                if type(value) is not dict or any(key in value for key in tail):
                    raise Unsupported(f"a line after row {done} needs the row path", rows_done=done)
            objects = [
                line[:-1] + (b"," if value else b"") + before_text + str(number).encode() + after_text
                for number, (line, value) in enumerate(zip(lines, values), start=done + 1)
            ]
            done += len(objects)
            yield RecordBatch(objects)
        if not block:
            return


ENCODERS = {"jsonl": jsonl_batches}
"""format → vectorised encoder; formats not listed use the row path in batches.

`csv_batches` is exact (see integration_tests/test_fast_read.py) but measured slower and larger
than the batched row path on the 2-core bench machine (docs/performance.md), so it is not on by
default: `ENCODERS["csv"] = csv_batches` turns it on."""
