"""The main job on its built-in default: sync every stream from the bundled fake vendor APIs
into a local DuckDB file with PyAirbyte, then print rows per stream and one sample query.

Run it with `make demo` (or `python -m integration_tests.demo [--db PATH]`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # PyAirbyte must not reach the connector registry
os.environ.setdefault("DO_NOT_TRACK", "1")  # and sends no telemetry

import airbyte as ab  # noqa: E402  (the environment above must be set first)
from airbyte.caches import DuckDBCache  # noqa: E402

from integration_tests.fake_servers import FakeVendors  # noqa: E402

DEFAULT_DB = Path("demo_output/exports.duckdb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"DuckDB file to write (default {DEFAULT_DB})")
    args = parser.parse_args()
    executable = shutil.which("source-exports")
    if not executable:
        print("source-exports is not on PATH: run `make setup` (or `pip install -e .`) first", file=sys.stderr)
        return 2
    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.db.unlink(missing_ok=True)
    with FakeVendors() as fakes:
        source = ab.get_source("source-exports", config=fakes.config(), local_executable=executable)
        source.check()
        source.select_all_streams()
        cache = DuckDBCache(db_path=str(args.db), schema_name="main", cache_dir=str(args.db.parent / "cache"))
        started = time.monotonic()
        result = source.read(cache=cache)
        seconds = time.monotonic() - started
        print(f"\nSynced into {args.db} in {seconds:.1f} s\n")
        print(f"{'stream':<40} {'rows':>8}")
        for name, dataset in sorted(result.streams.items()):
            print(f"{name:<40} {len(dataset):>8}")
        print_sample_query(cache)
    return 0


def print_sample_query(cache: DuckDBCache) -> None:
    """One query a user would run next: output rows per run status."""
    tables = {name.lower() for name in cache.get_sql_engine().dialect.get_table_names(cache.get_sql_engine().connect())}
    if "enriched_leads" not in tables:
        return
    query = 'SELECT "runStatus", COUNT(*) AS n FROM main.enriched_leads GROUP BY 1 ORDER BY 2 DESC'
    print(f"\n{query}")
    with cache.get_sql_engine().connect() as connection:
        for row in connection.exec_driver_sql(query):
            print(f"  {row[0]:<12} {row[1]:>6}")


if __name__ == "__main__":
    sys.exit(main())
