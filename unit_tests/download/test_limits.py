"""File limits: each one is enforced on every path with an error naming the file, the row and the limit,
files within them read exactly as before, and bad config values name the field."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import random
from typing import Any, Iterator, List

import orjson
import pytest
import zstandard

from source_exports.download import limits, vectorised
from source_exports.download.batch import encode_row
from source_exports.download.codecs import open_decoded
from source_exports.download.formats import get_parser
from source_exports.download.limits import FileLimitExceeded, FileLimits, LimitSignal, nesting_depth
from source_exports.download.parsers.json_scan import LimitedJson
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.errors import ConfigError, CorruptFileError, ErrorPageError, RecordParseError
from unit_tests.download.both_paths import BytesFetcher, outcome

LOGGER = logging.getLogger("test")
SMALL = FileLimits(max_record_bytes=64 * 1024, max_field_bytes=64 * 1024, max_nesting_depth=4)


@pytest.fixture
def small_limits() -> Iterator[FileLimits]:
    limits.configure(SMALL)
    yield SMALL
    limits.configure(limits.DEFAULTS)


def parse(file_format: str, data: bytes) -> List[Any]:
    return list(get_parser(file_format).parse_records(io.BufferedReader(io.BytesIO(data)), "f." + file_format, LOGGER))


def refused(file_format: str, data: bytes) -> FileLimitExceeded:
    with pytest.raises(FileLimitExceeded) as caught:
        parse(file_format, data)
    return caught.value


# ---------------------------------------------------------------- config


def test_given_no_file_limits_when_reading_the_config_then_the_defaults_apply():
    assert FileLimits.from_config({}) == FileLimits() == limits.DEFAULTS
    assert FileLimits.from_config({"file_limits": {"max_nesting_depth": 50}}).max_nesting_depth == 50


@pytest.mark.parametrize(
    "block, field",
    [
        ({"max_nesting_depth": 251}, "file_limits.max_nesting_depth"),
        ({"max_field_bytes": 10}, "file_limits.max_field_bytes"),
        ({"max_record_bytes": "1MB"}, "file_limits.max_record_bytes"),
        ({"max_record_bytes": True}, "file_limits.max_record_bytes"),
        ({"max_record_bytes": 1e300}, "file_limits.max_record_bytes"),
        ("big", "file_limits"),
    ],
)
def test_given_a_bad_file_limit_when_reading_the_config_then_a_config_error_names_the_field(block, field):
    with pytest.raises(ConfigError) as caught:
        FileLimits.from_config({"file_limits": block})
    assert f"field: {field}" in caught.value.user_message


def test_given_the_spec_block_then_every_limit_has_a_title_description_default_and_range():
    block = limits.spec_block()
    assert set(block["properties"]) == {"max_record_bytes", "max_field_bytes", "max_nesting_depth"}
    for name, prop in block["properties"].items():
        assert prop["title"] and prop["description"] and prop["default"] == getattr(limits.DEFAULTS, name)
        assert (prop["minimum"], prop["maximum"]) == limits.RANGES[name]


# ---------------------------------------------------------------- CSV


def test_given_a_csv_line_longer_than_the_limit_when_parsing_then_the_error_names_file_row_and_limit(small_limits):
    error = refused("csv", b"a,b\n1,2\n3," + b"\x00" * 70_000)
    assert error.context == {"file": "f.csv", "row": 2}
    assert "A CSV line exceeds the limit of 65,536 bytes (file_limits.max_record_bytes)" in error.user_message


def test_given_a_csv_cell_longer_than_the_limit_when_parsing_then_the_error_names_the_field_limit(small_limits):
    error = refused("csv", b'a,b\n1,2\n3,"' + b"x\n" * 40_000 + b'"\n')
    assert error.context["row"] == 2 and "file_limits.max_field_bytes" in error.user_message


def test_given_cells_and_lines_within_the_limits_when_parsing_csv_then_rows_are_exact(small_limits):
    cell = "y" * 60_000
    assert parse("csv", f'a,b\n1,"{cell}"\n2,x\n'.encode()) == [{"a": "1", "b": cell}, {"a": "2", "b": "x"}]


# ---------------------------------------------------------------- JSON Lines, both paths


def read_both(data: bytes) -> tuple:
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.jsonl", mint=lambda: "unused", format="jsonl")

    def fast_rows() -> Iterator[Any]:
        for batch in reader.read_batches(export):
            yield from batch.rows()

    old = vectorised.JSONL_BLOCK_SIZE
    vectorised.JSONL_BLOCK_SIZE = 4096
    try:
        return outcome(lambda: reader.read(export), dict.items), outcome(fast_rows, dict.items)
    finally:
        vectorised.JSONL_BLOCK_SIZE = old


@pytest.mark.parametrize(
    "data, row, limit",
    [
        (b'{"a":1}\n{"a":"' + b"z" * 70_000 + b'"}\n{"a":3}\n', 2, "max_record_bytes"),
        (b'{"a":1}\n{"a":"' + b"z" * 70_000, 2, "max_record_bytes"),
        (b'{"a":1}\n{"a":[[[[1]]]]}\n', 2, "max_nesting_depth"),
        (b'{"a":1}\n{"b":2}\n' + b"[" * 30_000 + b"]" * 30_000 + b"\n", 3, "max_nesting_depth"),
    ],
)
def test_given_a_jsonl_line_past_a_limit_when_reading_then_both_paths_fail_at_that_row(small_limits, data, row, limit):
    rows_path, fast_path = read_both(data)
    assert rows_path == fast_path
    rows, error = rows_path
    assert len(rows) == row - 1 and f"row: {row}" in error and f"file_limits.{limit}" in error


def test_given_jsonl_within_the_limits_when_reading_then_both_paths_are_exact(small_limits):
    data = b'{"a":[[["]]]]]]{{{{"]]]}\n{"s":"' + b"q" * 60_000 + b'"}\n'
    rows_path, fast_path = read_both(data)
    assert rows_path == fast_path and rows_path[1] is None and len(rows_path[0]) == 2


# ---------------------------------------------------------------- JSON documents


def test_given_json_nested_past_the_limit_when_parsing_then_the_item_is_named(small_limits):
    error = refused("json", b'[{"a":1},{"a":[[[1]]]},{"a":[[[[1]]]]}]')
    assert error.context == {"file": "f.json", "row": 3} and "4 levels" in error.user_message


def test_given_a_json_string_longer_than_the_field_limit_when_parsing_then_refused(small_limits):
    error = refused("json", b'[{"a":1},{"a":"' + b"\\n" * 40_000 + b'"}]')
    assert error.context["row"] == 2 and "file_limits.max_field_bytes" in error.user_message


def test_given_a_json_item_larger_than_the_record_limit_when_parsing_then_refused(small_limits):
    error = refused("json", b'[{"a":1},{"a":[' + b"1," * 100_000 + b"1]}]")
    assert error.context["row"] == 2 and "file_limits.max_record_bytes" in error.user_message


def random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth <= 0 or kind < 0.3:
        return rng.choice([1, "s", 'q"[{\\', "]]}}", None, "\\\\", "\u00e9"])
    if kind < 0.65:
        return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}[": random_json(rng, depth - 1) for i in range(rng.randint(0, 3))}


class Trickle:
    """Gives a stream's bytes in pieces of random size, so chunk boundaries fall everywhere."""

    def __init__(self, data: bytes, rng: random.Random) -> None:
        self._stream, self._rng = io.BytesIO(data), rng

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(self._rng.randint(1, 9))


def test_given_random_documents_in_random_chunks_when_scanning_then_the_depth_verdict_is_exact():
    rng = random.Random(13)
    for _ in range(300):
        document = [random_json(rng, 7) for _ in range(3)]
        data = json.dumps(document).encode()
        deepest = max(nesting_depth(json.dumps(item).encode()) for item in document)
        for depth_limit in (2, 3, 4, 5):
            scan = LimitedJson(Trickle(data, rng), FileLimits(max_nesting_depth=depth_limit), base=1)
            try:
                while scan.read(8):
                    pass
                verdict = True
            except LimitSignal:
                verdict = False
            assert verdict == (deepest <= depth_limit), (data, depth_limit, deepest)


def test_given_json_strings_with_brackets_and_escapes_when_measuring_depth_then_only_structure_counts():
    assert nesting_depth(b'{"a":"[[[[{{{{","b":"\\"[[["}') == 1
    assert nesting_depth(b'[[{"x":[]}]]') == 4


# ---------------------------------------------------------------- damaged compressed files


@pytest.mark.parametrize(
    "compressed",
    [
        gzip.compress(b"a,b\n" + b"1,2\n" * 5000)[:-30],
        gzip.compress(b"a,b\n1,2\n")[:12] + b"garbage" * 10,
        zstandard.ZstdCompressor().compress(b"a,b\n" + b"1,2\n" * 5000)[:-10] + b"\xff" * 10,
        bz2.compress(b"a,b\n" + b"1,2\n" * 5000)[:-20],
    ],
    ids=["gzip cut short", "gzip garbage", "zstd garbage", "bz2 cut short"],
)
def test_given_a_damaged_compressed_body_when_decoding_then_a_corrupt_file_error_names_the_file(compressed):
    with pytest.raises(CorruptFileError) as caught:
        open_decoded(io.BytesIO(compressed), "f.csv.gz").read()
    assert caught.value.context == {"file": "f.csv.gz"} and caught.value.failure_type.value == "transient_error"


class CountingFetcher(BytesFetcher):
    def __init__(self, bodies: List[bytes]) -> None:
        super().__init__(bodies[0])
        self.bodies, self.opened = bodies, 0

    def open(self, mint: Any, name: str, on_size: Any = None) -> io.BytesIO:
        self.opened += 1
        return io.BytesIO(self.bodies[min(self.opened, len(self.bodies)) - 1])


ROWS = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(3000))


@pytest.mark.parametrize("batches", [False, True])
def test_given_a_body_cut_in_transit_once_when_reading_then_it_is_fetched_again_and_rows_are_exact(batches):
    fetcher = CountingFetcher([gzip.compress(ROWS)[:-200], gzip.compress(ROWS)])
    reader = ExportFileReader(fetcher=fetcher)
    export = ExportFile("f.csv.gz", mint=lambda: "unused", format="csv")
    if batches:
        rows = [row for batch in reader.read_batches(export) for row in batch.rows()]
    else:
        rows = list(reader.read(export))
    assert [row["a"] for row in rows] == [str(i) for i in range(3000)]
    assert [row["_ab_source_row"] for row in rows] == list(range(1, 3001))
    assert fetcher.opened >= 2


def test_given_a_body_cut_after_rows_were_emitted_when_reading_then_it_fails_without_splicing_a_new_download():
    """A fresh URL may be a fresh export (Cargo): rows already emitted are never continued from another file."""
    many = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(300_000))
    fetcher = CountingFetcher([gzip.compress(many)[:-200], gzip.compress(many)])
    reader = ExportFileReader(fetcher=fetcher)
    rows, error = outcome(lambda: reader.read(ExportFile("f.csv.gz", mint=lambda: "unused", format="csv")))
    assert error and "end-of-stream" in error and "f.csv.gz" in error and fetcher.opened == 1
    assert 0 < len(rows) < 300_000 and [dict(row)["a"] for row in rows] == [str(i) for i in range(len(rows))]


def test_given_a_body_damaged_on_every_download_when_reading_then_it_fails_after_one_more_try():
    fetcher = CountingFetcher([gzip.compress(ROWS)[:-200]])
    reader = ExportFileReader(fetcher=fetcher)
    rows, error = outcome(lambda: reader.read(ExportFile("f.csv.gz", mint=lambda: "unused", format="csv")))
    assert fetcher.opened == 2 and error and "f.csv.gz" in error and "end-of-stream" in error
    assert len(rows) == len({tuple(row) for row in rows})  # rows read before the damage, none twice


# ---------------------------------------------------------------- error pages


class TypedBody(io.BytesIO):
    content_type = "text/html; charset=utf-8"


@pytest.mark.parametrize(
    "body, file_format, expected",
    [
        (TypedBody(b"id\n1\n"), "csv", "a text/html page"),
        (io.BytesIO(b"  <!DOCTYPE html><title>Sign in</title>"), "csv", "'Sign in'"),
        (io.BytesIO(b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>'), "jsonl", "NoSuchKey"),
        (io.BytesIO(gzip.compress(b"<html><body>Quota exceeded</body></html>")), "json", "Quota exceeded"),
    ],
)
def test_given_an_error_page_behind_a_data_file_when_reading_then_it_is_refused_naming_the_answer(
    body, file_format, expected
):
    class OneBody(BytesFetcher):
        def open(self, mint: Any, name: str, on_size: Any = None) -> Any:
            return body

    reader = ExportFileReader(fetcher=OneBody(b""))
    with pytest.raises(ErrorPageError) as caught:
        list(reader.read(ExportFile("f.csv", mint=lambda: "unused", format=file_format)))
    assert expected in caught.value.user_message and caught.value.context["file"] == "f.csv"


def test_given_a_junit_report_or_csv_starting_with_a_bracket_when_reading_then_it_is_not_an_error_page():
    reader = ExportFileReader(fetcher=BytesFetcher(b'<?xml version="1.0"?><testsuite name="s"></testsuite>'))
    assert list(reader.read(ExportFile("r.xml", mint=lambda: "unused", format="junit_xml"))) == []
    reader = ExportFileReader(fetcher=BytesFetcher(b"<tag>,b\n1,2\n"))
    assert [row["<tag>"] for row in reader.read(ExportFile("f.csv", mint=lambda: "unused", format="csv"))] == ["1"]


# ---------------------------------------------------------------- writing


def test_given_a_row_too_deep_to_write_when_encoding_then_the_error_names_file_and_row():
    row: Any = {"_ab_source_file": "f.json", "_ab_source_row": 9}
    deep: Any = row
    for _ in range(300):
        deep["x"] = {}
        deep = deep["x"]
    with pytest.raises(RecordParseError) as caught:
        encode_row(row)
    assert caught.value.context == {"file": "f.json", "row": 9}
    assert orjson.loads(encode_row({"a": [[1]]})) == {"a": [[1]]}
