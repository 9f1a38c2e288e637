"""JUnit XML parser: one row per test case, statuses, streaming, and refused entity tricks."""

from __future__ import annotations

import io
import logging
import tracemalloc

import pytest

from source_exports.download import limits
from source_exports.download.formats import get_parser
from source_exports.download.limits import FileLimitExceeded, FileLimits
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
        {
            "suite": "unit",
            "classname": "pkg.TestA",
            "name": "ok",
            "time": 0.25,
            "status": "passed",
            "failure_message": None,
            "failure_type": None,
            "failure_details": None,
        },
        {
            "suite": "unit",
            "classname": "pkg.TestA",
            "name": "bad",
            "time": 1.5,
            "status": "failed",
            "failure_message": "expected 1",
            "failure_type": "AssertionError",
            "failure_details": "trace\nline 2",
        },
        {
            "suite": "unit",
            "classname": "pkg.TestB",
            "name": "broken",
            "time": None,
            "status": "error",
            "failure_message": "first line of error",
            "failure_type": None,
            "failure_details": "first line of error\nsecond",
        },
        {
            "suite": "unit",
            "classname": "pkg.TestB",
            "name": "skip",
            "time": None,
            "status": "skipped",
            "failure_message": "not today",
            "failure_type": None,
            "failure_details": None,
        },
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


class EndlessText(io.RawIOBase):
    """`head`, then `size` bytes of 'x' made as they are read (never held), then `tail`."""

    def __init__(self, head: bytes, size: int, tail: bytes) -> None:
        self._parts = [head, None, tail]
        self._left = size
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            part = self._parts[0]
            if part is None and self._left:
                chunk = b"x" * min(size if size > 0 else 1 << 16, self._left)
                self._left -= len(chunk)
            elif part:
                chunk, self._parts[0] = part[:size], part[size:]
            else:
                self._parts.pop(0)
                continue
            self.consumed += len(chunk)
            return chunk
        return b""


SMALL = FileLimits(max_record_bytes=256 * 1024, max_field_bytes=64 * 1024, max_nesting_depth=6)


@pytest.fixture()
def small_limits():
    limits.configure(SMALL)
    yield SMALL
    limits.configure(limits.DEFAULTS)


def test_given_a_giant_system_out_when_parsed_then_refused_naming_file_row_and_limit_without_reading_it(small_limits):
    stream = EndlessText(
        b'<testsuites><testsuite name="s"><testcase name="a"/><testcase name="b"><system-out>',
        1 << 30,
        b"</system-out></testcase></testsuite></testsuites>",
    )
    parser = get_parser("junit_xml").parse_records(stream, "huge.xml", LOGGER)
    assert next(parser)["name"] == "a"
    with pytest.raises(FileLimitExceeded) as raised:
        next(parser)
    message = str(raised.value)
    assert "exceeds the limit of 65,536 bytes (file_limits.max_field_bytes)" in message, message
    assert "huge.xml" in message and "row: 2" in message
    assert stream.consumed < 64 * 1024 + 2 * 16 * 1024


def test_given_a_giant_attribute_when_parsed_then_refused_as_a_field(small_limits):
    stream = EndlessText(b'<testsuite name="s"><testcase name="', 1 << 30, b'"/></testsuite>')
    with pytest.raises(FileLimitExceeded, match=r"max_field_bytes.*row: 1"):
        list(get_parser("junit_xml").parse_records(stream, "attr.xml", LOGGER))


def test_given_a_test_case_past_the_record_limit_when_parsed_then_refused_as_a_record(small_limits):
    failures = b"".join(b"<failure>%s</failure>" % (b"y" * 60_000) for _ in range(5))
    document = b'<testsuite name="s"><testcase name="a"/><testcase name="b">' + failures + b"</testcase></testsuite>"
    with pytest.raises(FileLimitExceeded, match=r"JUnit XML test case exceeds the limit of 262,144 bytes.*row: 2"):
        parse(document)


def test_given_elements_nested_past_the_limit_when_parsed_then_refused_naming_the_depth(small_limits):
    document = b'<testsuite name="s"><testcase name="a">' + b"<x>" * 10 + b"</x>" * 10 + b"</testcase></testsuite>"
    with pytest.raises(FileLimitExceeded, match=r"nesting exceeds the limit of 6 levels.*row: 1"):
        parse(document)


def test_given_many_outputs_each_within_the_limits_when_parsed_then_rows_are_exact(small_limits):
    noise = b"<system-out>%s</system-out><system-err>%s</system-err>" % (b"o" * 50_000, b"e" * 50_000)
    cases = b"".join(
        b'<testcase name="t%d">%s<failure message="m%d">%s</failure></testcase>%s' % (i, noise, i, b"f" * 50_000, noise)
        for i in range(40)
    )
    rows = parse(b'<testsuites><testsuite name="s">' + noise + cases + b"</testsuite></testsuites>")
    assert [(row["name"], row["status"], row["failure_message"]) for row in rows] == [
        (f"t{i}", "failed", f"m{i}") for i in range(40)
    ]
    assert {row["failure_details"] for row in rows} == {"f" * 50_000}
