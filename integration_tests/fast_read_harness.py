"""A synthetic file-backed source for proving the fast read path against the CDK's own path.

`FileStream` reads one export file per slice through `ExportFileReader.records(export, self.batches)` — the one
line a vendor's file stream needs — and moves its cursor after each file. `run_read` runs a
whole `read` in-process through `ExportsEntrypoint` (fast path: batches) or `SlowEntrypoint`
(the same entrypoint with batches left off: the stock CDK record path) and returns the parsed
protocol messages.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import SyncMode

from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.run import ExportsEntrypoint
from source_exports.source import SourceExports
from source_exports.streams import IncrementalExportsStream

TRICKY_CSV = (
    "\ufeffid,quoted,multiline,empty,unicode\r\n"
    '1,"a, b","line one\nline two",,żółć 日本 🙂\r\n'
    '2,"say ""hi""","cr\r\nlf","",tab\there\r\n'
    "3,back\\slash,ctl\x01\x1fchars,,\u2028sep\r\n"
    "\r\n"
    "4,short\r\n"
    "5,long,x,y,z,extra1,extra2\r\n"
    '6,x"y,plain,,last\r\n'  # a quote inside an unquoted field is data
).encode()

TRICKY_JSONL = (
    b'\xef\xbb\xbf{"id": 1, "name": "a", "gone": null, "nested": {"k": [1, 2.5, "x"]}}\n'
    b"\n"
    b'{"id":2,"name":"\\u00e9\\n","big":12345678901234567,"f":1.0e3}\r\n'
    b"{}\n"
    b'{"id": 3, "unicode": "\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87"}'
)


def clean_csv(rows: int) -> bytes:
    lines = ["id,name,note,amount"]
    lines += [f'{i},name {i},"quoted, ""{i}""\nsecond line",{i * 1.5}' for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def parquet_bytes(rows: int) -> bytes:
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "name": pa.array([None if i % 7 == 0 else f"n{i}" for i in range(rows)]),
            "score": pa.array([i / 3 for i in range(rows)]),
            "flag": pa.array([i % 2 == 0 for i in range(rows)]),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


FILES: Dict[str, tuple] = {
    # key: (format, bytes)
    "exports/tricky.csv": ("csv", TRICKY_CSV),
    "exports/clean.csv.gz": ("csv", gzip.compress(clean_csv(3_000))),
    "exports/events.jsonl": ("jsonl", TRICKY_JSONL),
    "exports/table.parquet": ("parquet", parquet_bytes(2_500)),
}


class FileStream(IncrementalExportsStream):
    """One file per slice; the cursor is the file's `created_at` and moves after its rows."""

    cursor_field = "created_at"
    primary_key = None

    def __init__(self, name: str, storage: Any, keys: Sequence[str], concurrency: int = 0) -> None:
        super().__init__()
        self._name = name
        self.storage = storage
        self.keys = list(keys)
        self.concurrency = concurrency
        self.reader = ExportFileReader()
        self.yielded_types: List[type] = []

    @property
    def name(self) -> str:
        return self._name

    def build_json_schema(self) -> Mapping[str, Any]:
        return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}}

    def export(self, number: int, key: str) -> ExportFile:
        created = f"2025-01-0{number + 1}T00:00:00Z"
        metadata = {"created_at": created, "job_id": f"job-{number}", "note": None}
        return ExportFile(key.rsplit("/", 1)[-1], lambda: self.storage.sign(key), FILES[key][0], metadata)

    def stream_slices(self, sync_mode: SyncMode = SyncMode.full_refresh, **kwargs: Any) -> Iterable[Optional[dict]]:
        if self.concurrency:
            yield {"files": list(range(len(self.keys)))}
            return
        for number in range(len(self.keys)):
            yield {"files": [number]}

    def read_records(self, sync_mode: SyncMode, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any):
        exports = [self.export(number, self.keys[number]) for number in stream_slice["files"]]
        items = (
            self.reader.read_many(exports, concurrency=self.concurrency, batches=self.batches)
            if self.concurrency
            else (item for export in exports for item in self.reader.records(export, self.batches))
        )
        for item in items:
            self.yielded_types.append(type(item))
            yield item
        self.advance_cursor(exports[-1].metadata["created_at"])


class HarnessSource(SourceExports):
    """`SourceExports` with the synthetic streams instead of the vendor registry."""

    def __init__(self, streams: List[Any]) -> None:
        super().__init__()
        self._streams = streams

    def check_connection(self, logger: Any, config: Mapping[str, Any]):
        return True, None

    def streams(self, config: Mapping[str, Any]) -> List[Any]:
        return self._streams


class SlowEntrypoint(ExportsEntrypoint):
    """`ExportsEntrypoint` without batches: every row goes through the CDK's record path."""

    def read(self, source_spec, config, catalog, state):  # noqa: ANN001 (CDK signature)
        yield from AirbyteEntrypoint.read(self, source_spec, config, catalog, state)


def catalog_for(streams: Sequence[Any], incremental: bool = True) -> Dict[str, Any]:
    mode = "incremental" if incremental else "full_refresh"
    return {
        "streams": [
            {
                "stream": {
                    "name": stream.name,
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": ["created_at"],
                },
                "sync_mode": mode,
                "destination_sync_mode": "append",
                "cursor_field": ["created_at"],
            }
            for stream in streams
        ]
    }


def run_read(
    entrypoint_class: type, source: SourceExports, catalog: Mapping[str, Any], state: Optional[list] = None
) -> List[Dict[str, Any]]:
    """Every protocol message a read printed, parsed; a failed read's final exception is swallowed."""
    with tempfile.TemporaryDirectory() as folder:
        args = ["read"]
        for flag, value in (("config", {}), ("catalog", catalog), ("state", state)):
            if value is not None:
                path = Path(folder) / f"{flag}.json"
                path.write_text(json.dumps(value))
                args += [f"--{flag}", str(path)]
        entrypoint = entrypoint_class(source)
        output = bytearray()
        try:
            for message in entrypoint.run(entrypoint.parse_args(args)):
                output += (message + "\n").encode() if isinstance(message, str) else bytes(message)
        except ImportError:
            raise
        except Exception as error:  # the CDK raises after a failed stream; the messages are what matter
            output += json.dumps({"type": "RAISED", "error": type(error).__name__}).encode() + b"\n"
    return [json.loads(line) for line in output.decode().split("\n") if line]
