"""The demo's sample query runs on caches that name columns differently.

PostgreSQL lowercases unquoted identifiers (PyAirbyte's `runStatus` column arrives as
`runstatus`), DuckDB keeps the case; SQLite stands in for both spellings here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import pytest
import sqlalchemy

from integration_tests.demo import sample_query

ROWS = [("succeeded",), ("failed",), ("succeeded",), ("running",), ("succeeded",)]


@dataclass
class SqliteCache:
    """The two members of a PyAirbyte SQL cache the sample query uses."""

    engine: sqlalchemy.engine.Engine
    schema_name: str = "main"

    def get_sql_engine(self) -> sqlalchemy.engine.Engine:
        return self.engine


def _cache_with(column: str) -> SqliteCache:
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE TABLE enriched_leads ("{column}" TEXT, "leadId" TEXT)')
        connection.exec_driver_sql(f'INSERT INTO enriched_leads ("{column}") VALUES (?)', ROWS)
    return SqliteCache(engine)


def _run(cache: SqliteCache, query: str) -> List[Tuple[str, int]]:
    with cache.get_sql_engine().connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(query)]


@pytest.mark.parametrize(("column", "selected"), [("runStatus", '"runStatus"'), ("runstatus", "runstatus")])
def test_given_cache_column_spelling_when_sample_query_runs_then_counts_per_status(column: str, selected: str) -> None:
    cache = _cache_with(column)

    query = sample_query(cache)
    rows = _run(cache, query or "")

    assert query is not None and query.startswith(f"SELECT {selected} AS run_status")
    assert rows[0] == ("succeeded", 3)
    assert sorted(rows[1:]) == [("failed", 1), ("running", 1)]  # tied counts: either order


def test_given_cache_without_enriched_leads_when_sample_query_then_none() -> None:
    cache = SqliteCache(sqlalchemy.create_engine("sqlite://"))

    assert sample_query(cache) is None
