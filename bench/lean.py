"""The lean reference pipeline: stream → stdlib csv / json (pyarrow for Parquet) → orjson RECORD lines.

What a hand-written, no-framework reader of the same file costs; run as
`python -m bench.lean FORMAT URL` with stdout counted by the benchmark.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import sys
import tempfile
import time

import orjson
import requests


def records(fmt: str, url: str):
    response = requests.get(url, stream=True, timeout=(15, 300))
    response.raise_for_status()
    raw = response.raw
    raw.auto_close = False  # the text wrapper reads to EOF itself
    if fmt in ("csv", "csv.gz"):
        body = gzip.GzipFile(fileobj=raw) if fmt == "csv.gz" else raw
        reader = csv.reader(io.TextIOWrapper(body, encoding="utf-8-sig", newline=""))
        header = next(reader)
        for cells in reader:
            yield dict(zip(header, cells))
    elif fmt == "jsonl":
        for line in raw:
            if line.strip():
                yield json.loads(line)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(raw, spool, 1 << 20)
            spool.seek(0)
            for batch in pq.ParquetFile(spool).iter_batches(batch_size=10_000):
                yield from batch.to_pylist()
    else:
        raise SystemExit(f"unknown format {fmt}")


def main() -> None:
    fmt, url = sys.argv[1], sys.argv[2]
    out = sys.stdout.buffer
    for data in records(fmt, url):
        message = {"type": "RECORD", "record": {"stream": "bench", "data": data, "emitted_at": int(time.time() * 1000)}}
        out.write(orjson.dumps(message) + b"\n")
    out.flush()


if __name__ == "__main__":
    main()
