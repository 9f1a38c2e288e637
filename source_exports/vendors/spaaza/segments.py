"""Date windows and the segment rules that ask Spaaza for one window of an index.

Spaaza documents segment rules on `timestamp` (transactions, wallet-ledger) and
`date_time_redeemed` (vouchers) with the operators `is_between_date` (`start_date`,
`end_date`), `is_after_date` (`start_date`) and `is_before_date` (`end_date`), but not whether
the bounds are inclusive. Consecutive windows here share their boundary instant, so a row
stamped exactly on one is in both exports when they are; the windowed stream keeps each window's
rows to `[start, end)` (`SpaazaWindowedExportStream.rows_before_end`), so it is emitted once.
`date_window_segment` is the one function to change if Spaaza's rule body turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pendulum


@dataclass(frozen=True)
class DateWindow:
    """`[start, end]` in UTC, as asked of Spaaza; `start` None means "from the beginning" (no start_date)."""

    start: Optional[pendulum.DateTime]
    end: pendulum.DateTime

    def describe(self) -> str:
        return f"{iso(self.start) if self.start else 'the beginning'} → {iso(self.end)}"

    def as_slice(self) -> Dict[str, Optional[str]]:
        return {"start": iso(self.start) if self.start else None, "end": iso(self.end)}

    @classmethod
    def from_slice(cls, stream_slice: Dict[str, Any]) -> DateWindow:
        start = stream_slice.get("start")
        return cls(pendulum.parse(start) if start else None, pendulum.parse(stream_slice["end"]))


def iso(value: pendulum.DateTime) -> str:
    """Second-precision ISO-8601 UTC with a Z, the spelling Spaaza's examples use."""
    return value.in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss") + "Z"


def split_windows(start: Optional[pendulum.DateTime], end: pendulum.DateTime, window_days: int) -> List[DateWindow]:
    """Consecutive windows of at most `window_days` from `start` to `end` (one open window without start)."""
    if start is None:
        return [DateWindow(None, end)]
    windows = []
    cursor = start
    while cursor < end:
        upper = min(cursor.add(days=window_days), end)
        windows.append(DateWindow(cursor, upper))
        cursor = upper
    return windows


def date_window_segment(index: str, date_field: str, chain_id: int, window: DateWindow) -> Dict[str, Any]:
    """The `trigger.segment` selecting rows of `index` whose `date_field` lies in `window`, both bounds asked for."""
    if window.start is None:
        rule: Dict[str, Any] = {"operator": "is_before_date", "end_date": iso(window.end)}
    else:
        rule = {"operator": "is_between_date", "start_date": iso(window.start), "end_date": iso(window.end)}
    return {
        "entity": "people",
        "index": index,
        "join": "all",
        "chain_id": chain_id,
        "rules": [{"field_name": date_field, "field_type": "date", **rule}],
    }
