"""The vectorised Parquet encoder gives exactly what the row path gives, or hands the file back to it.

Each case writes a Parquet file and reads it twice through `ExportFileReader`: `read()` (the row
path: `to_pylist` + `to_json_value`, rows serialised by orjson) and `read_batches()` (the
column encoder of `download/parquet_batches.py`). The JSON bytes of every row must be equal
(values, key order, nulls, NaN/inf), and a file the row path rejects must fail the same way.
"""

from __future__ import annotations

import datetime
import decimal
import io
import random
import subprocess
import sys
from typing import Any, List, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_exports.download import parquet_batches
from source_exports.download.batch import encode_row
from source_exports.download.parsers.parquet_parser import ParquetParser
from source_exports.download.reader import ExportFile, ExportFileReader
from unit_tests.download.both_paths import BytesFetcher, outcome


def parquet_bytes(table: pa.Table, row_group_size: Optional[int] = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def read_both(data: bytes, metadata: Optional[dict] = None, batch_rows: int = 3) -> Tuple[Any, Any, List[Any]]:
    """(row path outcome, fast path outcome, batches): outcome = (each row's JSON bytes, error text)."""
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.parquet", mint=lambda: "unused", format="parquet", metadata=metadata or {"job": "j1"})
    batches: List[Any] = []

    def fast_encoded():
        for batch in reader.read_batches(export):
            batches.append(batch)
            yield from batch.encoded()

    old = parquet_batches.BATCH_ROWS, ParquetParser.batch_size
    parquet_batches.BATCH_ROWS = ParquetParser.batch_size = batch_rows  # both paths fail at the same batch
    try:
        return outcome(lambda: reader.read(export), encode_row), outcome(fast_encoded, lambda encoded: encoded), batches
    finally:
        parquet_batches.BATCH_ROWS, ParquetParser.batch_size = old


def vectorised_rows(batches: List[Any]) -> int:
    return sum(len(batch) for batch in batches if batch._pieces is not None)


UTC = datetime.timezone.utc


def every_type_table() -> pa.Table:
    """One column per Arrow type a Parquet export may hold, each with a null and edge values."""
    point = pa.struct([("x", pa.float64()), ("tags", pa.list_(pa.string())), ("at", pa.timestamp("ms"))])
    columns = {
        "int8": pa.array([-128, 127, None, 0], pa.int8()),
        "int64": pa.array([-(2**63), 2**63 - 1, None, 7], pa.int64()),
        "uint64": pa.array([0, 2**64 - 1, None, 1], pa.uint64()),
        "uint8": pa.array([255, None, 0, 1], pa.uint8()),
        "bool": pa.array([True, False, None, True]),
        "float64": pa.array([float("nan"), float("inf"), None, -0.0], pa.float64()),
        "float64b": pa.array([1e16, 5e-324, -float("inf"), 0.1 + 0.2], pa.float64()),
        "float32": pa.array([0.1, 3.4e38, None, float("nan")], pa.float32()),
        "float16": pa.array([1.5, None, 0.0999, -2.0], pa.float16()),
        "string": pa.array(['say "hi"\n', "żółć 日本 🙂 \u2028", None, "\x00\x01\x1f\\\t\x7f/"]),
        "no_null_string": pa.array(["a", "", "b,c", "}"]),
        "large_string": pa.array(["x", None, '"', "\\"], pa.large_string()),
        "dict_string": pa.array(["a", "b", None, "a"]).dictionary_encode(),
        "null": pa.array([None] * 4, pa.null()),
        "date32": pa.array([datetime.date(2025, 1, 2), datetime.date(1, 1, 1), None, datetime.date(9999, 12, 31)]),
        "ts_s": pa.array([datetime.datetime(2025, 1, 2, 3, 4, 5), None, datetime.datetime(1970, 1, 1), None],
                         pa.timestamp("s")),
        "ts_ms_utc": pa.array([datetime.datetime(2025, 1, 2, 3, 4, 5, 123000, tzinfo=UTC), None,
                               datetime.datetime(1999, 12, 31, tzinfo=UTC), None], pa.timestamp("ms", tz="UTC")),
        "ts_us_berlin": pa.array([datetime.datetime(2025, 6, 2, 3, 4, 5, 1, tzinfo=UTC), None, None, None],
                                 pa.timestamp("us", tz="Europe/Berlin")),
        "time64": pa.array([datetime.time(1, 2, 3, 4), None, datetime.time(0), None], pa.time64("us")),
        "decimal": pa.array([decimal.Decimal("1.10"), decimal.Decimal("-0.00"), None, decimal.Decimal("12345678.90")],
                            pa.decimal128(10, 2)),
        "binary": pa.array([b"\x00\xff", b"", None, b"abc"], pa.binary()),
        "fixed_binary": pa.array([b"ab", b"cd", None, b"\x00\x00"], pa.binary(2)),
        "list_int": pa.array([[1, None, 3], [], None, [2**40]], pa.list_(pa.int64())),
        "list_struct": pa.array([[{"a": 1}], None, [{"a": None}], []], pa.list_(pa.struct([("a", pa.int32())]))),
        "struct": pa.array([{"x": float("nan"), "tags": ["a", None], "at": datetime.datetime(2025, 1, 1)},
                            None, {"x": 1.0, "tags": None, "at": None}, {"x": None, "tags": [], "at": None}], point),
        "map": pa.array([[("k", 1)], None, [], [("a", None), ("b", 2)]], pa.map_(pa.string(), pa.int64())),
    }  # fmt: skip
    return pa.table(columns)


def test_given_every_arrow_type_with_nulls_when_read_both_ways_then_json_bytes_are_identical():
    row_path, fast_path, batches = read_both(parquet_bytes(every_type_table()))

    assert fast_path == row_path
    assert row_path[1] is None and len(row_path[0]) == 4
    assert vectorised_rows(batches) == 4  # the encoder ran, no fallback
    assert b'"float64":null,"float64b":1e+16' in row_path[0][0]  # NaN and inf are null, as orjson writes them


def test_given_row_groups_and_batches_when_read_fast_then_row_numbers_continue_across_batches():
    table = pa.table({"n": pa.array(range(25), pa.int32()), "s": pa.array([f"v{i}" for i in range(25)])})

    row_path, fast_path, batches = read_both(parquet_bytes(table, row_group_size=7), batch_rows=4)

    assert fast_path == row_path
    assert [row.split(b'"_ab_source_row":')[1].split(b",")[0] for row in fast_path[0]] == [
        str(n).encode() for n in range(1, 26)
    ]
    assert len(batches) > 3 and vectorised_rows(batches) == 25


def test_given_json_text_cells_when_read_fast_then_orjson_lists_them_and_the_bytes_match_the_row_path():
    from source_exports.download.vectorised import Listed

    cells = [f'{{"name":"Company {i}","summary":"Said \\"yes\\" C:\\\\x","city":"Łódź"}}' for i in range(30)]
    table = pa.table({"enrichment": cells, "id": pa.array(range(30), pa.int32())})
    assert isinstance(parquet_batches.encode_column(table.column(0).chunk(0)), Listed)

    row_path, fast_path, batches = read_both(parquet_bytes(table), batch_rows=7)

    assert fast_path == row_path and row_path[1] is None
    assert vectorised_rows(batches) == 30


def test_given_a_column_named_like_metadata_when_read_fast_then_both_are_kept_as_on_the_row_path():
    table = pa.table({"job": ["from file"], "_ab_source_file": ["also"], "z": [1]})

    row_path, fast_path, batches = read_both(parquet_bytes(table), metadata={"job": "meta", "extra": None})

    assert fast_path == row_path
    assert fast_path[0][0].startswith(b'{"job_2":"from file","_ab_source_file_2":"also","z":1,')
    assert b'"job":"meta"' in fast_path[0][0]


@pytest.mark.parametrize(
    "data",
    [b"not parquet at all", b"PAR1" + b"\x00" * 64 + b"PAR1"],
    ids=["garbage", "broken footer"],
)
def test_given_an_unreadable_file_when_read_fast_then_it_fails_like_the_row_path(data):
    row_path, fast_path, batches = read_both(data)

    assert row_path[1] is not None and "f.parquet" in row_path[1]
    assert fast_path == row_path
    assert vectorised_rows(batches) == 0


def test_given_invalid_utf8_in_a_later_batch_when_read_fast_then_rows_before_it_come_out_and_the_row_path_decides():
    bad = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(b"\0\0\0\0\2\0\0\0"), pa.py_buffer(b"\xff\xfe")])
    table = pa.concat_tables([pa.table({"s": ["ok"] * 5}), pa.table({"s": bad})])
    data = parquet_bytes(table)

    row_path, fast_path, batches = read_both(data, batch_rows=5)

    assert fast_path == row_path
    assert vectorised_rows(batches) == 5


def test_given_duplicate_column_names_when_read_fast_then_the_row_path_reads_the_file():
    table = pa.Table.from_arrays([pa.array([1, 2]), pa.array(["a", "b"])], names=["x", "x"])

    row_path, fast_path, batches = read_both(parquet_bytes(table))

    assert fast_path == row_path
    assert vectorised_rows(batches) == 0


def random_column(rng: random.Random, rows: int) -> pa.Array:
    kind = rng.choice(["int", "float", "float32", "string", "bool"])
    nulls = rng.random() < 0.5

    def maybe(value: Any) -> Any:
        return None if nulls and rng.random() < 0.2 else value

    if kind == "int":
        return pa.array([maybe(rng.randint(-(2**63), 2**63 - 1)) for _ in range(rows)], pa.int64())
    if kind == "bool":
        return pa.array([maybe(rng.random() < 0.5) for _ in range(rows)], pa.bool_())
    if kind in ("float", "float32"):
        specials = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 5e-324, 1e16, 1e-7, 1e22, 123456.789]
        values = [
            maybe(rng.choice(specials) if rng.random() < 0.3 else rng.uniform(-1, 1) * 10 ** rng.randint(-320, 308))
            for _ in range(rows)
        ]
        return pa.array(values, pa.float64() if kind == "float" else pa.float32(), from_pandas=False)
    alphabet = 'ab ,"\\\n\r\t\x00\x01\x1f\x7fé日🙂\u2028/'
    return pa.array([maybe("".join(rng.choices(alphabet, k=rng.randint(0, 8)))) for _ in range(rows)], pa.string())


@pytest.mark.parametrize("seed", range(40))
def test_given_fuzzed_tables_when_read_both_ways_then_json_bytes_are_identical(seed):
    rng = random.Random(seed)
    rows = rng.randint(1, 40)
    table = pa.table({f"c{index}": random_column(rng, rows) for index in range(rng.randint(1, 6))})

    row_path, fast_path, batches = read_both(parquet_bytes(table), batch_rows=rng.randint(1, 16))

    assert fast_path == row_path
    assert vectorised_rows(batches) == rows


PANDAS_PROBE = """
import io, sys
import pyarrow.parquet as pq
from source_exports.download.parquet_batches import encode_column
for batch in pq.ParquetFile(io.BytesIO(sys.stdin.buffer.read())).iter_batches():  # `read_table` imports pandas
    for column in batch.columns:
        encode_column(column)
print("pandas" in sys.modules)
"""


def test_given_float_and_string_columns_with_nulls_when_encoded_then_pandas_is_not_imported():
    """`Array.to_numpy` with nulls, `pa.array([...])` and compute calls on Python values import pandas: +40 MB."""
    table = pa.table({"f": pa.array([1.5, None, float("nan")]), "s": pa.array(["a", None, "b"]), "n": [1, None, 3]})

    probe = subprocess.run(
        [sys.executable, "-c", PANDAS_PROBE], input=parquet_bytes(table), capture_output=True, check=True
    )

    assert probe.stdout.strip() == b"False"


def read_chunked(data: bytes, metadata: Optional[dict] = None, size: int = 2) -> Tuple[Any, Any]:
    """(row path outcome, `read_chunks` outcome), each row's JSON bytes; batches of 3 rows."""
    reader = ExportFileReader(fetcher=BytesFetcher(data))
    export = ExportFile("f.parquet", mint=lambda: "unused", format="parquet", metadata=metadata or {"job": "j1"})

    def chunked_rows():
        for chunk in reader.read_chunks(export, size):
            assert 0 < len(chunk) <= size
            yield from chunk

    old = ParquetParser.batch_size
    ParquetParser.batch_size = 3
    try:
        return outcome(lambda: reader.read(export), encode_row), outcome(chunked_rows, encode_row)
    finally:
        ParquetParser.batch_size = old


def test_given_tricky_parquet_files_when_read_in_chunks_then_the_rows_and_errors_of_the_row_path():
    bad = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(b"\0\0\0\0\2\0\0\0"), pa.py_buffer(b"\xff\xfe")])
    files = {
        "every type": parquet_bytes(every_type_table(), row_group_size=4),
        "metadata names": parquet_bytes(pa.table({"job": ["a", "b", "c", "d"], "_ab_source_row": [1, 2, 3, 4]})),
        "invalid UTF-8 later": parquet_bytes(pa.concat_tables([pa.table({"s": ["ok"] * 5}), pa.table({"s": bad})])),
        "duplicate names": parquet_bytes(pa.Table.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x"] * 2)),
        "garbage": b"not parquet at all",
    }
    for name, data in files.items():
        row_path, chunked = read_chunked(data)
        assert chunked == row_path, name
