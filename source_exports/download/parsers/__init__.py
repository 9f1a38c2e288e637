"""File-format parsers behind one interface; importing this package registers them all."""

from source_exports.download.parsers import csv_parser, json_parser, jsonl_parser, parquet_parser  # noqa: F401
from source_exports.download.parsers.base import PARSERS, RecordParser, Row, get_parser, register

__all__ = ["PARSERS", "RecordParser", "Row", "get_parser", "register"]
