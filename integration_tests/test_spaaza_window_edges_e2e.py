"""End to end: rows on and next to Spaaza's window edges arrive exactly once, however Spaaza reads its date rules.

Spaaza does not say whether `is_between_date` includes its bounds, nor whether it compares the
time or only the day. `FakeSpaaza(date_bounds=…)` plays each reading; under every one the
installed command must emit every row dated from `start_date` to the end of its last window
exactly once: rows exactly on every window boundary, one second either side, around midnights, in
the last window (ending at the connector's "now"), and rows dated after that, which the next
incremental sync must bring (once) and this one not. Expectations come from the rows' own dates
and the ends the connector reports (its state, its tasks), never from the test's clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, List, Optional

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers.spaaza import DATE_BOUNDS, FakeSpaaza, iso, parse_time
from integration_tests.fake_servers.storage import FakeStorage

pytestmark = pytest.mark.e2e

STREAM = "spaaza_transactions"
WINDOWS = 3
"""Whole windows (a day each) before the last one, which ends at the connector's now."""


@pytest.fixture(scope="module")
def catalog() -> Dict[str, Any]:
    with FakeStorage() as storage, FakeSpaaza(storage) as spaaza:
        result = run_cli("discover", {"spaaza": spaaza.config_block(create_exports=True)})
        assert result.returncode == 0, result.stderr
        return result.catalog


@pytest.fixture(params=DATE_BOUNDS)
def spaaza(request: pytest.FixtureRequest) -> Iterator[FakeSpaaza]:
    with FakeStorage() as storage, FakeSpaaza(storage, date_bounds=request.param) as fake:
        fake.add_rows("transactions", edge_rows(start_of(fake), fake.clock))
        yield fake


def start_of(spaaza: FakeSpaaza) -> datetime:
    """`start_date`: off midnight, so window edges fall inside days and day-precision readings differ."""
    return spaaza.clock - timedelta(days=WINDOWS, hours=5, minutes=17, seconds=3)


def row(stamp: datetime, note: str) -> Dict[str, str]:
    return {"id": f"{note}@{iso(stamp)}", "user_id": "1", "total": "1.00", "timestamp": iso(stamp), "note": note}


def edge_rows(start: datetime, clock: datetime) -> List[Dict[str, str]]:
    """Rows at every window boundary ± 1 s, around each midnight, before and after the fake's clock."""
    rows = []
    for number in range(WINDOWS + 1):  # the boundaries from start_date to the last window's start
        edge = start + timedelta(days=number)
        rows += [row(edge + timedelta(seconds=offset), f"edge{number}{offset:+d}") for offset in (-1, 0, 1)]
    midnight = start.replace(hour=0, minute=0, second=0)
    for day in range(-1, WINDOWS + 3):
        rows += [row(midnight + timedelta(days=day, seconds=offset), f"midnight{offset:+d}") for offset in (-1, 0)]
    for offset in (timedelta(hours=-1), timedelta(seconds=-1), timedelta(0)):  # the last window, before now
        rows.append(row(clock + offset, "recent"))
    for offset in (timedelta(seconds=1), timedelta(hours=1), timedelta(days=1)):  # after this sync's end
        rows.append(row(clock + offset, "future"))
    return rows


def read(
    spaaza: FakeSpaaza, catalog: Dict[str, Any], incremental: bool, state: Optional[List[Dict[str, Any]]] = None
) -> CliResult:
    block = spaaza.config_block(exports=["transactions"], create_exports=True, window_days=1)
    config = {"start_date": iso(start_of(spaaza)), "spaaza": block}
    result = run_cli("read", config, configured_catalog(catalog, [STREAM], incremental), state)
    assert result.returncode == 0 and not result.errors, result.stderr[-3000:]
    return result


def ids_dated(spaaza: FakeSpaaza, start: datetime, end: datetime) -> Counter:
    """The ids of the fake's rows dated in `[start, end)`, each once."""
    return Counter(r["id"] for r in spaaza.rows["transactions"] if start <= parse_time(r["timestamp"]) < end)


def emitted(result: CliResult) -> Counter:
    return Counter(record["id"] for record in result.records(STREAM))


def cursor(result: CliResult) -> datetime:
    (state,) = [s for s in result.last_state() if s["stream"]["stream_descriptor"]["name"] == STREAM]
    return parse_time(state["stream"]["stream_state"]["timestamp"])


def last_window_end(spaaza: FakeSpaaza) -> datetime:
    """Where the connector's last window ended (its now), from the `desc` of the tasks it created."""
    ends = [task["desc"].rsplit(" → ", 1)[1] for task in spaaza.tasks.values() if " window " in task["desc"]]
    return max(parse_time(end) for end in ends)


def test_given_any_reading_of_the_bounds_when_full_refresh_then_every_row_of_the_range_once(spaaza, catalog) -> None:
    result = read(spaaza, catalog, incremental=False)
    end = last_window_end(spaaza)
    expected = ids_dated(spaaza, start_of(spaaza), end)
    edges = {f"edge{number}{offset:+d}" for number in range(WINDOWS + 1) for offset in (-1, 0, 1)}
    assert {name.split("@")[0] for name in expected if name.startswith("edge")} == edges - {"edge0-1"}
    assert emitted(result) == expected
    assert len([task for task in spaaza.tasks.values() if " window " in task["desc"]]) == WINDOWS + 1


def test_given_any_reading_of_the_bounds_when_syncing_twice_then_every_row_once_across_both(spaaza, catalog) -> None:
    first = read(spaaza, catalog, incremental=True)
    first_end = cursor(first)
    assert emitted(first) == ids_dated(spaaza, start_of(spaaza), first_end)
    assert any(name.startswith("recent") for name in emitted(first))

    spaaza.add_rows("transactions", [row(first_end, "second-sync"), row(first_end + timedelta(seconds=1), "second")])
    second = read(spaaza, catalog, incremental=True, state=first.last_state())
    second_end = cursor(second)
    assert emitted(second) == ids_dated(spaaza, first_end, second_end)
    assert emitted(first) + emitted(second) == ids_dated(spaaza, start_of(spaaza), second_end)
