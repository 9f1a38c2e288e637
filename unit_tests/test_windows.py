"""The shared window and planner: edges of the range, open windows, aimed and chosen edges, slices."""

from datetime import datetime, timedelta, timezone

import pendulum
import pytest

from source_exports.windows import Window, plan_windows

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def spans(windows):
    return [(w.start - T0, w.end - T0) for w in windows]


def test_given_exact_multiple_of_the_size_when_planning_then_full_windows_only():
    assert spans(plan_windows(T0, T0 + 3 * DAY, DAY)) == [(0 * DAY, DAY), (DAY, 2 * DAY), (2 * DAY, 3 * DAY)]


def test_given_a_remainder_when_planning_then_the_last_window_is_cut_at_the_end():
    assert spans(plan_windows(T0, T0 + 2 * DAY + timedelta(hours=3), DAY)) == [
        (0 * DAY, DAY),
        (DAY, 2 * DAY),
        (2 * DAY, 2 * DAY + timedelta(hours=3)),
    ]


def test_given_range_shorter_than_the_size_when_planning_then_one_window_of_the_range():
    assert plan_windows(T0, T0 + timedelta(hours=1), DAY) == [Window(T0, T0 + timedelta(hours=1))]


@pytest.mark.parametrize("end", [T0, T0 - timedelta(microseconds=1), T0 - 10 * DAY], ids=["equal", "1us", "10d"])
def test_given_start_at_or_after_end_when_planning_then_no_window(end):
    assert plan_windows(T0, end, DAY) == []


def test_given_no_start_when_planning_then_one_open_window_up_to_the_end():
    windows = plan_windows(None, T0, DAY)

    assert windows == [Window(None, T0)]
    assert (windows[0].holds(T0 - 1000 * DAY), windows[0].holds(T0)) == (True, False)


def test_given_pendulum_bounds_when_planning_then_boundaries_stay_pendulum_values():
    start, end = pendulum.datetime(2025, 1, 1), pendulum.datetime(2025, 3, 5, 12)

    windows = plan_windows(start, end, timedelta(days=30))

    assert [(w.start.to_date_string(), w.end.to_date_string()) for w in windows] == [
        ("2025-01-01", "2025-01-31"),
        ("2025-01-31", "2025-03-02"),
        ("2025-03-02", "2025-03-05"),
    ]
    assert all(isinstance(w.end, pendulum.DateTime) for w in windows) and windows[-1].end == end


def test_given_aim_and_chooser_when_planning_then_inner_edges_are_chosen_from_the_aimed_target():
    seen = []

    def choose(target, rest):
        seen.append((target - T0, rest))
        return target + timedelta(minutes=1)

    windows = plan_windows(T0, T0 + 3 * DAY, DAY, aim=lambda edge: edge + timedelta(seconds=1), choose=choose)

    moved = DAY + timedelta(seconds=1, minutes=1)
    assert spans(windows) == [(0 * DAY, moved), (moved, 2 * moved), (2 * moved, 3 * DAY)]
    assert seen[0] == (DAY + timedelta(seconds=1), Window(T0, T0 + 3 * DAY))


def test_given_aimed_target_at_or_past_the_end_when_planning_then_the_end_is_kept_and_not_chosen():
    def refuse(target, rest):
        raise AssertionError("the last edge is the end itself")

    windows = plan_windows(T0, T0 + DAY, DAY, aim=lambda edge: edge + timedelta(seconds=1), choose=refuse)

    assert windows == [Window(T0, T0 + DAY)]


def test_given_window_when_spelled_described_and_read_back_then_the_same_window():
    window = Window(T0, T0 + DAY)
    spell = lambda moment: moment.strftime("%Y-%m-%d")  # noqa: E731
    read = lambda value, field: datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)  # noqa: E731

    assert window.as_slice(spell) == {"start": "2025-01-01", "end": "2025-01-02"}
    assert Window.from_slice(window.as_slice(spell), read) == window
    assert window.describe(spell) == "2025-01-01 → 2025-01-02"
    assert Window(None, T0).describe(spell) == "the beginning → 2025-01-01"


def test_given_window_when_split_and_widened_then_parts_touch_and_edges_move_outwards():
    window = Window(T0, T0 + DAY)
    middle = T0 + timedelta(hours=12)

    assert window.split(middle) == [Window(T0, middle), Window(middle, T0 + DAY)]
    assert window.widened(timedelta(seconds=1)) == Window(T0 - timedelta(seconds=1), T0 + DAY + timedelta(seconds=1))
    assert Window(None, T0).widened(timedelta(seconds=1)) == Window(None, T0 + timedelta(seconds=1))
    assert window.duration == DAY
