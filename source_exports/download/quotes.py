"""Strict-quoting check on raw CSV bytes, so the vectorised CSV reader refuses what the row path refuses.

The row path parses with `csv.reader(strict=True)`: text after a closing quote (`"x"y`) or a
quoted field still open at the end of the file is an error. pyarrow's CSV reader accepts the
first silently (`xy`), so `QuoteCheck` wraps the byte stream pyarrow reads and checks every
quote as the bytes pass, with numpy, carrying its state across reads:

- quotes alternate open/close (an escaped `""` inside a quoted field is a close and a re-open);
- an opening quote must start a field: after a delimiter, a line break, the start of the file,
  or right after the closing quote it re-opens (`""`);
- a closing quote must end a field: a delimiter, a line break, a quote (`""`) or the end follows;
- the file ends outside quotes.

It also never ends a read between a CR and what follows it: pyarrow (21) drops the LF of a
quoted CRLF that straddles two of its blocks.

A quote inside an unquoted field (`x"y`, legal for the row path) also fails the check: the
check is conservative, and such files simply stay on the row path. Any failure sets `violation`
before pyarrow has seen the bytes, so no row at or after the bad quote has been emitted.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, Optional

QUOTE = 0x22
OPENS_AFTER = (ord(","), ord("\r"), ord("\n"), QUOTE)
CLOSES_BEFORE = (ord(","), ord("\r"), ord("\n"), QUOTE)
BOM = b"\xef\xbb\xbf"


def _edge_table() -> Any:
    import numpy as np

    table = np.zeros(256, dtype=bool)
    table[list(OPENS_AFTER)] = True
    return table


EDGE = _edge_table()
"""byte → may stand next to a field's quote: before an opening one, after a closing one (the same set)."""


class QuoteCheck(io.RawIOBase):
    """A read-through view of `stream` that records the first strict-quoting violation it sees."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._odd = False  # an odd number of quotes so far: inside a quoted field
        self._last = ord("\n")  # the byte before the next one (the start of the file acts as a line break)
        self._close_pending = False  # the last byte read was a closing quote: the next byte must end the field
        self._started = False
        self._carry = b""  # CRs held back from the end of the last read
        self.violation: Optional[str] = None
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0:
            data, self._carry = self._carry + self._stream.read(), b""
        elif len(self._carry) >= size:
            data, self._carry = self._carry[:size], self._carry[size:]
        else:
            data, self._carry = self._carry + self._stream.read(size - len(self._carry)), b""
            kept = len(data.rstrip(b"\r"))
            if 0 < kept < len(data):  # never end a read between CR and LF: pyarrow loses the LF there
                data, self._carry = data[:kept], data[kept:]
        self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        if self.violation is not None:
            return
        start = 0
        if not self._started and data:
            self._started = True
            if data.startswith(BOM):
                start = len(BOM)
        if not data:
            if self._odd:
                self.violation = f"a quoted field is still open at the end (byte {self.position})"
            return
        self._scan(data, start)
        self.position += len(data)

    def _scan(self, data: bytes, start: int) -> None:
        """Opening and closing quotes are alternate entries of the quote positions (numpy strides,
        no per-quote parity arrays); each needs one gathered neighbour and one table lookup, both by
        `take` (half the time of fancy indexing on quote-heavy blocks). A quote next to another
        quote always passes both rules (`""`)."""
        import numpy as np

        if start >= len(data):
            return
        view = np.frombuffer(data, dtype=np.uint8, offset=start)
        if self._close_pending:
            self._close_pending = False
            if not EDGE[view[0]]:  # the same set as before an opening quote
                self.violation = f"text after a closing quote (byte {self.position + start})"
                return
        quotes = np.flatnonzero(view == QUOTE)
        last = int(view[-1])
        if not len(quotes):
            self._last = last
            return
        first_open = 1 if self._odd else 0
        opens, closes = quotes[first_open::2], quotes[1 - first_open :: 2]
        bad = []  # the first misplaced opening quote and the first misplaced closing one
        if len(opens) and opens[0] == 0 and not EDGE[self._last]:
            bad.append(0)
        inner = opens[1:] if len(opens) and opens[0] == 0 else opens
        before_ok = EDGE.take(view.take(inner - 1))
        if not before_ok.all():
            bad.append(int(inner[int(np.argmin(before_ok))]))
        inner = closes[:-1] if len(closes) and closes[-1] == len(view) - 1 else closes
        after_ok = EDGE.take(view.take(inner + 1))
        if not after_ok.all():
            bad.append(int(inner[int(np.argmin(after_ok))]))
        if bad:
            self.violation = f"quote at byte {self.position + start + min(bad)} is not at a field boundary"
            return
        self._odd = bool((len(quotes) + first_open) % 2)
        self._close_pending = bool(len(closes) and closes[-1] == len(view) - 1)
        self._last = last
