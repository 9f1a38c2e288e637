"""The connector's route to the benchmark file: a Cargo run-output stream against a fake Cargo.

`BenchCargo` is the test suite's `FakeCargo` whose `download-outputs` answers with a signed URL
of the benchmark file (served from disk by `FakeStorage`) instead of an export it builds; the
connector runs unchanged — the installed `source-exports read`, full refresh, one window.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

from integration_tests.fake_servers.cargo import FakeCargo
from integration_tests.fake_servers.cargo_dataset import ENRICH_WORKFLOW_UUID
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


def catalog() -> Dict[str, Any]:
    stream = {"name": STREAM, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}


__all__ = ["BenchCargo", "ENRICH_WORKFLOW_UUID", "STREAM", "catalog", "config"]
