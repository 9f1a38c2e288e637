"""RunScan: which runs a sync looks at, when it may stop paging, and the checkpoint it leaves."""

from __future__ import annotations

import logging

import pendulum
import pytest

from source_exports.errors import ConfigError
from source_exports.vendors.sourcecraft.run_scan import RunCheckpoint, RunScan
from unit_tests.vendors.sourcecraft.builders import FakeRunPages, RunBuilder, runs

LOGGER = logging.getLogger("test")
T0 = "2025-03-01T00:03:00Z"
NOW = pendulum.datetime(2025, 3, 10)


def scan_of(pages, previous=None, start_date=None):
    client = FakeRunPages(pages)
    scan = RunScan(client, previous, start_date, LOGGER, "sourcecraft_runs", now=NOW)
    return client, scan, [run["slug"] for run in scan]


def test_given_no_state_when_scanning_then_every_run_is_selected_and_checkpoint_remembers_unfinished():
    pages = [
        [
            RunBuilder("4").with_status("processing").with_updated_at("2025-03-02T00:00:00Z").build(),
            RunBuilder("3").with_status("created").build(),
        ],
        runs("2", "1"),
    ]
    client, scan, selected = scan_of(pages)
    assert selected == ["4", "3", "2", "1"]
    assert client.fetched == 2
    checkpoint = scan.checkpoint
    assert checkpoint.max_slug == 4
    assert checkpoint.unfinished_slugs == ["4", "3"]
    assert checkpoint.updated_at == pendulum.datetime(2025, 3, 2)


def test_given_state_and_newest_first_list_when_scanning_then_stops_below_every_slug_that_matters():
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=10, unfinished_slugs=["8"])
    pages = [runs("12", "11"), runs("10", "9"), runs("8", "7"), runs("6", "5")]
    client, scan, selected = scan_of(pages, previous)
    assert selected == ["12", "11", "8"]
    assert client.fetched == 3  # the last page is never requested
    assert scan.stopped_early
    assert scan.checkpoint.max_slug == 12
    assert scan.checkpoint.unfinished_slugs == []


def test_given_unfinished_run_still_running_when_scanning_then_it_is_selected_and_stays_unfinished():
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=3, unfinished_slugs=["2"])
    pages = [runs("3"), [RunBuilder("2").with_status("processing").build()], runs("1")]
    _, scan, selected = scan_of(pages, previous)
    assert selected == ["2"]
    assert scan.checkpoint.unfinished_slugs == ["2"]


def test_given_oldest_first_list_when_scanning_then_every_page_is_read_and_nothing_missed(caplog):
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=3, unfinished_slugs=["2"])
    pages = [runs("1"), runs("2", "3"), runs("4", "5")]
    with caplog.at_level(logging.INFO, logger="test"):
        client, scan, selected = scan_of(pages, previous)
    assert selected == ["2", "4", "5"]
    assert client.fetched == 3 and not scan.stopped_early
    assert "did not list runs newest first" in caplog.text


def test_given_list_starting_below_the_known_newest_run_when_scanning_then_no_early_stop():
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=9, unfinished_slugs=[])
    pages = [runs("5", "4"), runs("3", "2"), runs("9")]  # descending, but not from the top
    client, _, selected = scan_of(pages, previous)
    assert client.fetched == 3
    assert selected == []


def test_given_run_updated_after_cursor_above_floor_when_scanning_then_selected():
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=3, unfinished_slugs=[])
    pages = [runs("3"), [RunBuilder("2").with_updated_at("2025-03-05T00:00:00Z").build()], runs("1")]
    _, scan, selected = scan_of(pages, previous)
    assert selected == ["2"]  # 3 is not past the end: the first run proves nothing yet
    assert scan.checkpoint.updated_at == pendulum.datetime(2025, 3, 5)


def test_given_start_date_and_no_state_when_scanning_then_older_runs_are_skipped_and_paging_stops():
    pages = [
        [
            RunBuilder("3").with_created_at("2025-03-03T00:00:00Z").build(),
            RunBuilder("2").with_created_at("2025-03-02T00:00:00Z").build(),
        ],
        [RunBuilder("1").with_created_at("2025-02-01T00:00:00Z").build()],
        runs("0"),
    ]
    client, _, selected = scan_of(pages, start_date=pendulum.datetime(2025, 3, 1))
    assert selected == ["3", "2"]
    assert client.fetched == 2


def test_given_run_repeated_across_pages_when_scanning_then_yielded_once():
    pages = [runs("3", "2"), runs("2", "1")]  # run 3 was added between the two requests
    _, _, selected = scan_of(pages)
    assert selected == ["3", "2", "1"]


def test_given_unfinished_run_no_longer_listed_when_scanning_then_warned_and_dropped(caplog):
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=3, unfinished_slugs=["2"])
    with caplog.at_level(logging.WARNING, logger="test"):
        _, scan, _ = scan_of([runs("3", "1")], previous)
    assert "run(s) 2 were unfinished at the last sync and are no longer listed" in caplog.text
    assert scan.checkpoint.unfinished_slugs == []


def test_given_checkpoint_when_saved_and_read_back_then_identical():
    checkpoint = RunCheckpoint(pendulum.datetime(2025, 3, 1, 12), 12, ["11", "9"], pendulum.datetime(2025, 3, 2))
    state = checkpoint.to_state()
    assert state == {
        "updated_at": "2025-03-01T12:00:00.000Z",
        "max_slug": "12",
        "unfinished_slugs": ["9", "11"],
        "synced_at": "2025-03-02T00:00:00.000Z",
    }
    assert RunCheckpoint.from_state(state, "s").to_state() == state
    assert RunCheckpoint.from_state({}, "s") is None


@pytest.mark.parametrize(
    "state, field",
    [
        ({"max_slug": "abc"}, "state.s.max_slug"),
        ({"unfinished_slugs": "7"}, "state.s.unfinished_slugs"),
        ({"updated_at": "yesterday"}, "state.s.updated_at"),
    ],
)
def test_given_malformed_state_when_read_then_config_error_names_the_field(state, field):
    with pytest.raises(ConfigError) as raised:
        RunCheckpoint.from_state(state, "s")
    assert f"field: {field}" in str(raised.value)


def test_given_run_unfinished_for_more_than_14_days_when_scanning_then_still_kept_and_a_warning_says_so(caplog):
    stuck = RunBuilder("2").with_status("created").with_created_at("2020-01-01T00:00:00Z").build()
    recent = RunBuilder("3").with_status("processing").build()
    with caplog.at_level(logging.WARNING, logger="test"):
        _, scan, selected = scan_of([[recent, stuck]])
    assert selected == ["3", "2"]
    assert scan.checkpoint.unfinished_slugs == ["3", "2"]  # it may still gain artifacts: never dropped
    assert "run 2 has been created since 2020-01-01T00:00:00Z, more than 14 days" in caplog.text
    assert "run 3 " not in caplog.text


def test_given_stuck_run_in_state_when_scanning_again_then_paging_reaches_it_and_it_is_selected():
    previous = RunCheckpoint(pendulum.parse(T0), max_slug=5, unfinished_slugs=["2"])
    stuck = RunBuilder("2").with_status("created").with_created_at("2020-01-01T00:00:00Z").build()
    pages = [runs("5", "4"), [RunBuilder("3").build(), stuck], runs("1")]
    client, scan, selected = scan_of(pages, previous)
    assert selected == ["2"]
    assert client.fetched == 3 and scan.checkpoint.unfinished_slugs == ["2"]
