"""Parquet values: tz-aware timestamps converted without pandas, to exactly what pyarrow gives.

pyarrow converts tz-aware timestamps to Python through pandas (+40 MB of RSS on the first value),
so `column_values` converts them itself; the records must not change.
"""

import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_exports.download.parsers.parquet_parser import (
    UTC_ZONES,
    batch_rows,
    column_values,
    to_json_value,
    utc_iso_texts,
)

ZONES = ["UTC", "Etc/UTC", "+01:00", "-03:30", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]
UNITS = ["s", "ms", "us"]
EPOCHS = [
    datetime(2025, 3, 9, 6, 59, 59, 999999, tzinfo=timezone.utc),  # New York: just before the spring-forward gap
    datetime(2025, 3, 9, 7, 0, 0, tzinfo=timezone.utc),
    datetime(2025, 11, 2, 5, 30, tzinfo=timezone.utc),  # New York: inside the repeated hour
    datetime(2025, 11, 2, 6, 30, tzinfo=timezone.utc),
    datetime(1970, 1, 1, tzinfo=timezone.utc),
    datetime(1901, 12, 13, 20, 45, 52, 123456, tzinfo=timezone.utc),
    datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=timezone.utc),
]


def timestamps(unit, zone):
    """A column of the instants above (and a null) in `unit`, built without Python datetimes."""
    scale = {"s": 1, "ms": 1000, "us": 10**6}[unit]
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    ticks = [(moment - epoch) // timedelta(microseconds=10**6 // scale) for moment in EPOCHS]
    return pa.array(ticks + [None], pa.int64()).cast(pa.timestamp(unit, tz=zone))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", UNITS)
def test_given_tz_aware_timestamps_when_converted_then_same_datetimes_and_text_as_pyarrow(unit, zone):
    column = timestamps(unit, zone)

    ours, theirs = column_values(column), column.to_pylist()

    assert ours == theirs
    assert [value and value.isoformat() for value in ours] == [value and value.isoformat() for value in theirs]
    assert ours[-1] is None and len(ours) == len(EPOCHS) + 1


def test_given_a_batch_with_duplicate_names_and_aware_timestamps_when_read_then_rows_equal_to_pylist():
    batch = pa.RecordBatch.from_arrays(
        [timestamps("us", "UTC"), pa.array(list("abcdefgh")), pa.array(range(8)), timestamps("ms", "+01:00")],
        names=["t", "s", "s", "u"],
    )

    expected = [dict(row, t=to_json_value(row["t"])) for row in batch.to_pylist()]  # UTC: already as text

    assert batch_rows(batch) == expected
    assert list(batch_rows(batch)[0]) == ["t", "s", "u"]
    assert isinstance(batch_rows(batch)[0]["u"], datetime)  # other zones: datetimes, as pyarrow gives them


def test_given_naive_and_nanosecond_timestamps_when_converted_then_pyarrow_does_it():
    naive = pa.array([0, None], pa.int64()).cast(pa.timestamp("us"))
    nanos = pa.array([1_000, None], pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    assert column_values(naive) == naive.to_pylist() and column_values(nanos) == nanos.to_pylist()


PANDAS_PROBE = """
import io, logging, sys
from source_exports.download.parsers.parquet_parser import ParquetParser
from source_exports.download.parquet_batches import parquet_batches
from source_exports.download.vectorised import ROW_NUMBER
data = sys.stdin.buffer.read()
rows = list(ParquetParser().parse_records(io.BytesIO(data), "f.parquet", logging.getLogger()))
batches = list(parquet_batches(io.BytesIO(data), {"_ab_source_file_row": ROW_NUMBER}, "f.parquet"))
print(len(rows), sum(map(len, batches)), rows[0]["t"], "pandas" in sys.modules)
"""


def test_given_a_file_with_tz_aware_timestamps_when_read_both_ways_then_pandas_is_not_imported():
    table = pa.table({"t": timestamps("us", "UTC"), "n": pa.array(range(8))})
    sink = io.BytesIO()
    pq.write_table(table, sink)

    probe = subprocess.run([sys.executable, "-c", PANDAS_PROBE], input=sink.getvalue(), capture_output=True, check=True)

    assert probe.stdout.split() == [b"8", b"8", b"2025-03-09T06:59:59.999999+00:00", b"False"]


def random_ticks(rng, unit, count):
    """Instants across years 1000–9999 in `unit`, a third of them on whole seconds, and nulls."""
    scale = {"s": 1, "ms": 1000, "us": 10**6}[unit]
    low, high = -30610224000 * scale, 253402300799 * scale + (scale - 1)
    ticks = []
    for _ in range(count):
        value = rng.randint(low, high)
        ticks.append(rng.choice([value, value - value % scale, None, low, high, 0]))
    return ticks


@pytest.mark.parametrize("zone", sorted(UTC_ZONES))
@pytest.mark.parametrize("unit", UNITS)
def test_given_utc_timestamps_when_spelled_by_arrow_then_same_text_as_isoformat_of_each_value(unit, zone):
    import random

    column = pa.array(random_ticks(random.Random(f"{unit}{zone}"), unit, 3_000), pa.int64()).cast(
        pa.timestamp(unit, tz=zone)
    )

    texts = utc_iso_texts(column)

    assert texts is not None
    assert texts.to_pylist() == [to_json_value(value) for value in column.to_pylist()]
    assert any(text and "." not in text for text in texts.to_pylist())  # whole seconds are exercised


@pytest.mark.parametrize("unit", UNITS)
def test_given_sliced_utc_timestamps_with_nulls_when_spelled_then_each_slice_matches_isoformat(unit):
    import random

    column = pa.array(random_ticks(random.Random(f"slice{unit}"), unit, 300), pa.int64()).cast(
        pa.timestamp(unit, tz="UTC")
    )
    for start, length in [(1, 299), (7, 50), (13, 1), (299, 1), (5, 0)]:
        piece = column.slice(start, length)

        texts = utc_iso_texts(piece)

        assert texts.to_pylist() == [to_json_value(value) for value in piece.to_pylist()]
        texts.validate(full=True)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([0], pa.int64()).cast(pa.timestamp("us", tz="Europe/Berlin")),
        pa.array([0], pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        pa.array([0], pa.int64()).cast(pa.timestamp("us")),
        pa.array([-40_000_000_000], pa.int64()).cast(pa.timestamp("s", tz="UTC")),  # year 702: strftime would not pad
        pa.array(["x"]),
    ],
    ids=["other-zone", "nanoseconds", "naive", "year-702", "string"],
)
def test_given_columns_arrow_cannot_spell_like_isoformat_when_asked_then_none(column):
    assert utc_iso_texts(column) is None


def test_given_only_nulls_when_spelled_then_nulls():
    column = pa.array([None, None], pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    assert utc_iso_texts(column).to_pylist() == [None, None]
