"""The recorded read: every stream of the four vendors, read now, equals the golden files (see recording.py).

The end-to-end test runs the installed `source-exports read` against fakes fixed in time; the
other tests check that the normalisation removes only what recording.py's rules name and that
the comparison catches any change of a record (a value, a key's order, a number's spelling, a
missing or extra message).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integration_tests.recorded_read.recording import (
    CASES,
    NOW,
    Case,
    dumps,
    first_difference,
    golden_path,
    normalise,
    read_golden,
    record_case,
    write_golden,
)

STARTED = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_given_fakes_fixed_in_time_when_every_stream_is_read_then_records_and_state_equal_the_golden_files(
    case: Case,
) -> None:
    for read, lines in record_case(case).items():
        golden = read_golden(golden_path(case, read))
        difference = first_difference(golden, lines)
        assert difference is None, (
            f"{case.name} {read}: {difference}\n"
            "Records or state changed. Re-record only if the change means to (recording.py says how)."
        )


def record(stream: str, emitted_at: int = 1, **data: object) -> dict:
    return {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}}


def state(stream: str, value: object, count: float = 0.0) -> dict:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"at": value}},
            "sourceStats": {"recordCount": count},
        },
    }


def cursor(message: dict) -> object:
    return message["state"]["stream"]["stream_state"]["at"]


def test_given_two_reads_at_other_moments_when_normalised_then_only_emitted_at_differs_and_is_gone() -> None:
    first = normalise([record("s", emitted_at=1, id=1, at="2026-10-01T00:00:00Z")], STARTED)
    second = normalise([record("s", emitted_at=999, id=1, at="2026-10-01T00:00:00Z")], STARTED)

    assert (
        first
        == second
        == [{"type": "RECORD", "record": {"stream": "s", "data": {"id": 1, "at": "2026-10-01T00:00:00Z"}}}]
    )


def test_given_a_record_timestamp_after_the_clock_when_normalised_then_it_is_kept() -> None:
    (kept,) = normalise([record("s", at="2026-12-02T12:00:00Z")], STARTED)

    assert kept["record"]["data"]["at"] == "2026-12-02T12:00:00Z"  # the clock rule is for STATE only


def test_given_a_staged_file_when_normalised_then_only_the_per_file_folder_is_a_placeholder() -> None:
    message = record("files", id="a")
    message["record"]["file_reference"] = {
        "staging_file_url": "/tmp/airbyte-file-transfer/0123456789abcdef0123456789abcdef/5/x/report.csv",
        "source_file_relative_path": "5/x/report.csv",
        "file_size_bytes": 47,
    }

    (kept,) = normalise([message], STARTED)

    assert kept["record"]["file_reference"] == {
        "staging_file_url": "<staging dir>/<uuid4 hex>/5/x/report.csv",
        "source_file_relative_path": "5/x/report.csv",
        "file_size_bytes": 47,
    }


def test_given_state_timestamps_when_normalised_then_only_those_near_the_clock_become_now() -> None:
    messages = [
        state("s", "2026-10-31T23:59:00.337Z"),
        record("s", id=1),
        state("s", "2026-12-02T11:30:00.000Z"),
    ]

    kept = normalise(messages, STARTED)

    assert [cursor(m) for m in kept if m["type"] == "STATE"] == ["2026-10-31T23:59:00.337Z", NOW]


def test_given_empty_windows_after_the_last_record_when_normalised_then_the_first_and_last_state_stay() -> None:
    messages = [
        state("s", "2026-08-08T00:00:00Z"),
        state("s", "2026-08-15T00:00:00Z"),  # empty window before the data: kept
        record("s", id=1),
        state("s", "2026-08-22T00:00:00Z", 1.0),
        state("s", "2026-08-29T00:00:00Z"),
        state("s", "2026-09-05T00:00:00Z"),
        state("s", "2026-12-02T12:00:00Z"),
        record("other", id=2),
    ]

    kept = normalise(messages, STARTED)

    states = [cursor(m) for m in kept if m["type"] == "STATE"]
    assert states == ["2026-08-08T00:00:00Z", "2026-08-15T00:00:00Z", "2026-08-22T00:00:00Z", NOW]
    assert [m["record"]["data"]["id"] for m in kept if m["type"] == "RECORD"] == [1, 2]


def test_given_equal_reads_when_compared_then_no_difference() -> None:
    lines = dumps(normalise([record("s", id=1), state("s", "2026-09-01T00:00:00Z")], STARTED))

    assert first_difference(lines, list(lines)) is None


@pytest.mark.parametrize(
    "changed",
    [
        {"id": 1, "name": "b"},  # a value
        {"name": "a", "id": 1},  # the order of the keys
        {"id": 1.0, "name": "a"},  # how a number is spelled
        {"id": 1, "name": "a", "extra": None},  # a new column
    ],
    ids=["value", "key-order", "number-spelling", "new-column"],
)
def test_given_a_record_that_changed_when_compared_then_the_difference_names_its_line(changed: dict) -> None:
    golden = dumps(normalise([state("s", "2026-09-01T00:00:00Z"), record("s", id=1, name="a")], STARTED))
    read = dumps(normalise([state("s", "2026-09-01T00:00:00Z"), record("s", **changed)], STARTED))

    difference = first_difference(golden, read)

    assert difference is not None and difference.startswith("line 2 differs")
    assert json.dumps(changed, ensure_ascii=False) in difference


def test_given_a_missing_last_message_when_compared_then_the_counts_are_named() -> None:
    golden = dumps(normalise([record("s", id=1), record("s", id=2)], STARTED))

    difference = first_difference(golden, golden[:1])

    assert difference is not None and difference.startswith("golden has 2 lines, the read 1")


def test_given_the_committed_golden_files_when_one_record_value_changes_then_the_comparison_fails() -> None:
    case = next(case for case in CASES if case.name == "cargo")
    golden = read_golden(golden_path(case, "full"))
    number, line = next((n, line) for n, line in enumerate(golden) if '"type": "RECORD"' in line)
    message = json.loads(line)
    key = next(iter(message["record"]["data"]))
    message["record"]["data"][key] = f"{message['record']['data'][key]}!"
    mutated = golden[:number] + [json.dumps(message, ensure_ascii=False)] + golden[number + 1 :]

    assert first_difference(golden, golden) is None
    assert first_difference(golden, mutated).startswith(f"line {number + 1} differs")


def test_given_a_value_with_a_unicode_line_separator_when_written_and_read_then_its_line_is_whole(
    tmp_path: Path,
) -> None:
    lines = dumps(normalise([record("s", note="one\u2028two\x85three"), record("s", note="next")], STARTED))

    write_golden(tmp_path / "case.full.jsonl", lines)

    assert read_golden(tmp_path / "case.full.jsonl") == lines
