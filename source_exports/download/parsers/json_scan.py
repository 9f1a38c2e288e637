"""Bounds what ijson may build from one JSON document: nesting depth, string size and item size.

ijson builds each array item in memory, so a 200 KB document nested 100,000 levels deep, a string
of gigabytes or an item of gigabytes would be built whole. `LimitedJson` reads the document for
ijson and checks every chunk as it passes, at C speed (regular-expression and `bytes` passes, no
Python loop per byte): complete strings are cut out, the brackets left are reduced pair by pair,
and only a chunk that might nest too deep is walked bracket by bracket.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from source_exports.download.limits import FileLimits, LimitSignal

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.S)
"""The inside of a string from where a chunk starts: ends before its closing quote (or at a lone
backslash that the next chunk completes)."""
_PAIR = re.compile(rb"[\[{][\]}]")
_NOT_BRACKET = bytes(code for code in range(256) if code not in b"[]{}")
_OPENING = (0x5B, 0x7B)


class LimitedJson:
    """A read-through view of a JSON byte stream that raises `LimitSignal` when a limit is passed.

    `base` is the depth of the records: 1 for the items of a top-level array, 0 for a sequence of values.
    """

    def __init__(self, stream: Any, limits: FileLimits, base: int) -> None:
        self._stream = stream
        self._limits = limits
        self._base = base
        self._max_depth = limits.max_nesting_depth + base  # the enclosing array is not part of a record
        self._depth = 0
        self._in_string = False
        self._escaped = False  # the chunk ended on a backslash inside a string
        self._string_bytes = 0
        self._record_bytes = 0
        self._pending: Optional[LimitSignal] = None

    def read(self, size: int = -1) -> bytes:
        if self._pending is not None:
            raise self._pending
        chunk = self._stream.read(size)
        if not chunk:
            return chunk
        before = (self._depth, self._in_string, self._escaped, self._string_bytes)
        try:
            self._scan(chunk)
        except LimitSignal as signal:
            # ijson first gets the bytes before the violation, so the records before it come out and the
            # error names the record that broke the limit; the next read raises
            offset = self._violation_offset(chunk, *before)
            if not offset:
                raise
            self._pending = signal
            return chunk[:offset]
        return chunk

    def _scan(self, chunk: bytes) -> None:
        start_depth = self._depth
        structural = self._structural(chunk)
        brackets = structural.translate(None, _NOT_BRACKET)
        reduced, passes = brackets, 0
        budget = self._max_depth - start_depth
        while passes <= budget:
            shorter = _PAIR.sub(b"", reduced)
            if len(shorter) == len(reduced):
                break
            reduced, passes = shorter, passes + 1
        closes = reduced.count(b"]") + reduced.count(b"}")
        opens = len(reduced) - closes
        if start_depth + opens + passes > self._max_depth:
            self._walk(brackets, start_depth)
        lowest = start_depth - closes
        self._depth = max(0, lowest + opens)
        if lowest <= self._base:
            self._record_bytes = len(chunk) if self._depth > self._base else 0
        elif self._depth > self._base:
            self._record_bytes += len(chunk)
        if self._record_bytes > self._limits.max_record_bytes:
            raise LimitSignal("A JSON record", "max_record_bytes", self._limits.max_record_bytes)

    def _structural(self, chunk: bytes) -> bytes:
        """The chunk without its strings; tracks a string left open at its end."""
        position = 0
        if self._in_string:
            end = _STRING_REST.match(chunk, 1 if self._escaped else 0).end()
            if end >= len(chunk) or chunk[end] == 0x5C:  # still inside; a lone backslash escapes the next byte
                self._escaped = end < len(chunk)
                self._grow_string(len(chunk))
                return b""
            self._in_string = self._escaped = False  # chunk[end] is the closing quote
            self._grow_string(end + 1)
            position = end + 1
        rest = chunk[position:] if position else chunk
        if b"\\" not in rest:  # no escapes: quotes simply alternate, and a split finds the strings
            parts = rest.split(b'"')
            if len(parts) % 2:
                return b"".join(parts[::2])
            rest = b"".join(parts[:-1:2])
            tail = parts[-1]
            opened = len(rest)
        else:
            rest = _STRING.sub(b"", rest)
            opened = rest.find(b'"')
            if opened < 0:
                return rest
            tail = rest[opened + 1 :]  # a string still open at the end of the chunk
        self._in_string = True
        self._string_bytes = 0
        self._escaped = _STRING_REST.match(tail).end() < len(tail)
        self._grow_string(len(tail))
        return rest[:opened]

    def _grow_string(self, count: int) -> None:
        self._string_bytes += count
        if self._string_bytes > self._limits.max_field_bytes:
            raise LimitSignal("A JSON string", "max_field_bytes", self._limits.max_field_bytes)

    def _walk(self, brackets: bytes, depth: int) -> None:
        """Exact check, only for a chunk that might nest too deep: one step per bracket."""
        for code in brackets:
            depth += 1 if code in _OPENING else -1
            if depth > self._max_depth:
                raise LimitSignal("A JSON record's nesting", "max_nesting_depth", self._limits.max_nesting_depth)

    def _violation_offset(self, chunk: bytes, depth: int, in_string: bool, escaped: bool, string_bytes: int) -> int:
        """Where in `chunk` the nesting or a string first passes its limit, byte by byte (a failing file only);
        the whole chunk when the record size did (an item larger than the limit is not complete in it)."""
        deepest, longest = self._max_depth, self._limits.max_field_bytes
        for offset, code in enumerate(chunk):
            if in_string:
                string_bytes += 1
                if string_bytes > longest:
                    return offset
                if escaped:
                    escaped = False
                elif code == 0x5C:
                    escaped = True
                elif code == 0x22:
                    in_string = False
            elif code == 0x22:
                in_string, string_bytes = True, 0
            elif code in _OPENING:
                depth += 1
                if depth > deepest:
                    return offset
            elif code in (0x5D, 0x7D):
                depth -= 1
        return len(chunk)
