"""The main job on its built-in default: sync every stream from the bundled fake vendor APIs
into a local DuckDB file with PyAirbyte, then print rows per stream and one sample query.

Run it with `make demo` (or `python -m integration_tests.demo [--db PATH]`).

File-transfer streams stage a copy of each file for the destination. On the Airbyte platform the
staging folder is a volume of the sync that the platform removes; a local PyAirbyte sync would
leave the copies under the CDK's default folder, so the demo gives the connector a staging folder
of its own for the sync and deletes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # PyAirbyte must not reach the connector registry
os.environ.setdefault("DO_NOT_TRACK", "1")  # and sends no telemetry

import airbyte as ab  # noqa: E402  (the environment above must be set first)
import sqlalchemy  # noqa: E402
from airbyte.caches import DuckDBCache  # noqa: E402
from airbyte.caches.base import CacheBase  # noqa: E402

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
    staging = Path(tempfile.mkdtemp(prefix="source-exports-demo-staging-"))
    os.environ["AIRBYTE_STAGING_DIRECTORY"] = str(staging)  # inherited by the connector's process
    try:
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
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return 0


def sample_query(cache: CacheBase) -> Optional[str]:
    """Output rows per run status, written for whichever SQL cache holds the data.

    Caches name columns differently (PostgreSQL lowercases `runStatus`, DuckDB keeps it), so the
    table and column are looked up in the cache and quoted as its dialect requires.
    """
    engine = cache.get_sql_engine()
    inspector = sqlalchemy.inspect(engine)
    tables = {name.lower(): name for name in inspector.get_table_names(schema=cache.schema_name)}
    table = tables.get("enriched_leads")
    if table is None:
        return None
    columns = inspector.get_columns(table, schema=cache.schema_name)
    names = {column["name"].lower(): column["name"] for column in columns}
    status = names.get("runstatus")
    if status is None:
        return None
    quote = engine.dialect.identifier_preparer
    return (
        f"SELECT {quote.quote(status)} AS run_status, COUNT(*) AS n "
        f"FROM {quote.quote_schema(cache.schema_name)}.{quote.quote(table)} GROUP BY 1 ORDER BY 2 DESC"
    )


def print_sample_query(cache: CacheBase) -> None:
    """One query a user would run next: output rows per run status."""
    query = sample_query(cache)
    if query is None:
        return
    print(f"\n{query}")
    with cache.get_sql_engine().connect() as connection:
        for row in connection.exec_driver_sql(query):
            print(f"  {row[0]:<12} {row[1]:>6}")


if __name__ == "__main__":
    sys.exit(main())
