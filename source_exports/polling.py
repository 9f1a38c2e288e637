"""The one polling schedule every export-job lifecycle uses: growing intervals under a deadline.

Vendors differ in what a job's states mean, not in how politely to wait for them; each
vendor's `jobs.py` asks this schedule how long it has waited, whether the deadline passed,
and to pause before the next poll.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

POLL_GROWTH = 1.5
"""Each pause is half as long again as the previous one (polite to the vendor, quick at first)."""


class PollSchedule:
    """Tracks elapsed time and the next pause for one job.

    >>> schedule = PollSchedule(interval=2, timeout=600, ceiling=60)
    >>> while not job_done() and not schedule.expired:  # doctest: +SKIP
    ...     schedule.pause()
    """

    def __init__(
        self,
        interval: float,
        timeout: float,
        ceiling: Optional[float] = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.timeout = timeout
        self.ceiling = max(ceiling if ceiling is not None else interval, interval)
        self._sleep = sleep
        self._clock = clock
        self._started = clock()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    @property
    def expired(self) -> bool:
        return self.elapsed >= self.timeout

    def pause(self) -> None:
        """Sleep until the next poll (never past the deadline), then lengthen the interval."""
        self._sleep(min(self.interval, max(0.0, self.timeout - self.elapsed)))
        self.interval = min(self.interval * POLL_GROWTH, self.ceiling)
