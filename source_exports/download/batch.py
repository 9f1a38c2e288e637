"""`RecordBatch`: many rows of one file, already serialised as JSON objects.

The per-record path through the CDK (one AirbyteMessage object, one transformer call, one
serializer call per row) costs several times more than parsing the row. File-backed streams
can instead yield batches: the rows are encoded once, in bulk (vectorised where the format
allows), and the fast read loop (`source_exports.fast_read`) writes them to stdout inside the
RECORD envelope with one `join`. Anything that needs ordinary rows (the stock CDK read path,
tests) calls `rows()`.

Batches are only produced while `batches_enabled()` is true, which the fast read loop sets;
so a stream that yields what `ExportFileReader.records()` gives it works on both paths.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, List, Mapping, Sequence, Union

import orjson

Row = Mapping[str, Any]

_BATCHES = contextvars.ContextVar("source_exports_batches", default=False)


def batches_enabled() -> bool:
    """True while the fast read loop runs: readers may then yield `RecordBatch` objects."""
    return _BATCHES.get()


@contextlib.contextmanager
def enable_batches() -> Iterator[None]:
    """Let readers yield batches for the duration of the block (the fast read loop only)."""
    token = _BATCHES.set(True)
    try:
        yield
    finally:
        _BATCHES.reset(token)


def encode_row(row: Row) -> bytes:
    """One row as a JSON object, keeping top-level nulls (a null and a missing column differ)."""
    return orjson.dumps(row, default=str)


class RecordBatch:
    """Rows serialised as JSON objects: a list of bytes, or a pyarrow string array of them.

    >>> batch = RecordBatch.from_rows([{"a": 1}, {"a": None}])
    >>> bytes(batch.lines(b"[", b"]"))
    b'[{"a":1}]\\n[{"a":null}]\\n'
    """

    __slots__ = ("_objects",)

    def __init__(self, objects: Union[Sequence[bytes], Any]) -> None:
        self._objects = objects

    @classmethod
    def from_rows(cls, rows: Sequence[Row]) -> RecordBatch:
        return cls([orjson.dumps(row, default=str) for row in rows])

    def __len__(self) -> int:
        return len(self._objects)

    def __repr__(self) -> str:
        return f"RecordBatch({len(self)} rows)"

    def lines(self, prefix: bytes, suffix: bytes) -> Union[bytes, memoryview]:
        """`prefix + row + suffix + newline` for every row, as one buffer."""
        objects = self._objects
        if isinstance(objects, list):
            return prefix + (suffix + b"\n" + prefix).join(objects) + suffix + b"\n"
        import pyarrow.compute as pc  # only arrow-backed batches get here

        joined = pc.binary_join_element_wise(prefix.decode(), objects, suffix.decode() + "\n", "")
        _, offsets, data = joined.buffers()
        bounds = memoryview(offsets).cast("i")  # int32 offsets of a StringArray
        return memoryview(data)[bounds[joined.offset] : bounds[joined.offset + len(joined)]]

    def encoded(self) -> List[bytes]:
        """Each row's JSON object bytes."""
        objects = self._objects
        if isinstance(objects, list):
            return objects
        return [value.encode() for value in objects.to_pylist()]

    def rows(self) -> Iterator[dict]:
        """The rows as dicts, for consumers that need AirbyteMessages."""
        for encoded in self.encoded():
            yield orjson.loads(encoded)
