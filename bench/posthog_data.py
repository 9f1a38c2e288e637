"""Deterministic PostHog events exports, as PostHog writes them, for the benchmark's PostHog route.

JSON Lines: timestamps spelled '2025-01-01 00:00:00.123456+00:00', `properties`, `set` and
`set_once` as JSON *text*. Parquet: the same rows, timestamps as `timestamp[us, UTC]`, the JSON
columns as strings, 50,000-row row groups. The connector parses the JSON text into objects and
respells the timestamps (`vendors/posthog/rows.py`); the lean reference does neither.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional

import orjson

VERSION = 1
CHUNK_ROWS = 50_000
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
EVENTS = ["$pageview", "$autocapture", "signed_up", "$identify", "purchase"]
FORMATS = {"posthog.jsonl": "JSONLines", "posthog.parquet": "Parquet"}
"""Benchmark format → PostHog file format."""


def event(i: int) -> Dict[str, Optional[object]]:
    """Event `i`, with Python datetimes for the timestamp columns."""
    inserted = START + timedelta(microseconds=i * 86_400_000_000 // 1_000_000 + i % 997)
    properties = {
        "$current_url": f"https://example.com/p/{i % 97}?q=a&b=ü",
        "$browser": ["Chrome", "Firefox", "Safari"][i % 3],
        "amount": [0, 12.5, -3, 10**12][i % 4],
        "nested": {"list": [1, "two", None], "flag": i % 2 == 0},
        "note": ["", "line\nbreak", 'quote " inside', "北京", None][i % 5],
    }
    return {
        "uuid": f"{i * 2654435761 % 2**32:08x}-{i % 9973:04x}-4{i % 4096:03x}-a{i % 977:03x}-{i * 40503 % 2**48:012x}",
        "team_id": 4242,
        "timestamp": inserted - timedelta(seconds=i % 3600),
        "_inserted_at": inserted,
        "created_at": inserted - timedelta(milliseconds=i % 900),
        "event": EVENTS[i % len(EVENTS)],
        "properties": orjson.dumps(properties).decode(),
        "distinct_id": f"user-{i % 20}",
        "set": orjson.dumps({"email": f"user{i % 20}@example.com"}).decode() if i % 5 < 2 else None,
        "set_once": orjson.dumps({"first_seen": "2024-12-01T00:00:00Z"}).decode() if i % 10 < 3 else None,
    }


TIMESTAMPS = ("timestamp", "_inserted_at", "created_at")


def jsonl_chunk(rows: List[Dict[str, Optional[object]]]) -> bytes:
    lines = []
    for row in rows:
        text = {key: (str(value) if key in TIMESTAMPS else value) for key, value in row.items()}  # '... +00:00'
        lines.append(orjson.dumps(text) + b"\n")
    return b"".join(lines)


def generate_events(folder: Path, rows: int) -> Dict[str, Path]:
    """Both files for `rows` events in `folder` (written in one pass when missing): format → path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"posthog-events-v{VERSION}-{rows}"
    paths = {"posthog.jsonl": Path(f"{stem}.jsonl"), "posthog.parquet": Path(f"{stem}.parquet")}
    if all(path.exists() for path in paths.values()):
        return paths
    parts = {fmt: Path(f"{path}.part") for fmt, path in paths.items()}
    stamp = pa.timestamp("us", tz="UTC")
    schema = pa.schema(
        [("uuid", pa.string()), ("team_id", pa.int64())]
        + [(name, stamp) for name in TIMESTAMPS]
        + [(name, pa.string()) for name in ("event", "properties", "distinct_id", "set", "set_once")]
    )
    with open(parts["posthog.jsonl"], "wb") as lines, pq.ParquetWriter(parts["posthog.parquet"], schema) as writer:
        for start in range(0, rows, CHUNK_ROWS):
            chunk = [event(i) for i in range(start, min(rows, start + CHUNK_ROWS))]
            lines.write(jsonl_chunk(chunk))
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
    for fmt, part in parts.items():
        os.replace(part, paths[fmt])
    return paths
