"""The timestamp spellings: UTC, `Z`, truncated to their precision, for stdlib and pendulum values alike."""

import random
from datetime import datetime, timedelta, timezone

import pendulum
import pytest

from source_exports.timestamps import iso_micros, iso_millis, iso_seconds

UTC = timezone.utc
MOMENT = datetime(2025, 3, 9, 6, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    "spell, expected",
    [
        (iso_seconds, "2025-03-09T06:59:59Z"),
        (iso_millis, "2025-03-09T06:59:59.999Z"),
        (iso_micros, "2025-03-09T06:59:59.999999Z"),
    ],
)
def test_given_moment_just_before_a_second_when_spelled_then_truncated_never_rounded(spell, expected):
    assert spell(MOMENT) == expected
    assert spell(pendulum.instance(MOMENT).in_timezone("Asia/Kolkata")) == expected  # same instant, other zone


def test_given_whole_second_when_spelled_then_zero_fractions_are_written():
    whole = datetime(2025, 1, 1, tzinfo=UTC)
    assert (iso_seconds(whole), iso_millis(whole), iso_micros(whole)) == (
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00.000Z",
        "2025-01-01T00:00:00.000000Z",
    )


def test_given_year_below_1000_when_spelled_then_four_digits():
    assert iso_millis(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31T23:59:59.000Z"


def test_given_random_instants_in_many_zones_when_spelled_then_same_text_as_pendulum_formats():
    generator = random.Random(14)
    zones = ["UTC", "Europe/Amsterdam", "America/St_Johns", "Asia/Kathmandu"]
    for _ in range(500):
        utc = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=generator.randrange(10**15))
        local = pendulum.instance(utc).in_timezone(generator.choice(zones))
        assert iso_seconds(local) == utc.strftime("%Y-%m-%dT%H:%M:%SZ"), local
        assert iso_millis(local) == pendulum.instance(utc).format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z", local
        assert iso_micros(local) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), local
