"""JUnit XML parser: one row per test case, statuses, streaming, and refused entity tricks."""

from __future__ import annotations

import io
import logging
import tracemalloc

import pytest

from source_exports.download.parsers import get_parser
from source_exports.errors import RecordParseError

LOGGER = logging.getLogger("test")


def parse(document: bytes):
    return list(get_parser("junit_xml").parse_records(io.BytesIO(document), "report.xml", LOGGER))


def test_given_every_outcome_when_parsed_then_one_row_per_case_with_status_and_failure_fields():
    rows = parse(
        b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all">
  <testsuite name="unit" tests="4">
    <testcase classname="pkg.TestA" name="ok" time="0.25"><system-out>noise</system-out></testcase>
    <testcase classname="pkg.TestA" name="bad" time="1.5"><failure message="expected 1" type="AssertionError">trace
line 2</failure></testcase>
    <testcase classname="pkg.TestB" name="broken"><error>first line of error
second</error></testcase>
    <testcase classname="pkg.TestB" name="skip" time=""><skipped message="not today"/></testcase>
  </testsuite>
</testsuites>"""
    )
    assert rows == [
        {"suite": "unit", "classname": "pkg.TestA", "name": "ok", "time": 0.25, "status": "passed",
         "failure_message": None, "failure_type": None, "failure_details": None},
        {"suite": "unit", "classname": "pkg.TestA", "name": "bad", "time": 1.5, "status": "failed",
         "failure_message": "expected 1", "failure_type": "AssertionError", "failure_details": "trace\nline 2"},
        {"suite": "unit", "classname": "pkg.TestB", "name": "broken", "time": None, "status": "error",
         "failure_message": "first line of error", "failure_type": None,
         "failure_details": "first line of error\nsecond"},
        {"suite": "unit", "classname": "pkg.TestB", "name": "skip", "time": None, "status": "skipped",
         "failure_message": "not today", "failure_type": None, "failure_details": None},
    ]


def test_given_nested_suites_and_namespaces_when_parsed_then_nearest_suite_name_is_used():
    rows = parse(
        b'<testsuite xmlns="urn:x" name="outer"><testsuite name="inner"><testcase name="a"/></testsuite>'
        b'<testcase name="b" time="2"/></testsuite>'
    )
    assert [(row["suite"], row["name"], row["time"]) for row in rows] == [("inner", "a", None), ("outer", "b", 2.0)]


def test_given_internal_entity_declaration_when_parsed_then_refused_not_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<testsuite name="s"><testcase name="&b;"/></testsuite>'
    )
    with pytest.raises(RecordParseError, match="entity declarations are not allowed") as raised:
        parse(bomb)
    assert "file: report.xml" in str(raised.value)


def test_given_external_entity_when_parsed_then_refused():
    document = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<testsuite name="s"><testcase name="&x;"/></testsuite>'
    )
    with pytest.raises(RecordParseError, match="not allowed"):
        parse(document)


def test_given_xml_that_is_not_junit_when_parsed_then_error_names_root_and_file():
    with pytest.raises(RecordParseError, match=r"root element is <project>") as raised:
        parse(b"<project><testcase name='x'/></project>")
    assert "report.xml" in str(raised.value)


def test_given_truncated_report_when_parsed_then_rows_before_the_cut_then_error_names_next_case():
    parser = get_parser("junit_xml").parse_records(
        io.BytesIO(b'<testsuite name="s"><testcase name="a"/><testcase name="b"'), "cut.xml", LOGGER
    )
    assert next(parser)["name"] == "a"
    with pytest.raises(RecordParseError, match="Invalid XML after test case 1") as raised:
        next(parser)
    assert "row: 2" in str(raised.value)


def test_given_large_report_when_parsed_then_memory_stays_flat():
    cases = 60_000
    body = b"".join(
        b'<testcase classname="pkg.Test%d" name="test_%d" time="0.001"><system-out>%s</system-out></testcase>'
        % (i, i, b"x" * 200)
        for i in range(cases)
    )
    document = b'<testsuites><testsuite name="big">' + body + b"</testsuite></testsuites>"
    tracemalloc.start()
    try:
        count = sum(1 for _ in get_parser("junit_xml").parse_records(io.BytesIO(document), "big.xml", LOGGER))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == cases
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB for a {len(document) / 1e6:.1f} MB report"
