"""The library route for formats no vendor serves yet: the whole protocol path, one synthetic stream.

`python -m bench.library FORMAT URL` runs `launch` (what `source-exports` runs) over
a source with one full-refresh stream that reads the file through `ExportFileReader.records(export, self.batches)`,
as vendor file streams do, and prints the Airbyte messages to stdout.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, List, Mapping

from source_exports import startup

with startup.command_start():  # as the `source-exports` command starts: settings first, then airbyte-cdk and pyarrow
    from airbyte_cdk.models import SyncMode

    from source_exports.download.reader import ExportFile, ExportFileReader
    from source_exports.run import exit_without_teardown, launch
    from source_exports.source import SourceExports
    from source_exports.streams import ExportsStream

STREAM = "bench_output"


class FileStream(ExportsStream):
    name = STREAM

    def __init__(self, url: str, fmt: str) -> None:
        super().__init__()
        self.export = ExportFile(url.rsplit("/", 1)[-1].split("?")[0], lambda: url, fmt, {"job_id": "bench"})
        self.reader = ExportFileReader()

    def build_json_schema(self) -> Mapping[str, Any]:
        return {"type": "object"}

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Any]:
        yield from self.reader.records(self.export, self.batches)


class LibrarySource(SourceExports):
    def __init__(self, url: str, fmt: str) -> None:
        super().__init__()
        self._stream = FileStream(url, fmt)

    def streams(self, config: Mapping[str, Any]) -> List[Any]:
        return [self._stream]


def main() -> None:
    fmt, url = sys.argv[1], sys.argv[2]
    fmt = "csv" if fmt == "csv.gz" else fmt
    catalog = {
        "streams": [
            {
                "stream": {"name": STREAM, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append",
            }
        ]
    }
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "config.json").write_text("{}")
        (Path(folder) / "catalog.json").write_text(json.dumps(catalog))
        args = ["read", "--config", f"{folder}/config.json", "--catalog", f"{folder}/catalog.json"]
        launch(args, LibrarySource(url, fmt))
    exit_without_teardown()  # as `source-exports` ends


if __name__ == "__main__":
    main()
