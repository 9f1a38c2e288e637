"""The one interface every file format's row parser implements (the formats themselves: `download/formats.py`)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, BinaryIO, Dict, Iterator

Row = Dict[str, Any]


class RecordParser(ABC):
    """Turns a decoded byte stream into one dict per row, streaming.

    Parsers never touch HTTP and never hold a whole file in memory. They raise
    `RecordParseError` naming the file and row for data they cannot read.

    >>> parser = get_parser("csv")  # from source_exports.download.formats
    >>> list(parser.parse_records(io.BytesIO(b"a,b\\n1,2\\n"), "x.csv", logger))  # doctest: +SKIP
    [{'a': '1', 'b': '2'}]
    """

    @abstractmethod
    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        """Yield the rows of `stream`, in file order."""
