"""PostHog's timestamps: parsing the spellings PostHog writes, and the one it is sent and records keep.

PostHog refuses file downloads that span more than 7 days or reach into the future, so a sync
from the cursor to "now minus a lag" is cut into consecutive half-open windows [start, end) by
the shared planner (`source_exports/windows.py`), each boundary spelled by `format_timestamp`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from source_exports.timestamps import Spelling, iso_micros

UTC = timezone.utc
ONE_MICROSECOND = timedelta(microseconds=1)
EARLIEST_INSERTED_AT = datetime(2020, 1, 1, tzinfo=UTC)
"""Before PostHog existed: no row's `_inserted_at` is older, so an earlier start is moved up to it."""


def parse_timestamp(value: str) -> Optional[datetime]:
    """Parse PostHog's timestamps ('2025-01-01T00:00:00.123Z', '2025-01-01 00:00:00+00:00', …) as UTC.

    Returns None for text that is not a timestamp (the caller keeps the original value).
    """
    parsed = _parse_as_written(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_as_written(value: str) -> Optional[datetime]:
    """The datetime a timestamp text spells, in its own offset (naive when it has none); None if none."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return _parse_uneven_fraction(text)


def _parse_uneven_fraction(text: str) -> Optional[datetime]:
    """Python 3.10's fromisoformat accepts only 3 or 6 fraction digits: pad or cut to 6."""
    head, dot, rest = text.partition(".")
    if not dot:
        return None
    digits = len(rest) - len(rest.lstrip("0123456789"))
    fraction, offset = rest[:digits], rest[digits:]
    try:
        return datetime.fromisoformat(f"{head}.{fraction[:6].ljust(6, '0')}{offset}")
    except ValueError:
        return None


format_timestamp: Spelling = iso_micros
"""ISO-8601 UTC with microseconds and a Z: how records and request parameters spell time."""


def normalise_timestamp(value: str) -> Optional[str]:
    """`format_timestamp(parse_timestamp(value))`, or None for text that is no timestamp.

    Runs for three columns of every exported event, so the spellings PostHog writes (UTC, or no
    offset) skip the conversions: an aware UTC datetime's isoformat ends in '+00:00', which
    becomes the 'Z' (isoformat leaves out a zero fraction, which is put back). Anything else takes
    the general path.
    """
    parsed = _parse_as_written(value)
    if parsed is None:
        return None
    offset = parsed.utcoffset()
    if offset is None or not offset:  # isoformat() without arguments is twice as fast as with timespec
        text = parsed.isoformat() if offset is None else parsed.isoformat()[:-6]  # drop '+00:00'
        return text + ("Z" if parsed.microsecond else ".000000Z")
    return format_timestamp(parsed)
