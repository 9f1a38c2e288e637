"""Serve every fake vendor until killed: `python -m integration_tests.fake_servers [--config-out PATH] [--seconds N]`.

Writes the connector config pointing at the fakes to PATH (the demo runs `source-exports` with
it) and prints the URLs. SIGTERM and Ctrl-C stop the servers cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from integration_tests.fake_servers.vendors import FakeVendors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integration_tests.fake_servers", description=__doc__)
    parser.add_argument("--config-out", help="write the connector config JSON here")
    parser.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: run until killed)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeVendors() as fakes:
        if args.config_out:
            with open(args.config_out, "w", encoding="utf-8") as handle:
                json.dump(fakes.config(), handle, indent=2)
            print(f"config written to {args.config_out}", flush=True)
        for name, url in fakes.urls().items():
            print(f"{name}: {url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
