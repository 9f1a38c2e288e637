"""The run-output exporter: empty windows, tooManyRuns splitting, metadata columns, re-minting."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

from source_exports.errors import ConfigError, DownloadError
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.exports import RunOutputExporter
from source_exports.vendors.cargo.windows import Window, iso
from unit_tests.vendors.cargo.builders import WORKFLOW, ConfigBuilder, given_exports, given_runs, matches, parse, run

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
# one run per hour for 8 hours: 8 rows
RUN_TIMES = [T0 + timedelta(hours=hour, minutes=30) for hour in range(8)]


def exporter(**output) -> RunOutputExporter:
    config = parse_cargo_config(ConfigBuilder().with_output(**output).build())
    return RunOutputExporter(CargoClient(config), config.run_outputs[0], stream="leads")


def rows_in_window(body):
    start, end = parse(body["createdAfter"]), parse(body["createdBefore"])
    return [{"runUuid": f"run-{index}", "v": str(index)} for index, t in enumerate(RUN_TIMES) if start <= t < end]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("source_exports.download.fetch.time.sleep", lambda seconds: None)


def test_given_window_with_runs_when_exporting_then_rows_carry_file_row_window_and_workflow(requests_mock):
    bodies = given_exports(requests_mock, rows_in_window)
    window = Window(T0, T0 + timedelta(hours=2))

    rows = list(exporter(statuses=["success"]).export(window))

    assert rows == [
        {
            "runUuid": f"run-{index}",
            "v": str(index),
            "_ab_source_file": "export-1.csv",
            "_ab_source_row": index + 1,
            "_ab_window_start": "2025-01-01T00:00:00.000Z",
            "_ab_window_end": "2025-01-01T02:00:00.000Z",
            "_ab_workflow_uuid": WORKFLOW,
        }
        for index in range(2)
    ]
    assert bodies == [
        {
            "workflowUuid": WORKFLOW,
            "outputNodeSlug": "enrich",
            "format": "csv",
            "statuses": ["success"],
            "createdAfter": "2025-01-01T00:00:00.000Z",
            "createdBefore": "2025-01-01T02:00:00.000Z",
        }
    ]


def test_given_no_runs_when_exporting_then_no_rows_and_window_is_done(requests_mock):
    given_exports(requests_mock, lambda body: [])
    done = []

    rows = list(exporter().export(Window(T0, T0 + timedelta(days=1)), on_done=done.append))

    assert (rows, done) == ([], [Window(T0, T0 + timedelta(days=1))])


def test_given_too_many_runs_when_exporting_then_window_is_halved_recursively_and_rows_stay_in_order(requests_mock):
    given_runs(requests_mock, [run(created_at=iso(t)) for t in RUN_TIMES])
    bodies = given_exports(requests_mock, rows_in_window, cap=2)
    done = []

    rows = list(exporter().export(Window(T0, T0 + timedelta(hours=8)), on_done=done.append))

    assert [row["runUuid"] for row in rows] == [f"run-{index}" for index in range(8)]
    # 8 runs → two halves of 4 (too many) → four quarters of 2 hours with 2 runs each
    assert [(b["createdAfter"][11:16], b["createdBefore"][11:16]) for b in bodies] == [
        ("00:00", "08:00"),
        ("00:00", "04:00"),
        ("00:00", "02:00"),
        ("02:00", "04:00"),
        ("04:00", "08:00"),
        ("04:00", "06:00"),
        ("06:00", "08:00"),
    ]
    edges = [timedelta(0), *(timedelta(milliseconds=ms) for ms in (7_200_168, 14_400_337, 21_600_168))]
    assert [(w.start - T0, w.end - T0) for w in done] == list(zip(edges, [*edges[1:], timedelta(hours=8)]))
    assert {row["_ab_window_start"][11:16] for row in rows[:2]} == {"00:00"}


def test_given_runs_on_the_middle_when_splitting_then_the_split_moves_to_the_nearest_millisecond_without_runs(
    requests_mock,
):
    middle = T0 + timedelta(hours=4, milliseconds=337)
    crowded = [middle, middle + timedelta(milliseconds=1)]  # the middle and 1 ms after it are taken
    given_runs(requests_mock, [run(created_at=iso(t)) for t in [*RUN_TIMES, *crowded]], inclusive=(False, False))
    bodies = given_exports(requests_mock, rows_in_window, cap=5)

    list(exporter().export(Window(T0, T0 + timedelta(hours=8))))

    assert [(b["createdAfter"], b["createdBefore"]) for b in bodies[1:]] == [
        ("2025-01-01T00:00:00.000Z", "2025-01-01T04:00:00.336Z"),
        ("2025-01-01T04:00:00.336Z", "2025-01-01T08:00:00.000Z"),
    ]


@pytest.mark.parametrize("inclusive", [(True, False), (True, True), (False, False), (False, True)])
def test_given_more_runs_in_one_millisecond_than_the_cap_when_exporting_then_config_error_names_window_and_entry(
    requests_mock, inclusive
):
    tied = T0 + timedelta(minutes=30)
    runs = [run(uuid=f"r{i}", created_at=iso(tied)) for i in range(3)]
    given_runs(requests_mock, runs, inclusive=inclusive)
    given_exports(requests_mock, lambda body: [item for item in runs if matches(item, body, inclusive)], cap=2)

    with pytest.raises(ConfigError) as caught:
        list(exporter().export(Window(T0, T0 + timedelta(hours=2))))

    message = caught.value.user_message
    assert "[2025-01-01T00:29:59.999Z, 2025-01-01T00:30:00.001Z)" in message
    assert "cannot be split further" in message and "field: cargo.run_outputs[0]" in message
    assert "statuses, release_uuid or batch_uuid" in message


def test_given_done_callback_when_exporting_then_it_runs_only_after_the_window_rows_were_consumed(requests_mock):
    given_exports(requests_mock, rows_in_window)
    done = []

    rows = exporter().export(Window(T0, T0 + timedelta(hours=2)), on_done=done.append)
    next(rows)
    next(rows)

    assert done == []
    assert list(rows) == []
    assert done == [Window(T0, T0 + timedelta(hours=2))]


def test_given_expired_url_when_reading_then_the_same_window_is_exported_again(requests_mock, caplog):
    bodies = given_exports(requests_mock, rows_in_window, expired=1)

    with caplog.at_level(logging.WARNING):
        rows = list(exporter().export(Window(T0, T0 + timedelta(hours=3))))

    assert [(row["runUuid"], row["_ab_source_row"]) for row in rows] == [("run-0", 1), ("run-1", 2), ("run-2", 3)]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert [row["_ab_source_file"] for row in rows] == ["export-1.csv"] * 3  # the name the export started with
    assert "different file" in caplog.text  # the fake named the fresh export differently


def test_given_remint_finds_no_runs_when_reading_then_download_error_names_file(requests_mock):
    answers = iter([[{"runUuid": "a"}], []])
    given_exports(requests_mock, lambda body: next(answers), expired=1)

    with pytest.raises(DownloadError) as caught:
        list(exporter().export(Window(T0, T0 + timedelta(hours=1))))

    assert "file: export-1.csv" in caught.value.user_message
    assert "noRunsFound" in caught.value.user_message


def test_given_runs_when_sampling_then_the_most_recent_runs_are_exported_with_limit_and_offset(requests_mock):
    given_runs(requests_mock, [run(uuid=f"r{index}") for index in range(50)])
    bodies = given_exports(requests_mock, lambda body: [{"runUuid": "x"}])

    rows = exporter(statuses=["success"]).sample(20)

    assert [row["runUuid"] for row in rows] == ["x"]
    assert (bodies[0]["limit"], bodies[0]["offset"], bodies[0]["statuses"]) == (20, 30, ["success"])
    assert "createdAfter" not in bodies[0]


def test_given_no_runs_when_sampling_then_none(requests_mock):
    given_runs(requests_mock, [])
    given_exports(requests_mock, lambda body: [])

    assert exporter().sample(20) is None
