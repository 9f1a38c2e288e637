"""One family of timestamp spellings: ISO-8601 in UTC with a `Z`, at the precision each place needs.

The precision is part of the contract with whoever reads the text back, so each spelling is named
for it and a vendor names the one its API expects:

| spelling | example | used for |
|---|---|---|
| `iso_seconds` | `2025-01-01T00:00:00Z` | Spaaza's segment rules and task triggers |
| `iso_millis` | `2025-01-01T00:00:00.000Z` | every stream state; Cargo's requests and window columns |
| `iso_micros` | `2025-01-01T00:00:00.000000Z` | PostHog's requests, slices and record values |

Each truncates (never rounds) below its precision and writes four-digit years. Values must be
timezone-aware (stdlib or pendulum).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

UTC = timezone.utc

Spelling = Callable[[datetime], str]
"""How a vendor writes a moment in slices, requests and logs: one of the functions below."""


def iso_seconds(moment: datetime) -> str:
    return _iso(moment, "seconds")


def iso_millis(moment: datetime) -> str:
    return _iso(moment, "milliseconds")


def iso_micros(moment: datetime) -> str:
    return _iso(moment, "microseconds")


def _iso(moment: datetime, timespec: str) -> str:
    # isoformat, not strftime or pendulum's format: the same text (and 4-digit years below 1000), several
    # times faster, and PostHog spells three values of every exported event
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
