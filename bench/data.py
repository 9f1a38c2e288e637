"""Deterministic benchmark exports: the same N rows × 13 columns as CSV, gzip CSV, JSON Lines, Parquet.

Files are streamed to disk in chunks (never held whole) and reused while their rows and
generator version match. Values exercise what real exports hold: quoted commas and quotes,
an embedded newline every 50th row, unicode, empty cells, nulls (JSON/Parquet), numbers.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Dict, List

import orjson

VERSION = 1
COLUMNS = [
    "id", "uuid", "name", "email", "company", "city", "country",
    "created_at", "amount", "score", "status", "notes", "tags",
]  # fmt: skip
CHUNK_ROWS = 50_000
CITIES = ["Berlin", "Zürich", "São Paulo", "Kraków", "Tokyo 東京", "New York", "Łódź"]
STATUSES = ["active", "churned", "trial", "", "paused"]


def row_values(i: int) -> List[object]:
    """Row `i` as typed values (None = null); CSV writes None as an empty cell."""
    notes = None if i % 11 == 0 else f'note {i}, "quoted" text' + ("\nsecond line" if i % 50 == 0 else "")
    return [
        i,
        f"{i * 2654435761 % 2**32:08x}-{i % 9973:04x}-4{i % 4096:03x}-a{i % 977:03x}-{i * 40503 % 2**48:012x}",
        f"Person {i}",
        f"person{i}@example{i % 97}.com",
        f"Company {i % 5003} GmbH",
        CITIES[i % len(CITIES)],
        ["DE", "CH", "BR", "PL", "JP", "US"][i % 6],
        f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",
        round(i * 0.37 % 10_000, 2),
        None if i % 13 == 0 else (i * 7919) % 1000 / 10,
        STATUSES[i % len(STATUSES)],
        notes,
        f"tag{i % 7};tag{i % 13}",
    ]


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_chunk(rows: List[List[object]]) -> bytes:
    return ("".join(",".join(csv_cell(v) for v in row) + "\r\n" for row in rows)).encode()


def jsonl_chunk(rows: List[List[object]]) -> bytes:
    return b"".join(orjson.dumps(dict(zip(COLUMNS, row))) + b"\n" for row in rows)


def generate(folder: Path, rows: int) -> Dict[str, Path]:
    """The four files for `rows` rows in `folder` (written in one pass when missing): format → path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"bench-v{VERSION}-{rows}"
    paths = {fmt: Path(f"{stem}.{fmt}") for fmt in ("csv", "csv.gz", "jsonl", "parquet")}
    if all(path.exists() for path in paths.values()):
        return paths
    parts = {fmt: Path(f"{path}.part") for fmt, path in paths.items()}
    header = (",".join(COLUMNS) + "\r\n").encode()
    with open(parts["csv"], "wb") as plain, gzip.open(parts["csv.gz"], "wb", compresslevel=6) as zipped, open(
        parts["jsonl"], "wb"
    ) as lines:
        plain.write(header)
        zipped.write(header)
        writer = None
        for start in range(0, rows, CHUNK_ROWS):
            chunk = [row_values(i) for i in range(start, min(rows, start + CHUNK_ROWS))]
            text = csv_chunk(chunk)
            plain.write(text)
            zipped.write(text)
            lines.write(jsonl_chunk(chunk))
            table = pa.table({name: pa.array(list(values)) for name, values in zip(COLUMNS, zip(*chunk))})
            if writer is None:
                writer = pq.ParquetWriter(parts["parquet"], table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
    for fmt, part in parts.items():
        os.replace(part, paths[fmt])
    return paths
