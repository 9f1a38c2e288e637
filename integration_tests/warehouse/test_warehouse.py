"""Every column of every row reaches a typed warehouse: PyAirbyte syncs every stream into DuckDB and PostgreSQL.

PyAirbyte runs the installed `source-exports` (through a wrapper that keeps a copy of its stdout), so
the test knows exactly which records the warehouse was given. Each table must then hold every
record, every column with its value: strings stay strings (`"007"`), nulls stay null, nested values
stay JSON. The artifact rows are also compared with the fake SourceCraft's own rows. A column the
discovered schema forgot is a column PyAirbyte drops, so a forgotten column fails here.

PostgreSQL is a throwaway cluster (`postgres.py`). Without its server binaries the PostgreSQL case
is skipped locally; under CI (`CI=true`) it fails instead. PyAirbyte's PostgreSQL loader reads its
JSON Lines files with pandas' type guessing, which turns the string "000098" into 98 and date-like
strings into dates whatever the schema says, and cannot bind a nested value to the text column of a
multi-type column; `ExactPostgresCache` loads values as written (nested ones in text columns as JSON
text, as the DuckDB cache does), so what is tested is the connector's schemas, not PyAirbyte's loader
(docs/index.md tells PyAirbyte users about it).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple
from unittest import mock

import pytest
import sqlalchemy

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # PyAirbyte must not reach the connector registry
os.environ.setdefault("DO_NOT_TRACK", "1")

import airbyte as ab  # noqa: E402
from airbyte._processors.sql.postgres import PostgresSqlProcessor  # noqa: E402
from airbyte._util.name_normalizers import LowerCaseNormalizer  # noqa: E402
from airbyte.caches import CacheBase, DuckDBCache, PostgresCache  # noqa: E402
from airbyte.shared import sql_processor  # noqa: E402

from integration_tests.fake_servers import FakeVendors  # noqa: E402
from integration_tests.warehouse.postgres import TemporaryPostgres, find_bindir  # noqa: E402

pytestmark = pytest.mark.e2e

ARTIFACT_RECORDS = "sourcecraft_artifact_records"


class ExactPostgresProcessor(PostgresSqlProcessor):
    """PyAirbyte's PostgreSQL processor, loading each value as the connector wrote it (no pandas type guess)."""

    def _write_files_to_new_table(self, files: List[Path], stream_name: str, batch_id: str) -> str:
        definitions = self._get_sql_column_definitions(stream_name)
        text_columns = {name for name, kind in definitions.items() if not isinstance(kind, sqlalchemy.types.JSON)}
        read_json = sql_processor.pd.read_json

        def exact(path: Any, **options: Any) -> Any:
            frame = read_json(path, dtype=False, convert_dates=False, **options)
            for column in text_columns & set(frame.columns):
                frame[column] = frame[column].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
            return frame

        with mock.patch.object(sql_processor.pd, "read_json", exact):
            return super()._write_files_to_new_table(files, stream_name, batch_id)


class ExactPostgresCache(PostgresCache):
    _sql_processor_class = ExactPostgresProcessor


@pytest.fixture(scope="module")
def fakes() -> Iterator[FakeVendors]:
    with FakeVendors() as vendors:
        yield vendors


@pytest.fixture()
def teed_source(tmp_path: Path) -> Tuple[Path, Path]:
    """(an executable that runs `source-exports` and appends its stdout to a file, that file)."""
    command = shutil.which("source-exports")
    assert command, "source-exports is not installed: run `make setup`"
    capture = tmp_path / "stdout.jsonl"
    wrapper = tmp_path / "source-exports-teed"
    wrapper.write_text(f'#!/usr/bin/env bash\nset -o pipefail\n"{command}" "$@" | tee -a "{capture}"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return wrapper, capture


def sync(fakes: FakeVendors, executable: Path, capture: Path, cache: CacheBase) -> Tuple[Dict[str, Any], Dict]:
    """Sync every stream into `cache`; (the catalog's schema per stream, the records per stream it was given)."""
    source = ab.get_source("source-exports", config=fakes.config(), local_executable=str(executable))
    source.select_all_streams()
    capture.write_text("")
    source.read(cache=cache)
    schemas = {stream.stream.name: stream.stream.json_schema for stream in source.configured_catalog.streams}
    records: Dict[str, List[Dict[str, Any]]] = {}
    for line in capture.read_text().splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD":
            records.setdefault(message["record"]["stream"], []).append(message["record"]["data"])
    return schemas, records


def table_rows(cache: CacheBase, stream: str) -> List[Dict[str, Any]]:
    """Every row of the stream's table, without PyAirbyte's own `_airbyte_*` columns."""
    with cache.get_sql_engine().connect() as connection:
        result = connection.exec_driver_sql(f'SELECT * FROM "{cache.schema_name}"."{stream}"')
        names = list(result.keys())
        return [{name: value for name, value in zip(names, row) if not name.startswith("_airbyte_")} for row in result]


def declared_type(column: Mapping[str, Any]) -> Tuple[set, Any]:
    types = column.get("type")
    return set(types if isinstance(types, list) else [types]) - {"null"}, column.get("format")


def canonical(value: Any, column: Mapping[str, Any]) -> Any:
    """One spelling of a value, from the source's JSON or from a warehouse cell, for the declared type."""
    if value is None:
        return None
    types, form = declared_type(column)
    if types == {"string"} and form == "date-time":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat()
    if types <= {"object", "array"}:
        return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)
    if types == {"number"} or isinstance(value, Decimal):
        return repr(round(float(value), 9))
    if len(types) > 1 and not isinstance(value, str):  # a union: PyAirbyte stores text
        return json.dumps(value, sort_keys=True)
    return value if isinstance(value, (str, bool, int)) else repr(value)


def assert_every_column_arrived(cache: CacheBase, schemas: Dict[str, Any], records: Dict[str, List[Dict]]) -> None:
    normalize = LowerCaseNormalizer.normalize
    assert set(records) >= {ARTIFACT_RECORDS, "enriched_leads", "spaaza_transactions", "posthog_events"}
    for stream, rows in records.items():
        properties = schemas[stream]["properties"]
        table = table_rows(cache, stream)
        columns = {normalize(name): name for row in rows for name in row}
        missing = sorted(name for key, name in columns.items() if table and key not in table[0])
        assert not missing, f"{stream}: columns dropped by the warehouse: {missing}"
        expected = Counter(
            json.dumps(
                {normalize(name): canonical(row.get(name), properties[name]) for name in columns.values()},
                sort_keys=True,
            )
            for row in rows
        )
        landed = Counter(
            json.dumps({key: canonical(row[key], properties[name]) for key, name in columns.items()}, sort_keys=True)
            for row in table
        )
        lost, extra = expected - landed, landed - expected
        assert not lost and not extra, (
            f"{stream}: the table differs from the records the connector emitted; first sent row not in the table: "
            f"{next(iter(lost), None)}; first table row not sent: {next(iter(extra), None)}"
        )


def assert_artifact_rows_match_the_fake(cache: CacheBase, fakes: FakeVendors) -> None:
    """The report rows in the warehouse are the rows inside the fake's artifact files, value for value."""
    normalize = LowerCaseNormalizer.normalize
    table = table_rows(cache, ARTIFACT_RECORDS)
    by_artifact: Dict[str, List[Dict[str, Any]]] = {}
    for row in table:
        by_artifact.setdefault(row["_sourcecraft_artifact_id"], []).append(row)
    assert by_artifact
    for artifact_id, rows in by_artifact.items():
        source_rows = fakes.sourcecraft.expected_rows(artifact_id)
        rows.sort(key=lambda row: row["_ab_source_row"])
        assert len(rows) == len(source_rows)
        for landed, source in zip(rows, source_rows):
            for name, value in source.items():
                cell = landed[normalize(name)]
                if isinstance(value, (dict, list)):
                    cell = json.loads(cell) if isinstance(cell, str) else cell
                if isinstance(cell, Decimal):
                    cell = float(cell)
                assert same_value(cell, value), (
                    f"{artifact_id} row {landed['_ab_source_row']} column {name}: {cell!r} landed, {value!r} sent"
                )


def same_value(cell: Any, value: Any) -> bool:
    """Equal, and of the same kind: a string stays a string, a null stays null; numbers compare as numbers."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return isinstance(cell, (int, float)) and not isinstance(cell, bool) and cell == value
    return type(cell) is type(value) and cell == value


def test_given_every_stream_when_synced_into_duckdb_then_every_column_of_every_row_is_there(
    fakes, teed_source, tmp_path
):
    cache = DuckDBCache(db_path=str(tmp_path / "sync.duckdb"), schema_name="main", cache_dir=str(tmp_path / "cache"))

    schemas, records = sync(fakes, *teed_source, cache)

    assert_every_column_arrived(cache, schemas, records)
    assert_artifact_rows_match_the_fake(cache, fakes)


def test_given_every_stream_when_synced_into_postgresql_then_every_column_of_every_row_is_there(
    fakes, teed_source, tmp_path
):
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL's server binaries (initdb, pg_ctl) are missing: .ci/run installs `postgresql`")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    with TemporaryPostgres(bindir) as server:
        cache = ExactPostgresCache(
            host=server.host,
            port=server.port,
            username=server.user,
            password=server.password,
            database=server.database,
            schema_name="exports",
            cache_dir=str(tmp_path / "cache"),
        )

        schemas, records = sync(fakes, *teed_source, cache)

        assert_every_column_arrived(cache, schemas, records)
        assert_artifact_rows_match_the_fake(cache, fakes)
