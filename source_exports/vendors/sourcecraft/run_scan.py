"""Which runs a sync must look at, when SourceCraft offers no date filter and no documented order.

The run list (`GET …/cicd/runs`) can only be paged from its start. A run's `slug` is its counter,
so a larger slug is a newer run. The state of every SourceCraft stream is a `RunCheckpoint`:

    {"updated_at": "<newest dates.updated_at seen>", "max_slug": "<newest slug seen>",
     "unfinished_slugs": ["<slugs of runs not finished at the last sync>", ...],
     "synced_at": "<when that sync listed the runs>"}

A run is selected when it is new (slug above `max_slug`), was unfinished last time, or changed
(`dates.updated_at` after `updated_at`). Paging stops early only when the listing proves to be
newest first — its first run is at least `max_slug` and slugs have strictly decreased on every
run so far — and it has reached a run at or below every slug that could still matter (`max_slug`
and each unfinished slug). Any other order reads every page, so an unexpected order costs
requests, never runs. A first sync (no checkpoint) reads every run, stopping early at
`start_date` under the same newest-first proof.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional

import pendulum

from source_exports.config import parse_datetime
from source_exports.errors import ConfigError
from source_exports.streams import future_cursor_to_now
from source_exports.timestamps import iso_millis
from source_exports.vendors.sourcecraft.client import SourceCraftClient

FINISHED_STATUSES = frozenset({"success", "failed", "canceled", "timeout"})
"""Terminal run statuses. Anything else (created, prepared, processing, or a status we do not know)
counts as unfinished, so the run is looked at again on the next sync."""
STUCK_AFTER = pendulum.duration(days=14)
"""A run unfinished for longer is probably stuck: it is still read by every sync (it may yet gain
artifacts), and a warning says that it keeps each sync paging down to it."""


def is_finished(entity: Mapping[str, Any]) -> bool:
    return entity.get("status") in FINISHED_STATUSES


def slug_number(run: Mapping[str, Any]) -> Optional[int]:
    """The run counter behind the slug, or None when a slug is not a plain number."""
    slug = str(run.get("slug", ""))
    return int(slug) if slug.isdigit() else None


def date_of(entity: Mapping[str, Any], name: str) -> Optional[pendulum.DateTime]:
    """`<run or artifact>.dates.<name>` as a UTC date-time; None when missing or unreadable."""
    value = (entity.get("dates") or {}).get(name)
    if not value:
        return None
    try:
        return parse_datetime(value, f"dates.{name}")
    except ConfigError:
        return None


@dataclass
class RunCheckpoint:
    """What one sync remembers about the run list; the state of every SourceCraft stream."""

    updated_at: Optional[pendulum.DateTime] = None
    max_slug: Optional[int] = None
    unfinished_slugs: List[str] = field(default_factory=list)
    synced_at: Optional[pendulum.DateTime] = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any], stream: str) -> Optional[RunCheckpoint]:
        """Read a saved state; None when there is none. A malformed state names its field."""
        if not state:
            return None
        prefix = f"state.{stream}"
        max_slug = state.get("max_slug")
        if max_slug is not None and not str(max_slug).isdigit():
            raise ConfigError(
                f"'{max_slug}' is not a run number", field=f"{prefix}.max_slug", hint="Reset the stream's state"
            )
        unfinished = state.get("unfinished_slugs") or []
        if not isinstance(unfinished, list):
            raise ConfigError(
                "must be a list of run slugs", field=f"{prefix}.unfinished_slugs", hint="Reset the stream's state"
            )
        moments: Dict[str, Optional[pendulum.DateTime]] = {}
        for key in ("updated_at", "synced_at"):
            saved, field = state.get(key), f"{prefix}.{key}"
            moments[key] = future_cursor_to_now(parse_datetime(saved, field), saved, stream, field) if saved else None
        return cls(
            updated_at=moments["updated_at"],
            max_slug=int(max_slug) if max_slug is not None else None,
            unfinished_slugs=[str(slug) for slug in unfinished],
            synced_at=moments["synced_at"],
        )

    def to_state(self) -> dict:
        state: dict = {"unfinished_slugs": sorted(self.unfinished_slugs, key=lambda slug: (len(slug), slug))}
        if self.updated_at is not None:
            state["updated_at"] = iso_millis(self.updated_at)
        if self.max_slug is not None:
            state["max_slug"] = str(self.max_slug)
        if self.synced_at is not None:
            state["synced_at"] = iso_millis(self.synced_at)
        return state


class RunScan:
    """Iterates the runs a sync must look at and computes the checkpoint to save after them.

    >>> scan = RunScan(client, RunCheckpoint.from_state(state, "sourcecraft_runs"), start_date, logger)
    >>> for run in scan:  # doctest: +SKIP
    ...     handle(run)
    >>> new_state = scan.checkpoint.to_state()  # only once every selected run was handled
    """

    def __init__(
        self,
        client: SourceCraftClient,
        previous: Optional[RunCheckpoint],
        start_date: Optional[pendulum.DateTime],
        logger: logging.Logger,
        stream: str = "",
        now: Optional[pendulum.DateTime] = None,
    ) -> None:
        self.client = client
        self.previous = previous
        self.start_date = start_date if previous is None else None
        self.logger = logger
        self.stream = stream
        self.pages = 0
        self.runs_seen = 0
        self.stopped_early = False
        self._started = now or pendulum.now("UTC")
        self._newest_first = True
        self._last_number: Optional[int] = None
        self._seen_slugs: set = set()
        self._unfinished: List[str] = []
        self._max_slug = previous.max_slug if previous else None
        self._updated_at = previous.updated_at if previous else None
        self._floor = self._stop_floor(previous)

    @property
    def checkpoint(self) -> RunCheckpoint:
        """The state to save once every run this scan yielded was handled."""
        return RunCheckpoint(self._updated_at, self._max_slug, list(self._unfinished), self._started)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for runs in self.client.iter_run_pages():
            self.pages += 1
            for run in runs:
                if self._is_past_the_end(run):
                    self.stopped_early = True
                    self._log_summary()
                    return
                if self._observe(run) and self._is_selected(run):
                    yield run
        self._log_summary()

    # selection
    def _is_selected(self, run: Mapping[str, Any]) -> bool:
        previous = self.previous
        if previous is None:
            created = date_of(run, "created_at")
            return self.start_date is None or created is None or created >= self.start_date
        number = slug_number(run)
        updated = date_of(run, "updated_at")
        return (
            str(run.get("slug")) in previous.unfinished_slugs
            or (number is not None and (previous.max_slug is None or number > previous.max_slug))
            or (updated is not None and (previous.updated_at is None or updated > previous.updated_at))
        )

    def _observe(self, run: Mapping[str, Any]) -> bool:
        """Track order, the newest slug and date, and unfinished runs; False for a run seen before."""
        self.runs_seen += 1
        slug = str(run.get("slug"))
        if slug in self._seen_slugs:
            return False  # repeated across pages (a run was added while paging): handle it once
        self._seen_slugs.add(slug)
        number = slug_number(run)
        if number is None or (self._last_number is not None and number >= self._last_number):
            self._note_not_newest_first()
        if self.runs_seen == 1 and self.previous and self.previous.max_slug and (number or 0) < self.previous.max_slug:
            self._note_not_newest_first()  # a newest-first list starts at (or above) the newest run we knew
        self._last_number = number
        if number is not None and (self._max_slug is None or number > self._max_slug):
            self._max_slug = number
        updated = date_of(run, "updated_at")
        if updated is not None and (self._updated_at is None or updated > self._updated_at):
            self._updated_at = updated
        if not is_finished(run) and self._is_selected(run):
            self._unfinished.append(slug)  # never dropped while listed: it may still gain artifacts
            created = date_of(run, "created_at")
            if created is not None and self._started - created > STUCK_AFTER:
                self.logger.warning(
                    f"{self.stream}: run {slug} has been {run.get('status')} since {created.to_iso8601_string()}, "
                    f"more than {STUCK_AFTER.in_days()} days; it is read again by every sync until it finishes, "
                    "and each sync pages down to it. Cancel it in SourceCraft if it is stuck"
                )
        return True

    def _is_past_the_end(self, run: Mapping[str, Any]) -> bool:
        """True when every run from here on is known to need nothing (see the module docstring)."""
        if not self._newest_first or self.runs_seen == 0:
            return False
        number = slug_number(run)
        if number is None or (self._last_number is not None and number >= self._last_number):
            return False  # not provably older than what came before: keep reading
        if self.previous is not None:
            return self._floor is not None and number <= self._floor and not self._is_selected(run)
        created = date_of(run, "created_at")
        return self.start_date is not None and created is not None and created < self.start_date

    @staticmethod
    def _stop_floor(previous: Optional[RunCheckpoint]) -> Optional[int]:
        if previous is None or previous.max_slug is None:
            return None
        numbers = [int(slug) for slug in previous.unfinished_slugs if slug.isdigit()]
        if len(numbers) != len(previous.unfinished_slugs):
            return None  # an unfinished run we cannot place in the order: read everything
        return min([previous.max_slug, *[number - 1 for number in numbers]])

    def _note_not_newest_first(self) -> None:
        if self._newest_first:
            self._newest_first = False
            self.logger.info(f"{self.stream}: SourceCraft did not list runs newest first; reading every page of runs")

    def _log_summary(self) -> None:
        if self.previous is not None:
            lost = [slug for slug in self.previous.unfinished_slugs if slug not in self._seen_slugs]
            if lost:
                self.logger.warning(
                    f"{self.stream}: run(s) {', '.join(lost)} were unfinished at the last sync and are no longer "
                    "listed by SourceCraft (deleted?); they are dropped from the state"
                )
        how = "stopped at the previous sync's runs" if self.stopped_early else "read every page"
        self.logger.info(f"{self.stream}: listed {self.runs_seen} run(s) on {self.pages} page(s), {how}")
