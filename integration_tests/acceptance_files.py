"""The files `acceptance-test-config.yml` names under integration_tests/, made from the fake vendors.

    python -m integration_tests.acceptance_files          # rewrite them
    python -m integration_tests.acceptance_files --check  # exit 1 if a committed file is stale

The fakes run anchored at `ANCHOR`, so their data (ids, rows, timestamps) is the same on every
run. From them come:

- `configured_catalog.json`: every discovered stream, full refresh;
- `configured_catalog_incremental.json`: every stream that supports incremental, with its default
  cursor;
- `expected_records.jsonl`: the records of a full-refresh read of `configured_catalog.json`, in the
  Connector Acceptance Tests' format, without the `IGNORED_FIELDS` and the `UNSTABLE_STREAMS`;
- `abnormal_state.json`: the state an incremental read ends with, every timestamp moved to
  `FUTURE` (what `future_state` feeds back: a read from it must emit nothing).

`integration_tests/test_acceptance_files.py` regenerates them and compares with the committed files.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers import FakeVendors

HERE = Path(__file__).resolve().parent
ANCHOR = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
FUTURE = "2099-01-01T00:00:00.000Z"
CATALOG = HERE / "configured_catalog.json"
INCREMENTAL_CATALOG = HERE / "configured_catalog_incremental.json"
EXPECTED_RECORDS = HERE / "expected_records.jsonl"
ABNORMAL_STATE = HERE / "abnormal_state.json"
# Fields (dotted paths) whose values differ between any two reads of the same fakes, per stream
# ("*": every stream): values derived from the vendor's clock at read time (Cargo's window end is
# its `Date` header minus a settle margin), the identity of the export job a read creates
# (PostHog on-demand exports), and task stamps the fake Spaaza takes from the real clock.
IGNORED_FIELDS: Dict[str, Tuple[str, ...]] = {
    "*": ("_ab_window_end",),
    "posthog_events": ("_ab_export_id", "_ab_source_file"),
    "spaaza_tasks": ("state.created_date", "state.last_modified"),
}
# Streams whose records depend on the real clock, not only on the fakes' data: SourceCraft keeps
# artifact contents 14 days, measured from now, so artifacts of a fixed-anchor fake age out.
UNSTABLE_STREAMS = ("sourcecraft_artifact_records", "sourcecraft_artifact_files")
# RFC 3339 timestamps in a state value.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def anchored_fakes() -> FakeVendors:
    """Every fake vendor, anchored at `ANCHOR`."""
    return FakeVendors(**{vendor: {"now": ANCHOR} for vendor in ("cargo", "sourcecraft", "spaaza", "posthog")})


def _checked(result: CliResult, what: str) -> CliResult:
    if result.returncode != 0 or result.errors:
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {result.errors or result.stderr[-2000:]}")
    return result


def expected_record_lines(result: CliResult) -> List[str]:
    """The records of a read as expected-records lines, sorted, ignored fields and streams left out."""
    emitted_at = int(ANCHOR.timestamp() * 1000)
    lines = []
    for message in result.of_type("RECORD"):
        record = message["record"]
        if record["stream"] in UNSTABLE_STREAMS:
            continue
        data = without_ignored_fields(record["stream"], record["data"])
        lines.append(json.dumps({"stream": record["stream"], "data": data, "emitted_at": emitted_at}, sort_keys=True))
    return sorted(lines)


def without_ignored_fields(stream: str, data: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of a record's data without the `IGNORED_FIELDS` of its stream."""
    copy = json.loads(json.dumps(data))
    for path in IGNORED_FIELDS["*"] + IGNORED_FIELDS.get(stream, ()):
        *parents, leaf = path.split(".")
        node = copy
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return copy


def future_state(result: CliResult) -> List[Dict[str, Any]]:
    """The read's final per-stream states with every timestamp moved to `FUTURE` and nothing left pending
    (runs still unfinished are read again by every sync, whatever the cursor: in the future none is)."""

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: [] if key == "unfinished_slugs" else moved(item) for key, item in value.items()}
        if isinstance(value, list):
            return [moved(item) for item in value]
        if isinstance(value, str) and _TIMESTAMP.match(value):
            return FUTURE
        return value

    states = []
    for state in result.last_state():
        stream = state["stream"]
        moved_stream = {"stream_descriptor": stream["stream_descriptor"], "stream_state": moved(stream["stream_state"])}
        states.append({"type": "STREAM", "stream": moved_stream})
    return sorted(states, key=lambda state: state["stream"]["stream_descriptor"]["name"])


def generate() -> Dict[Path, str]:
    """Every file's content, from one discover, one full-refresh and one incremental read."""
    with anchored_fakes() as fakes:
        config = fakes.config()
        catalog = _checked(run_cli("discover", config=config), "discover").catalog
        names = [stream["name"] for stream in catalog["streams"]]
        incremental = [s["name"] for s in catalog["streams"] if "incremental" in s["supported_sync_modes"]]
        full = configured_catalog(catalog, names)
        increments = configured_catalog(catalog, incremental, incremental=True)
        records = expected_record_lines(_checked(run_cli("read", config=config, catalog=full), "full-refresh read"))
    with anchored_fakes() as fakes:
        read = run_cli("read", config=fakes.config(), catalog=increments)
        state = future_state(_checked(read, "incremental read"))
    return {
        CATALOG: _json(full),
        INCREMENTAL_CATALOG: _json(increments),
        EXPECTED_RECORDS: "".join(line + "\n" for line in records),
        ABNORMAL_STATE: _json(state),
    }


def _json(value: Mapping[str, Any] | List[Any]) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, content in generate().items():
        if args.check:
            if not path.exists() or path.read_text() != content:
                stale.append(path.name)
        else:
            path.write_text(content)
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print(f"stale: {', '.join(stale)}; run `python -m integration_tests.acceptance_files`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
