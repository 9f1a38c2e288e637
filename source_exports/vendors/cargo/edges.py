"""`FreeEdges`: window edges on which no run sits, so Cargo's reading of an edge cannot matter.

Cargo does not say whether `createdAfter`/`createdBefore` are inclusive or strict. A run created
exactly on an edge is then in both adjacent windows, in neither, or in one. A run created
strictly between two edges is in the window whichever way each edge is read. So every edge the
connector chooses is a millisecond that no run of the exported workflow (release, batch) was
created on, checked with `runs/list` before it is used.

The check asks for the runs from 1 ms before to 1 ms after the candidate: under any reading
those include every run created on the candidate itself, and each listed run's own `createdAt`
says whether it sits there. A page that does not hold the whole answer counts as occupied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Iterator, Mapping, Optional

from source_exports.config import parse_datetime
from source_exports.errors import ConfigError
from source_exports.vendors.cargo.client import PAGE_SIZE, CargoClient
from source_exports.vendors.cargo.windows import MS, iso, to_utc
from source_exports.windows import Window

MAX_PROBES = 16
"""Candidates tried for one edge; runs on 16 neighbouring milliseconds are rare (each try is one call)."""


class FreeEdges:
    """Finds free milliseconds for the window edges of one set of runs (`filters`, by `createdAt`).

    >>> edges = FreeEdges(client, {"workflowUuid": "…"})  # doctest: +SKIP
    >>> edges.near(middle(window), window)  # doctest: +SKIP
    """

    def __init__(self, client: CargoClient, filters: Mapping[str, Any], max_probes: int = MAX_PROBES) -> None:
        self.client = client
        self.filters: Dict[str, Any] = dict(filters)
        self.max_probes = max_probes

    def is_free(self, moment: datetime) -> bool:
        """True when Cargo lists no run created at exactly this millisecond."""
        moment = to_utc(moment)
        probe = {**self.filters, "createdAfter": iso(moment - MS), "createdBefore": iso(moment + MS)}
        page = self.client.list_runs(probe, limit=PAGE_SIZE)
        runs = page.get("runs") or []
        count = page.get("count")
        if (isinstance(count, int) and count > len(runs)) or (count is None and len(runs) >= PAGE_SIZE):
            return False  # more runs than one page shows: some may sit on the candidate
        return not any(self._stamp(run) in (None, moment) for run in runs)

    def near(self, target: datetime, within: Window) -> Optional[datetime]:
        """A free millisecond strictly inside `within`, the nearest to `target` found; None if none."""
        return self._first_free(candidates_near(to_utc(target), within.start, within.end))

    def at_or_before(self, target: datetime, low: datetime) -> Optional[datetime]:
        """The latest free millisecond at or before `target` and after `low` found; None if none."""
        return self._first_free(candidates_down(to_utc(target), low))

    def _first_free(self, candidates: Iterator[datetime]) -> Optional[datetime]:
        for _, candidate in zip(range(self.max_probes), candidates):
            if self.is_free(candidate):
                return candidate
        return None

    @staticmethod
    def _stamp(run: Mapping[str, Any]) -> Optional[datetime]:
        """The run's creation time; None (treated as sitting on the candidate) when missing or unreadable."""
        value = run.get("createdAt")
        try:
            return to_utc(parse_datetime(value, "run.createdAt")) if value else None
        except ConfigError:
            return None


def candidates_near(target: datetime, low: datetime, high: datetime) -> Iterator[datetime]:
    """target, target+1 ms, target-1 ms, target+2 ms, … — only those strictly inside (low, high)."""
    step = 0
    while True:
        above, below = target + step * MS, target - step * MS
        if above >= high and below <= low:
            return
        if low < above < high:
            yield above
        if step and low < below < high:
            yield below
        step += 1


def candidates_down(target: datetime, low: datetime) -> Iterator[datetime]:
    """target, target-1 ms, … — only those after `low`."""
    moment = target
    while moment > low:
        yield moment
        moment -= MS
