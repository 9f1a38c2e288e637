"""JSON documents: one big array (streamed item by item) or a sequence of JSON values.

Vendors say "json" for both a single array and JSON Lines, so the first byte decides. Arrays
are parsed incrementally with ijson; nothing is loaded whole, and `LimitedJson` bounds the depth,
strings and items ijson may build (`file_limits`). Non-object items are wrapped as
`{"value": item}` so every record is an object.
"""

from __future__ import annotations

import io
import logging
from typing import Any, BinaryIO, Iterator

import ijson

from source_exports.download.limits import LimitSignal, current
from source_exports.download.parsers.base import RecordParser, Row
from source_exports.download.parsers.json_scan import LimitedJson
from source_exports.errors import RecordParseError


def as_row(item: Any) -> Row:
    """Every record must be an object: wrap scalars and lists."""
    return item if isinstance(item, dict) else {"value": item}


def first_significant_byte(stream: io.BufferedReader) -> bytes:
    """Peek past whitespace and a BOM without consuming anything."""
    head = stream.peek(4096)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def is_blank(stream: io.BufferedReader) -> bool:
    """True when the stream holds only whitespace (or nothing); consumes only leading whitespace."""
    while True:
        head = stream.peek(4096)
        if not head:
            return True
        significant = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if significant:
            return False
        stream.read(len(head))


class JsonParser(RecordParser):
    """A JSON array of objects, or concatenated/newline-delimited JSON values."""

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)
        if buffered.peek(3)[:3] == b"\xef\xbb\xbf":
            buffered.read(3)
        if is_blank(buffered):
            logger.warning(f"{file_name}: the file is empty; it holds no rows")
            return
        is_array = first_significant_byte(buffered) == b"["
        checked = LimitedJson(buffered, current(), base=1 if is_array else 0)
        items = (
            ijson.items(checked, "item", use_float=True)
            if is_array
            else ijson.items(checked, "", multiple_values=True, use_float=True)
        )
        index = 0
        try:
            for item in items:
                index += 1
                yield as_row(item)
        except LimitSignal as signal:
            raise signal.error(file_name, index + 1) from None
        except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as error:
            detail = str(error.args[0] if error.args else error)
            if isinstance(error.args[0] if error.args else None, bytes):
                detail = error.args[0].decode("utf-8", errors="replace")
            raise RecordParseError(
                f"Invalid JSON after item {index} ({detail.strip().splitlines()[0] if detail.strip() else error})",
                file=file_name,
                row=index + 1,
                hint="The file may be truncated or not JSON; re-run the export",
            ) from error
