"""One time window and one planner for every vendor that exports by time.

A sync from a cursor to an end is cut into consecutive windows that share their boundaries, each
at most `size` long, the last one cut at the end. What differs per vendor stays in the vendor's
package: how a boundary is spelled (a `Spelling` from `timestamps.py`), where an inner edge may go
(Cargo moves it off occupied milliseconds), and what a window means to the vendor's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional

from source_exports.timestamps import Spelling

SliceParser = Callable[[Any, str], datetime]
"""Reads a slice's boundary back: `(value, field name)`."""


@dataclass(frozen=True)
class Window:
    """A half-open interval `[start, end)` of UTC time; `start` None means "from the beginning"."""

    start: Optional[datetime]
    end: datetime

    @property
    def duration(self) -> timedelta:
        assert self.start is not None, "an open window has no duration"
        return self.end - self.start

    def holds(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and moment < self.end

    def split(self, at: datetime) -> List[Window]:
        """The two parts either side of `at`."""
        return [Window(self.start, at), Window(at, self.end)]

    def widened(self, by: timedelta) -> Window:
        """`by` wider on each side (an open start stays open)."""
        return Window(None if self.start is None else self.start - by, self.end + by)

    def as_slice(self, spell: Spelling) -> Dict[str, Optional[str]]:
        """`{"start": …, "end": …}` in the vendor's spelling; an open start is None."""
        return {"start": None if self.start is None else spell(self.start), "end": spell(self.end)}

    @classmethod
    def from_slice(cls, stream_slice: Mapping[str, Any], parse: SliceParser) -> Window:
        start = stream_slice.get("start")
        return cls(parse(start, "slice.start") if start else None, parse(stream_slice["end"], "slice.end"))

    def describe(self, spell: Spelling) -> str:
        """`start → end` for logs and messages."""
        return f"{'the beginning' if self.start is None else spell(self.start)} → {spell(self.end)}"


def same(moment: datetime) -> datetime:
    return moment


EdgeAim = Callable[[datetime], datetime]
"""Adjusts the natural next edge (`cursor + size`) before it is compared with the end."""

EdgeChooser = Callable[[datetime, Window], datetime]
"""Where an inner edge aimed at `target` goes, strictly inside the span still to plan."""


def keep_target(target: datetime, rest: Window) -> datetime:
    return target


def plan_windows(
    start: Optional[datetime],
    end: datetime,
    size: timedelta,
    aim: EdgeAim = same,
    choose: EdgeChooser = keep_target,
) -> List[Window]:
    """Consecutive windows of about `size` covering `[start, end)`, the last cut at `end`.

    None when `start >= end`; one open window `[None, end)` when there is no start at all.

    >>> from datetime import timezone
    >>> day = lambda n: datetime(2025, 1, n, tzinfo=timezone.utc)
    >>> [(w.start.day, w.end.day) for w in plan_windows(day(1), day(9), timedelta(days=7))]
    [(1, 8), (8, 9)]
    """
    if start is None:
        return [Window(None, end)]
    windows: List[Window] = []
    cursor = start
    while cursor < end:
        target = aim(cursor + size)
        upper = end if target >= end else choose(target, Window(cursor, end))
        windows.append(Window(cursor, upper))
        cursor = upper
    return windows
