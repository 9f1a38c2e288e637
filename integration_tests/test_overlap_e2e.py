"""Overlapping exports and downloads, end to end: same records, same order, same state as one at a time.

PostHog windows are pipelined (`export_concurrency`), the parts of one export and SourceCraft's
artifacts download ahead (`download_concurrency`). Each read is compared with the serial read
(concurrency 1) of the same fake, message by message, and the fakes' counters bound how much ran
at once. Speed is `make bench`'s job, not these tests'.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Dict, List

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers.posthog import FakePostHog, iso
from integration_tests.fake_servers.sourcecraft import FakeSourceCraft, csv_bytes
from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.test_posthog_e2e import catalog as posthog_catalog

pytestmark = pytest.mark.e2e

ARTIFACTS = 24


def data_and_states(result: CliResult) -> List[Any]:
    """RECORD data and STATE blobs in output order (what must not change with concurrency)."""
    out: List[Any] = []
    for message in result.messages:
        if message.get("type") == "RECORD":
            out.append(("record", message["record"]["stream"], message["record"]["data"]))
        elif message.get("type") == "STATE":
            out.append(("state", message["state"]["stream"]["stream_state"]))
    return out


def read_posthog(posthog: FakePostHog, **overrides: Any) -> CliResult:
    """Windows from a fixed cursor, so both reads plan the same windows (only the last one ends at now)."""
    block = {**posthog.config_block(), "window_days": 2, **overrides}
    start = iso(posthog.clock - timedelta(days=10))
    state = [
        {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": "posthog_events"}, "stream_state": {"_inserted_at": start}},
        }
    ]
    result = run_cli("read", {"posthog": block}, posthog_catalog(["posthog_events"]), state)
    assert result.returncode == 0 and result.errors == [], result.stderr[-2000:] + json.dumps(result.errors)
    return result


def test_given_six_windows_of_parts_when_pipelined_then_records_and_states_equal_the_serial_read():
    with FakeStorage() as storage, FakePostHog(storage, n_events=90, rows_per_part=4) as posthog:
        serial = read_posthog(posthog, export_concurrency=1, download_concurrency=1)
        assert posthog.max_running_exports == 1
        posthog.max_running_exports = 0
        storage.clear_log()
        storage.faults.delay(0.02)  # storage latency, so the parts' downloads really overlap
        overlapped = read_posthog(posthog, export_concurrency=3, download_concurrency=4)
        assert 1 < posthog.max_running_exports <= 3
        assert 1 < storage.max_in_flight <= 4
        assert len([item for item in data_and_states(serial) if item[0] == "state"]) >= 5  # one per window

    def comparable(items: List[Any]) -> List[Any]:
        """Export ids and file ids differ between two exports of the same rows; the last state is now."""
        last_state = max(index for index, item in enumerate(items) if item[0] == "state")
        return [
            ("record", item[1], {k: v for k, v in item[2].items() if k not in ("_ab_export_id", "_ab_source_file")})
            if item[0] == "record"
            else ("state", None if index == last_state else item[1])
            for index, item in enumerate(items)
        ]

    assert comparable(data_and_states(overlapped)) == comparable(data_and_states(serial))
    lookback = posthog.events_between(posthog.clock - timedelta(days=10), posthog.clock + timedelta(minutes=5))
    assert sorted(row["uuid"] for row in overlapped.records()) == sorted(event["uuid"] for event in lookback)


def test_given_exports_finishing_by_time_when_pipelined_then_429_is_waited_out_and_rows_keep_window_order():
    with FakeStorage() as storage, FakePostHog(storage, export_seconds=0.3) as posthog:
        posthog.faults.too_many_concurrent(times=2)
        serial = read_posthog(posthog, export_concurrency=1)
        assert posthog.max_running_exports == 1
        posthog.faults.too_many_concurrent(times=2)
        overlapped = read_posthog(posthog, export_concurrency=4)
        assert 1 < posthog.max_running_exports <= 4
    assert [row["uuid"] for row in overlapped.records()] == [row["uuid"] for row in serial.records()]
    states = [[item[1] for item in data_and_states(result) if item[0] == "state"] for result in (overlapped, serial)]
    assert states[0][:-1] == states[1][:-1] and len(states[0]) == len(states[1]) > 3  # the last one is "now"


def many_artifacts(storage: FakeStorage) -> FakeSourceCraft:
    fake = FakeSourceCraft(storage, seed_default=False).start()
    artifacts = []
    for number in range(ARTIFACTS):
        rows = [{"id": f"{number}-{row}", "value": f"v{row}"} for row in range(3)]
        artifacts.append((f"reports/part-{number:03d}.csv", "success", csv_bytes(rows), rows))
    fake.add_run("success", {"test": {"unit": {"pytest": artifacts}}}, hours_ago=2)
    fake.add_run("success", {"test": {"unit": {"pytest": artifacts[:5]}}}, hours_ago=1)
    return fake


def read_sourcecraft(fake: FakeSourceCraft, catalog: Dict[str, Any], concurrency: int) -> CliResult:
    config = {"sourcecraft": fake.config_block(download_concurrency=concurrency)}
    return run_cli("read", config, configured_catalog(catalog, ["sourcecraft_artifact_records"], True))


@pytest.fixture(scope="module")
def sourcecraft_catalog() -> Dict[str, Any]:
    """Discovered from the default fake (discover samples its reports)."""
    with FakeStorage() as storage, FakeSourceCraft(storage) as server:
        return run_cli("discover", {"sourcecraft": server.config_block()}).catalog


def test_given_many_artifacts_one_gone_when_read_concurrently_then_same_rows_order_state_and_failure(
    sourcecraft_catalog,
):
    with FakeStorage() as storage:
        fake = many_artifacts(storage)
        try:
            (gone,) = [item for item in fake.expected_artifacts(["1"]) if item["local_path"].endswith("-007.csv")]
            fake.delete_contents(gone["id"])
            serial = read_sourcecraft(fake, sourcecraft_catalog, 1)
            storage.clear_log()
            storage.faults.delay(0.02)  # storage latency, so downloads really overlap
            overlapped = read_sourcecraft(fake, sourcecraft_catalog, 6)
            assert 1 < storage.max_in_flight <= 6
        finally:
            fake.stop()
    assert data_and_states(overlapped) == data_and_states(serial)
    files = [(row["_sourcecraft_run_slug"], row["_ab_source_file"].rsplit("/", 1)[-1]) for row in overlapped.records()]
    expected = [("2", f"part-{n:03d}.csv") for n in range(5)]
    expected += [("1", f"part-{n:03d}.csv") for n in range(ARTIFACTS) if n != 7]
    assert list(dict.fromkeys(files)) == expected  # newest run first, artifacts in listing order
    for result in (serial, overlapped):
        assert result.returncode != 0
        assert result.errors[0]["message"].startswith("1 artifact(s) could not be read. First: Storage answered")
        assert "part-007.csv" in result.errors[0]["message"]
