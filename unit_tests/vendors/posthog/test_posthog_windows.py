"""Window planning and timestamp parsing."""

from datetime import datetime, timedelta

import pytest

from source_exports.vendors.posthog.windows import UTC, format_timestamp, parse_timestamp, plan_windows

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_given_sixteen_days_when_planned_with_seven_then_three_contiguous_windows_of_at_most_seven_days():
    windows = plan_windows(T0, T0 + timedelta(days=16, hours=3), 7)
    assert [(w.start, w.end) for w in windows] == [
        (T0, T0 + timedelta(days=7)),
        (T0 + timedelta(days=7), T0 + timedelta(days=14)),
        (T0 + timedelta(days=14), T0 + timedelta(days=16, hours=3)),
    ]


def test_given_start_at_or_after_end_when_planned_then_no_window():
    assert plan_windows(T0, T0, 7) == []
    assert plan_windows(T0 + timedelta(seconds=1), T0, 7) == []


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01T00:00:00.123456Z",
        "2025-01-01 00:00:00.123456+00:00",
        "2025-01-01T01:00:00.123456+01:00",
        "2025-01-01T00:00:00.123456",
        "2025-01-01T00:00:00.1234560Z",
    ],
)
def test_given_posthog_timestamp_spellings_when_parsed_then_same_utc_instant(text):
    assert format_timestamp(parse_timestamp(text)) == "2025-01-01T00:00:00.123456Z"


def test_given_short_fraction_when_parsed_then_padded():
    assert format_timestamp(parse_timestamp("2025-01-01T00:00:00.5Z")) == "2025-01-01T00:00:00.500000Z"


def test_given_text_that_is_no_timestamp_when_parsed_then_none():
    assert parse_timestamp("yesterday") is None
