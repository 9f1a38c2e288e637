"""A recorded read of the fake vendors: every stream, full refresh and incremental, against golden files.

Why: a refactor must not change what users get. `CASES` reads every stream of the four vendors
with the installed `source-exports read` command, against fakes fixed in time (`FAKE_NOW`, with
`start_date` before all their data; Cargo's `Date` header is `FAKE_NOW` too; Spaaza and PostHog
fakes `deterministic`), and keeps the RECORD and STATE messages in `golden/<case>.<read>.jsonl`.
Each case reads `full` (full refresh) and, unless it is full refresh only, `incremental-1` (no
state) then `incremental-2` (from the last states of `incremental-1`, after `between` changed the
fake); the full read and the incremental pair each start from fresh fakes.

Normalisation, as narrow as it can be; everything else is compared byte for byte:

1. `emitted_at` is dropped: the connector's clock at emission.
2. `file_reference.staging_file_url` (SourceCraft raw files) is `<staging dir>/<uuid4 hex>/<path>`:
   the CDK names the folder with `uuid4` per file, so the folder and the hex become placeholders
   (the relative path, compared exactly, stays; a URL of another shape is kept as it is).
3. In STATE messages only, a timestamp at or after `CLOCK_MARGIN` before the read started is
   `"<now>"`: sync ends are the connector's own clock (SourceCraft `synced_at`, PostHog's
   `now - end_lag_seconds`, the last Spaaza and PostHog window, cut at now).
4. Of a stream's STATE messages after its last RECORD, only the first and the last are kept: the
   windows between them are the empty ones from the fake data's end to today (one per
   `window_days`), so their number grows with the calendar.

No record holds a URL, port or other socket-dependent value (so no rule for them).

Re-record with `.venv/bin/python -m integration_tests.recorded_read.record` and commit the golden
files — only in a change that means to change records or state (say so in its description);
a refactor must pass `test_recorded_read.py` against the golden files as they are.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from integration_tests.cli import configured_catalog, run_cli
from integration_tests.fake_servers import FakeVendors

GOLDEN = Path(__file__).resolve().parent / "golden"
FAKE_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
"""Every fake's clock: all fake data lies before it."""
START_DATE = "2026-08-01T00:00:00Z"
"""Before every fake's data (Cargo's plays, the oldest, are 70 days older than `FAKE_NOW`)."""
CLOCK_MARGIN = timedelta(hours=1)
"""More than any lag the connector subtracts from its clock (Cargo 1 minute; PostHog's end lag is 0 here)."""
NOW = "<now>"
STAGED = re.compile(r"^.+/[0-9a-f]{32}/")

Message = Dict[str, Any]


def _fake_options(vendor: str) -> Dict[str, Any]:
    """The options that fix a vendor fake in time (and keep its dataset small)."""
    options: Dict[str, Dict[str, Any]] = {
        "cargo": {"now": FAKE_NOW, "n_runs": 80},
        "sourcecraft": {"now": FAKE_NOW},
        "spaaza": {"now": FAKE_NOW, "deterministic": True},
        "posthog": {"now": FAKE_NOW, "deterministic": True},
    }
    return options[vendor]


@dataclass(frozen=True)
class Case:
    """One vendor config whose streams are read (`streams`: all discovered when empty)."""

    name: str
    vendor: str
    incremental: bool = True
    """Also read incrementally, twice; full refresh only when False."""
    block: Dict[str, Any] = field(default_factory=dict)
    streams: Tuple[str, ...] = ()
    between: Optional[Callable[[FakeVendors], None]] = None
    """Changes the fakes between `incremental-1` and `incremental-2` (what a next sync finds)."""


def _finish_sourcecraft_run(fakes: FakeVendors) -> None:
    fakes.sourcecraft.finish_run("5")


SPAAZA_EXPORTS = (
    "spaaza_transactions",
    "spaaza_users",
    "spaaza_vouchers",
    "spaaza_wallet_ledger",
    "spaaza_products",
    "spaaza_product_variants",
)
CASES = (
    Case("cargo", "cargo"),
    Case("sourcecraft", "sourcecraft", between=_finish_sourcecraft_run),
    Case("spaaza-tasks", "spaaza", incremental=False, streams=("spaaza_tasks",)),
    Case("spaaza-console", "spaaza", incremental=False, streams=SPAAZA_EXPORTS),
    Case("spaaza", "spaaza", block={"create_exports": True, "window_days": 14}, streams=SPAAZA_EXPORTS),
    Case("posthog", "posthog"),
    Case(
        "posthog-parquet",
        "posthog",
        incremental=False,
        block={"file_download": {"models": ["events"], "format": "Parquet", "compression": "zstd"}},
        streams=("posthog_events",),
    ),
)


@contextmanager
def fixed_fakes(case: Case) -> Iterator[Tuple[FakeVendors, Dict[str, Any]]]:
    """The case's vendor fake fixed at `FAKE_NOW`, and the connector config pointing at it."""
    with FakeVendors(vendors=[case.vendor], **{case.vendor: _fake_options(case.vendor)}) as fakes:
        fake = getattr(fakes, case.vendor)
        fake.http_date = FAKE_NOW  # Cargo ends a sync by Cargo's clock, read from this header
        yield fakes, {"start_date": START_DATE, case.vendor: {**fake.config_block(), **case.block}}


def record_case(case: Case) -> Dict[str, List[str]]:
    """Run the case's reads; each read's normalised messages as JSON lines, by read name."""
    recorded: Dict[str, List[str]] = {}
    with fixed_fakes(case) as (_, config):
        recorded["full"], _ = _read(case, "full", config, _catalog(case, config, incremental=False))
    if case.incremental:
        with fixed_fakes(case) as (fakes, config):
            catalog = _catalog(case, config, incremental=True)
            recorded["incremental-1"], state = _read(case, "incremental-1", config, catalog)
            if case.between is not None:
                case.between(fakes)
            recorded["incremental-2"], _ = _read(case, "incremental-2", config, catalog, state)
    return recorded


def _read(
    case: Case, read: str, config: Dict[str, Any], catalog: Dict[str, Any], state: Optional[List[Message]] = None
) -> Tuple[List[str], List[Message]]:
    """One `read`: its normalised messages as JSON lines, and the last state per stream as emitted."""
    started = datetime.now(timezone.utc)
    result = run_cli("read", config, catalog, state=state)
    if result.returncode != 0 or result.errors:
        raise AssertionError(f"{case.name} {read}: exit {result.returncode}, errors {result.errors}")
    return dumps(normalise(result.messages, started)), result.last_state()


def _catalog(case: Case, config: Dict[str, Any], incremental: bool) -> Dict[str, Any]:
    discovered = run_cli("discover", config)
    if discovered.returncode != 0:
        raise AssertionError(f"{case.name}: discover failed: {discovered.errors} {discovered.stderr[-2000:]}")
    names = case.streams or tuple(stream["name"] for stream in discovered.catalog["streams"])
    return configured_catalog(discovered.catalog, names, incremental=incremental)


def normalise(messages: Sequence[Message], started: datetime) -> List[Message]:
    """The RECORD and STATE messages of a read, with the rules of the module docstring applied."""
    kept: List[Message] = []
    for message in messages:
        if message.get("type") == "RECORD":
            record = {key: value for key, value in message["record"].items() if key != "emitted_at"}
            if "file_reference" in record:
                reference = dict(record["file_reference"])
                url = reference.get("staging_file_url") or ""
                reference["staging_file_url"] = STAGED.sub("<staging dir>/<uuid4 hex>/", url)
                record["file_reference"] = reference
            kept.append({"type": "RECORD", "record": record})
        elif message.get("type") == "STATE":
            kept.append({"type": "STATE", "state": _clock_free(message["state"], started - CLOCK_MARGIN)})
    return _without_empty_windows(kept)


def _clock_free(value: Any, threshold: datetime) -> Any:
    if isinstance(value, dict):
        return {key: _clock_free(item, threshold) for key, item in value.items()}
    if isinstance(value, list):
        return [_clock_free(item, threshold) for item in value]
    if isinstance(value, str):
        moment = _timestamp(value)
        if moment is not None and moment >= threshold:
            return NOW
    return value


def _timestamp(text: str) -> Optional[datetime]:
    if not re.match(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d", text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stream_of(message: Message) -> str:
    if message["type"] == "RECORD":
        return message["record"]["stream"]
    return message["state"]["stream"]["stream_descriptor"]["name"]


def _without_empty_windows(messages: List[Message]) -> List[Message]:
    """Rule 4: of each stream's STATE messages after its last RECORD, keep the first and the last."""
    last_record = {stream_of(m): index for index, m in enumerate(messages) if m["type"] == "RECORD"}
    trailing: Dict[str, List[int]] = {}
    for index, message in enumerate(messages):
        if message["type"] == "STATE" and index > last_record.get(stream_of(message), -1):
            trailing.setdefault(stream_of(message), []).append(index)
    dropped = {index for indexes in trailing.values() for index in indexes[1:-1]}
    return [message for index, message in enumerate(messages) if index not in dropped]


def golden_path(case: Case, read: str) -> Path:
    return GOLDEN / f"{case.name}.{read}.jsonl"


def write_golden(path: Path, lines: Sequence[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def read_golden(path: Path) -> List[str]:
    """The lines of a golden file, split on `\n` only (a value may hold U+2028, which `splitlines` splits on)."""
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def dumps(messages: Sequence[Message]) -> List[str]:
    """One JSON line per message, keys as emitted (their order and number spelling are what users see)."""
    return [json.dumps(message, ensure_ascii=False) for message in messages]


def first_difference(expected: Sequence[str], actual: Sequence[str]) -> Optional[str]:
    """None when the lines are equal; else the first differing line of each side, numbered from 1."""
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        if want != got:
            return f"line {number} differs:\n  golden: {want}\n  read:   {got}"
    if len(expected) != len(actual):
        longer = expected if len(expected) > len(actual) else actual
        return (
            f"golden has {len(expected)} lines, the read {len(actual)}; "
            f"first unmatched: {longer[min(len(expected), len(actual))]}"
        )
    return None
