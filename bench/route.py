"""The connector's routes to the benchmark files, through vendor streams.

`BenchCargo` is the test suite's `FakeCargo` whose `download-outputs` answers with a signed URL
of the benchmark CSV (served from disk by `FakeStorage`) instead of an export it builds.
`BenchPostHog` is `FakePostHog` whose file-download export of events has one part, the PostHog
events file of `posthog_data.py`. Either way the connector runs unchanged — the installed
`source-exports read`, full refresh, one window.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from integration_tests.fake_servers.cargo import FakeCargo
from integration_tests.fake_servers.cargo_dataset import ENRICH_WORKFLOW_UUID
from integration_tests.fake_servers.posthog import FakePostHog, FileDownload
from integration_tests.fake_servers.storage import FakeStorage

STREAM = "bench_output"


class BenchCargo(FakeCargo):
    """A fake Cargo that exports the one benchmark file for every window."""

    def __init__(self, storage: FakeStorage, path: str) -> None:
        super().__init__(storage, n_runs=5, url_ttl_seconds=3600)
        self.bench_key = f"bench/{path.rsplit('/', 1)[-1]}"
        storage.put_file(self.bench_key, path, content_type="application/octet-stream")

    def _match_runs(self, filters: Dict[str, Any]) -> List[Dict[str, Any]]:
        return [self.dataset.runs[0]]  # every window holds "a run": its export is the benchmark file

    def _write_export(self, runs: Any, workflow_uuid: str, fmt: str, body: Any, version: int) -> str:
        return self.bench_key


def config(cargo: BenchCargo) -> Dict[str, Any]:
    block = cargo.config_block()
    output = dict(block["run_outputs"][0], name=STREAM, format="csv")
    start = (datetime.now(timezone.utc) - timedelta(days=360)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"start_date": start, "cargo": {**block, "run_outputs": [output], "window_days": 366}}  # one window


def catalog(stream_name: str = STREAM) -> Dict[str, Any]:
    stream = {"name": stream_name, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}


POSTHOG_STREAM = "posthog_events"


class BenchPostHog(FakePostHog):
    """A fake PostHog whose events export (any window) is the one benchmark events file."""

    def __init__(self, storage: FakeStorage, path: str, file_format: str) -> None:
        super().__init__(storage, n_events=0, url_ttl_seconds=3600)
        self.file_format = file_format
        self.bench_key = f"bench/{path.rsplit('/', 1)[-1]}"
        storage.put_file(self.bench_key, path, content_type="application/octet-stream")

    def events_between(self, start: datetime, end: datetime) -> List[Dict[str, Any]]:
        return [{}]  # "one event": its part is the benchmark file

    def _store_part(self, export: FileDownload, rows: List[Dict[str, Any]]) -> None:
        export.files.append("part-0")
        export.keys["part-0"] = self.bench_key

    def connector_config(self) -> Dict[str, Any]:
        block = self.config_block(file_format=self.file_format, compression=None)
        return {"posthog": {**block, "initial_lookback_days": 1}}  # one window, one export


__all__ = ["BenchCargo", "BenchPostHog", "ENRICH_WORKFLOW_UUID", "POSTHOG_STREAM", "STREAM", "catalog", "config"]
