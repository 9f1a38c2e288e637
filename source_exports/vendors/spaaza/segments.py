"""The segment rules that ask Spaaza for one window (`source_exports/windows.py`) of an index.

Spaaza documents segment rules on `timestamp` (transactions, wallet-ledger) and
`date_time_redeemed` (vouchers) with the operators `is_between_date` (`start_date`,
`end_date`), `is_after_date` (`start_date`) and `is_before_date` (`end_date`), but not whether
the bounds are inclusive, nor whether a rule of `field_type: "date"` compares the whole
timestamp or only its day. So each window `[start, end)` is asked for `MARGIN` wider on each
side: a day covers every one of those readings (inclusive or exclusive, at second or day
precision). A row at `t` in `[start, end)` then passes `start - MARGIN` under any of them
(`t > start - 1 day`, and its day is after the day before `start`'s), and `end + MARGIN` too
(`t < end + 1 day`, and its day is at most `end`'s, before the day after it). An open first window
(`is_before_date` only) widens its end alone. The window that ends at the sync's end ("now") is
asked with no end at all (`is_after_date` only), so it names no date in the future. The one
exception is the open first window (no `start_date`, no state), which always ends now: its only
rule is `is_before_date` a day past now, since a bound of now itself would lose today's rows
under a day-precision reading. The windowed stream then keeps each row only in the
window its own date falls in (`SpaazaWindowedExportStream.rows_in_window`), so a row is emitted
once whichever reading Spaaza has; the cost is up to two extra days of rows downloaded per window.
`date_window_segment` is the one function to change if Spaaza's rule body turns out to differ.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict

from source_exports.timestamps import Spelling, iso_seconds
from source_exports.windows import Window

iso: Spelling = iso_seconds
"""Second-precision ISO-8601 UTC with a Z, the spelling Spaaza's examples use."""

MARGIN = timedelta(days=1)
"""How much wider than its window each export is asked for, on each side."""


def date_window_segment(
    index: str, date_field: str, chain_id: int, window: Window, ends_now: bool = False
) -> Dict[str, Any]:
    """The `trigger.segment` selecting rows of `index` whose `date_field` lies in `window` widened by `MARGIN`.

    `ends_now`: the window ends at the sync's end, so its export is asked with no end date (rows
    stamped later are kept for the next sync by the windowed stream).
    """
    asked = window.widened(MARGIN)
    if asked.start is None:
        rule: Dict[str, Any] = {"operator": "is_before_date", "end_date": iso(asked.end)}
    elif ends_now:
        rule = {"operator": "is_after_date", "start_date": iso(asked.start)}
    else:
        rule = {"operator": "is_between_date", "start_date": iso(asked.start), "end_date": iso(asked.end)}
    return {
        "entity": "people",
        "index": index,
        "join": "all",
        "chain_id": chain_id,
        "rules": [{"field_name": date_field, "field_type": "date", **rule}],
    }
