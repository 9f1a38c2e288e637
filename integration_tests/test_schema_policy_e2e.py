"""Columns end to end, through the installed command: discovered unions, a column that appears later
(validation_policy emit / skip / wait), schemaless mode, and CSV headers that repeat or shadow a name.

SourceCraft's artifact records are the stream whose columns vary most (one table for every kind of
report), so the fake SourceCraft holds the files and the rows they must give.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest

from integration_tests.cli import configured_catalog, run_cli
from integration_tests.fake_servers.sourcecraft import JUNIT_CASES, FakeSourceCraft, csv_bytes, junit_rows, junit_xml
from integration_tests.fake_servers.storage import FakeStorage

pytestmark = pytest.mark.e2e

STREAM = "sourcecraft_artifact_records"
FIRST_ROWS = [{"file": "src/app.py", "lines": "007", "note": ""}, {"file": "src/b.py", "lines": "10", "note": "x"}]
METRICS = [{"metric": "size", "value": 4096, "tags": ["a", None], "detail": {"k": 1}}]
LATER_ROWS = [{"file": "src/c.py", "lines": "3", "note": "new", "branch": "main"}]


def cube(*artifacts: tuple) -> Dict[str, Any]:
    return {"test": {"unit": {"pytest": list(artifacts)}}}


@pytest.fixture
def fake() -> Iterator[FakeSourceCraft]:
    with FakeStorage() as storage, FakeSourceCraft(storage, seed_default=False) as server:
        server.add_run(
            "success",
            cube(
                ("reports/coverage.csv", "success", csv_bytes(FIRST_ROWS), FIRST_ROWS),
                ("reports/junit.xml", "success", junit_xml(JUNIT_CASES[:2]), junit_rows(JUNIT_CASES[:2])),
                ("metrics/size.json", "success", json.dumps(METRICS).encode(), METRICS),
            ),
            hours_ago=3,
        )
        yield server


def discover(fake: FakeSourceCraft, **settings: Any) -> Dict[str, Any]:
    return run_cli("discover", {"sourcecraft": fake.config_block(), **settings}).catalog


def read(fake: FakeSourceCraft, catalog: Dict[str, Any], **settings: Any):
    return run_cli("read", {"sourcecraft": fake.config_block(), **settings}, configured_catalog(catalog, [STREAM]))


def data_columns(row: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in row.items() if not key.startswith(("_ab_", "_sourcecraft_"))}


def add_later_report(fake: FakeSourceCraft) -> None:
    fake.add_run("success", cube(("reports/coverage.csv", "success", csv_bytes(LATER_ROWS), LATER_ROWS)), hours_ago=1)


def warnings_naming(result, text: str) -> List[str]:
    return [log["message"] for log in result.logs if log["level"] == "WARN" and text in log["message"]]


def test_given_reports_of_several_kinds_when_discover_then_every_column_of_every_kind_is_declared(fake):
    (stream,) = [item for item in discover(fake)["streams"] if item["name"] == STREAM]
    properties = stream["json_schema"]["properties"]

    every_column = {column for rows in fake.rows.values() for row in rows for column in row}
    assert every_column <= set(properties)
    assert properties["lines"]["type"] == ["null", "string"]  # CSV stays text: "007" keeps its zeros
    assert properties["time"]["type"] == ["null", "number"]  # JUnit's fixed columns
    assert properties["detail"]["type"] == ["null", "object"] and properties["tags"]["type"] == ["null", "array"]
    downloaded = {download.key.rsplit("/", 1)[-1] for download in fake.storage.downloads}
    assert downloaded == {"coverage.csv", "size.json"}  # the JUnit report's columns needed no download


def test_given_a_column_that_appears_after_discover_when_read_with_emit_then_it_is_emitted_and_warned_once(fake):
    catalog = discover(fake)
    add_later_report(fake)

    result = read(fake, catalog)

    assert result.returncode == 0 and not result.errors
    rows = sorted((data_columns(row) for row in result.records(STREAM)), key=json.dumps)
    expected = sorted((row for rows in fake.rows.values() for row in rows), key=json.dumps)
    assert rows == expected
    (warning,) = warnings_naming(result, "'branch'")
    assert "Refresh the source schema" in warning and "reports/coverage.csv" in warning


def test_given_skip_record_when_a_row_has_an_undeclared_column_then_that_row_is_skipped_and_counted(fake):
    catalog = discover(fake)
    add_later_report(fake)

    result = read(fake, catalog, validation_policy="skip_record")

    assert result.returncode == 0 and not result.errors
    rows = [data_columns(row) for row in result.records(STREAM)]
    assert LATER_ROWS[0] not in rows and FIRST_ROWS[0] in rows and METRICS[0] in rows
    assert warnings_naming(result, "1 row(s) skipped")


def test_given_wait_for_discover_when_a_row_has_an_undeclared_column_then_the_stream_fails_with_a_config_error(fake):
    catalog = discover(fake)
    add_later_report(fake)

    result = read(fake, catalog, validation_policy="wait_for_discover")

    assert result.returncode != 0 or result.errors
    assert any(
        error["failure_type"] == "config_error" and "'branch'" in error["message"] and "Refresh" in error["message"]
        for error in result.errors
    ), result.errors


def test_given_schemaless_when_discover_and_read_then_each_row_is_one_data_object_beside_the_metadata(fake):
    catalog = discover(fake, schemaless=True)
    (stream,) = [item for item in catalog["streams"] if item["name"] == STREAM]
    assert "data" in stream["json_schema"]["properties"] and "lines" not in stream["json_schema"]["properties"]
    add_later_report(fake)

    result = read(fake, catalog, schemaless=True, validation_policy="wait_for_discover")

    assert result.returncode == 0 and not result.errors
    records = result.records(STREAM)
    assert all(set(record) - {"data"} <= set(stream["json_schema"]["properties"]) for record in records)
    by_file: Dict[str, List[Dict[str, Any]]] = {}
    for record in sorted(records, key=lambda record: record["_ab_source_row"]):
        by_file.setdefault(record["_sourcecraft_artifact_id"], []).append(record["data"])
    assert by_file == fake.rows


def test_given_a_csv_header_that_repeats_and_shadows_names_when_read_then_every_value_is_kept(fake):
    body = b"a,a,_ab_source_row,_sourcecraft_run_slug\r\n1,2,own row,own slug\r\n"
    fake.add_run("success", cube(("reports/odd.csv", "success", body, None)), hours_ago=1)

    result = read(fake, discover(fake))

    (row,) = [row for row in result.records(STREAM) if row["_sourcecraft_local_path"] == "reports/odd.csv"]
    assert {key: row[key] for key in ("a", "a_2", "_ab_source_row_2", "_sourcecraft_run_slug_2")} == {
        "a": "1",
        "a_2": "2",
        "_ab_source_row_2": "own row",
        "_sourcecraft_run_slug_2": "own slug",
    }
    assert row["_ab_source_row"] == 1 and row["_sourcecraft_run_slug"] == "2"
    assert warnings_naming(result, "'a' as 'a_2'")
