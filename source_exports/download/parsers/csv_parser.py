"""CSV: header-driven rows from a text stream over the raw body.

The stdlib csv reader gets a text stream (never `iter_lines`, which breaks quoted newlines).
A BOM is removed, NUL bytes are kept as data, and ragged rows are kept: missing cells become
null, surplus cells go to `_ab_extra_values`, and each is reported with its row number.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from typing import BinaryIO, Iterator

from source_exports.download.parsers.base import RecordParser, Row, register
from source_exports.errors import RecordParseError

EXTRA_VALUES_COLUMN = "_ab_extra_values"
csv.field_size_limit(sys.maxsize)  # vendors put whole JSON documents in one cell


@register
class CsvParser(RecordParser):
    """RFC-4180 CSV with a header row, UTF-8 (with or without BOM)."""

    format = "csv"
    typed_values = False
    max_reported_ragged_rows = 10

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=False)
        row_number = 0
        ragged = 0
        try:
            header = next(reader, None)
            if header is None:
                return
            width = len(header)
            for row_number, cells in enumerate(reader, start=1):
                if len(cells) == width:
                    yield dict(zip(header, cells))
                    continue
                if not cells:
                    continue  # a blank line carries no data
                ragged += 1
                if ragged <= self.max_reported_ragged_rows:
                    logger.warning(
                        f"{file_name}: row {row_number} has {len(cells)} cells, the header has {width}; "
                        "missing cells are null, extra cells are kept in _ab_extra_values"
                    )
                record: Row = dict(zip(header, cells))
                if len(cells) < width:
                    record.update((column, None) for column in header[len(cells):])
                else:
                    record[EXTRA_VALUES_COLUMN] = cells[width:]
                yield record
        except UnicodeDecodeError as error:
            raise RecordParseError(
                f"File is not valid UTF-8 ({error.reason} at byte offset {error.start} of a chunk)",
                file=file_name,
                row=row_number + 1,
                hint="Ask the vendor for a UTF-8 export",
            ) from error
        except csv.Error as error:
            raise RecordParseError(f"Malformed CSV: {error}", file=file_name, row=row_number + 1) from error
        finally:
            text.detach()
        if ragged:
            logger.warning(f"{file_name}: {ragged} ragged row(s) kept (see _ab_extra_values / null cells)")
