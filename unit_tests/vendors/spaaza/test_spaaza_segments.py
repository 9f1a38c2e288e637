"""The segment rule body (the [?] part, kept in one function) and Spaaza's window slices."""

from datetime import datetime, timedelta
from typing import Callable, Dict

import pendulum
import pytest

from source_exports.config import parse_datetime
from source_exports.vendors.spaaza.segments import date_window_segment, iso
from source_exports.windows import Window


def test_given_window_when_building_segment_then_between_rule_a_day_wider_on_each_side():
    window = Window(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 31, 10, 0, 5))
    assert date_window_segment("vouchers", "date_time_redeemed", 7, window) == {
        "entity": "people",
        "index": "vouchers",
        "join": "all",
        "chain_id": 7,
        "rules": [
            {
                "field_name": "date_time_redeemed",
                "field_type": "date",
                "operator": "is_between_date",
                "start_date": "2024-12-31T00:00:00Z",
                "end_date": "2025-02-01T10:00:05Z",
            }
        ],
    }


def test_given_open_window_when_building_segment_then_before_rule_only_a_day_later():
    rule = date_window_segment("transactions", "timestamp", 7, Window(None, pendulum.datetime(2025, 2, 1)))
    assert rule["rules"][0] == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_before_date",
        "end_date": "2025-02-02T00:00:00Z",
    }


def test_given_the_window_ending_now_when_building_segment_then_after_rule_only_so_no_future_date():
    window = Window(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 31, 10, 0, 5))
    assert date_window_segment("transactions", "timestamp", 7, window, ends_now=True)["rules"][0] == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_after_date",
        "start_date": "2024-12-31T00:00:00Z",
    }


def test_given_the_open_first_window_ending_now_when_building_segment_then_still_a_before_rule():
    window = Window(None, pendulum.datetime(2025, 2, 1))
    rule = date_window_segment("transactions", "timestamp", 7, window, ends_now=True)["rules"][0]
    assert rule["operator"] == "is_before_date"


def test_given_window_when_round_tripping_through_a_slice_then_equal():
    window = Window(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 2))
    assert window.as_slice(iso) == {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}
    assert Window.from_slice(window.as_slice(iso), parse_datetime) == window


def test_given_open_window_when_round_tripping_through_a_slice_then_the_start_stays_none():
    window = Window(None, pendulum.datetime(2025, 1, 2))
    assert window.as_slice(iso) == {"start": None, "end": "2025-01-02T00:00:00Z"}
    assert Window.from_slice(window.as_slice(iso), parse_datetime) == window


Reading = Callable[[datetime, datetime, datetime], bool]
READINGS: Dict[str, Reading] = {
    "inclusive": lambda start, moment, end: start <= moment <= end,
    "exclusive": lambda start, moment, end: start < moment < end,
    "start-exclusive": lambda start, moment, end: start < moment <= end,
    "end-exclusive": lambda start, moment, end: start <= moment < end,
    "day-inclusive": lambda start, moment, end: start.date() <= moment.date() <= end.date(),
    "day-exclusive": lambda start, moment, end: start.date() < moment.date() < end.date(),
}
"""The ways Spaaza may read `is_between_date` (its docs leave it open), `start_date`, row, `end_date`."""
NO_START = pendulum.datetime(1900, 1, 1)
"""Stands for the missing start of `is_before_date` (every row is after it, under every reading)."""

EDGES = [
    Window(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 15)),  # on midnights
    Window(pendulum.datetime(2025, 1, 1, 13, 7, 9), pendulum.datetime(2025, 1, 2, 13, 7, 9)),  # a resumed cursor
    Window(pendulum.datetime(2025, 1, 1, 23, 59, 59), pendulum.datetime(2025, 1, 2, 0, 0, 1)),  # two seconds
    Window(pendulum.datetime(2025, 3, 30, 0, 0, 1), pendulum.datetime(2025, 3, 30, 23, 59, 59)),  # within a day
    Window(None, pendulum.datetime(2025, 1, 2, 13, 7, 9)),  # the open first window
]


def moments_in(window: Window):
    """The window's first and last seconds, its edges' midnights and every second near them."""
    start = window.start or window.end - timedelta(days=3)
    candidates = [start, window.end - timedelta(seconds=1)]
    for edge in (start, window.end):
        midnight = edge.replace(hour=0, minute=0, second=0)
        candidates += [edge + timedelta(seconds=s) for s in (-1, 1)]
        candidates += [midnight + timedelta(days=d, seconds=s) for d in (0, 1) for s in (-1, 0, 1)]
    return sorted({moment for moment in candidates if window.holds(moment)})


NO_END = pendulum.datetime(2999, 1, 1)
"""Stands for the missing end of `is_after_date` (every row is before it, under every reading)."""


@pytest.mark.parametrize("ends_now", [False, True], ids=["inner", "ends-now"])
@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("window", EDGES, ids=lambda window: window.describe(iso))
def test_given_any_reading_of_the_bounds_when_asking_a_window_then_every_row_in_it_is_exported(
    window, reading, ends_now
):
    rule = date_window_segment("transactions", "timestamp", 7, window, ends_now)["rules"][0]
    asked_start = parse_datetime(rule["start_date"], "start") if "start_date" in rule else NO_START
    asked_end = parse_datetime(rule["end_date"], "end") if "end_date" in rule else NO_END
    moments = moments_in(window)
    assert len(moments) >= 2
    missed = [m for m in moments if not READINGS[reading](asked_start, m, asked_end)]
    assert missed == []


@pytest.mark.parametrize("reading", ["exclusive", "day-exclusive"])
def test_given_a_strict_reading_when_asking_the_window_itself_then_rows_would_be_missed(reading):
    """Why the margin: without it the strict readings lose rows (the test above would fail)."""
    window = EDGES[1]
    missed = [m for m in moments_in(window) if not READINGS[reading](window.start, m, window.end)]
    assert window.start in missed
