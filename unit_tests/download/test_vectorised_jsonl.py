"""The vectorised JSON Lines encoder gives what the row path gives, or hands the file back to it.

Each case reads the same bytes through `read()` (the row path: orjson per line, rows re-serialised)
and `read_batches()` (lines validated by orjson and spliced as written, metadata appended). The
fast path keeps each line's own JSON text, so rows are compared as parsed values with their key
order; a file the row path rejects must be rejected after the same rows with the same message.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, List, Tuple

import orjson
import pytest

from source_exports.download import formats, vectorised
from source_exports.download.batch import encode_row
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.download.row_tail import BareRows
from unit_tests.download.both_paths import BytesFetcher, outcome


def read_both(data: bytes, block_size: int = 64) -> Tuple[Any, Any, int]:
    """(row path outcome, fast path outcome, rows the vectorised encoder made): outcome = (rows as item
    lists, error text)."""
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.jsonl", mint=lambda: "unused", format="jsonl", metadata={"job": "j1", "note": None})

    def fast_rows():
        for batch in reader.read_batches(export):
            for encoded in batch.encoded():
                yield orjson.loads(encoded)

    jsonl = formats.FORMATS["jsonl"]
    made: List[int] = []

    def counted(*args: Any) -> Any:  # records the rows the vectorised encoder made
        for batch in jsonl.encoder(*args):
            made.append(len(batch))
            yield batch

    old = vectorised.JSONL_BLOCK_SIZE
    vectorised.JSONL_BLOCK_SIZE, formats.FORMATS["jsonl"] = block_size, dataclasses.replace(jsonl, encoder=counted)
    try:
        return outcome(lambda: reader.read(export)), outcome(fast_rows), sum(made)
    finally:
        vectorised.JSONL_BLOCK_SIZE, formats.FORMATS["jsonl"] = old, jsonl


CASES = {
    "BOM, blank lines, CRLF, spaces": b'\xef\xbb\xbf{"a": 1}\n\n  {"b" : "x\\ny"}  \r\n\n{"c":[1,{"d":null}]}',
    "empty objects among others": b'{}\n{"a":1}\n{}\n',
    "unicode and escapes": '{"s":"żółć 日本 🙂","e":"\\u00e9\\t\\"","n":1.0e3,"big":12345678901234567}\n'.encode(),
    "lines that only parse joined": b'{"a":1}\n{"a":[{}\n{}]},{"c":1}\n{"z":2}\n',
    "a line cut in two": b'{"a":1}\n{"a":\n2}\n',
    "vertical tab before an object": b'{"a":1}\n\x0b{"b":2}\n',
    "form feed after an object": b'{"a":1}\n{"b":2}\x0c\n',
    "a non-object line": b'{"a":1}\n[1,2]\n{"b":2}\n',
    "a scalar line": b'{"a":1}\n"text"\n',
    "a line that has a metadata key": b'{"a":1}\n{"_ab_source_row":"mine","a":2}\n{"a":3}\n',
    "null metadata key in a line": b'{"note":"kept?"}\n',
    "no final newline": b'{"a":1}\n{"a":2}',
    "only blank lines": b"\n\n  \n",
    "invalid UTF-8": b'{"a":1}\n{"a":"\xff"}\n',
}


@pytest.mark.parametrize("data", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("block_size", [7, 64, 1 << 20])
def test_given_tricky_json_lines_when_read_both_ways_then_rows_and_errors_are_identical(data, block_size):
    row_path, fast_path, _ = read_both(data, block_size)

    assert fast_path == row_path


def test_given_lines_that_only_parse_when_joined_when_read_fast_then_no_invalid_json_is_emitted():
    row_path, fast_path, _ = read_both(CASES["lines that only parse joined"], block_size=1 << 20)

    assert row_path == ([[("a", 1), ("_ab_source_file", "f.jsonl"), ("_ab_source_row", 1), ("job", "j1"),
                          ("note", None)]], fast_path[1])  # fmt: skip
    assert "line 2" in fast_path[1]
    assert fast_path == row_path


def test_given_clean_lines_when_read_fast_then_the_vectorised_encoder_makes_every_row():
    data = b"".join(orjson.dumps({"id": i, "s": f"v{i}"}) + b"\n" for i in range(500))

    row_path, fast_path, vectorised_rows = read_both(data, block_size=1000)

    assert fast_path == row_path and len(fast_path[0]) == 500
    assert vectorised_rows == 500


def random_line(rng: random.Random) -> bytes:
    value = {f"k{index}": rng.choice([None, True, 1.5e300, -7, "a\\\"\n\u2028é", [], {}, [1, {"x": None}]])
             for index in range(rng.randint(0, 4))}  # fmt: skip
    text = orjson.dumps(value)
    return rng.choice([b"", b" ", b"\t"]) + text + rng.choice([b"", b" ", b"\r"])


@pytest.mark.parametrize("seed", range(30))
def test_given_fuzzed_json_lines_when_read_both_ways_then_rows_are_identical(seed):
    rng = random.Random(seed)
    lines = [random_line(rng) if rng.random() < 0.9 else b"" for _ in range(rng.randint(1, 60))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n"])

    row_path, fast_path, vectorised_rows = read_both(data, block_size=rng.randint(1, 200))

    assert fast_path == row_path
    assert vectorised_rows == len(row_path[0])


def read_chunked(data: bytes, block_size: int, size: int = 2, bare: bool = False) -> Tuple[Any, Any]:
    """(row path outcome, `read_chunks` outcome), rows as item lists (the dicts themselves, unserialised).

    `bare`: chunks read in blocks come without their metadata, which is then added (`tailed`), and
    their rows written with the metadata as text must be the rows with it written by orjson."""
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.jsonl", mint=lambda: "unused", format="jsonl", metadata={"job": "j1", "note": None})

    def chunked_rows():
        for chunk in reader.read_chunks(export, size, bare):
            assert chunk
            if isinstance(chunk, BareRows):
                written = chunk.text.ended([orjson.dumps(row) for row in chunk.rows], chunk.rows, chunk.first)
                chunk = chunk.tailed()
                assert written == [encode_row(row) for row in chunk]
            yield from chunk

    old = vectorised.JSONL_BLOCK_SIZE
    vectorised.JSONL_BLOCK_SIZE = block_size
    try:
        return outcome(lambda: reader.read(export)), outcome(chunked_rows)
    finally:
        vectorised.JSONL_BLOCK_SIZE = old


@pytest.mark.parametrize("bare", [False, True], ids=["with metadata", "bare"])
@pytest.mark.parametrize("data", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("block_size", [7, 64, 1 << 20])
def test_given_tricky_json_lines_when_read_in_chunks_then_the_rows_and_errors_of_the_row_path(data, block_size, bare):
    row_path, chunked = read_chunked(data, block_size, bare=bare)

    assert chunked == row_path


@pytest.mark.parametrize("bare", [False, True], ids=["with metadata", "bare"])
def test_given_many_lines_when_read_in_chunks_then_rows_are_numbered_across_blocks_like_the_row_path(bare):
    rng = random.Random(3)
    data = b"".join(orjson.dumps({"i": i, "s": "x" * rng.randrange(40)}) + b"\n" for i in range(500))
    row_path, chunked = read_chunked(data, block_size=256, size=7, bare=bare)

    assert chunked == row_path and len(chunked[0]) == 500
    export = ExportFile("f.jsonl", mint=lambda: "unused", format="jsonl", metadata={"job": "j1"})
    kinds = {type(chunk) for chunk in ExportFileReader(fetcher=BytesFetcher(data)).read_chunks(export, 7, bare)}
    assert kinds == ({BareRows} if bare else {list})


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1}\n{"a":[[[[[1]]]]]}\n{"a":3}\n',  # deeper than 4
        b'{"a":1}\n{"a":"' + b"x" * (70 * 1024) + b'"}\n{"a":3}\n',  # longer than 64 KiB
    ],
    ids=["too deep", "too long"],
)
def test_given_a_line_past_the_file_limits_when_read_in_chunks_then_the_row_paths_error_after_the_rows_before(data):
    from source_exports.download import limits

    limits.configure(limits.FileLimits(max_record_bytes=64 * 1024, max_field_bytes=64 * 1024, max_nesting_depth=4))
    try:
        row_path, chunked = read_chunked(data, block_size=1 << 17)
    finally:
        limits.configure(limits.DEFAULTS)

    assert chunked == row_path and row_path[1] and "file_limits" in row_path[1] and len(row_path[0]) == 1
