"""The one polling schedule every export-job lifecycle uses: growing intervals under a deadline.

Vendors differ in what a job's states mean, not in how politely to wait for them; each
vendor's `jobs.py` is a `PolledJob` and checks its job once per `PollSchedule.polls()`, the one
polling loop: it pauses between checks and ends after a check made past the deadline. A pause
longer than POLL_HEARTBEAT_SECONDS is cut into pieces with a log line after each, so a sync
waiting on a slow job is never silent for long (the platform ends a source that prints nothing
for `maxSecondsBetweenMessages`).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterator, Optional

LOGGER = logging.getLogger("airbyte")

POLL_GROWTH = 1.5
"""Each pause is half as long again as the previous one (polite to the vendor, quick at first)."""
POLL_HEARTBEAT_SECONDS = 120.0
"""Longest silence while waiting between two polls: a longer pause logs a line every this many seconds."""


class PollSchedule:
    """Tracks elapsed time and the next pause for one job.

    >>> schedule = PollSchedule(interval=2, timeout=600, ceiling=60)
    >>> for poll in schedule.polls():  # doctest: +SKIP
    ...     if job_done():
    ...         break
    ... else:
    ...     raise JobTimeout("still running")
    """

    def __init__(
        self,
        interval: float,
        timeout: float,
        ceiling: Optional[float] = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        label: str = "the export job",
    ) -> None:
        self.label = label
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

    def polls(self) -> Iterator[int]:
        """Yields before each check of the job (0 first) and pauses between two checks.

        Ends after a check made at or past the deadline: the caller's next line raises its timeout.
        """
        poll = 0
        while True:
            yield poll
            if self.expired:
                return
            self.pause()
            poll += 1

    def pause(self) -> None:
        """Sleep until the next poll (never past the deadline), then lengthen the interval."""
        remaining = min(self.interval, max(0.0, self.timeout - self.elapsed))
        while remaining > POLL_HEARTBEAT_SECONDS:
            self._sleep(POLL_HEARTBEAT_SECONDS)
            remaining -= POLL_HEARTBEAT_SECONDS
            LOGGER.info(
                f"Still waiting for {self.label}: {self.elapsed:,.0f} s of at most {self.timeout:,.0f} s; "
                f"next check in {remaining:,.0f} s"
            )
        self._sleep(remaining)
        self.interval = min(self.interval * POLL_GROWTH, self.ceiling)


class PolledJob:
    """What every vendor's export job shares: how it waits (tests hand in a fake sleep and clock)."""

    def __init__(
        self, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.sleep = sleep
        self.clock = clock

    def schedule(self, interval: float, timeout: float, ceiling: float, label: str) -> PollSchedule:
        """The polling schedule of one wait for this job."""
        return PollSchedule(interval, timeout, ceiling=ceiling, sleep=self.sleep, clock=self.clock, label=label)
