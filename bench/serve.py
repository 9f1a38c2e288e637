"""`python -m bench.serve FORMAT=PATH ...`: the benchmark's fake servers, in a process of their own.

The fake servers are Python threads. Run inside the benchmark process they would share one GIL
with the loop that counts the measured pipeline's output, and slow whichever pipeline writes
faster. Here they get their own interpreter: this prints one JSON line, per format the signed
URL of its file and, for the formats named by `--cargo`, the config of a fake Cargo that exports it
(for PostHog formats, of a fake PostHog), then serves until its stdin is closed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

from bench import route
from bench.posthog_data import FORMATS as POSTHOG_FORMATS
from integration_tests.fake_servers.storage import FakeStorage


def main(argv: List[str]) -> None:
    """`FORMAT=PATH` per file; `--cargo FORMAT,...` names the formats a fake Cargo exports."""
    cargo_formats = argv[argv.index("--cargo") + 1].split(",") if "--cargo" in argv else []
    files = dict(argument.split("=", 1) for argument in argv if "=" in argument)
    with FakeStorage() as storage:
        endpoints: Dict[str, Dict[str, Any]] = {}
        vendors = []
        for fmt, path in files.items():
            key = f"files/{Path(path).name}"
            storage.put_file(key, path, content_type="application/octet-stream")
            endpoints[fmt] = {"url": storage.sign(key, ttl_seconds=24 * 3600)}
            if fmt in cargo_formats:
                vendors.append(route.BenchCargo(storage, path).start())
                endpoints[fmt]["cargo_config"] = route.config(vendors[-1])
            elif fmt in POSTHOG_FORMATS:
                vendors.append(route.BenchPostHog(storage, path, POSTHOG_FORMATS[fmt]).start())
                endpoints[fmt]["posthog_config"] = vendors[-1].connector_config()
        try:
            print(json.dumps(endpoints), flush=True)
            sys.stdin.read()
        finally:
            for vendor in vendors:
                vendor.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
