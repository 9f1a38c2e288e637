"""Parquet under the file limits: a value or row past them fails naming the file, the row and the limit,
on both paths alike, before the huge page is decompressed when the footer gives it away."""

from __future__ import annotations

import io
from typing import Iterator, List, Optional

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_exports.download import limits
from source_exports.download.limits import FileLimits
from source_exports.download.parquet_limits import BATCH_BYTES, MIN_BATCH_ROWS, rows_per_batch
from unit_tests.download.test_vectorised_parquet import read_both

SMALL = FileLimits(max_record_bytes=96 * 1024, max_field_bytes=64 * 1024, max_nesting_depth=10)


@pytest.fixture()
def small_limits() -> Iterator[FileLimits]:
    limits.configure(SMALL)
    yield SMALL
    limits.configure(limits.DEFAULTS)


def zstd_parquet(columns: dict, row_group_size: Optional[int] = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="zstd", row_group_size=row_group_size)
    return sink.getvalue()


def texts(count: int) -> List[str]:
    return [f"row {i}" for i in range(1, count + 1)]


def test_given_a_row_group_of_one_giant_value_when_reading_then_refused_before_decompressing_it(small_limits):
    """64 MiB of 'a' (a few KB on disk) alone in its row group, after a group of good rows."""
    data = zstd_parquet({"id": [1, 2, 3], "text": ["a", "b", "a" * (64 << 20)]}, row_group_size=2)
    assert len(data) < 64 * 1024
    (rows, error), (fast_rows, fast_error), _ = read_both(data, batch_rows=2)
    assert error == fast_error and rows == fast_rows
    assert [row[:18] for row in rows] == [b'{"id":1,"text":"a"', b'{"id":2,"text":"b"']
    assert "A value of Parquet column 'text' in row 3 exceeds the limit of 65,536 bytes" in error
    assert "(file_limits.max_field_bytes)" in error and "f.parquet" in error and "row: 3" in error


def test_given_a_giant_value_among_small_ones_when_reading_then_its_batch_is_refused_naming_its_row(small_limits):
    values = texts(3000)
    values[2500] = "z" * (512 * 1024)
    data = zstd_parquet({"id": list(range(1, 3001)), "text": values})
    (rows, error), (fast_rows, fast_error), _ = read_both(data, batch_rows=1000)
    assert error == fast_error and rows == fast_rows and len(rows) == 2000
    assert "A value of Parquet column 'text' exceeds the limit of 65,536 bytes (file_limits.max_field_bytes)" in error
    assert "row: 2501" in error


def test_given_a_row_whose_values_together_pass_the_record_limit_when_reading_then_refused_as_a_row(small_limits):
    first, second = texts(50), texts(50)
    first[9] = second[9] = "q" * (60 * 1024)
    (rows, error), (fast_rows, fast_error), _ = read_both(zstd_parquet({"a": first, "b": second}), batch_rows=50)
    assert error == fast_error and rows == fast_rows == []
    assert "A Parquet row exceeds the limit of 98,304 bytes (file_limits.max_record_bytes)" in error
    assert "row: 10" in error


def test_given_values_within_the_limits_when_reading_then_every_row_is_read(small_limits):
    values = ["v" * (60 * 1024)] + texts(999)
    (rows, error), (fast_rows, fast_error), _ = read_both(zstd_parquet({"text": values}), batch_rows=100)
    assert error is None and fast_error is None and rows == fast_rows and len(rows) == 1000
    assert rows[0].startswith(b'{"text":"' + b"v" * 100)


def test_given_wide_rows_when_reading_then_batches_hold_about_batch_bytes_and_both_paths_agree():
    """3,000 rows of 4 KB text: 2,000 rows a batch would hold 8 MB at once; the floor of 256 rows holds ~1 MB."""
    values = [f"{i:04d}" + "w" * 4096 for i in range(3000)]
    data = zstd_parquet({"id": list(range(3000)), "text": values})
    assert rows_per_batch(pq.ParquetFile(io.BytesIO(data)).metadata, 2000) == MIN_BATCH_ROWS
    (rows, error), (fast_rows, fast_error), batches = read_both(data, batch_rows=2000)
    assert error is None and fast_error is None and rows == fast_rows and len(rows) == 3000
    assert max(map(len, batches)) == MIN_BATCH_ROWS
    decoded = [orjson.loads(row) for row in rows]
    assert [row["id"] for row in decoded] == list(range(3000))
    assert [row["text"] for row in decoded] == values and decoded[-1]["_ab_source_row"] == 3000


def test_given_narrow_middling_and_wide_rows_when_sizing_batches_then_bytes_decide_between_floor_and_ceiling():
    def batch_rows(texts: list, ceiling: int = 2000) -> int:
        return rows_per_batch(pq.ParquetFile(io.BytesIO(zstd_parquet({"text": texts}))).metadata, ceiling)

    sizes = {size: batch_rows([f"{i:08d}" + "x" * (size - 8) for i in range(1000)]) for size in (8, 400, 10_000)}
    assert sizes[8] == 2000  # narrow rows: the ceiling
    assert MIN_BATCH_ROWS < sizes[400] < 2000 and abs(sizes[400] * 400 - BATCH_BYTES) < BATCH_BYTES // 10
    assert sizes[10_000] == MIN_BATCH_ROWS
    assert batch_rows(pa.array([], pa.string()), ceiling=7) == 7  # no rows: the ceiling
