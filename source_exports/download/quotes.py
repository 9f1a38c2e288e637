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
        import numpy as np

        view = np.frombuffer(data, dtype=np.uint8)
        if self._close_pending and start < len(view):
            self._close_pending = False
            if view[start] not in CLOSES_BEFORE:
                self.violation = f"text after a closing quote (byte {self.position + start})"
                return
        quotes = np.flatnonzero(view[start:] == QUOTE) + start
        if not len(quotes):
            self._last = int(view[-1])
            return
        # byte before and after each quote, using the carried byte / a marker past the end
        before = np.empty(len(quotes), dtype=np.int16)
        first = quotes == 0
        before[~first] = view[quotes[~first] - 1]
        before[first] = self._last
        after = np.full(len(quotes), -1, dtype=np.int16)
        inside = quotes + 1 < len(view)
        after[inside] = view[quotes[inside] + 1]
        opening = np.arange(len(quotes)) % 2 == (1 if self._odd else 0)
        bad_open = opening & ~np.isin(before, OPENS_AFTER)
        bad_close = ~opening & (after >= 0) & ~np.isin(after, CLOSES_BEFORE)
        bad = np.flatnonzero(bad_open | bad_close)
        if len(bad):
            where = self.position + int(quotes[bad[0]])
            self.violation = f"quote at byte {where} is not at a field boundary"
            return
        self._odd = bool((len(quotes) % 2) ^ self._odd)
        self._close_pending = not opening[-1] and after[-1] < 0
        self._last = int(view[-1])
