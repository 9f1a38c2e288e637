"""CSV: header-driven rows from a text stream over the raw body.

The stdlib csv reader gets a text stream (never `iter_lines`, which breaks quoted newlines).
A BOM is removed, NUL bytes are kept as data, and ragged rows are kept: missing cells become
null, surplus cells go to `_ab_extra_values`, and each is reported with its row number.
Quoting is parsed strictly: a quoted field still open at the end of the file (a truncated file)
or text after a closing quote fails with the row named, instead of silently gluing the rest of
the file into one cell. An empty file (no header) gives no rows and a warning naming it.
A header that repeats a name (`a,a`), or names a column `_ab_extra_values`, keeps every column:
the later one is read as `a_2` (see `download/columns.py`), with a warning.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import threading
from typing import BinaryIO, Iterator, Optional

from source_exports.download.columns import describe, renamed, unique_names
from source_exports.download.limits import LimitSignal, bounded_lines, current, exceeded
from source_exports.download.parsers.base import RecordParser, Row
from source_exports.errors import RecordParseError

EXTRA_VALUES_COLUMN = "_ab_extra_values"
_DECODING = threading.local()
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_MARK_BAD_BYTES = "source-exports-mark-bad-utf8"


def _mark_bad_bytes(error: UnicodeDecodeError) -> tuple:
    """Decode undecodable bytes as surrogates (as surrogateescape does) and note that it happened.

    The text layer decodes ahead of the csv reader, so a decode error alone cannot say which row
    holds the bad bytes; the surrogates can: the first row holding one is the row to name.
    """
    _DECODING.bad_bytes = True
    return codecs.lookup_error("surrogateescape")(error)


codecs.register_error(_MARK_BAD_BYTES, _mark_bad_bytes)


class CsvParser(RecordParser):
    """RFC-4180 CSV with a header row, UTF-8 (with or without BOM)."""

    max_reported_ragged_rows = 10

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors=_MARK_BAD_BYTES, newline="")
        _DECODING.bad_bytes = False
        limits = current()
        csv.field_size_limit(limits.max_field_bytes)  # generous: vendors put whole JSON documents in one cell
        reader = csv.reader(bounded_lines(text.readline, limits.max_record_bytes, "A CSV line"), strict=True)
        row_number = 0
        ragged = 0
        try:
            header = next(reader, None)
            if header is None:
                logger.warning(f"{file_name}: the file is empty (no header row); it holds no rows")
                return
            header = unique_header(header, file_name, logger)
            width = len(header)
            for row_number, cells in enumerate(reader, start=1):
                if _DECODING.bad_bytes:  # only after a decode error: find the first row holding bad bytes
                    self._refuse_undecodable(header, 0, file_name)
                    self._refuse_undecodable(cells, row_number, file_name, header)
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
                    record.update((column, None) for column in header[len(cells) :])
                else:
                    record[EXTRA_VALUES_COLUMN] = cells[width:]
                yield record
        except LimitSignal as signal:
            raise signal.error(file_name, row_number + 1) from None
        except csv.Error as error:
            if str(error).startswith("field larger than field limit"):
                limit = limits.max_field_bytes
                raise exceeded("A CSV field", "max_field_bytes", limit, file_name, row_number + 1) from error
            raise RecordParseError(
                f"Malformed CSV: {error} (at line {reader.line_num} of the file)",
                file=file_name,
                row=row_number + 1,
                hint="The file is truncated or its quoting is broken; re-run the export, or fix the file at the vendor",
            ) from error
        finally:
            text.detach()
        if _DECODING.bad_bytes:
            self._refuse_undecodable(header, 0, file_name)
        if ragged:
            logger.warning(f"{file_name}: {ragged} ragged row(s) kept (see _ab_extra_values / null cells)")

    @staticmethod
    def _refuse_undecodable(cells: list, row_number: int, file_name: str, header: Optional[list] = None) -> None:
        """Fail naming the row and column of the first cell that holds bytes which are not UTF-8."""
        for index, cell in enumerate(cells):
            found = _UNDECODABLE.search(cell)
            if found is None:
                continue
            column = header[index] if header is not None and index < len(header) else f"#{index + 1}"
            byte = ord(found.group(0)) - 0xDC00
            raise RecordParseError(
                f"File is not valid UTF-8: byte 0x{byte:02x} in column '{column}'"
                if row_number
                else f"File is not valid UTF-8: byte 0x{byte:02x} in the header row",
                file=file_name,
                row=row_number or None,
                hint="Ask the vendor for a UTF-8 export (rows before this one were read)",
            )


def unique_header(header: list, file_name: str, logger: logging.Logger) -> list:
    """The header with repeated names (and `_ab_extra_values`) renamed, so no cell overwrites another."""
    names = unique_names(header, reserved=(EXTRA_VALUES_COLUMN,))
    changes = renamed(header, names)
    if changes:
        logger.warning(
            f"{file_name}: the header repeats column names (or uses {EXTRA_VALUES_COLUMN}); every column is kept, "
            f"read as {describe(changes)}"
        )
    return names
