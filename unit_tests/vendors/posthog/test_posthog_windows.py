"""Timestamp parsing and spelling."""

import random
from datetime import datetime, timedelta, timezone

import pytest

from source_exports.vendors.posthog.windows import (
    UTC,
    format_timestamp,
    normalise_timestamp,
    parse_timestamp,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


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


def test_given_many_instants_and_offsets_when_formatted_then_strftime_spelling_with_microseconds_and_z():
    rng = random.Random(7)
    for _ in range(2000):
        moment = datetime(1000, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(9000 * 365 * 86400 * 10**6))
        offset = timezone(timedelta(minutes=rng.randrange(-14 * 60, 14 * 60 + 1)))
        local = moment.astimezone(offset) if moment.year > 1000 else moment
        assert format_timestamp(local) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), local


def test_given_whole_seconds_when_formatted_then_microseconds_still_written():
    assert format_timestamp(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00.000000Z"
    assert format_timestamp(datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC)) == "0999-12-31T23:59:59.000005Z"


def spellings(rng):
    """Timestamp texts as PostHog and others write them, and some that are not timestamps."""
    moment = datetime(1990, 1, 1) + timedelta(microseconds=rng.randrange(60 * 365 * 86400 * 10**6))
    date, clock = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")
    fraction = rng.choice(["", f".{moment.microsecond:06d}", f".{moment.microsecond:06d}"[: rng.randint(2, 6)]])
    fraction += rng.choice(["", "", "789"])  # more than 6 digits: cut
    zone = rng.choice(["+00:00", "Z", "z", "", "+05:30", "-08:00", "-00:00", "+0000"])
    text = f"{date}{rng.choice(['T', ' '])}{clock}{fraction}{zone}"
    return rng.choice([text, text, f" {text} ", text.replace("-", "/", 1), text[:-1], "not a time", ""])


def test_given_many_spellings_when_normalised_then_same_as_parse_then_format():
    rng = random.Random(11)
    converted = 0
    for _ in range(5000):
        text = spellings(rng)
        parsed = parse_timestamp(text)
        expected = None if parsed is None else format_timestamp(parsed)
        assert normalise_timestamp(text) == expected, text
        converted += expected is not None
    assert 2000 < converted < 5000  # both outcomes are exercised


def test_given_posthog_jsonl_spelling_when_normalised_then_microseconds_and_z():
    assert normalise_timestamp("2025-01-01 00:00:00.5+00:00") == "2025-01-01T00:00:00.500000Z"
    assert normalise_timestamp("2025-01-01 01:00:00+01:00") == "2025-01-01T00:00:00.000000Z"
    assert normalise_timestamp("2025-02-30 00:00:00+00:00") is None
