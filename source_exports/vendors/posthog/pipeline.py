"""Window exports run ahead: the next windows' exports are created and polled while one is read.

PostHog builds each window's export on its side, so waiting for the next window while the
current one downloads costs only one of the team's concurrent file downloads. `ExportPipeline`
keeps at most `concurrency` windows in flight, the one being read included: a worker thread
per window creates its export and waits for it (PostHog's 429 `too_many_concurrent_file_downloads`
is waited out there as usual), and the stream takes each window's finished export in window
order, so rows and state keep their order. A window's failure surfaces when that window is
reached, after the rows and state of the windows before it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence

from source_exports.vendors.posthog.jobs import CompletedExport
from source_exports.windows import Window

Sleep = Callable[[float], None]
RunExport = Callable[[Window, Sleep], CompletedExport]


class PipelineClosed(Exception):
    """Raised inside a worker's pause once the pipeline is closed, so its job stops waiting."""


class ExportPipeline:
    """Runs `run(window, sleep)` for upcoming windows in a bounded pool; hands results out in order.

    >>> pipeline = ExportPipeline(windows, run=run_export, concurrency=3, logger=logger)  # doctest: +SKIP
    >>> export = pipeline.export_for(windows[0])  # windows[1] and [2] are being exported meanwhile  # doctest: +SKIP
    >>> pipeline.close()  # doctest: +SKIP
    """

    def __init__(self, windows: Sequence[Window], run: RunExport, concurrency: int, logger: logging.Logger) -> None:
        self.windows: List[Window] = list(windows)
        self.concurrency = max(1, concurrency)
        self._run = run
        self._logger = logger
        self._futures: Dict[int, Future] = {}
        self._submitted = 0
        self._closed = threading.Event()
        self._pool: Optional[ThreadPoolExecutor] = None

    def export_for(self, window: Window) -> CompletedExport:
        """The finished export of `window`, while the exports of the windows after it start."""
        if self._closed.is_set() or window not in self.windows:
            return self._run(window, self.sleep)  # not planned here (or after close): run it in place
        position = self.windows.index(window)
        for earlier in [index for index in self._futures if index < position]:
            self._futures.pop(earlier).cancel()  # a window skipped by the caller is not waited for
        self._submitted = max(self._submitted, position)
        while self._submitted < min(position + self.concurrency, len(self.windows)):
            self._submit(self._submitted)
            self._submitted += 1
        future = self._futures.pop(position, None)
        if future is None:
            return self._run(window, self.sleep)
        return future.result()

    def sleep(self, seconds: float) -> None:
        """A pause between polls that ends early, raising `PipelineClosed`, when the pipeline closes."""
        if self._closed.wait(seconds):
            raise PipelineClosed("the read of this stream ended")

    def close(self) -> None:
        """Stop every job still waiting (their exports are left to expire in PostHog) and end the threads."""
        self._closed.set()
        unread = [index for index, future in self._futures.items() if not future.cancel()]
        if unread:
            self._logger.info(f"PostHog: {len(unread)} export(s) created ahead were not read; they expire in PostHog")
        self._futures.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _submit(self, index: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="posthog-export")
        self._futures[index] = self._pool.submit(self._run, self.windows[index], self.sleep)
