"""The one interface every file format implements, and the format → parser registry."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, BinaryIO, ClassVar, Dict, Iterator, Type

from source_exports.errors import ConfigError

Row = Dict[str, Any]


class RecordParser(ABC):
    """Turns a decoded byte stream into one dict per row, streaming.

    Parsers never touch HTTP and never hold a whole file in memory. They raise
    `RecordParseError` naming the file and row for data they cannot read.

    >>> parser = get_parser("csv")
    >>> list(parser.parse_records(io.BytesIO(b"a,b\\n1,2\\n"), "x.csv", logger))  # doctest: +SKIP
    [{'a': '1', 'b': '2'}]
    """

    format: ClassVar[str]
    """The format name used in configs and by the registry."""
    typed_values: ClassVar[bool] = True
    """False when every value is text (CSV): schema inference then keeps strings."""

    @abstractmethod
    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        """Yield the rows of `stream`, in file order."""


PARSERS: Dict[str, Type[RecordParser]] = {}


def register(parser: Type[RecordParser]) -> Type[RecordParser]:
    """Class decorator adding a parser to the registry under its `format`."""
    PARSERS[parser.format] = parser
    return parser


def get_parser(file_format: str) -> RecordParser:
    """A parser instance for `file_format`, or a ConfigError listing the supported formats."""
    try:
        return PARSERS[file_format]()
    except KeyError:
        raise ConfigError(
            f"Unsupported file format '{file_format}'", hint=f"Supported formats: {', '.join(sorted(PARSERS))}"
        ) from None
