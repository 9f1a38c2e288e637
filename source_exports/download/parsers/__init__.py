"""File-format parsers behind one interface; importing this package registers them all."""

from source_exports.download.parsers import (  # noqa: F401
    csv_parser,
    json_parser,
    jsonl_parser,
    junit_parser,
    parquet_parser,
)
from source_exports.download.parsers.base import PARSERS, RecordParser, Row, get_parser, register

__all__ = ["PARSERS", "RecordParser", "Row", "get_parser", "register"]
