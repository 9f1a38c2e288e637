"""JSON Lines: one JSON value per line, parsed with orjson for speed."""

from __future__ import annotations

import logging
from typing import BinaryIO, Iterator

import orjson

from source_exports.download.parsers.base import RecordParser, Row, register
from source_exports.download.parsers.json_parser import as_row
from source_exports.errors import RecordParseError


@register
class JsonLinesParser(RecordParser):
    """Newline-delimited JSON; blank lines are skipped."""

    format = "jsonl"

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        for line_number, line in enumerate(stream, start=1):
            if line_number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
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
