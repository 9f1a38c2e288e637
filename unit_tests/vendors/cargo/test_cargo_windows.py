"""Half-open windows: planning, splitting at whole milliseconds, slices and API filters."""

from datetime import datetime, timedelta, timezone

from source_exports.vendors.cargo.windows import Window, iso, plan_windows, sync_end

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_given_range_when_planning_then_windows_touch_and_inner_edges_sit_off_whole_seconds():
    windows = plan_windows(T0, T0 + timedelta(days=65), timedelta(days=30))

    off = timedelta(milliseconds=337)
    assert [(w.start - T0, w.end - T0) for w in windows] == [
        (timedelta(0), timedelta(days=30) + off),
        (timedelta(days=30) + off, timedelta(days=60) + off),
        (timedelta(days=60) + off, timedelta(days=65)),
    ]


def test_given_boundary_on_a_whole_second_when_splitting_then_the_middle_moves_off_it_but_stays_inside():
    left, right = Window(T0, T0 + timedelta(hours=8)).split()
    assert left.end == right.start == T0 + timedelta(hours=4, milliseconds=337)
    tiny = Window(T0 - timedelta(milliseconds=100), T0 + timedelta(milliseconds=100))
    assert tiny.split()[0].end == T0  # moving it would leave the window: kept


def test_given_empty_or_reversed_range_when_planning_then_no_window():
    assert plan_windows(T0, T0, timedelta(days=1)) == []
    assert plan_windows(T0, T0 - timedelta(seconds=1), timedelta(days=1)) == []


def test_given_odd_millisecond_window_when_splitting_then_halves_share_a_whole_millisecond_boundary():
    window = Window(T0, T0 + timedelta(milliseconds=3))

    left, right = window.split()

    assert (left.start, left.end, right.start, right.end) == (
        T0,
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(milliseconds=1),
        T0 + timedelta(milliseconds=3),
    )


def test_given_window_when_making_filters_then_bounds_are_cargo_timestamps():
    window = Window(T0, T0 + timedelta(hours=1, milliseconds=5))

    assert window.filters("created") == {
        "createdAfter": "2025-01-01T00:00:00.000Z",
        "createdBefore": "2025-01-01T01:00:00.005Z",
    }
    assert window.filters("updated") == {
        "updatedAfter": "2025-01-01T00:00:00.000Z",
        "updatedBefore": "2025-01-01T01:00:00.005Z",
    }


def test_given_slice_when_round_tripping_then_window_is_equal():
    window = Window(T0 + timedelta(microseconds=123000), T0 + timedelta(days=1))

    assert Window.from_slice(window.as_slice()) == window


def test_given_server_time_when_computing_sync_end_then_cargos_clock_minus_settle_time():
    local = datetime(2030, 1, 1, tzinfo=timezone.utc)

    assert iso(sync_end(T0, local)) == "2024-12-31T23:59:00.337Z"
    assert iso(sync_end(None, local)) == "2029-12-31T23:59:00.337Z"
