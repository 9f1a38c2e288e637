"""The vectorised CSV encoder gives exactly what the row path gives, or hands the file back to it.

Each case reads the same bytes twice through `ExportFileReader`: `read()` (the row path: stdlib
csv, strict quoting) and `read_batches()` (pyarrow + the JSON encoder, falling back to the row
path for what it cannot reproduce). Rows must match value by value and key by key, and a file
the row path rejects must be rejected after the same rows with the same message.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import random
from typing import Any, List, Tuple

import orjson
import pytest

from source_exports.download import vectorised
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.errors import ExportsError
from unit_tests.download.both_paths import BytesFetcher, outcome


def read_both(data: bytes, block_size: int = 256) -> Tuple[Any, Any, List[Any]]:
    """(row path outcome, fast path outcome, fast batches): outcome = (rows as item lists, error text)."""
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.csv", mint=lambda: "unused", format="csv", metadata={"job": "j1", "note": None})

    batches: List[Any] = []

    def fast_rows():
        for batch in reader.read_batches(export):
            batches.append(batch)
            yield from batch.rows()

    old = vectorised.CSV_BLOCK_SIZE
    vectorised.CSV_BLOCK_SIZE = block_size
    try:
        return outcome(lambda: reader.read(export)), outcome(fast_rows), batches
    finally:
        vectorised.CSV_BLOCK_SIZE = old


def vectorised_rows(batches: List[Any]) -> int:
    return sum(len(batch) for batch in batches if batch._pieces is not None)


CASES = {
    "quotes, commas, escaped quotes": b'id,a,b\r\n1,"x, y","say ""hi"""\r\n2,"""",plain\r\n',
    "embedded LF, CRLF and CR": b'id,a\n1,"l1\nl2"\n2,"c\r\nd"\n3,"e\rf"\n',
    "CR line endings": b"id,a\r1,x\r2,y\r",
    "unicode and BOM": "\ufeffid,名前\r\n1,żółć 日本 🙂\r\n2,\u2028\u2029\r\n".encode(),
    "controls, backslash, tab, NUL": b"id,a\n1,\x00\x01\x08\x0c\x1f\\\t\x7f\n",
    "empty fields and blank lines": b'id,a,b\n\n1,,\n\n2,"",""\n\n',
    "no final newline": b"id,a\n1,x\n2,y",
    "header only": b"id,a\n",
    "one column with empty values": b'a\n""\nx\n',
    "duplicate header names": b"a,a,b\n1,2,3\n",
    "ragged rows mid-file": b"id,a,b\n" + b"1,x,y\n" * 40 + b"2,short\n3,x,y,extra\n" + b"4,x,y\n" * 40,
    "text after a closing quote": b"id,a\n" + b'1,"ok"\n' * 40 + b'2,"x"y\n3,z\n',
    "quote left open at the end": b"id,a\n" + b'1,"ok"\n' * 40 + b'2,"unterminated\n3,z\n',
    "quote inside an unquoted field": b'id,a\n1,x"y\n2,"q"\n',
    "escaped quote across reads": b"id,a\n" + b'1,"' + b'""' * 300 + b'"\n' + b"2,b\n" * 50,
    "a cell wider than a block": b"id,a\n" + b"1,x\n" * 30 + b"2," + b"w" * 5000 + b"\n" + b"3,y\n" * 30,
    "not UTF-8": b"id,a\n" + b"1,x\n" * 60 + b"2,\xff\xfe\n",
    "metadata name in header": b"id,job,_ab_source_row\n1,own,7\n",
    "extra values column in header": b"id,_ab_extra_values\n1,x\n",
    "a BOM and a quoted first cell": '\ufeff"id",a\r\n"1","x"\r\n'.encode(),
}


def quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def shaped(make_row: Any, rows: int = 120) -> bytes:
    return "".join(make_row(i) for i in range(rows)).encode()


def enrichment(i: int) -> str:
    return orjson.dumps({"a": {"b": [i, "x"]}, "s": f'say "{i}" C:\\x', "u": "ü"}).decode()


def long_text(i: int) -> str:
    return f'Word {i}, "quoted" — ' * 40 + "\n"


SHAPES = {  # the benchmark's data shapes (bench/data.py), small
    "JSON with doubled quotes in every row": b"id,enrichment,status\r\n"
    + shaped(lambda i: f"{i},{quoted(enrichment(i))},ok\r\n"),
    "embedded newlines in every row": b"id,text\n" + shaped(lambda i: f'{i},"line {i}\nnext\r\nlast, ""q"""\n'),
    "long text cells": b"id,body\r\n" + shaped(lambda i: f"{i},{quoted(long_text(i))}\r\n", rows=20),
    "many columns": (",".join(f"c{k}" for k in range(60)) + "\r\n").encode()
    + shaped(lambda i: ",".join(quoted(f"{i}, {k}") if k % 7 == 0 else str(i * k) for k in range(60)) + "\r\n"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("block_size", [256, 1 << 16])
def test_given_a_benchmark_data_shape_when_read_vectorised_then_rows_match_and_go_through_pyarrow(name, block_size):
    slow, fast, batches = read_both(SHAPES[name], block_size=block_size)
    assert fast == slow and slow[1] is None
    if block_size > 256:  # with 256-byte blocks, rows wider than a block go to the row path
        assert vectorised_rows(batches) == len(slow[0]) > 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_given_a_tricky_csv_when_read_vectorised_then_rows_and_errors_match_the_row_path(name):
    slow, fast, _ = read_both(CASES[name])
    assert fast == slow
    assert slow[0] or slow[1] or name == "header only"  # the case reads something (or fails)


def test_given_clean_quoted_csv_when_read_then_every_row_goes_through_pyarrow():
    data = b"id,a,b\r\n" + b"".join(b'%d,"x, ""%d""\nz",\xc3\xa9\\\t\r\n' % (i, i) for i in range(500))
    slow, fast, batches = read_both(gzip.decompress(gzip.compress(data)), block_size=1024)
    assert fast == slow and len(fast[0]) == 500
    assert vectorised_rows(batches) == 500
    assert fast[0][7][:3] == [("id", "7"), ("a", 'x, "7"\nz'), ("b", "é\\\t")]


def test_given_text_after_a_closing_quote_late_in_a_file_when_read_then_earlier_blocks_stay_vectorised():
    data = b"id,a\n" + b"1,x\n" * 5000 + b'2,"x"y\n'
    slow, fast, batches = read_both(data, block_size=512)
    assert fast == slow and slow[1] is not None and len(slow[0]) == 5000
    assert 0 < vectorised_rows(batches) < 5000  # blocks before the bad one were vectorised, then the row path


def random_csv(rng: random.Random) -> bytes:
    """Half noise from CSV's special characters, half well-formed rows (random quoting, ragged now and then)."""
    alphabet = ["a", "b", ",", ",", '"', '"', "\n", "\r\n", "\r", " ", "é", "\\", "\t", "\x00", '""']
    header = rng.sample(["x", "y", "z", "w"], rng.randint(1, 3))
    if rng.random() < 0.5:
        return (",".join(header) + "\n" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))).encode()
    lines = []
    for _ in range(rng.randint(0, 8)):
        width = len(header) if rng.random() < 0.9 else rng.randint(1, 5)
        cells = []
        for _ in range(width):
            value = "".join(rng.choice(alphabet[:-1]) for _ in range(rng.randint(0, 6)))
            needs_quotes = any(char in value for char in ',"\r\n') or value.startswith(" ")
            cells.append('"' + value.replace('"', '""') + '"' if needs_quotes or rng.random() < 0.3 else value)
        lines.append(",".join(cells))
    ending = rng.choice(["\n", "\r\n", "\r"])
    return (",".join(header) + ending + ending.join(lines) + rng.choice(["", ending])).encode()


def test_given_random_csv_text_when_read_both_ways_then_they_always_agree():
    rng = random.Random(20251123)
    vectorised_cases = 0
    for _ in range(600):
        data = random_csv(rng)
        slow, fast, batches = read_both(data, block_size=64)
        assert fast == slow, data
        vectorised_cases += vectorised_rows(batches) > 0
    assert vectorised_cases > 150  # the fuzzing exercised pyarrow, not only the fallback


def test_given_special_characters_when_escaped_then_they_match_orjson_byte_for_byte():
    import pyarrow as pa

    text = "".join(chr(code) for code in range(128)) + "é🙂\u2028"
    escaped = vectorised.escape_json_strings(pa.array([text, "", "plain"]))
    assert [f'"{value}"'.encode() for value in escaped.to_pylist()] == [
        orjson.dumps(text),
        b'""',
        b'"plain"',
    ]


def test_given_sliced_columns_with_nulls_when_escaped_then_each_value_matches_orjson():
    import pyarrow as pa

    values = ['a"b', None, "\\", "", 'x\ny"', None, '\x01"\\'] * 3
    column = pa.array(values)
    for start, length in [(0, len(values)), (1, 5), (4, 9), (20, 1), (5, 0)]:
        piece = column.slice(start, length)
        escaped = vectorised.escape_json_strings(piece)
        expected = [None if value is None else orjson.dumps(value)[1:-1].decode() for value in values[start:][:length]]
        assert escaped.to_pylist() == expected
        escaped.validate(full=True)


def json_texts(encoded: Any) -> List[bytes]:
    """Each value of `json_strings`' result as a whole JSON text, whichever form it came in."""
    if isinstance(encoded, vectorised.Listed):
        texts = encoded.texts.to_pylist()
        assert all(text.endswith(",") for text in texts)
        return [text[:-1].encode() for text in texts]
    assert isinstance(encoded, vectorised.Quoted)
    return [f'"{value}"'.encode() for value in encoded.texts.to_pylist()]


def test_given_a_column_dense_in_quotes_when_encoded_then_orjson_writes_it_as_a_list():
    import pyarrow as pa

    values = [orjson.dumps({"k": i, "s": f'"{i}" C:\\x', "u": "ü🙂"}).decode() for i in range(50)]
    encoded = vectorised.json_strings(pa.array(values))
    assert isinstance(encoded, vectorised.Listed)
    assert json_texts(encoded) == [orjson.dumps(value) for value in values]
    encoded.texts.validate(full=True)


def test_given_few_special_bytes_when_encoded_then_the_buffer_is_escaped_and_plain_columns_are_kept():
    import pyarrow as pa

    sparse = pa.array(["a" * 100 + '"', "b" * 100])
    plain = pa.array(["x", "y"])
    assert isinstance(vectorised.json_strings(sparse), vectorised.Quoted)
    assert json_texts(vectorised.json_strings(sparse)) == [orjson.dumps(value) for value in sparse.to_pylist()]
    assert vectorised.json_strings(plain).texts is plain


def test_given_a_value_ending_in_a_quote_and_a_comma_when_encoded_then_the_list_is_not_trusted():
    import pyarrow as pa

    values = ['x",', '","', '"",""', "plain"]  # the first makes orjson's list hold one `","` too many
    encoded = vectorised.json_strings(pa.array(values))
    assert isinstance(encoded, vectorised.Quoted)
    assert json_texts(encoded) == [orjson.dumps(value) for value in values]


def test_given_random_dense_columns_and_slices_when_encoded_then_every_value_is_what_orjson_writes():
    import pyarrow as pa

    rng = random.Random(20261204)
    alphabet = ['"', '"', "\\", ",", "a", "é", "\n", "\x00", "\x1f", "\u2028", "🙂", '",']
    listed = 0
    for _ in range(400):
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 12))]
        column = pa.array(values)
        start = rng.randint(0, len(values) - 1)
        column = column.slice(start, rng.randint(1, len(values) - start))
        encoded = vectorised.json_strings(column)
        listed += isinstance(encoded, vectorised.Listed)
        assert json_texts(encoded) == [orjson.dumps(value) for value in column.to_pylist()]
    assert 100 < listed < 400  # both forms were exercised


@pytest.mark.parametrize(
    "tail, form",
    [
        ("", vectorised.Listed),  # dense from its start: decided by the sample
        ('x",', vectorised.Quoted),  # a value ending in `",` after a dense start: the list is not trusted
    ],
)
def test_given_a_long_column_when_its_start_is_dense_then_the_form_follows_and_every_value_is_what_orjson_writes(
    tail, form
):
    import pyarrow as pa

    dense = [orjson.dumps({"id": i, "note": f'say "{i}"', "path": "C:\\t"}).decode() for i in range(2000)]
    values = dense + [tail, "plain"]
    column = pa.array(values).slice(3)
    assert column.buffers()[2].size > 2 * vectorised.DENSITY_SAMPLE
    encoded = vectorised.json_strings(column)
    assert isinstance(encoded, form)
    assert json_texts(encoded) == [orjson.dumps(value) for value in values[3:]]
    encoded.texts.validate(full=True)


def test_given_a_long_column_plain_at_its_start_when_encoded_then_later_specials_are_escaped():
    import pyarrow as pa

    values = ["a" * 40] * 1000 + ['q"\\\n'] * 5
    encoded = vectorised.json_strings(pa.array(values))
    assert isinstance(encoded, vectorised.Quoted)
    assert json_texts(encoded) == [orjson.dumps(value) for value in values]


@pytest.mark.parametrize("last", [False, True])
def test_given_a_listed_column_anywhere_in_the_layout_when_joined_then_each_object_is_the_row(last):
    import pyarrow as pa

    from source_exports.download.batch import RecordBatch

    values = ['{"a":"b"}', '"\\', '""""']
    block = pa.RecordBatch.from_arrays([pa.array(values), pa.array(["1", "2", "3"])], names=["dense", "n"])
    layout = [("n", vectorised.Column(1)), ("dense", vectorised.Column(0))]
    if not last:
        layout.append(("tail", "t"))
    assert isinstance(vectorised.json_strings(block.column(0)), vectorised.Listed)
    pieces = vectorised.object_pieces(layout, block, 1, vectorised.json_strings)
    rows = list(RecordBatch.from_pieces(pieces, 3).rows())
    assert rows == [{"n": n, "dense": value, **({} if last else {"tail": "t"})} for n, value in zip("123", values)]


def test_given_batches_when_written_in_the_envelope_then_lines_equal_the_row_encoding():
    data = b'id,a\n1,"x\ny"\n2,\n'
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.csv", mint=lambda: "unused", format="csv")
    (batch,) = list(reader.read_batches(export))
    lines = bytes(batch.lines(b"<", b">")).split(b"\n")
    assert lines == [b"<" + orjson.dumps(row) + b">" for row in reader.read(export)] + [b""]


def test_given_a_bad_file_when_read_vectorised_then_the_file_is_read_only_as_often_as_needed():
    opened = []

    class CountingFetcher(BytesFetcher):
        def open(self, mint: Any, name: str, on_size: Any = None) -> io.BytesIO:
            opened.append(name)
            return super().open(mint, name)

    reader = ExportFileReader(fetcher=CountingFetcher(b"id,a\n1,x\n"))
    list(reader.read_batches(ExportFile("f.csv", mint=lambda: "unused", format="csv")))
    assert opened == ["f.csv"]  # a clean file is downloaded once
    opened.clear()
    reader = ExportFileReader(fetcher=CountingFetcher(b'id,a\n1,"x"y\n'))
    with contextlib.suppress(ExportsError):
        list(reader.read_batches(ExportFile("f.csv", mint=lambda: "unused", format="csv")))
    assert opened == ["f.csv", "f.csv"]  # the fallback starts the file again on the row path


def test_given_repeated_and_metadata_named_columns_when_read_both_ways_then_every_value_keeps_its_own_name():
    slow, fast, batches = read_both(b"a,a,job,_ab_extra_values,a_2\n1,2,own,x,y\n")

    assert fast == slow and vectorised_rows(batches) == 1
    assert slow[0][0] == [
        ("a", "1"),
        ("a_3", "2"),
        ("job_2", "own"),
        ("_ab_extra_values_2", "x"),
        ("a_2", "y"),
        ("_ab_source_file", "f.csv"),
        ("_ab_source_row", 1),
        ("job", "j1"),
        ("note", None),
    ]
