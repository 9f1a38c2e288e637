"""`python -m bench.overlap` (part of `make bench`): exports and files that overlap, against the fakes.

Two routes, each a full `source-exports read` run as a child process, at concurrency 1 (serial)
and at the configured concurrency, side by side in one run:
- PostHog: `--windows` one-day windows of `posthog_events` whose exports take `--export-seconds`
  each on a fake that finishes exports by elapsed time. The vendor time of the critical path is
  ceil(windows / export_concurrency) × export seconds; printed: wall time / that.
- SourceCraft: `--artifacts` small CSV artifacts of one run, storage answering each request after
  `--latency` seconds, read by `sourcecraft_artifact_records`. Printed: concurrent / serial wall time.
- Spaaza: `create_exports` full refreshes of four indexes whose export tasks take
  `--spaaza-export-seconds` each (finished by elapsed time). Printed: sync time / the critical path,
  ceil(4 / export_concurrency) × export seconds.
Both print whether the two reads emitted the same records.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from integration_tests.fake_servers.posthog import FakePostHog, iso
from integration_tests.fake_servers.sourcecraft import FakeSourceCraft, csv_bytes
from integration_tests.fake_servers.spaaza import FakeSpaaza
from integration_tests.fake_servers.storage import FakeStorage

PER_EXPORT = ("_ab_export_id", "_ab_source_file", "_ab_task_id")
SPAAZA_INDEXES = ("users", "products", "product-variants", "vouchers")


def read(command: str, config: Dict[str, Any], catalog: Dict[str, Any], state: Optional[List] = None) -> Tuple:
    """(wall seconds, sync seconds, RECORD data in order) of one `source-exports read`; fails on an error.

    Sync seconds run from the connector's "Starting syncing" log line to its exit: the wall time
    without the process start-up (importing the CDK), which does not depend on the route.
    """
    with tempfile.TemporaryDirectory(prefix="source-exports-bench-") as folder:
        args = [command, "read"]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = Path(folder) / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                args += [flag, str(path)]
        started = time.perf_counter()
        syncing = None
        messages = []
        with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
            for line in child.stdout:
                if not line.startswith("{"):
                    continue
                message = json.loads(line)
                messages.append(message)
                if syncing is None and message.get("type") == "LOG" and "Starting syncing" in message["log"]["message"]:
                    syncing = time.perf_counter()
            stderr = child.stderr.read()
        ended = time.perf_counter()
    errors = [m for m in messages if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"]
    if child.returncode or errors:
        raise SystemExit(f"the read failed: {errors[:1] or stderr[-2000:]}")
    records = [m["record"]["data"] for m in messages if m.get("type") == "RECORD"]
    return ended - started, ended - (syncing or started), records


def stream_catalog(name: str, cursor: List[str], key: List[List[str]]) -> Dict[str, Any]:
    stream = {
        "name": name,
        "json_schema": {"type": "object"},
        "supported_sync_modes": ["full_refresh", "incremental"],
        "source_defined_cursor": True,
        "default_cursor_field": cursor,
    }
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
                "cursor_field": cursor,
                "primary_key": key,
            }
        ]
    }


def posthog_route(command: str, windows: int, export_seconds: float, concurrency: int) -> None:
    with FakeStorage() as storage, FakePostHog(storage, n_events=400, export_seconds=export_seconds) as posthog:
        block = {**posthog.config_block(), "window_days": 1}
        block.pop("poll_interval_seconds")  # the default schedule: first poll after 2 s, then growing
        # `windows` one-day windows: the cursor a whole number of days before now, minus a little margin
        start = posthog.clock - timedelta(days=windows - 1, hours=23)
        state = [
            {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": "posthog_events"},
                    "stream_state": {"_inserted_at": iso(start)},
                },
            }
        ]
        catalog = stream_catalog("posthog_events", ["_inserted_at"], [["uuid"]])
        results = {}
        for width in (1, concurrency):
            config = {"posthog": {**block, "export_concurrency": width}}
            results[width] = wall, sync, _ = read(command, config, catalog, state)
            critical = math.ceil(windows / width) * export_seconds
            print(
                f"posthog     {windows} windows × {export_seconds:g} s, export_concurrency {width:>2}: "
                f"critical path {critical:5.1f} s; sync {sync:6.1f} s, ratio {sync / critical:.2f} (target ≤ 1.5); "
                f"wall with start-up {wall:6.1f} s, ratio {wall / critical:.2f}",
                flush=True,
            )
    same = [strip(row) for row in results[1][2]] == [strip(row) for row in results[concurrency][2]]
    print(f"posthog     {len(results[1][2]):,} records, same records in the same order: {same}", flush=True)


def strip(row: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in row.items() if key not in PER_EXPORT}


def sourcecraft_route(command: str, artifacts: int, latency: float, concurrency: int) -> None:
    with FakeStorage() as storage, FakeSourceCraft(storage, seed_default=False, max_page_size=100) as fake:
        cubes: Dict[str, List] = {}
        for number in range(artifacts):
            rows = [{"id": str(number), "value": f"row {number}"}]
            cubes.setdefault(f"shard-{number // 100:02d}", []).append(
                (f"reports/part-{number:04d}.csv", "success", csv_bytes(rows), rows)
            )
        fake.add_run("success", {"test": {"unit": cubes}}, hours_ago=1)
        storage.faults.delay(latency)
        catalog = stream_catalog(
            "sourcecraft_artifact_records",
            ["_sourcecraft_artifact_updated_at"],
            [["_sourcecraft_artifact_id"], ["_ab_source_row"]],
        )
        results = {}
        for width in (1, concurrency):
            config = {"sourcecraft": fake.config_block(download_concurrency=width)}
            results[width] = wall, sync, _ = read(command, config, catalog)
            print(
                f"sourcecraft {artifacts:,} artifacts × {latency * 1000:g} ms, download_concurrency {width:>2}: "
                f"sync {sync:6.1f} s, wall with start-up {wall:6.1f} s",
                flush=True,
            )
    walls = results[concurrency][0] / results[1][0]
    syncs = results[concurrency][1] / results[1][1]
    same = results[1][2] == results[concurrency][2]
    print(
        f"sourcecraft concurrent / serial: sync {syncs:.2f}, wall {walls:.2f} (target ≤ 0.25); "
        f"same records in order: {same}",
        flush=True,
    )


def spaaza_route(command: str, export_seconds: float, concurrency: int) -> None:
    with FakeStorage() as storage, FakeSpaaza(storage, export_seconds=export_seconds) as spaaza:
        streams = [f"spaaza_{index.replace('-', '_')}" for index in SPAAZA_INDEXES]
        catalog = {
            "streams": [
                {
                    "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "overwrite",
                }
                for name in streams
            ]
        }
        results = {}
        for width in (1, concurrency):
            block = spaaza.config_block(
                exports=list(SPAAZA_INDEXES), create_exports=True, export_concurrency=width, poll_interval_seconds=0.2
            )
            results[width] = wall, sync, _ = read(command, {"spaaza": block}, catalog)
            critical = math.ceil(len(SPAAZA_INDEXES) / width) * export_seconds
            print(
                f"spaaza      {len(SPAAZA_INDEXES)} exports × {export_seconds:g} s, export_concurrency {width:>2}: "
                f"critical path {critical:5.1f} s; sync {sync:6.1f} s, ratio {sync / critical:.2f}; "
                f"most tasks running at once {spaaza.max_in_progress}",
                flush=True,
            )
            spaaza.max_in_progress = 0
    same = [strip(row) for row in results[1][2]] == [strip(row) for row in results[concurrency][2]]
    print(f"spaaza      {len(results[1][2]):,} records, same records in the same order: {same}", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overlap", description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter whose bin/ holds source-exports")
    parser.add_argument("--windows", type=int, default=9)
    parser.add_argument("--export-seconds", type=float, default=5.0)
    parser.add_argument("--export-concurrency", type=int, default=9)
    parser.add_argument("--artifacts", type=int, default=1_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--download-concurrency", type=int, default=8)
    parser.add_argument("--spaaza-export-seconds", type=float, default=3.0)
    parser.add_argument("--spaaza-export-concurrency", type=int, default=4)
    parser.add_argument("--routes", default="posthog,sourcecraft,spaaza")
    args = parser.parse_args(argv)
    command = str(Path(args.python).parent / "source-exports")
    routes = args.routes.split(",")
    if "posthog" in routes:
        posthog_route(command, args.windows, args.export_seconds, args.export_concurrency)
    if "sourcecraft" in routes:
        sourcecraft_route(command, args.artifacts, args.latency, args.download_concurrency)
    if "spaaza" in routes:
        spaaza_route(command, args.spaaza_export_seconds, args.spaaza_export_concurrency)


if __name__ == "__main__":
    main()
