"""Reads one export file end to end: fetch → decode → parse → rows with source metadata."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Mapping, Optional

from source_exports.download.codecs import open_decoded
from source_exports.download.fetch import Fetcher, UrlMinter
from source_exports.download.parsers import Row, get_parser

LOGGER = logging.getLogger("airbyte")

FILE_COLUMN = "_ab_source_file"
ROW_COLUMN = "_ab_source_row"


@dataclass(frozen=True)
class ExportFile:
    """One downloadable file: how to mint its URL, its format, and columns to add to each row.

    `name` is what records and logs show: a file name, never a signed URL.
    """

    name: str
    mint: UrlMinter
    format: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


class ExportFileReader:
    """Streams the rows of export files, adding `_ab_source_file`, `_ab_source_row` and metadata.

    >>> reader = ExportFileReader()
    >>> for row in reader.read(ExportFile("out.csv", mint=lambda: url, format="csv")):  # doctest: +SKIP
    ...     print(row["_ab_source_row"])
    """

    def __init__(self, fetcher: Optional[Fetcher] = None, logger: logging.Logger = LOGGER) -> None:
        self.fetcher = fetcher or Fetcher()
        self.logger = logger

    def read(self, export: ExportFile, limit: Optional[int] = None) -> Iterator[Row]:
        """Yield the file's rows in order; stop (and close the connection) after `limit` rows."""
        parser = get_parser(export.format)
        started = time.monotonic()
        rows = 0
        with contextlib.closing(self.fetcher.open(export.mint, export.name)) as body:
            decoded = open_decoded(body)
            for rows, row in enumerate(parser.parse_records(decoded, export.name, self.logger), start=1):
                row[FILE_COLUMN] = export.name
                row[ROW_COLUMN] = rows
                row.update(export.metadata)
                yield row
                if limit is not None and rows >= limit:
                    return
            seconds = time.monotonic() - started
            self.logger.info(
                f"{export.name}: {rows:,} rows, {body.position / 1e6:,.1f} MB in {seconds:,.1f} s"
                + (f" ({body.resumes} resumes)" if body.resumes else "")
            )

    def sample(self, export: ExportFile, limit: int = 100) -> List[Row]:
        """The first `limit` rows: enough to infer a schema, without reading the whole file."""
        return list(self.read(export, limit=limit))
