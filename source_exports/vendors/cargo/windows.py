"""Cargo's side of the shared time windows (`source_exports/windows.py`): milliseconds, edges off whole seconds.

Cargo does not say whether its time filters are inclusive or strict, so a window is only ever
sent with edges no run sits on (`edges.py`, run outputs) or read a little wider and filtered by
each run's own timestamp (`cargo_runs`); either way a window holds the runs of `[start, end)`.
Boundaries are whole milliseconds because Cargo's timestamps are. The targets the connector
aims its edges at are kept off whole seconds (`off_grid`), where scheduled runs cluster, so the
first candidate is usually free.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from source_exports import windows
from source_exports.config import parse_datetime
from source_exports.timestamps import Spelling, iso_millis
from source_exports.windows import EdgeChooser, Window, keep_target

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


iso: Spelling = iso_millis
"""The one timestamp spelling sent to Cargo and kept in state: UTC, milliseconds, `Z` (as every state)."""


def slice_time(value: Any, field: str) -> datetime:
    """A slice boundary read back as `to_utc` values (the `SliceParser` of Cargo's windows)."""
    return to_utc(parse_datetime(value, field))


def middle(window: Window) -> datetime:
    """Halfway, rounded down to a millisecond and moved off a whole second when that stays inside."""
    return off_grid(window.start + (window.duration // MS // 2) * MS, limit=window.end)


def filters(window: Window, prefix: str = "created") -> Dict[str, str]:
    """The API filters selecting this window: `createdAfter`/`createdBefore` (or `updated…`)."""
    return {f"{prefix}After": iso(window.start), f"{prefix}Before": iso(window.end)}


def shown(window: Window) -> str:
    """`[start, end)` in Cargo's spelling, for messages."""
    return f"[{iso(window.start)}, {iso(window.end)})"


def plan_windows(start: datetime, end: datetime, size: timedelta, choose: EdgeChooser = keep_target) -> List[Window]:
    """The shared planner on whole milliseconds, each natural edge moved off a whole second."""
    return windows.plan_windows(to_utc(start), to_utc(end), size, aim=off_grid, choose=choose)


def sync_end(server_time: Optional[datetime], local_time: Optional[datetime] = None) -> datetime:
    """Where a sync's last window ends: Cargo's clock (ours when unknown) minus `SETTLE`."""
    now = server_time or local_time or datetime.now(timezone.utc)
    return off_grid(to_utc(now - SETTLE))
