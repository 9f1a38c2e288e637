"""Where an incremental sync of run outputs must stop so that no unfinished run is lost.

A run's output is final only once the run has finished. If a sync exported the window holding
a run that is still `running` and moved the cursor past it, the next sync would never look at
that run again. So the sync's last window ends before the oldest unfinished run, at the latest
millisecond before it that no run sits on: the cursor waits there, and the next sync's first
window holds the run whichever way Cargo reads its edge. A run unfinished for longer than the
configured patience no longer holds the sync back; a warning names it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from source_exports.config import parse_datetime
from source_exports.errors import ConfigError
from source_exports.vendors.cargo.edges import FreeEdges
from source_exports.vendors.cargo.windows import MS, filters, iso, to_utc
from source_exports.windows import Window

LOGGER = logging.getLogger("airbyte")
MAX_NAMED_STALE_RUNS = 10


def end_before_unfinished_runs(
    edges: FreeEdges,
    window: Window,
    max_wait: timedelta,
    stream: str,
    logger: logging.Logger = LOGGER,
) -> datetime:
    """The end of this sync: `window.end`, or the latest free millisecond before the oldest unfinished run.

    `window`'s edges must be free (`FreeEdges`). Runs created before `window.end - max_wait` no
    longer hold the sync back; each is named in a warning.
    """
    patience_from = window.end - max_wait
    oldest: Optional[datetime] = None
    oldest_run: Optional[Dict[str, Any]] = None
    stale: List[Dict[str, Any]] = []
    for run in edges.client.iter_runs({**edges.filters, "isFinished": False, **filters(window, "created")}):
        if not run.get("createdAt"):
            continue  # Cargo always sends createdAt; a run without one cannot say where to wait
        created = to_utc(parse_datetime(run["createdAt"], "run.createdAt"))
        if created < patience_from:
            stale.append(run)
        elif oldest is None or created < oldest:
            oldest, oldest_run = created, run
    warn_about_stale_runs(stale, max_wait, stream, logger)
    if oldest is None:
        return window.end
    logger.info(
        f"{stream}: run {oldest_run.get('uuid')} (created {iso(oldest)}, status {oldest_run.get('status')}) "
        "has not finished; this sync stops before it and the next sync starts there"
    )
    end = edges.at_or_before(oldest - MS, window.start)
    if end is not None:
        return end
    if (oldest - window.start) // MS - 1 <= edges.max_probes:
        return window.start  # runs sit on every millisecond since the cursor, which already waits before it
    raise ConfigError(
        f"Runs were created on each of the {edges.max_probes} milliseconds before the unfinished run "
        f"{oldest_run.get('uuid')} (created {iso(oldest)}), so this sync cannot end just before it",
        hint="Narrow the export with release_uuid or batch_uuid, or retry once the run has finished",
        stream=stream,
    )


def warn_about_stale_runs(
    stale: List[Dict[str, Any]], max_wait: timedelta, stream: str, logger: logging.Logger
) -> None:
    """Name the runs the cursor stops waiting for: their later output will not be read incrementally."""
    days = max_wait / timedelta(days=1)
    for run in stale[:MAX_NAMED_STALE_RUNS]:
        logger.warning(
            f"{stream}: run {run.get('uuid')} (created {run.get('createdAt')}, status {run.get('status')}) "
            f"has been unfinished for more than {days:g} days; the sync no longer waits for it, so output it "
            "produces later is not read by incremental syncs (a full refresh reads it). "
            "Raise cargo.max_wait_days_for_unfinished_runs to wait longer."
        )
    if len(stale) > MAX_NAMED_STALE_RUNS:
        logger.warning(f"{stream}: {len(stale) - MAX_NAMED_STALE_RUNS} more runs unfinished for too long are skipped")
