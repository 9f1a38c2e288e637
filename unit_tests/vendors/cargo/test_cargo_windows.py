"""Half-open windows: planning, splitting at whole milliseconds, slices and API filters."""

from datetime import datetime, timedelta, timezone

from source_exports.vendors.cargo.windows import MS, filters, iso, middle, plan_windows, shown, slice_time, sync_end
from source_exports.windows import Window

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_given_range_when_planning_then_windows_touch_and_inner_edges_sit_off_whole_seconds():
    windows = plan_windows(T0, T0 + timedelta(days=65), timedelta(days=30))

    off = timedelta(milliseconds=337)
    assert [(w.start - T0, w.end - T0) for w in windows] == [
        (timedelta(0), timedelta(days=30) + off),
        (timedelta(days=30) + off, timedelta(days=60) + off),
        (timedelta(days=60) + off, timedelta(days=65)),
    ]


def test_given_middle_on_a_whole_second_when_asking_for_it_then_it_moves_off_it_but_stays_inside():
    assert middle(Window(T0, T0 + timedelta(hours=8))) == T0 + timedelta(hours=4, milliseconds=337)
    tiny = Window(T0 - timedelta(milliseconds=100), T0 + timedelta(milliseconds=100))
    assert middle(tiny) == T0  # moving it would leave the window: kept


def test_given_chooser_when_planning_then_inner_edges_are_where_it_puts_them_and_the_end_is_kept():
    seen = []

    def choose(target, rest):
        seen.append((target, rest))
        return target - timedelta(milliseconds=5)

    windows = plan_windows(T0, T0 + timedelta(days=25), timedelta(days=10), choose)

    first_edge = T0 + timedelta(days=10, milliseconds=332)
    assert [w.end for w in windows] == [
        first_edge,
        first_edge + timedelta(days=10, milliseconds=-5),
        T0 + timedelta(days=25),
    ]
    assert seen[0] == (T0 + timedelta(days=10, milliseconds=337), Window(T0, T0 + timedelta(days=25)))


def test_given_empty_or_reversed_range_when_planning_then_no_window():
    assert plan_windows(T0, T0, timedelta(days=1)) == []
    assert plan_windows(T0, T0 - timedelta(seconds=1), timedelta(days=1)) == []


def test_given_odd_millisecond_window_when_splitting_at_its_middle_then_parts_share_a_whole_millisecond():
    window = Window(T0, T0 + timedelta(milliseconds=3))

    left, right = window.split(middle(window))

    assert (left.start, left.end, right.start, right.end) == (
        T0,
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(milliseconds=3),
    )


def test_given_window_when_widening_then_one_millisecond_more_each_side_and_holds_is_half_open():
    window = Window(T0, T0 + timedelta(hours=1))

    assert window.widened(MS) == Window(T0 - timedelta(milliseconds=1), T0 + timedelta(hours=1, milliseconds=1))
    assert (window.holds(T0), window.holds(window.end), window.holds(T0 - timedelta(milliseconds=1))) == (
        True,
        False,
        False,
    )


def test_given_window_when_making_filters_then_bounds_are_cargo_timestamps():
    window = Window(T0, T0 + timedelta(hours=1, milliseconds=5))

    assert filters(window, "created") == {
        "createdAfter": "2025-01-01T00:00:00.000Z",
        "createdBefore": "2025-01-01T01:00:00.005Z",
    }
    assert filters(window, "updated") == {
        "updatedAfter": "2025-01-01T00:00:00.000Z",
        "updatedBefore": "2025-01-01T01:00:00.005Z",
    }


def test_given_slice_when_round_tripping_then_window_is_equal():
    window = Window(T0 + timedelta(microseconds=123000), T0 + timedelta(days=1))

    assert window.as_slice(iso) == {"start": "2025-01-01T00:00:00.123Z", "end": "2025-01-02T00:00:00.000Z"}
    assert Window.from_slice(window.as_slice(iso), slice_time) == window
    assert shown(window) == "[2025-01-01T00:00:00.123Z, 2025-01-02T00:00:00.000Z)"


def test_given_server_time_when_computing_sync_end_then_cargos_clock_minus_settle_time():
    local = datetime(2030, 1, 1, tzinfo=timezone.utc)

    assert iso(sync_end(T0, local)) == "2024-12-31T23:59:00.337Z"
    assert iso(sync_end(None, local)) == "2029-12-31T23:59:00.337Z"
