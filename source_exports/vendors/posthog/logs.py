"""Walks PostHog's newest-first log pages without losing or repeating entries at page edges.

The logs endpoint has no cursor: it returns up to `limit` entries newest first, bounded by
strict `after` / `before` timestamps. Paging with `before = oldest timestamp seen` would skip
the entries of that timestamp that did not fit on the page. So the next page is requested with
`before` one microsecond after the oldest timestamp (that timestamp included again), and the
entries of that timestamp already emitted are skipped by their (timestamp, instance_id, level,
message) key, counted as a multiset so two identical lines are not collapsed into one.

If a whole page shares one timestamp, paging cannot get past it (PostHog offers no tie-breaker):
the walker moves on to older entries and warns that some of that timestamp may be unread.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from source_exports.errors import UnreadableAnswer
from source_exports.vendors.posthog.errors import VENDOR
from source_exports.vendors.posthog.windows import ONE_MICROSECOND, parse_timestamp

LogEntry = Dict[str, Any]
PageFetcher = Callable[[Optional[datetime]], List[LogEntry]]
"""Returns one page (newest first) of entries strictly before the given time (None: no bound)."""


def entry_key(entry: LogEntry) -> Tuple[Any, ...]:
    return (entry.get("timestamp"), entry.get("instance_id"), entry.get("level"), entry.get("message"))


def entry_time(entry: LogEntry) -> datetime:
    parsed = parse_timestamp(str(entry.get("timestamp") or ""))
    if parsed is None:
        raise UnreadableAnswer(
            f"PostHog sent a log entry without a valid timestamp: {entry.get('timestamp')!r}", vendor=VENDOR
        )
    return parsed


class NewestFirstLogWalker:
    """Yields every log entry of a range exactly once, newest first.

    >>> walker = NewestFirstLogWalker(lambda before: client_page(before), limit=500)  # doctest: +SKIP
    >>> entries = list(walker.walk(before=None))  # doctest: +SKIP
    """

    def __init__(self, fetch_page: PageFetcher, limit: int, logger: Optional[logging.Logger] = None) -> None:
        self.fetch_page = fetch_page
        self.limit = limit
        self.logger = logger or logging.getLogger("airbyte")
        self.pages = 0

    def walk(self, before: Optional[datetime]) -> Iterator[LogEntry]:
        edge_time: Optional[datetime] = None
        edge_seen: Counter = Counter()
        while True:
            page = self.fetch_page(before)
            self.pages += 1
            if not page:
                return
            fresh = self._skip_seen(page, edge_time, edge_seen)
            yield from fresh
            if len(page) < self.limit:
                return
            times = [entry_time(entry) for entry in page]
            oldest = min(times)
            if oldest == max(times):
                # A full page of one timestamp: asking again for that timestamp returns the same page.
                self.logger.warning(
                    f"At least {self.limit} log entries share the timestamp {page[-1].get('timestamp')}; "
                    f"any beyond the first {self.limit} cannot be read (PostHog pages logs by time only)"
                )
                before, edge_time, edge_seen = oldest, None, Counter()
                continue
            tied = Counter(entry_key(entry) for entry, moment in zip(page, times) if moment == oldest)
            before, edge_time, edge_seen = oldest + ONE_MICROSECOND, oldest, tied

    @staticmethod
    def _skip_seen(page: List[LogEntry], edge_time: Optional[datetime], edge_seen: Counter) -> List[LogEntry]:
        """The entries of `page` not emitted yet: those at `edge_time` were, up to their count."""
        if edge_time is None:
            return page
        pending = Counter(edge_seen)
        fresh = []
        for entry in page:
            key = entry_key(entry)
            if pending[key] > 0 and entry_time(entry) == edge_time:
                pending[key] -= 1
                continue
            fresh.append(entry)
        return fresh
