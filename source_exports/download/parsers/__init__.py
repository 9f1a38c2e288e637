"""File-format row parsers behind one interface, one module per format (registered in `download/formats.py`)."""

from source_exports.download.parsers.base import RecordParser, Row

__all__ = ["RecordParser", "Row"]
