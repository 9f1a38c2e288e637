"""The file formats the connector reads, one `Format` each, and the one mapping from file names to them.

A format is its row parser (`parsers/`), its optional vectorised batch encoder (the fast read loop,
`vectorised.py` / `parquet_batches.py`), the file-name suffixes that mean it, whether its values are
typed, and the columns its parser adds (or, for JUnit XML, every column). Vendors name a format
(`get_format`) or hand over a file name (`format_for_filename`); none keeps a suffix table or picks
a parser.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Type

from source_exports.download.batch import RecordBatch
from source_exports.download.parquet_batches import parquet_batches
from source_exports.download.parsers.base import RecordParser
from source_exports.download.parsers.csv_parser import EXTRA_VALUES_COLUMN, CsvParser
from source_exports.download.parsers.json_parser import JsonParser
from source_exports.download.parsers.jsonl_parser import JsonLinesParser
from source_exports.download.parsers.junit_parser import COLUMNS as JUNIT_COLUMNS
from source_exports.download.parsers.junit_parser import JUnitXmlParser
from source_exports.download.parsers.parquet_parser import ParquetParser
from source_exports.download.vectorised import csv_batches, jsonl_batches, jsonl_rows, parquet_rows
from source_exports.errors import ConfigError

Encoder = Callable[[BinaryIO, Mapping[str, Any], str], Iterator[RecordBatch]]
"""(decoded stream, metadata columns in row order, file name) → the file's rows as batches."""
RowBlocks = Callable[[BinaryIO, Mapping[str, Any], str], Iterator[List[Dict[str, Any]]]]
"""The same arguments → the file's rows (as the row path gives them), many at a time."""

COMPRESSION_SUFFIXES: Dict[str, str] = {"gzip": ".gz", "zstd": ".zst", "bzip2": ".bz2", "xz": ".xz"}
"""Whole-file compression (by `codecs.MAGIC`'s names) → the suffix a file name then ends with. The
body's magic bytes decide how it is decoded; the suffix is only looked through to find the format."""


@dataclass(frozen=True)
class Format:
    """One file format: how its rows are read, and how its files are named."""

    name: str
    """The name configs, `ExportFile.format` and the registry use."""
    parser: Type[RecordParser]
    suffixes: Tuple[str, ...]
    """Lowercase file-name endings that mean this format; names are built with the first."""
    encoder: Optional[Encoder] = None
    """Rows to batches in bulk for the fast read loop; None: the row path, in batches."""
    row_blocks: Optional[RowBlocks] = None
    """Rows in bulk for streams that work on them first (`ExportFileReader.read_chunks`); None: the row path."""
    typed_values: bool = True
    """False when every value is text (CSV): schema inference then keeps strings."""
    extra_columns: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Columns the parser adds to some rows (not the file's own), with their JSON schema."""
    columns: Optional[Mapping[str, Mapping[str, Any]]] = None
    """The same columns for every file (JUnit XML), with their JSON schema: known without a sample.
    None when the columns are the file's own."""

    def file_name(self, stem: str, compression: Optional[str] = None) -> str:
        """`stem` with this format's suffix, then the suffix of `compression` (a `COMPRESSION_SUFFIXES` key)."""
        return stem + self.suffixes[0] + (COMPRESSION_SUFFIXES[compression] if compression else "")


EXTRA_VALUES_SCHEMA = {"type": ["null", "array"], "items": {"type": ["null", "string"]}}
"""Surplus cells of a ragged CSV row: a list of strings."""

FORMATS: Dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format(
            "csv",
            CsvParser,
            (".csv",),
            encoder=csv_batches,
            typed_values=False,
            extra_columns={EXTRA_VALUES_COLUMN: EXTRA_VALUES_SCHEMA},
        ),
        Format("json", JsonParser, (".json",)),
        Format("jsonl", JsonLinesParser, (".jsonl", ".ndjson"), encoder=jsonl_batches, row_blocks=jsonl_rows),
        Format("junit_xml", JUnitXmlParser, (".xml",), columns=JUNIT_COLUMNS),
        Format("parquet", ParquetParser, (".parquet",), encoder=parquet_batches, row_blocks=parquet_rows),
    )
}


def get_format(name: str) -> Format:
    """The format called `name`, or a ConfigError listing the supported formats."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(
            f"Unsupported file format '{name}'", hint=f"Supported formats: {', '.join(sorted(FORMATS))}"
        ) from None


def get_parser(name: str) -> RecordParser:
    """A parser instance for the format called `name` (a ConfigError for an unknown one, as `get_format`)."""
    return get_format(name).parser()


def format_for_filename(name: str, compressed: bool = True) -> Optional[Format]:
    """The format a file name's ending says, in any case; None when no format claims it.

    One compression suffix is looked through (`r.xml.gz` is JUnit XML) unless `compressed` is False
    (then `x.csv.gz` is no format). Only the last path segment counts (`dir.json/x` is none).
    """
    lowered = name.lower()
    if compressed:
        for suffix in COMPRESSION_SUFFIXES.values():
            if lowered.endswith(suffix):
                lowered = lowered[: -len(suffix)]
                break
    base = lowered.rsplit("/", 1)[-1]
    if "." not in base:
        return None
    return _BY_SUFFIX.get(base[base.rfind(".") :])


_BY_SUFFIX: Dict[str, Format] = {suffix: fmt for fmt in FORMATS.values() for suffix in fmt.suffixes}
