"""Deterministic benchmark exports: the same N rows of one data shape as CSV, gzip CSV, JSON Lines, Parquet.

Files are streamed to disk in chunks (never held whole) and reused while their rows and
generator version match. Shapes (`SHAPES`):

- `mixed`: 13 columns as a CRM export holds them: quoted commas and quotes in some rows, an
  embedded newline every 50th row, unicode, empty cells, nulls (JSON/Parquet), numbers;
- `json`: every row carries a JSON object in a quoted cell (every quote doubled), as enrichment
  outputs do;
- `text`: every row carries long free text (~1.5 KB) with doubled quotes, commas and embedded newlines;
- `wide`: 60 columns of short values, some quoted.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Callable, Dict, List, Tuple

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


def json_row_values(i: int) -> List[object]:
    """Row `i` of the `json` shape: a JSON object in the `enrichment` cell of every row."""
    enrichment = {
        "company": {"name": f"Company {i % 5003}", "domain": f"company{i % 5003}.com", "employees": i % 977 * 13},
        "person": {"title": ["CTO", "Head of Sales", "Engineer"][i % 3], "seniority": i % 5, "city": CITIES[i % 7]},
        "tags": ["b2b", f"segment-{i % 7}", "saas"],
        "score": round(i * 0.37 % 100, 2),
        "summary": f'Said "yes, later" on call {i}; path C:\\exports\\{i % 10}',
        "verified": i % 3 == 0,
    }
    return [i, f"person{i}@example{i % 97}.com", f"company{i % 5003}.com", orjson.dumps(enrichment).decode(),
            STATUSES[i % len(STATUSES)]]  # fmt: skip


def text_row_values(i: int) -> List[object]:
    """Row `i` of the `text` shape: long free text with doubled quotes, commas and line breaks."""
    sentence = f'Customer {i} wrote: "the export, as promised, arrived" — then asked about invoice {i % 997}. '
    body = "".join(sentence if k % 4 else sentence + "\n" for k in range(12))
    return [i, f'Ticket {i}: "{CITIES[i % 7]}" follow-up', body, STATUSES[i % len(STATUSES)]]


WIDE_COLUMNS = [f"field_{k:02d}" for k in range(60)]


def wide_row_values(i: int) -> List[object]:
    """Row `i` of the `wide` shape: 60 short cells; every 7th cell quoted (a comma in it)."""
    return [f"{i % (k + 3)}, {k}" if k % 7 == 0 else (i * (k + 1)) % 100_003 for k in range(len(WIDE_COLUMNS))]


SHAPES: Dict[str, Tuple[int, List[str], Callable[[int], List[object]]]] = {
    "mixed": (VERSION, COLUMNS, row_values),
    "json": (1, ["id", "email", "domain", "enrichment", "status"], json_row_values),
    "text": (1, ["id", "subject", "body", "status"], text_row_values),
    "wide": (1, WIDE_COLUMNS, wide_row_values),
}
"""shape → (generator version, columns, row `i` → values)."""


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_chunk(rows: List[List[object]]) -> bytes:
    return ("".join(",".join(csv_cell(v) for v in row) + "\r\n" for row in rows)).encode()


def jsonl_chunk(rows: List[List[object]], columns: List[str] = COLUMNS) -> bytes:
    return b"".join(orjson.dumps(dict(zip(columns, row))) + b"\n" for row in rows)


def generate(folder: Path, rows: int, shape: str = "mixed") -> Dict[str, Path]:
    """The four files of `shape` for `rows` rows in `folder` (written in one pass when missing): format → path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    version, columns, values_of = SHAPES[shape]
    stem = folder / (f"bench-v{version}-{rows}" if shape == "mixed" else f"bench-{shape}-v{version}-{rows}")
    paths = {fmt: Path(f"{stem}.{fmt}") for fmt in ("csv", "csv.gz", "jsonl", "parquet")}
    if all(path.exists() for path in paths.values()):
        return paths
    parts = {fmt: Path(f"{path}.part") for fmt, path in paths.items()}
    header = (",".join(columns) + "\r\n").encode()
    with (
        open(parts["csv"], "wb") as plain,
        gzip.open(parts["csv.gz"], "wb", compresslevel=6) as zipped,
        open(parts["jsonl"], "wb") as lines,
    ):
        plain.write(header)
        zipped.write(header)
        writer = None
        for start in range(0, rows, CHUNK_ROWS):
            chunk = [values_of(i) for i in range(start, min(rows, start + CHUNK_ROWS))]
            text = csv_chunk(chunk)
            plain.write(text)
            zipped.write(text)
            lines.write(jsonl_chunk(chunk, columns))
            table = pa.table({name: pa.array(list(values)) for name, values in zip(columns, zip(*chunk))})
            if writer is None:
                writer = pq.ParquetWriter(parts["parquet"], table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()
    for fmt, part in parts.items():
        os.replace(part, paths[fmt])
    return paths
