"""JSON Lines: one JSON value per line, parsed with orjson for speed.

Lines are read with a cap (`file_limits.max_record_bytes`), so a line without end (a decompression
bomb) is refused rather than held whole, and a line nesting deeper than `max_nesting_depth` is
refused before orjson builds it.
"""

from __future__ import annotations

import logging
from typing import BinaryIO, Iterator

import orjson

from source_exports.download.limits import LimitSignal, bounded_lines, check_depth, current
from source_exports.download.parsers.base import RecordParser, Row
from source_exports.download.parsers.json_parser import as_row
from source_exports.errors import RecordParseError


class JsonLinesParser(RecordParser):
    """Newline-delimited JSON; blank lines are skipped."""

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        limits = current()
        depth = limits.max_nesting_depth
        line_number = 0
        try:
            for line_number, line in enumerate(
                bounded_lines(stream.readline, limits.max_record_bytes, "A JSON Lines line"), start=1
            ):
                if line_number == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                check_depth(line, depth)
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise RecordParseError(
                        f"Invalid JSON on line {line_number} ({error.msg})",
                        file=file_name,
                        row=line_number,
                        hint="The file may be truncated; re-run the export",
                    ) from error
                yield as_row(value)
        except LimitSignal as signal:
            raise signal.error(file_name, line_number + (signal.limit_name == "max_record_bytes")) from None
