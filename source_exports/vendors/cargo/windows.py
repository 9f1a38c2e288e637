"""Time windows of run creation (or update) time, and how to cut them.

Cargo does not say whether its time filters are inclusive or strict, so a window is only ever
sent with edges no run sits on (`edges.py`, run outputs) or read a little wider and filtered by
each run's own timestamp (`cargo_runs`); either way a window holds the runs of `[start, end)`.
Boundaries are whole milliseconds because Cargo's timestamps are. The targets the connector
aims its edges at are kept off whole seconds (`off_grid`), where scheduled runs cluster, so the
first candidate is usually free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

from source_exports.config import parse_datetime

DEFAULT_START = datetime(2020, 1, 1, tzinfo=timezone.utc)
"""Lower bound when neither state nor start_date gives one: before Cargo's API existed."""

MS = timedelta(milliseconds=1)
"""The resolution of Cargo's timestamps."""

OFF_GRID = timedelta(milliseconds=337)
"""Added to an edge target that fell on a whole second (see the module docstring)."""

SETTLE = timedelta(minutes=1)
"""Windows end this long before Cargo's clock: runs being created right now may not be listed yet."""


def to_utc(moment: datetime) -> datetime:
    """An aware UTC stdlib datetime, whole milliseconds (pendulum values become plain datetimes)."""
    moment = moment.astimezone(timezone.utc)
    moment = datetime(
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
        moment.microsecond - moment.microsecond % 1000, tzinfo=timezone.utc,
    )  # fmt: skip
    return moment


def off_grid(moment: datetime, limit: Optional[datetime] = None) -> datetime:
    """Move a boundary that falls on a whole second by `OFF_GRID`, unless that would reach `limit`."""
    if moment.microsecond:
        return moment
    moved = moment + OFF_GRID
    return moment if limit is not None and moved >= limit else moved


def iso(moment: datetime) -> str:
    """The one timestamp spelling sent to Cargo and kept in state: UTC, milliseconds, `Z` (as `format_datetime`)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Window:
    """A half-open interval `[start, end)` of UTC time."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def middle(self) -> datetime:
        """Halfway, rounded down to a millisecond and moved off a whole second when that stays inside."""
        return off_grid(self.start + (self.duration // MS // 2) * MS, limit=self.end)

    def split(self, at: datetime) -> List[Window]:
        """The two parts either side of `at` — what a `tooManyRuns` answer asks for."""
        return [Window(self.start, at), Window(at, self.end)]

    def widened(self) -> Window:
        """1 ms wider on each side: holds every run of `[start, end)` whether Cargo reads edges as strict or not."""
        return Window(self.start - MS, self.end + MS)

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def as_slice(self) -> Dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}

    @classmethod
    def from_slice(cls, stream_slice: Mapping[str, Any]) -> Window:
        return cls(
            to_utc(parse_datetime(stream_slice["start"], "slice.start")),
            to_utc(parse_datetime(stream_slice["end"], "slice.end")),
        )

    def filters(self, prefix: str = "created") -> Dict[str, str]:
        """The API filters selecting this window: `createdAfter`/`createdBefore` (or `updated…`)."""
        return {f"{prefix}After": iso(self.start), f"{prefix}Before": iso(self.end)}

    def __str__(self) -> str:
        return f"[{iso(self.start)}, {iso(self.end)})"


EdgeChooser = Callable[[datetime, Window], datetime]
"""Where an edge aimed at `target` goes, strictly inside the span still to plan."""


def plan_windows(
    start: datetime, end: datetime, size: timedelta, choose: EdgeChooser = lambda target, span: target
) -> List[Window]:
    """Consecutive windows of about `size` covering `[start, end)`; the last one is cut at `end`; none if empty."""
    windows: List[Window] = []
    cursor = to_utc(start)
    end = to_utc(end)
    while cursor < end:
        target = off_grid(cursor + size)
        upper = end if target >= end else choose(target, Window(cursor, end))
        windows.append(Window(cursor, upper))
        cursor = upper
    return windows


def sync_end(server_time: Optional[datetime], local_time: Optional[datetime] = None) -> datetime:
    """Where a sync's last window ends: Cargo's clock (ours when unknown) minus `SETTLE`."""
    now = server_time or local_time or datetime.now(timezone.utc)
    return off_grid(to_utc(now - SETTLE))
