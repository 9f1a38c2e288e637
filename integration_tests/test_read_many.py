"""`ExportFileReader.read_many`: many small files fetched ahead by a bounded pool, rows in input order.

The storage adds a little latency to every request, as a remote object store does, so downloads
really overlap. The reads must never have more than `concurrency` requests in flight and must
keep row order (equal to one file at a time). How much faster it is is `make bench`'s job
(`bench/overlap.py`), not a test's.
"""

from integration_tests.fake_servers.storage import FakeStorage
from source_exports.download.batch import RecordBatch
from source_exports.download.reader import ExportFile, ExportFileReader

FILES = 300
LATENCY = 0.01
CONCURRENCY = 8


def exports(storage, count):
    return [
        ExportFile(f"part-{i:04d}.csv", lambda i=i: storage.sign(f"parts/{i:04d}.csv"), "csv", {"part": i})
        for i in range(count)
    ]


def test_given_many_slow_small_files_when_read_many_then_bounded_and_in_order():
    with FakeStorage() as storage:
        for i in range(FILES):
            storage.put_bytes(f"parts/{i:04d}.csv", f'id,value\n{i}-a,x\n{i}-b,"y\nz"\n'.encode())
        storage.faults.delay(LATENCY)
        reader = ExportFileReader()

        sequential = [row for export in exports(storage, FILES) for row in reader.read(export)]
        assert storage.max_in_flight == 1
        storage.clear_log()
        concurrent = list(reader.read_many(exports(storage, FILES), concurrency=CONCURRENCY))

    assert 1 < storage.max_in_flight <= CONCURRENCY
    assert concurrent == sequential
    assert [(row["id"], row["value"], row["part"]) for row in concurrent] == [
        (f"{i}-{suffix}", value, i) for i in range(FILES) for suffix, value in (("a", "x"), ("b", "y\nz"))
    ]


def test_given_batches_asked_for_when_read_many_then_batches_hold_the_same_rows_in_order():
    with FakeStorage() as storage:
        for i in range(30):
            storage.put_bytes(f"parts/{i:04d}.csv", f'id,value\n{i}-a,x\n{i}-b,"y\nz"\n'.encode())
        reader = ExportFileReader()
        rows = list(reader.read_many(exports(storage, 30), concurrency=4))
        batches = list(reader.read_many(exports(storage, 30), concurrency=4, batches=True))
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
