"""`FreeEdges`: window edges on milliseconds no run sits on, found with `runs/list`."""

from datetime import datetime, timedelta, timezone

import pytest

from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.edges import FreeEdges
from source_exports.vendors.cargo.windows import Window, iso
from unit_tests.vendors.cargo.builders import RUNS_LIST, WORKFLOW, ConfigBuilder, given_runs, run

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)
READINGS = [(True, False), (True, True), (False, False), (False, True)]


def edges_over(requests_mock, times, inclusive=(True, False), max_probes=16) -> FreeEdges:
    given_runs(requests_mock, [run(uuid=f"r{i}", created_at=iso(t)) for i, t in enumerate(times)], inclusive=inclusive)
    client = CargoClient(parse_cargo_config(ConfigBuilder().build()))
    return FreeEdges(client, {"workflowUuid": WORKFLOW}, max_probes=max_probes)


@pytest.mark.parametrize("inclusive", READINGS)
def test_given_a_run_on_a_millisecond_when_probing_then_only_that_millisecond_is_taken_whatever_the_reading(
    requests_mock, inclusive
):
    edges = edges_over(requests_mock, [T0], inclusive)

    assert [edges.is_free(T0 + offset * MS) for offset in (-1, 0, 1)] == [True, False, True]
    body = requests_mock.request_history[1].json()  # the probe of T0
    assert (body["workflowUuid"], body["createdAfter"], body["createdBefore"]) == (
        WORKFLOW,
        "2024-12-31T23:59:59.999Z",
        "2025-01-01T00:00:00.001Z",
    )


def test_given_more_runs_around_a_millisecond_than_one_page_when_probing_then_it_counts_as_taken(requests_mock):
    edges = edges_over(requests_mock, [T0 - MS] * 150)  # none on T0 itself, but the page cannot show all

    assert edges.is_free(T0) is False


def test_given_runs_without_a_readable_creation_time_when_probing_then_it_counts_as_taken(requests_mock):
    requests_mock.post(RUNS_LIST, json={"runs": [{"uuid": "x", "createdAt": "yesterday"}], "count": 1})
    client = CargoClient(parse_cargo_config(ConfigBuilder().build()))

    assert FreeEdges(client, {}).is_free(T0) is False


def test_given_taken_milliseconds_when_looking_near_a_target_then_the_nearest_free_one_inside_the_window(
    requests_mock,
):
    edges = edges_over(requests_mock, [T0, T0 + MS, T0 - MS])

    assert edges.near(T0, Window(T0 - timedelta(seconds=1), T0 + timedelta(seconds=1))) == T0 + 2 * MS
    assert edges.near(T0, Window(T0 - 5 * MS, T0 + 2 * MS)) == T0 - 2 * MS  # T0 + 2 ms is the window's end


def test_given_only_taken_milliseconds_inside_the_window_when_looking_then_none(requests_mock):
    edges = edges_over(requests_mock, [T0])

    assert edges.near(T0, Window(T0 - MS, T0 + MS)) is None
    assert len(requests_mock.request_history) == 1  # the only millisecond inside was tried once


def test_given_taken_milliseconds_when_looking_at_or_before_then_the_latest_free_one_within_the_probe_budget(
    requests_mock,
):
    edges = edges_over(requests_mock, [T0, T0 - MS, T0 - 2 * MS], max_probes=3)

    assert edges.at_or_before(T0 + MS, T0 - timedelta(days=1)) == T0 + MS
    assert edges.at_or_before(T0, T0 - timedelta(days=1)) is None  # T0, T0-1, T0-2 taken: out of probes
    assert edges_over(requests_mock, [T0], max_probes=3).at_or_before(T0, T0 - timedelta(days=1)) == T0 - MS
