"""`RecordBatch`: many rows of one file, already serialised as JSON objects.

The per-record path through the CDK (one AirbyteMessage object, one transformer call, one
serializer call per row) costs several times more than parsing the row. File-backed streams
can instead yield batches: the rows are encoded once, in bulk (vectorised where the format
allows), and the fast read loop (`source_exports.fast_read`) writes them to stdout inside the
RECORD envelope with one `join`. Anything that needs ordinary rows (the stock CDK read path,
tests) calls `rows()`.

Batches are only produced when asked for: the fast read loop reads a stream with
`ExportsStream.read(..., batches=True)`, and the stream hands `self.batches` to the reader
(`ExportFileReader.records(export, batches)`); the CDK's own read path gets rows.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

import orjson

from source_exports.download.arrow_buffers import string_scalar
from source_exports.errors import RecordParseError

Row = Mapping[str, Any]

ROWS_PER_BATCH = 1_000
"""Rows that arrive one by one (streams that do not yield batches, per-row vendor work) are written
in groups of this many."""


def encode_row(row: Row) -> bytes:
    """One row as a JSON object, keeping top-level nulls (a null and a missing column differ).

    orjson refuses values nested deeper than it can write (a TypeError): that row's file is named.
    """
    try:
        return orjson.dumps(row, default=str)
    except orjson.JSONEncodeError as error:
        raise RecordParseError(
            f"A row cannot be written as JSON: {error}",
            file=row.get("_ab_source_file"),  # the reader's FILE_COLUMN / ROW_COLUMN (it imports this module)
            row=row.get("_ab_source_row"),
            hint="The file holds a record nested too deeply; lower file_limits.max_nesting_depth or fix the file",
        ) from error


def in_batches(rows: Iterable[Row], size: int) -> Iterator[RecordBatch]:
    """`rows` as batches of `size`, for streams whose rows need per-row work before they are written.

    An error from `rows` is raised after the rows before it have come out, as on the row path.
    """
    return (RecordBatch.from_rows(chunk) for chunk in in_chunks(rows, size))


def in_chunks(rows: Iterable[Row], size: int) -> Iterator[List[Row]]:
    """`rows` in lists of `size`; an error from `rows` is raised after the rows before it have come out."""
    chunk: List[Row] = []
    try:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


class RecordBatch:
    """Rows serialised as JSON objects: a list of bytes, or pyarrow pieces joined row-wise.

    Arrow-built batches keep their *pieces* (literal texts and string columns, alternating, each
    row's object being the concatenation of its cells) unjoined until they are written, so
    `lines()` builds the RECORD envelope and the objects in one pass instead of two.

    >>> batch = RecordBatch.from_rows([{"a": 1}, {"a": None}])
    >>> bytes(batch.lines(b"[", b"]"))
    b'[{"a":1}]\\n[{"a":null}]\\n'
    """

    __slots__ = ("_objects", "_pieces", "_count", "_columns")

    def __init__(self, objects: List[bytes], columns: Optional[Iterable[str]] = None) -> None:
        self._objects: Optional[List[bytes]] = objects
        self._pieces: Optional[List[Any]] = None
        self._count = len(objects)
        self._columns = frozenset(columns) if columns is not None else None

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> RecordBatch:
        return cls([encode_row(row) for row in rows], columns=frozenset().union(*rows))

    @classmethod
    def from_pieces(cls, pieces: List[Any], count: int, columns: Optional[Iterable[str]] = None) -> RecordBatch:
        """`count` rows whose objects are `pieces` joined row-wise: str literals and pyarrow string
        arrays of length `count` (no nulls), starting and ending with a literal."""
        batch = cls([], columns=columns)
        batch._objects, batch._pieces, batch._count = None, pieces, count
        return batch

    def columns(self) -> frozenset:
        """Every top-level key any row of the batch has (known when built; else read from the rows)."""
        if self._columns is None:
            self._columns = frozenset().union(*self.rows())
        return self._columns

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"RecordBatch({len(self)} rows)"

    def lines(self, prefix: bytes, suffix: bytes) -> Union[bytes, memoryview]:
        """`prefix + row + suffix + newline` for every row, as one buffer."""
        objects = self._objects
        if objects is not None:
            return prefix + (suffix + b"\n" + prefix).join(objects) + suffix + b"\n"
        pieces = self._pieces
        return _buffer_of(_join([prefix.decode() + pieces[0], *pieces[1:-1], pieces[-1] + suffix.decode() + "\n"]))

    def encoded(self) -> List[bytes]:
        """Each row's JSON object bytes."""
        if self._objects is not None:
            return self._objects
        return [value.encode() for value in _join(self._pieces).to_pylist()]

    def rows(self) -> Iterator[dict]:
        """The rows as dicts, for consumers that need AirbyteMessages."""
        for encoded in self.encoded():
            yield orjson.loads(encoded)


def _join(pieces: List[Any]) -> Any:
    """Row-wise concatenation of literals and string arrays (one pass; pyarrow only gets here)."""
    import pyarrow.compute as pc

    args = [string_scalar(piece) if isinstance(piece, str) else piece for piece in pieces]
    return pc.binary_join_element_wise(*args, string_scalar(""))


def _buffer_of(joined: Any) -> memoryview:
    """The bytes of a joined string array, as one view (no copy)."""
    _, offsets, data = joined.buffers()
    bounds = memoryview(offsets).cast("i")  # int32 offsets of a StringArray
    return memoryview(data)[bounds[joined.offset] : bounds[joined.offset + len(joined)]]
