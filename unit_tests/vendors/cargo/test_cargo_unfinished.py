"""Where an incremental sync stops: before the oldest unfinished run, unless it waited too long."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

from source_exports.errors import ConfigError
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.edges import FreeEdges
from source_exports.vendors.cargo.unfinished import end_before_unfinished_runs
from source_exports.vendors.cargo.windows import Window, iso
from unit_tests.vendors.cargo.builders import WORKFLOW, ConfigBuilder, given_runs, run

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPAN = Window(T0, T0 + timedelta(days=30))
MS = timedelta(milliseconds=1)
FILTERS = {"workflowUuid": WORKFLOW}


def at(days: float) -> str:
    moment = T0 + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def end_of_sync(requests_mock, runs, max_wait=timedelta(days=7), inclusive=(True, False)):
    given_runs(requests_mock, runs, inclusive=inclusive)
    client = CargoClient(parse_cargo_config(ConfigBuilder().build()))
    return end_before_unfinished_runs(FreeEdges(client, FILTERS), SPAN, max_wait, "leads")


def test_given_no_unfinished_run_when_computing_end_then_the_span_end(requests_mock):
    end = end_of_sync(requests_mock, [run(created_at=at(10), status="success")])

    assert end == SPAN.end


def test_given_unfinished_runs_when_computing_end_then_the_oldest_creation_time_and_query_is_scoped(requests_mock):
    runs = [
        run(uuid="done", created_at=at(20), status="success"),
        run(uuid="newer", created_at=at(29), status="pending"),
        run(uuid="older", created_at=at(25.5), status="running"),
    ]

    end = end_of_sync(requests_mock, runs)

    assert end == T0 + timedelta(days=25.5) - timedelta(milliseconds=1)  # just before it: kept for next sync
    body = next(r.json() for r in requests_mock.request_history if "isFinished" in r.json())
    assert (body["isFinished"], body["workflowUuid"], body["createdAfter"], body["createdBefore"]) == (
        False,
        WORKFLOW,
        at(0),
        at(30),
    )


def test_given_run_unfinished_longer_than_the_bound_when_computing_end_then_skipped_with_a_warning_naming_it(
    requests_mock, caplog
):
    runs = [
        run(uuid="stuck-run", created_at=at(2), status="running"),
        run(uuid="fresh-run", created_at=at(28), status="idle"),
    ]

    with caplog.at_level(logging.WARNING):
        end = end_of_sync(requests_mock, runs, max_wait=timedelta(days=7))

    assert end == T0 + timedelta(days=28) - timedelta(milliseconds=1)
    assert "stuck-run" in caplog.text and "more than 7 days" in caplog.text
    assert "fresh-run" not in caplog.text


def test_given_finished_runs_just_before_the_unfinished_one_when_computing_end_then_it_ends_before_them_too(
    requests_mock,
):
    busy = T0 + timedelta(days=25.5)
    runs = [run(uuid="older", created_at=at(25.5), status="running")]
    runs += [run(uuid=f"done-{ms}", created_at=at(25.5 - ms / 86_400_000), status="success") for ms in (1, 2)]

    end = end_of_sync(requests_mock, runs, inclusive=(False, False))

    assert end == busy - timedelta(milliseconds=3)  # the next sync's first window holds all three runs


def test_given_only_stale_unfinished_runs_when_computing_end_then_the_span_end(requests_mock):
    end = end_of_sync(requests_mock, [run(created_at=at(1), status="pending")], max_wait=timedelta(days=1))

    assert end == SPAN.end


def test_given_runs_on_every_millisecond_probed_before_the_unfinished_one_when_computing_end_then_config_error(
    requests_mock,
):
    runs = [run(uuid="older", created_at=at(25.5), status="running")]
    runs += [run(uuid=f"done-{ms}", created_at=at(25.5 - ms / 86_400_000), status="success") for ms in range(1, 20)]

    with pytest.raises(ConfigError) as caught:
        end_of_sync(requests_mock, runs, inclusive=(False, False))

    assert "run older" in caught.value.user_message and "stream: leads" in caught.value.user_message


def test_given_runs_on_every_millisecond_since_the_cursor_when_computing_end_then_the_sync_stays_at_the_cursor(
    requests_mock,
):
    span = Window(T0, T0 + timedelta(days=1))
    runs = [run(uuid="older", created_at=iso(T0 + 3 * MS), status="running")]
    runs += [run(uuid=f"done-{ms}", created_at=iso(T0 + ms * MS), status="success") for ms in (1, 2)]
    given_runs(requests_mock, runs)
    client = CargoClient(parse_cargo_config(ConfigBuilder().build()))

    assert end_before_unfinished_runs(FreeEdges(client, FILTERS), span, timedelta(days=7), "leads") == T0
