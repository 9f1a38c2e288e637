"""`ExportFileReader.read_many`: many small files fetched ahead by a bounded pool, rows in input order.

The storage adds 50 ms to every request, as a remote object store does. 1,000 files are read with
`concurrency=8`: one at a time they cannot take less than 1,000 × 50 ms = 50 s, and 8 at a time
take about 6 s, so the concurrent read must stay under half that serial floor (a bound that holds
on a busy machine, unlike a ratio to a measured sequential time), never have more than 8 requests
in flight, and keep row order. The first 200 files read one at a time give the rows to compare and
the printed estimate of the sequential time.
"""

import threading
import time

from integration_tests.fake_servers.storage import FakeStorage
from source_exports.download.batch import RecordBatch, enable_batches
from source_exports.download.reader import ExportFile, ExportFileReader

FILES = 1_000
SEQUENTIAL_SAMPLE = 200
LATENCY = 0.05
CONCURRENCY = 8


class CountingStorage(FakeStorage):
    """Counts requests in flight at once (each holds one connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()

    def handle(self, request):
        with self._count_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return super().handle(request)
        finally:
            with self._count_lock:
                self.in_flight -= 1


def exports(storage, count):
    return [
        ExportFile(f"part-{i:04d}.csv", lambda i=i: storage.sign(f"parts/{i:04d}.csv"), "csv", {"part": i})
        for i in range(count)
    ]


def test_given_1000_slow_small_files_when_read_many_then_4x_faster_bounded_and_in_order():
    with CountingStorage() as storage:
        for i in range(FILES):
            storage.put_bytes(f"parts/{i:04d}.csv", f"id,value\n{i}-a,x\n{i}-b,\"y\nz\"\n".encode())
        storage.faults.delay(LATENCY)
        reader = ExportFileReader()

        started = time.perf_counter()
        sequential = [row for export in exports(storage, SEQUENTIAL_SAMPLE) for row in reader.read(export)]
        sequential_seconds = (time.perf_counter() - started) * FILES / SEQUENTIAL_SAMPLE

        storage.max_in_flight = 0
        started = time.perf_counter()
        concurrent = list(reader.read_many(exports(storage, FILES), concurrency=CONCURRENCY))
        concurrent_seconds = time.perf_counter() - started

    print(f"\nsequential ≈ {sequential_seconds:.1f} s, read_many {concurrent_seconds:.1f} s for {FILES} files")
    assert concurrent_seconds <= FILES * LATENCY / 2
    assert 1 < storage.max_in_flight <= CONCURRENCY
    assert concurrent[: len(sequential)] == sequential
    assert [(row["id"], row["value"], row["part"]) for row in concurrent] == [
        (f"{i}-{suffix}", value, i) for i in range(FILES) for suffix, value in (("a", "x"), ("b", "y\nz"))
    ]


def test_given_batches_enabled_when_read_many_then_batches_hold_the_same_rows_in_order():
    with FakeStorage() as storage:
        for i in range(30):
            storage.put_bytes(f"parts/{i:04d}.csv", f"id,value\n{i}-a,x\n{i}-b,\"y\nz\"\n".encode())
        reader = ExportFileReader()
        rows = list(reader.read_many(exports(storage, 30), concurrency=4))
        with enable_batches():
            batches = list(reader.read_many(exports(storage, 30), concurrency=4))
    assert all(isinstance(batch, RecordBatch) for batch in batches)
    assert [row for batch in batches for row in batch.rows()] == rows


def test_given_a_missing_file_when_read_many_then_earlier_rows_come_out_and_the_error_names_the_file():
    with FakeStorage() as storage:
        for i in (0, 1, 3):
            storage.put_bytes(f"parts/{i:04d}.csv", f"id\n{i}\n".encode())
        got = []
        try:
            for row in ExportFileReader().read_many(exports(storage, 4), concurrency=3):
                got.append(row["id"])
        except Exception as error:  # noqa: BLE001 - the error type is asserted below
            failure = error
    assert got == ["0", "1"]
    assert type(failure).__name__ == "DownloadError" and "part-0002.csv" in str(failure)
