"""PostHog end to end: the installed `source-exports` command against `FakePostHog` + `FakeStorage`.

Every record is compared value by value with the data the fake holds: batch exports, runs, logs
(across page edges that fall inside groups of entries sharing a timestamp) and the rows of the
file-download parts in both file formats, over full and incremental syncs and PostHog's faults.
The PostHog key must never reach the storage host nor any output line.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional

import pytest

from integration_tests.cli import CliResult, run_cli
from integration_tests.fake_servers.posthog import (
    API_KEY,
    ENVIRONMENT_ID,
    OTHER_ENVIRONMENT_ID,
    READ,
    WRITE,
    FakePostHog,
    iso,
)
from integration_tests.fake_servers.storage import FakeStorage

pytestmark = pytest.mark.e2e

UTC = timezone.utc
METADATA = ("_ab_source_file", "_ab_source_row", "_ab_export_id")
CURSORS = {
    "posthog_batch_exports": [],
    "posthog_batch_export_runs": ["last_updated_at"],
    "posthog_batch_export_logs": ["timestamp"],
    "posthog_events": ["_inserted_at"],
}
KEYS = {"posthog_batch_exports": [["id"]], "posthog_batch_export_runs": [["id"]], "posthog_events": [["uuid"]]}
SUFFIXES = {("JSONLines", "gzip"): ".jsonl.gz", ("JSONLines", None): ".jsonl", ("Parquet", "zstd"): ".parquet"}


class Fakes:
    def __init__(self, storage: FakeStorage, posthog: FakePostHog) -> None:
        self.storage, self.posthog = storage, posthog


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """A fresh PostHog fake per test: tests change its data, scopes and faults."""
    with FakeStorage() as storage, FakePostHog(storage) as posthog:
        yield Fakes(storage, posthog)
        assert storage.auth_header_violations == 0, "the PostHog key reached the storage host"
        assert posthog.errors == [] and storage.errors == []


def catalog(streams: List[str], incremental: bool = True) -> Dict[str, Any]:
    """A configured catalog built directly (the connector reads with the schema it is given)."""
    configured = []
    for name in streams:
        mode = "incremental" if incremental and CURSORS[name] else "full_refresh"
        configured.append(
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh", "incremental"] if CURSORS[name] else ["full_refresh"],
                    "source_defined_cursor": bool(CURSORS[name]),
                    "default_cursor_field": CURSORS[name],
                },
                "sync_mode": mode,
                "destination_sync_mode": "append",
                "cursor_field": CURSORS[name],
                "primary_key": KEYS.get(name, []),
            }
        )
    return {"streams": configured}


def read(config: Dict[str, Any], streams: List[str], state=None, expect_errors: bool = False) -> CliResult:
    result = run_cli("read", {"posthog": config}, catalog(streams), state)
    if not expect_errors:
        assert result.errors == [], result.errors
        assert result.returncode == 0, result.stderr[-2000:]
    assert_key_never_printed(result)
    return result


def assert_key_never_printed(result: CliResult) -> None:
    assert not [line for line in result.stdout_lines if API_KEY in line]
    assert API_KEY not in result.stderr


def stream_error(result: CliResult, stream: str) -> Dict[str, Any]:
    """The error trace of one stream (the CDK adds a summary error after it)."""
    (error,) = [e for e in result.errors if (e.get("stream_descriptor") or {}).get("name") == stream]
    assert result.returncode != 0
    return error


def expected_event(raw: Dict[str, Any]) -> Dict[str, Any]:
    """What a record holds for a raw event of the fake: JSON text as objects, one timestamp spelling."""
    return {
        "uuid": raw["uuid"],
        "team_id": raw["team_id"],
        "timestamp": iso(raw["timestamp"]),
        "_inserted_at": iso(raw["_inserted_at"]),
        "created_at": iso(raw["created_at"]),
        "event": raw["event"],
        "properties": json.loads(raw["properties"]),
        "distinct_id": raw["distinct_id"],
        "set": json.loads(raw["set"]) if raw["set"] else None,
        "set_once": json.loads(raw["set_once"]) if raw["set_once"] else None,
    }


def assert_events_match(fakes: Fakes, records: List[Dict[str, Any]], suffix: str, since: Optional[str] = None):
    """Records equal the fake's events of the exports' windows, and every export obeys PostHog's rules."""
    exports = [e for e in fakes.posthog.exports.values() if not e.expired and (since is None or iso(e.start) >= since)]
    assert exports, "no file download was created"
    windows = sorted((export.start, export.end) for export in exports)
    for (_, end), (next_start, _) in zip(windows, windows[1:]):
        assert end == next_start, "windows must be contiguous"
    assert all((end - start).total_seconds() <= 7 * 86400 for start, end in windows)
    expected = [expected_event(raw) for raw in fakes.posthog.events_between(windows[0][0], windows[-1][1])]
    assert [{k: v for k, v in record.items() if k not in METADATA} for record in records] == expected
    files = {file_id: export for export in exports for file_id in export.files}
    rows_per_file: Dict[str, int] = {}
    for record in records:
        file_id, _, found_suffix = record["_ab_source_file"].partition(".")
        assert "." + found_suffix == suffix
        assert files[file_id].id == record["_ab_export_id"]
        rows_per_file[file_id] = rows_per_file.get(file_id, 0) + 1
        assert record["_ab_source_row"] == rows_per_file[file_id]
    assert sum(len(export.files) for export in exports) == len(rows_per_file)
    assert len({record["uuid"] for record in records}) == len(records), "duplicate rows"


def expected_logs(fakes: Fakes, team: int = ENVIRONMENT_ID) -> List[Dict[str, Any]]:
    logs = []
    for batch_export in fakes.posthog.batch_exports:
        if batch_export["team_id"] == team:
            logs += [
                dict(entry, batch_export_id=batch_export["id"]) for entry in fakes.posthog.logs[batch_export["id"]]
            ]
    return logs


def test_given_valid_key_when_check_then_succeeded(fakes: Fakes):
    result = run_cli("check", {"posthog": fakes.posthog.config_block(organization=True)})
    assert result.connection_status["status"] == "SUCCEEDED", result.connection_status
    assert_key_never_printed(result)


def test_given_key_without_read_scope_when_check_then_failed_naming_both_scopes(fakes: Fakes):
    fakes.posthog.scopes = {WRITE}
    status = run_cli("check", {"posthog": fakes.posthog.config_block()}).connection_status
    assert status["status"] == "FAILED"
    assert "PostHog" in status["message"]
    assert "API key missing required scope 'batch_export:read'" in status["message"]
    assert "batch_export:read and batch_export:write" in status["message"]


def test_given_wrong_key_when_check_then_failed_saying_personal_api_key(fakes: Fakes):
    block = dict(fakes.posthog.config_block(), api_key="phx_wrong")
    status = run_cli("check", {"posthog": block}).connection_status
    assert status["status"] == "FAILED" and "personal API key" in status["message"]


@pytest.mark.parametrize("file_format,compression", [("JSONLines", "gzip"), ("Parquet", "zstd")])
def test_given_each_file_format_when_full_read_then_every_record_matches_the_fake(fakes, file_format, compression):
    config = fakes.posthog.config_block(file_format=file_format, compression=compression)
    result = read(config, list(CURSORS))
    posthog = fakes.posthog
    env_exports = [be for be in posthog.batch_exports if be["team_id"] == ENVIRONMENT_ID]
    assert result.records("posthog_batch_exports") == env_exports
    assert result.records("posthog_batch_export_runs") == [run for be in env_exports for run in posthog.runs[be["id"]]]
    assert result.records("posthog_batch_export_logs") == expected_logs(fakes)
    assert_events_match(fakes, result.records("posthog_events"), SUFFIXES[(file_format, compression)])
    assert len(posthog.exports) == 2  # 10 days of lookback in windows of at most 7 days
    parts = [export.files for export in posthog.exports.values()]
    assert all(len(files) > 1 for files in parts), "each export should span several parts"
    assert any(record["set"] is None for record in result.records("posthog_events")), "nulls must be kept"


def test_given_ties_at_log_page_edges_when_read_then_every_entry_exactly_once_in_order(fakes: Fakes):
    posthog = fakes.posthog
    batch_export = posthog.batch_exports[0]["id"]
    entries = []
    for group, size in enumerate((2, 3, 3, 1, 3, 2)):  # pages of 4: edges fall inside the 2nd, 3rd and 5th groups
        moment = iso(datetime(2025, 1, 1, 12, 0, 0, 500000 - group, tzinfo=UTC))
        for position in range(size):
            message = "duplicate line" if group == 1 and position > 0 else f"group {group} line {position}"
            entries.append(
                {
                    "log_source_id": batch_export,
                    "instance_id": f"instance-{group}",
                    "timestamp": moment,
                    "level": "INFO",
                    "message": message,
                }
            )
    posthog.logs[batch_export][:] = entries
    result = read(posthog.config_block(file_format=None), ["posthog_batch_export_logs"])
    assert result.records("posthog_batch_export_logs") == expected_logs(fakes)
    assert [log for log in result.logs if "share the timestamp" in log["message"]] == []


def test_given_state_when_second_sync_then_only_new_windows_new_logs_and_updated_runs(fakes: Fakes):
    posthog = fakes.posthog
    config = posthog.config_block()
    streams = list(CURSORS)
    first = read(config, streams)
    state = first.last_state()
    cursors = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in state}
    events_cursor = datetime.fromisoformat(cursors["posthog_events"]["_inserted_at"].replace("Z", "+00:00"))
    logs_cursor = datetime.fromisoformat(cursors["posthog_batch_export_logs"]["timestamp"].replace("Z", "+00:00"))
    exports_before = set(posthog.exports)

    new_events = posthog.add_events(5, events_cursor, datetime.now(UTC))
    new_logs = posthog.add_logs(posthog.batch_exports[1]["id"], 4, logs_cursor, datetime.now(UTC))
    touched = posthog.runs[posthog.batch_exports[1]["id"]][3]
    touched["last_updated_at"] = iso(datetime.now(UTC))
    second = read(config, streams, state=state)

    new_exports = [export for export in posthog.exports.values() if export.id not in exports_before]
    assert len(new_exports) == 1 and iso(new_exports[0].start) == iso(events_cursor)
    records = second.records("posthog_events")
    assert_events_match(fakes, records, ".jsonl.gz", since=iso(events_cursor))
    assert {record["uuid"] for record in records} == {event["uuid"] for event in new_events}
    assert sorted(map(json.dumps, second.records("posthog_batch_export_logs"))) == sorted(
        json.dumps(dict(entry, batch_export_id=posthog.batch_exports[1]["id"])) for entry in new_logs
    )
    assert second.records("posthog_batch_export_runs") == [touched]
    assert second.records("posthog_batch_exports") == first.records("posthog_batch_exports")


def test_given_busy_expired_cut_and_throttled_when_read_then_records_still_exact(fakes: Fakes):
    posthog = fakes.posthog
    posthog.faults.too_many_concurrent(times=2, retry_after=0)
    posthog.faults.expire_export_next()
    posthog.faults.fail_next(429, retry_after=0, path=r"/runs/")
    fakes.storage.faults.cut_after(100)
    fakes.storage.faults.expire_next()  # storage says 403 "Request has expired": a fresh link is asked for
    # one part at a time, so every download request below is counted exactly (parts fetched ahead
    # would also ask the expired export for their own part)
    config = {**posthog.config_block(), "download_concurrency": 1}
    result = read(config, ["posthog_batch_export_runs", "posthog_events"])
    assert_events_match(fakes, result.records("posthog_events"), ".jsonl.gz")
    assert len(posthog.exports) == 3  # the expired one was created again
    assert sum(export.expired for export in posthog.exports.values()) == 1
    assert any(download.range for download in fakes.storage.downloads), "the cut download resumed with Range"
    parts = sum(len(export.files) for export in posthog.exports.values() if not export.expired)
    assert len(posthog.requests_to(r"/download/")) == parts + 2  # +1 expired export, +1 re-minted link
    assert [d.status for d in fakes.storage.downloads].count(403) == 1
    assert len(result.records("posthog_batch_export_runs")) == 15
    messages = [log["message"] for log in result.logs]
    assert any("too many file downloads running" in message for message in messages)
    assert any("has expired; creating it again" in message for message in messages)


def test_given_export_fails_when_read_then_stream_fails_with_posthogs_error(fakes: Fakes):
    fakes.posthog.faults.fail_export_next("Export failed: disk quota exceeded")
    config = {**fakes.posthog.config_block(), "export_concurrency": 1}  # the first window's export is the one failed
    result = read(config, ["posthog_events"], expect_errors=True)
    assert result.records("posthog_events") == []
    error = stream_error(result, "posthog_events")
    assert "ended Failed: Export failed: disk quota exceeded" in error["message"]
    assert "posthog_events" in error["message"]
    assert result.last_state() == [] or all(
        "_inserted_at" not in state["stream"]["stream_state"] for state in result.last_state()
    )


def test_given_key_without_write_scope_when_reading_events_then_error_names_the_write_scope(fakes: Fakes):
    fakes.posthog.scopes = {READ}
    result = read(fakes.posthog.config_block(), ["posthog_events"], expect_errors=True)
    error = stream_error(result, "posthog_events")
    assert "API key missing required scope 'batch_export:write'" in error["message"]
    assert error["failure_type"] == "config_error"


def test_given_organization_when_read_then_every_environments_batch_exports_and_their_runs(fakes: Fakes):
    posthog = fakes.posthog
    config = posthog.config_block(file_format=None, organization=True)
    result = read(config, ["posthog_batch_exports", "posthog_batch_export_runs"])
    assert result.records("posthog_batch_exports") == posthog.batch_exports
    runs = [run for be in posthog.batch_exports for run in posthog.runs[be["id"]]]
    assert result.records("posthog_batch_export_runs") == runs
    assert posthog.requests_to(rf"/api/environments/{OTHER_ENVIRONMENT_ID}/batch_exports/.+/runs/")
