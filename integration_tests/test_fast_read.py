"""The fast read path (batches under `ExportsEntrypoint`) prints what the CDK's record path prints.

A synthetic incremental stream reads tricky files (quotes, embedded newlines, unicode, empty
fields, nulls, ragged rows, BOM; CSV, gzip CSV, JSON Lines, Parquet) one file per slice. The
same read runs with batches (fast) and without (the stock CDK record path) and every RECORD,
STATE (with its record count) and stream status must match, value by value and key by key.
PostHog's events stream (per-row transform, then batches) is compared the same way.
"""

import dataclasses
import logging
import re

import pytest
from airbyte_cdk.models import AirbyteLogMessage, AirbyteMessage, Level
from airbyte_cdk.models import Type as MessageType

from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.fast_read_harness import (
    FILES,
    FileStream,
    HarnessSource,
    SlowEntrypoint,
    catalog_for,
    run_read,
)
from source_exports.download import formats, vectorised
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
            if trace["type"] == "ESTIMATE":
                continue  # how often differs with batching; `final_estimates` compares the totals
            if trace["type"] == "STREAM_STATUS":
                result.append(("STATUS", trace["stream_status"]["status"]))
            else:
                error = trace["error"]
                result.append(("ERROR", error["message"], error["failure_type"]))
        elif message["type"] == "RAISED":
            result.append(("RAISED", message["error"]))
    return result


def final_estimates(messages):
    """The last ESTIMATE of each stream: (rows, bytes), the totals the platform keeps."""
    latest = {}
    for message in messages:
        if message["type"] == "TRACE" and message["trace"]["type"] == "ESTIMATE":
            estimate = message["trace"]["estimate"]
            latest[estimate["name"]] = (estimate["row_estimate"], estimate["byte_estimate"])
    return latest


def read_both(storage, keys, state=None, monkeypatch=None):
    fast_stream, slow_stream = FileStream("files", storage, keys), FileStream("files", storage, keys)
    fast = run_read(ExportsEntrypoint, HarnessSource([fast_stream]), catalog_for([fast_stream]), state)
    slow = run_read(SlowEntrypoint, HarnessSource([slow_stream]), catalog_for([slow_stream]), state)
    return fast, slow, fast_stream, slow_stream


@pytest.fixture(params=["csv-vectorised", "csv-row-path"])
def csv_encoder(request, monkeypatch):
    """Run a test with the vectorised CSV encoder on (the default), and with it off."""
    encoder = vectorised.csv_batches if request.param == "csv-vectorised" else None
    monkeypatch.setitem(formats.FORMATS, "csv", dataclasses.replace(formats.FORMATS["csv"], encoder=encoder))
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
    assert formats.get_format("csv").encoder is vectorised.csv_batches  # on by default
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


# PostHog: per-row work (JSON text columns, timestamps, replay fingerprints), then batches on the fast path

PER_EXPORT = ("_ab_source_file", "_ab_export_id")


def posthog_read(entrypoint_class, posthog):
    from source_exports.source import SourceExports

    streams = ["posthog_events"]
    catalog = {
        "streams": [
            {
                "stream": {"name": name, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append",
            }
            for name in streams
        ]
    }
    source = SourceExports()
    config = {"posthog": posthog.config_block(file_format="JSONLines", compression=None)}
    original = source.streams
    source.streams = lambda _: original(config)  # run_read passes an empty config file
    return run_read(entrypoint_class, source, catalog)


def without_per_export_columns(items):
    """`comparable` output without what differs between two exports: ids, file names, state values."""
    result = []
    for item in items:
        if item[0] == "RECORD":
            item = (item[0], item[1], [(key, value) for key, value in item[2] if key not in PER_EXPORT])
        elif item[0] == "STATE":
            item = ("STATE",)
        elif item[0] == "ERROR":
            item = (item[0], re.sub(r"file: [^,]+", "file: …", item[1]), item[2])
        result.append(item)
    return result


@pytest.fixture
def posthog():
    from integration_tests.fake_servers.posthog import FakePostHog

    with FakeStorage() as storage, FakePostHog(storage, n_events=2_600, rows_per_part=900) as server:
        yield server


def test_given_posthog_events_when_read_fast_and_slow_then_records_and_messages_are_identical(posthog):
    fast_messages = posthog_read(ExportsEntrypoint, posthog)
    slow_messages = posthog_read(SlowEntrypoint, posthog)
    fast = without_per_export_columns(comparable(fast_messages))
    slow = without_per_export_columns(comparable(slow_messages))

    assert fast == slow
    rows, size = final_estimates(fast_messages)["posthog_events"]
    assert final_estimates(slow_messages)["posthog_events"] == (rows, size) and rows == 2_600 and size > 0
    records = [dict(item[2]) for item in fast if item[0] == "RECORD"]
    assert len(records) == 2_600
    assert all(record["timestamp"].endswith("Z") and isinstance(record["properties"], dict) for record in records)


def test_given_a_damaged_posthog_row_when_read_fast_and_slow_then_same_rows_before_the_same_error(posthog):
    damaged = sorted(posthog.events, key=lambda event: event["_inserted_at"])[-1_500]
    damaged["properties"] = '{"cut": '

    fast = without_per_export_columns(comparable(posthog_read(ExportsEntrypoint, posthog)))
    slow = without_per_export_columns(comparable(posthog_read(SlowEntrypoint, posthog)))

    assert fast == slow
    errors = [item for item in fast if item[0] == "ERROR"]
    assert errors and "field: properties" in errors[0][1] and "row: " in errors[0][1]
    records = [dict(item[2]) for item in fast if item[0] == "RECORD"]
    assert 0 < len(records) < 2_600 and damaged["uuid"] not in {record["uuid"] for record in records}


class QueueingStream(FileStream):
    """Plain rows, with a LOG queued on the source's message repository before the third row."""

    def __init__(self, source: HarnessSource) -> None:
        super().__init__("queued", None, ["exports/tricky.csv"])
        self.source = source

    def read_records(self, sync_mode, stream_slice=None, **kwargs):
        for number in range(5):
            if number == 2:
                self.source.message_repository.emit_message(
                    AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(level=Level.INFO, message="queued"))
                )
            yield {"id": number, "created_at": "2025-01-01T00:00:00Z"}
        self.advance_cursor("2025-01-01T00:00:00Z")


def records_and_queued_logs(messages):
    return [
        ("LOG",) if message["type"] == "LOG" else ("RECORD", message["record"]["data"]["id"])
        for message in messages
        if message["type"] == "RECORD" or (message["type"] == "LOG" and message["log"]["message"] == "queued")
    ]


def test_given_a_message_queued_between_rows_when_read_fast_and_slow_then_it_comes_out_at_the_same_place():
    fast_source, slow_source = HarnessSource([]), HarnessSource([])
    fast_source._streams, slow_source._streams = [QueueingStream(fast_source)], [QueueingStream(slow_source)]
    fast = run_read(ExportsEntrypoint, fast_source, catalog_for(fast_source._streams))
    slow = run_read(SlowEntrypoint, slow_source, catalog_for(slow_source._streams))

    expected = [("RECORD", 0), ("RECORD", 1), ("LOG",), ("RECORD", 2), ("RECORD", 3), ("RECORD", 4)]
    assert records_and_queued_logs(slow) == expected
    assert records_and_queued_logs(fast) == expected


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelname, record.getMessage()))


@pytest.fixture
def airbyte_log():
    """The debug-or-not lines of the `airbyte` loggers during a test; their levels restored after."""
    logger, handler = logging.getLogger("airbyte"), Collect()
    level = logger.level
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize("log_level, debug", [("debug", True), ("info", False)])
def test_given_platform_log_level_when_read_fast_then_debug_lines_follow_it_as_in_the_cdk(
    monkeypatch, airbyte_log, log_level, debug
):
    monkeypatch.setenv("LOG_LEVEL", log_level)
    source = HarnessSource([])
    source._streams = [QueueingStream(source)]

    run_read(ExportsEntrypoint, source, catalog_for(source._streams))

    assert (("DEBUG", "Debug logs enabled") in airbyte_log) is debug
    assert (("DEBUG", "Syncing configured stream: queued") in airbyte_log) is debug
