"""`StreamEstimate`: what a stream is known to hold in this sync, sent as Airbyte ESTIMATE traces.

Vendors report counts where their APIs give one (Cargo's run `count`, PostHog's
`records_completed`), and the download layer reports each file's `Content-Length`. The platform
keeps the latest estimate of a stream, so every message carries the stream's running totals,
and only the newest totals are sent when several reports arrive between two messages. The
platform refuses an estimate without both numbers, so a quantity nobody reported is sent as 0.
"""

from __future__ import annotations

import threading
import time
from typing import Iterable, Iterator, List, Optional, TypeVar

from airbyte_cdk.models import (
    AirbyteEstimateTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    EstimateType,
    TraceType,
)
from airbyte_cdk.models import Type as MessageType

Message = TypeVar("Message")


class StreamEstimate:
    """Running totals of one stream's rows and bytes, drained as ESTIMATE messages between its records.

    >>> estimate = StreamEstimate("cargo_runs")
    >>> estimate.add_rows(120)
    >>> [message.trace.estimate.row_estimate for message in estimate.drain()]
    [120]
    """

    def __init__(self, stream: str, namespace: Optional[str] = None) -> None:
        self.stream = stream
        self.namespace = namespace
        self.rows = 0
        self.size = 0
        self._changed = False
        self._lock = threading.Lock()  # file sizes may be reported by download threads (`read_many`)

    def add_rows(self, rows: int) -> None:
        """`rows` more rows are known to come (e.g. a window's count)."""
        self._add(rows, 0)

    def add_bytes(self, size: int) -> None:
        """A file of `size` bytes is being downloaded for this stream."""
        self._add(0, size)

    @property
    def pending(self) -> bool:
        """True when totals changed since the last `drain`."""
        return self._changed

    def drain(self) -> List[AirbyteMessage]:
        """One ESTIMATE with the current totals if they changed since the last call, else nothing."""
        with self._lock:
            if not self._changed:
                return []
            self._changed = False
            estimate = AirbyteEstimateTraceMessage(
                name=self.stream,
                namespace=self.namespace,
                type=EstimateType.STREAM,
                row_estimate=self.rows,
                byte_estimate=self.size,
            )
        trace = AirbyteTraceMessage(type=TraceType.ESTIMATE, emitted_at=time.time() * 1000, estimate=estimate)
        return [AirbyteMessage(type=MessageType.TRACE, trace=trace)]

    def _add(self, rows: int, size: int) -> None:
        if not (is_count(rows) and is_count(size)) or not rows + size:
            return  # nothing known, or a vendor value that is not a count
        with self._lock:
            self.rows += rows
            self.size += size
            self._changed = True


def is_count(value: object) -> bool:
    """A whole number of things, as vendors' JSON spells counts (not a bool, not negative)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def with_estimates(messages: Iterable[Message], estimate: Optional[StreamEstimate]) -> Iterator[Message]:
    """`messages` with the stream's ESTIMATEs put in before the message whose reading reported them."""
    if estimate is None:
        yield from messages
        return
    for message in messages:
        if estimate.pending:
            yield from estimate.drain()
        yield message
    yield from estimate.drain()
