"""Work done ahead, results taken in order: how independent files download concurrently.

`ahead` runs `work` on up to `concurrency` items at once in a bounded thread pool and hands
back `(item, future)` pairs strictly in input order, submitting the next item whenever one is
taken. The caller decides per item what a failure means (`future.result()` raises it), so one
file's failure can be reported while the others are still read. When the caller stops early,
work not started is cancelled and `discard` is applied to every result already made.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Deque, Iterable, Iterator, Optional, Tuple, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def ahead(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    concurrency: int,
    discard: Optional[Callable[[Result], None]] = None,
    name: str = "export-download",
) -> Iterator[Tuple[Item, Future[Result]]]:
    """`(item, future of work(item))` in input order, at most `concurrency` running or waiting to be taken."""
    width = max(1, concurrency)
    pending: Deque[Tuple[Item, Future]] = deque()
    source = iter(items)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix=name) as pool:

        def fill() -> None:
            while len(pending) < width:
                item = next(source, _END)
                if item is _END:
                    return
                pending.append((item, pool.submit(work, item)))

        try:
            fill()
            while pending:
                taken = pending.popleft()
                fill()  # the next file downloads while this one is read
                yield taken
        finally:
            for _, future in pending:
                future.cancel()
            for _, future in pending:
                if discard is not None and not future.cancelled() and future.exception() is None:
                    discard(future.result())


_END = object()
