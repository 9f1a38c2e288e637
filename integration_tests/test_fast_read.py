"""The fast read path (batches under `ExportsEntrypoint`) prints what the CDK's record path prints.

A synthetic incremental stream reads tricky files (quotes, embedded newlines, unicode, empty
fields, nulls, ragged rows, BOM; CSV, gzip CSV, JSON Lines, Parquet) one file per slice. The
same read runs with batches (fast) and without (the stock CDK record path) and every RECORD,
STATE (with its record count) and stream status must match, value by value and key by key.
"""


import pytest

from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.fast_read_harness import (
    FILES,
    FileStream,
    HarnessSource,
    SlowEntrypoint,
    catalog_for,
    run_read,
)
from source_exports.download import vectorised
from source_exports.download.batch import RecordBatch
from source_exports.run import ExportsEntrypoint


@pytest.fixture(scope="module")
def storage():
    with FakeStorage() as server:
        for key, (_, data) in FILES.items():
            server.put_bytes(key, data)
        yield server


def comparable(messages):
    """Messages without their timestamps; records as (stream, list of items) so key order counts."""
    result = []
    for message in messages:
        if message["type"] == "RECORD":
            record = message["record"]
            result.append(("RECORD", record["stream"], list(record["data"].items())))
        elif message["type"] == "STATE":
            result.append(("STATE", message["state"]))
        elif message["type"] == "TRACE":
            trace = message["trace"]
            if trace["type"] == "STREAM_STATUS":
                result.append(("STATUS", trace["stream_status"]["status"]))
            else:
                error = trace["error"]
                result.append(("ERROR", error["message"], error["failure_type"]))
        elif message["type"] == "RAISED":
            result.append(("RAISED", message["error"]))
    return result


def read_both(storage, keys, state=None, monkeypatch=None):
    fast_stream, slow_stream = FileStream("files", storage, keys), FileStream("files", storage, keys)
    fast = run_read(ExportsEntrypoint, HarnessSource([fast_stream]), catalog_for([fast_stream]), state)
    slow = run_read(SlowEntrypoint, HarnessSource([slow_stream]), catalog_for([slow_stream]), state)
    return fast, slow, fast_stream, slow_stream


@pytest.fixture(params=["csv-vectorised", "csv-row-path"])
def csv_encoder(request, monkeypatch):
    """Run a test with the vectorised CSV encoder on (the default), and with it off."""
    encoders = dict(vectorised.ENCODERS)
    if request.param == "csv-vectorised":
        encoders["csv"] = vectorised.csv_batches
    else:
        encoders.pop("csv", None)
    monkeypatch.setattr(vectorised, "ENCODERS", encoders)
    return request.param


def test_given_tricky_files_when_read_fast_and_slow_then_every_message_is_identical(storage, monkeypatch, csv_encoder):
    monkeypatch.setattr(vectorised, "CSV_BLOCK_SIZE", 4096)  # several blocks per file; the ragged row is mid-file
    fast, slow, fast_stream, slow_stream = read_both(storage, list(FILES))

    assert comparable(fast) == comparable(slow)
    records = [m["record"]["data"] for m in fast if m["type"] == "RECORD"]
    assert len(records) == 6 + 3_000 + 4 + 2_500
    assert set(fast_stream.yielded_types) == {RecordBatch}
    assert set(slow_stream.yielded_types) == {dict}
    states = [m["state"] for m in fast if m["type"] == "STATE"]
    assert [s["sourceStats"]["recordCount"] for s in states] == [6.0, 3_000.0, 4.0, 2_500.0]
    assert states[-1]["stream"]["stream_state"] == {"created_at": "2025-01-04T00:00:00.000Z"}


def test_given_tricky_csv_when_read_fast_then_values_match_the_file_exactly(storage, csv_encoder):
    fast, _, _, _ = read_both(storage, ["exports/tricky.csv"])
    rows = [m["record"]["data"] for m in fast if m["type"] == "RECORD"]
    assert rows[0] == {
        "id": "1",
        "quoted": "a, b",
        "multiline": "line one\nline two",
        "empty": "",
        "unicode": "żółć 日本 🙂",
        "_ab_source_file": "tricky.csv",
        "_ab_source_row": 1,
        "created_at": "2025-01-01T00:00:00Z",
        "job_id": "job-0",
        "note": None,
    }
    assert rows[1]["quoted"] == 'say "hi"' and rows[1]["multiline"] == "cr\r\nlf" and rows[1]["unicode"] == "tab\there"
    assert rows[2]["quoted"] == "back\\slash" and rows[2]["multiline"] == "ctl\x01\x1fchars"
    assert rows[2]["unicode"] == "\u2028sep"
    assert rows[3]["multiline"] is None and rows[3]["unicode"] is None  # short row: missing cells are null
    assert rows[4]["_ab_extra_values"] == ["extra1", "extra2"]
    assert [row["_ab_source_row"] for row in rows] == [1, 2, 3, 4, 5, 6]


def test_given_a_clean_csv_when_read_fast_then_the_vectorised_encoder_is_used_for_every_row(storage, monkeypatch):
    assert vectorised.ENCODERS["csv"] is vectorised.csv_batches  # on by default
    stream = FileStream("files", storage, ["exports/clean.csv.gz"])
    reader = stream.reader
    export = stream.export(0, "exports/clean.csv.gz")
    batches = list(reader.read_batches(export))
    assert sum(len(batch) for batch in batches) == 3_000
    assert all(not isinstance(batch._objects, list) for batch in batches)  # arrow-built, no row fallback
    assert [row for batch in batches for row in batch.rows()] == list(reader.read(export))


def test_given_a_file_that_fails_when_read_fast_and_slow_then_the_error_and_statuses_are_identical(storage):
    fast, slow, _, _ = read_both(storage, ["exports/events.jsonl", "exports/missing.csv"])
    assert comparable(fast) == comparable(slow)
    kinds = [item[0] for item in comparable(fast)]
    assert ("STATUS", "INCOMPLETE") in comparable(fast) and "ERROR" in kinds and kinds[-1] == "RAISED"
    assert kinds.index("STATE") < kinds.index("ERROR")  # the first file's state still came out


def test_given_saved_state_when_read_fast_then_it_resumes_like_the_slow_path(storage):
    saved = {"stream_descriptor": {"name": "files"}, "stream_state": {"created_at": "2025-01-01T00:00:00.000Z"}}
    state = [{"type": "STREAM", "stream": saved}]
    fast, slow, _, _ = read_both(storage, ["exports/events.jsonl"], state=state)
    assert comparable(fast) == comparable(slow)
    assert any(item[0] == "RECORD" for item in comparable(fast))
