"""PostHog streams with stub collaborators: windows, cursor rules, expiry re-creation, state after rows."""

from datetime import datetime, timedelta

import pytest
from airbyte_cdk.models import SyncMode

from source_exports.vendors.posthog.config import PostHogConfig
from source_exports.vendors.posthog.errors import ExportExpired
from source_exports.vendors.posthog.jobs import CompletedExport
from source_exports.vendors.posthog.streams import (
    PostHogBatchExportLogs,
    PostHogBatchExportRuns,
    PostHogFileDownloadStream,
)
from source_exports.vendors.posthog.windows import UTC, format_timestamp
from unit_tests.vendors.posthog.builders import batch_export, batch_export_run, log_entry

NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


def config(**overrides):
    block = {
        "api_key": "k",
        "environment_id": "7",
        "file_download": {},
        "end_lag_seconds": 60,
        "export_concurrency": 1,  # StubJob numbers exports in creation order: one window at a time
        **overrides,
    }
    return PostHogConfig.from_block(block)


class StubClient:
    def __init__(self, runs=(), logs=None):
        self.runs = list(runs)
        self.logs = logs or {}
        self.log_requests = []

    def list_batch_exports(self):
        return iter([batch_export("b1", team_id=7), batch_export("b2", team_id=None)])

    def list_runs(self, team_id, batch_export_id):
        return iter([dict(run, batch_export=batch_export_id, team=team_id) for run in self.runs])

    def list_logs(self, team_id, batch_export_id, limit, after, before):
        self.log_requests.append((team_id, batch_export_id, limit, after, before))
        return [dict(entry) for entry in self.logs.get(batch_export_id, []) if entry["timestamp"] < before][:limit]

    def file_location(self, export_id, file_id):
        return f"https://storage/{export_id}/{file_id}"


class StubJob:
    """Hands out exports e-1, e-2, … each with files f1, f2."""

    created = []

    def __init__(self, client, model, window, file_config, settings, logger, sleep=None):
        self.window = window

    def run(self):
        StubJob.created.append(self.window)
        return CompletedExport(f"e-{len(StubJob.created)}", ("f1", "f2"), 2)


class StubReader:
    """Two rows per file; raises ExportExpired on the reads listed in `expire_on` (1-based)."""

    def __init__(self, expire_on=()):
        self.expire_on = set(expire_on)
        self.reads = 0

    def read(self, export_file):
        self.reads += 1
        if self.reads in self.expire_on:
            raise ExportExpired("has expired")
        export_id = export_file.metadata["_ab_export_id"]
        for row in (1, 2):
            yield {"uuid": f"{export_file.name}-{row}", "properties": "{}", "_ab_export_id": export_id}

    def read_chunks(self, export_file, size, bare=False):
        yield list(self.read(export_file))  # as the row path gives them: lists, the metadata in the rows

    def read_many(self, export_files, concurrency, chunks=None, bare=False):
        assert chunks  # the stream transforms the rows itself, in chunks
        for export_file in export_files:
            yield from self.read_chunks(export_file, chunks, bare)


@pytest.fixture(autouse=True)
def reset_jobs():
    StubJob.created = []


def events_stream(reader=None, **overrides):
    return PostHogFileDownloadStream(
        StubClient(),
        config(**overrides),
        "events",
        None,
        clock=lambda: NOW,
        reader=reader or StubReader(),
        job_factory=StubJob,
    )


def test_given_no_state_when_slicing_then_windows_of_at_most_window_days_from_lookback_to_now_minus_lag():
    stream = events_stream(initial_lookback_days=10, window_days=7)
    bound = NOW - timedelta(seconds=60)
    assert stream.stream_slices(sync_mode=SyncMode.incremental) == [
        {"start": format_timestamp(bound - timedelta(days=10)), "end": format_timestamp(bound - timedelta(days=3))},
        {"start": format_timestamp(bound - timedelta(days=3)), "end": format_timestamp(bound)},
    ]


def test_given_state_when_slicing_then_windows_start_at_the_cursor():
    stream = events_stream()
    stream.state = {"_inserted_at": "2025-03-19T00:00:00.000Z"}
    (only,) = stream.stream_slices(sync_mode=SyncMode.incremental)
    assert only["start"] == "2025-03-19T00:00:00.000000Z"


def test_given_cursor_at_the_bound_when_slicing_then_no_window():
    stream = events_stream()
    stream.state = {"_inserted_at": format_timestamp(NOW)}
    assert stream.stream_slices(sync_mode=SyncMode.incremental) == []


def test_given_window_when_read_then_state_moves_only_after_its_last_row():
    stream = events_stream()
    window = {"start": "2025-03-18T00:00:00Z", "end": "2025-03-19T00:00:00Z"}
    rows = stream.read_records(SyncMode.incremental, stream_slice=window)
    seen = []
    for row in rows:
        seen.append(row["uuid"])
        assert stream.state == {}
    assert seen == ["f1.jsonl.gz-1", "f1.jsonl.gz-2", "f2.jsonl.gz-1", "f2.jsonl.gz-2"]
    assert stream.state == {"_inserted_at": "2025-03-19T00:00:00.000Z"}


def test_given_export_expires_before_any_row_when_read_then_recreated_and_rows_emitted_once():
    stream = events_stream(reader=StubReader(expire_on={1}))
    rows = list(
        stream.read_records(
            SyncMode.incremental, stream_slice={"start": "2025-03-18T00:00:00Z", "end": "2025-03-19T00:00:00Z"}
        )
    )
    assert len(StubJob.created) == 2
    assert [row["_ab_export_id"] for row in rows] == ["e-2"] * 4
    assert rows[0]["properties"] == {}


def test_given_export_keeps_expiring_when_read_then_error_after_the_configured_recreations():
    stream = events_stream(reader=StubReader(expire_on={1, 2, 3}), export_recreations=2)
    with pytest.raises(ExportExpired, match="expired 3 times"):
        list(
            stream.read_records(
                SyncMode.incremental, stream_slice={"start": "2025-03-18T00:00:00Z", "end": "2025-03-19T00:00:00Z"}
            )
        )
    assert stream.state == {}


def test_given_runs_around_the_cursor_when_read_incrementally_then_runs_updated_at_or_after_it_and_state_is_the_bound():
    runs = [
        batch_export_run("old", "2025-03-01T00:00:00Z"),
        batch_export_run("tie", "2025-03-10T00:00:00Z"),
        batch_export_run("new", "2025-03-15T00:00:00Z"),
    ]
    stream = PostHogBatchExportRuns(StubClient(runs), config(), None, clock=lambda: NOW)
    stream.state = {"last_updated_at": "2025-03-10T00:00:00.000Z"}
    got = list(stream.read_records(SyncMode.incremental))
    assert [(run["batch_export"], run["id"], run["team"]) for run in got] == [
        ("b1", "tie", "7"),
        ("b1", "new", "7"),
        ("b2", "tie", "7"),
        ("b2", "new", "7"),
    ]
    assert stream.state == {"last_updated_at": "2025-03-20T11:59:00.000Z"}


def test_given_full_refresh_when_reading_runs_then_state_is_ignored():
    runs = [batch_export_run("old", "2025-03-01T00:00:00Z")]
    stream = PostHogBatchExportRuns(StubClient(runs), config(), None, clock=lambda: NOW)
    stream.state = {"last_updated_at": "2025-03-10T00:00:00.000Z"}
    assert len(list(stream.read_records(SyncMode.full_refresh))) == 2


def test_given_cursor_when_reading_logs_then_after_includes_the_cursor_and_before_is_the_bound():
    entry = log_entry("2025-03-19T00:00:00.000000Z", "m")
    logs = {"b1": [entry]}
    client = StubClient(logs=logs)
    stream = PostHogBatchExportLogs(client, config(logs_page_size=50), None, clock=lambda: NOW)
    stream.state = {"timestamp": "2025-03-18T00:00:00.000Z"}
    got = list(stream.read_records(SyncMode.incremental))
    assert got == [{**entry, "batch_export_id": "b1"}]
    assert client.log_requests[0] == ("7", "b1", 50, "2025-03-17T23:59:59.999999Z", "2025-03-20T11:59:00.000000Z")
    assert client.log_requests[1][0] == "7"  # no team_id on b2: the configured environment
    assert stream.state == {"timestamp": "2025-03-20T11:59:00.000Z"}
