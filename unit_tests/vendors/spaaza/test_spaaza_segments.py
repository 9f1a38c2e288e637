"""The segment rule body (the [?] part, kept in one function) and Spaaza's window slices."""

import pendulum

from source_exports.config import parse_datetime
from source_exports.vendors.spaaza.segments import date_window_segment, iso
from source_exports.windows import Window


def test_given_window_when_building_segment_then_between_rule_on_the_date_field():
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
                "start_date": "2025-01-01T00:00:00Z",
                "end_date": "2025-01-31T10:00:05Z",
            }
        ],
    }


def test_given_open_window_when_building_segment_then_before_rule_only():
    rule = date_window_segment("transactions", "timestamp", 7, Window(None, pendulum.datetime(2025, 2, 1)))
    assert rule["rules"][0] == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_before_date",
        "end_date": "2025-02-01T00:00:00Z",
    }


def test_given_window_when_round_tripping_through_a_slice_then_equal():
    window = Window(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 2))
    assert window.as_slice(iso) == {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}
    assert Window.from_slice(window.as_slice(iso), parse_datetime) == window


def test_given_open_window_when_round_tripping_through_a_slice_then_the_start_stays_none():
    window = Window(None, pendulum.datetime(2025, 1, 2))
    assert window.as_slice(iso) == {"start": None, "end": "2025-01-02T00:00:00Z"}
    assert Window.from_slice(window.as_slice(iso), parse_datetime) == window
