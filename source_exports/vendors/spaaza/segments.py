"""The segment rules that ask Spaaza for one window (`source_exports/windows.py`) of an index.

Spaaza documents segment rules on `timestamp` (transactions, wallet-ledger) and
`date_time_redeemed` (vouchers) with the operators `is_between_date` (`start_date`,
`end_date`), `is_after_date` (`start_date`) and `is_before_date` (`end_date`), but not whether
the bounds are inclusive. Consecutive windows here share their boundary instant, so a row
stamped exactly on one is in both exports when they are; the windowed stream keeps each window's
rows to `[start, end)` (`SpaazaWindowedExportStream.rows_before_end`), so it is emitted once.
`date_window_segment` is the one function to change if Spaaza's rule body turns out to differ.
"""

from __future__ import annotations

from typing import Any, Dict

from source_exports.timestamps import Spelling, iso_seconds
from source_exports.windows import Window

iso: Spelling = iso_seconds
"""Second-precision ISO-8601 UTC with a Z, the spelling Spaaza's examples use."""


def date_window_segment(index: str, date_field: str, chain_id: int, window: Window) -> Dict[str, Any]:
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
