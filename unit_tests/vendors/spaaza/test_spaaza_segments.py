"""Date windows and the segment rule body (the [?] part, kept in one function)."""

import pendulum

from source_exports.vendors.spaaza.segments import DateWindow, date_window_segment, split_windows


def test_given_range_when_splitting_then_consecutive_windows_of_at_most_n_days():
    start, end = pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 3, 5, 12)
    windows = split_windows(start, end, 30)
    assert [(w.start.to_date_string(), w.end.to_date_string()) for w in windows] == [
        ("2025-01-01", "2025-01-31"),
        ("2025-01-31", "2025-03-02"),
        ("2025-03-02", "2025-03-05"),
    ]
    assert windows[-1].end == end


def test_given_no_start_when_splitting_then_one_open_window():
    end = pendulum.datetime(2025, 3, 5)
    assert split_windows(None, end, 30) == [DateWindow(None, end)]


def test_given_start_not_before_end_when_splitting_then_no_windows():
    moment = pendulum.datetime(2025, 3, 5)
    assert split_windows(moment, moment, 30) == []


def test_given_window_when_building_segment_then_between_rule_on_the_date_field():
    window = DateWindow(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 31, 10, 0, 5))
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
    rule = date_window_segment("transactions", "timestamp", 7, DateWindow(None, pendulum.datetime(2025, 2, 1)))
    assert rule["rules"][0] == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_before_date",
        "end_date": "2025-02-01T00:00:00Z",
    }


def test_given_window_when_round_tripping_through_a_slice_then_equal():
    window = DateWindow(pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 1, 2))
    assert DateWindow.from_slice(window.as_slice()) == window
