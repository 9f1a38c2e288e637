"""Jobs run ahead in a bounded thread pool and taken strictly in order: how waiting overlaps.

Waiting on a vendor (an export being built) or on storage (a file downloading) costs wall time,
not CPU, so the next items' jobs run while the current one is used. `Ahead` is that one
mechanism for every such overlap: PostHog's export windows, the Spaaza exports of a sync, and
(through `ahead`) files downloaded ahead by `ExportFileReader.read_many` and SourceCraft.

- Bounded: at most `concurrency` jobs run at once, and taking an item starts the jobs of at most
  `lookahead` items after it; items are pulled from their iterable only when their job starts.
- In order: each item's result is handed out at its own position; a job's failure is raised
  there (`Future.result()`), after the results of the items before it.
- Stoppable: `close` cancels the jobs not started, ends the pause of those waiting
  (`Ahead.sleep` raises `Closed`) and joins the threads.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Dict, Generic, Iterable, Iterator, List, Optional, Tuple, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Sleep = Callable[[float], None]
"""A job's pause between two polls: `time.sleep`, or `Ahead.sleep` for a job run ahead."""


class Closed(Exception):
    """Raised inside a job's pause once its `Ahead` is closed, so the job stops waiting."""


class Ahead(Generic[Item, Result]):
    """`run(item, sleep)` for `items`, started ahead of the item taken, results taken in item order.

    `lookahead` (default `concurrency - 1`) counts the item taken as one of the jobs in flight, as
    for an export whose download still occupies the vendor while it is read; downloads pass
    `concurrency`, a file already downloaded costing nothing while it is read.

    >>> jobs = Ahead(windows, run=run_export, concurrency=3, name="posthog-export")  # doctest: +SKIP
    >>> export = jobs.result_for(windows[0])  # windows[1] and [2] are being exported meanwhile  # doctest: +SKIP
    >>> unread = jobs.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        items: Iterable[Item],
        run: Callable[[Item, Sleep], Result],
        concurrency: int,
        lookahead: Optional[int] = None,
        name: str = "ahead",
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.lookahead = self.concurrency - 1 if lookahead is None else max(0, lookahead)
        self._run = run
        self._name = name
        self._source = iter(items)
        self._items: List[Item] = []
        self._exhausted = False
        self._futures: Dict[int, Future] = {}
        self._started = 0
        self._closed = threading.Event()
        self._pool: Optional[ThreadPoolExecutor] = None

    def take(self, position: int) -> Optional[Tuple[Item, Future]]:
        """Item `position` and its job's future, while the jobs of the `lookahead` items after it start.

        The jobs of earlier items not taken (the caller skipped them) are cancelled, not waited for.
        None when there is no such item, its job was taken already, or the jobs are closed.
        """
        if self._closed.is_set():
            return None
        for earlier in [index for index in self._futures if index < position]:
            self._futures.pop(earlier).cancel()
        self._started = max(self._started, position)
        while self._started <= position + self.lookahead and self._pulled(self._started):
            self._start(self._started)
            self._started += 1
        future = self._futures.pop(position, None)
        return None if future is None else (self._items[position], future)

    def result_for(self, item: Item) -> Result:
        """`item`'s result, from its job run ahead; run here when it is not among the items or was taken.

        After `close` every item runs here, with a plain `time.sleep`: nothing runs ahead any more.
        """
        if self._closed.is_set():
            return self._run(item, time.sleep)
        position = self._position(item)
        taken = None if position is None else self.take(position)
        if taken is None:
            return self._run(item, self.sleep)
        return taken[1].result()

    def finished(self) -> bool:
        """True once every item's job was taken (or skipped): nothing is left to run ahead."""
        return not self._futures and not self._pulled(self._started)

    def sleep(self, seconds: float) -> None:
        """A job's pause that ends early, raising `Closed`, when the jobs are closed."""
        if self._closed.wait(seconds):
            raise Closed("the read ended before this job's result was taken")

    def close(self) -> List[Future]:
        """Cancel the jobs not started, stop those pausing, join the threads.

        Returns the futures of the jobs started ahead and never taken (they ran, at least in part),
        for the caller to say so or release what they made.
        """
        self._closed.set()
        unread = [future for future in self._futures.values() if not future.cancel()]
        self._futures.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        return unread

    def _pulled(self, position: int) -> bool:
        """Whether item `position` exists, pulling items from the iterable up to it."""
        while len(self._items) <= position and not self._exhausted:
            try:
                self._items.append(next(self._source))
            except StopIteration:
                self._exhausted = True
        return position < len(self._items)

    def _position(self, item: Item) -> Optional[int]:
        position = 0
        while self._pulled(position):
            if self._items[position] == item:
                return position
            position += 1
        return None

    def _start(self, position: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=self._name)
        self._futures[position] = self._pool.submit(self._run, self._items[position], self.sleep)


def ahead(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    concurrency: int,
    discard: Optional[Callable[[Result], None]] = None,
    name: str = "export-download",
) -> Iterator[Tuple[Item, Future]]:
    """`(item, future of work(item))` in input order, up to `concurrency` items worked on ahead of the one taken.

    The caller decides per item what a failure means (`future.result()` raises it), so one file's
    failure can be reported while the others are still read. When the caller stops early, work not
    started is cancelled and `discard` is applied to every result already made.
    """
    jobs: Ahead[Item, Result] = Ahead(
        items, lambda item, sleep: work(item), concurrency, lookahead=concurrency, name=name
    )
    try:
        position = 0
        while (taken := jobs.take(position)) is not None:
            yield taken
            position += 1
    finally:
        for future in jobs.close():
            if discard is not None and future.exception() is None:
                discard(future.result())
