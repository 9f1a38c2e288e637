"""`ExportPlan`: exports of the selected streams started ahead, bounded, handed out in order."""

import threading
from typing import Any, Dict, List

import pytest
from airbyte_cdk.models import (
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)

from source_exports.errors import VendorJobFailed
from source_exports.vendors.spaaza.pipeline import ExportPlan

WAIT = 10.0


class FakeStream:
    """A planned stream whose exports are recorded; `gate` makes a key's export wait for another's start."""

    def __init__(self, name: str, keys: List[str], started: List[str], lock: threading.Lock) -> None:
        self.name = name
        self.keys = keys
        self.started = started
        self.lock = lock
        self.events: Dict[str, threading.Event] = {key: threading.Event() for key in keys}
        self.waits_for: Dict[str, threading.Event] = {}
        self.fails: Dict[str, Exception] = {}
        self.planned_with: List[Any] = []

    def planned_keys(self, sync_mode: SyncMode, state: Dict[str, Any]) -> List[str]:
        self.planned_with.append((sync_mode, state))
        return list(self.keys)

    def run_export(self, key: str, sleep) -> Dict[str, Any]:
        with self.lock:
            self.started.append(f"{self.name}:{key}")
        self.events[key].set()
        if key in self.waits_for:
            assert self.waits_for[key].wait(WAIT), f"{self.name}:{key} was not overlapped"
        if key in self.fails:
            raise self.fails[key]
        return {"id": f"{self.name}:{key}"}


def catalog(*names: str) -> ConfiguredAirbyteCatalog:
    return ConfiguredAirbyteCatalog(
        streams=[
            ConfiguredAirbyteStream(
                stream=AirbyteStream(name=name, json_schema={}, supported_sync_modes=[SyncMode.full_refresh]),
                sync_mode=SyncMode.full_refresh,
                destination_sync_mode=DestinationSyncMode.overwrite,
            )
            for name in names
        ]
    )


@pytest.fixture
def started() -> List[str]:
    return []


def streams(started: List[str], **keys: List[str]) -> Dict[str, FakeStream]:
    lock = threading.Lock()
    return {name: FakeStream(name, stream_keys, started, lock) for name, stream_keys in keys.items()}


def plan_of(concurrency: int, found: Dict[str, FakeStream], selected: List[str]) -> ExportPlan:
    plan = ExportPlan(concurrency)
    for stream in found.values():
        plan.register(stream)
    plan.select(catalog(*selected), None)
    return plan


def test_given_concurrency_two_when_first_export_read_then_the_next_runs_meanwhile_and_no_further(started):
    found = streams(started, a=["full"], b=["w1", "w2"])
    found["a"].waits_for["full"] = found["b"].events["w1"]  # a ends only once b's first window started
    plan = plan_of(2, found, ["a", "b"])
    try:
        assert plan.task_for(found["a"], "full") == {"id": "a:full"}
        assert "b:w2" not in started  # two in flight: the one read and the next
        assert [plan.task_for(found["b"], key)["id"] for key in ("w1", "w2")] == ["b:w1", "b:w2"]
    finally:
        plan.close()
    assert sorted(started) == ["a:full", "b:w1", "b:w2"]


def test_given_unselected_stream_when_reading_then_its_exports_never_run(started):
    found = streams(started, a=["full"], b=["full"], c=["full"])
    plan = plan_of(3, found, ["a", "c"])
    try:
        assert plan.task_for(found["a"], "full")["id"] == "a:full"
        assert plan.task_for(found["c"], "full")["id"] == "c:full"
    finally:
        plan.close()
    assert "b:full" not in started and found["b"].planned_with == []


def test_given_concurrency_one_when_reading_then_each_export_runs_in_place_in_order(started):
    found = streams(started, a=["full"], b=["w1", "w2"])
    plan = plan_of(1, found, ["a", "b"])
    assert plan.task_for(found["a"], "full")["id"] == "a:full"
    assert started == ["a:full"]
    assert [plan.task_for(found["b"], key)["id"] for key in ("w1", "w2")] == ["b:w1", "b:w2"]
    assert started == ["a:full", "b:w1", "b:w2"]


def test_given_no_selection_when_reading_then_only_the_asked_export_runs(started):
    found = streams(started, a=["full"], b=["full"])
    plan = ExportPlan(3)
    for stream in found.values():
        plan.register(stream)
    assert plan.task_for(found["a"], "full")["id"] == "a:full"
    assert started == ["a:full"]


def test_given_an_export_ahead_fails_when_reading_then_only_its_stream_sees_the_error(started):
    found = streams(started, a=["full"], b=["full"], c=["full"])
    found["b"].fails["full"] = VendorJobFailed("task 7 ended in ERROR", vendor="Spaaza", stream="b")
    plan = plan_of(3, found, ["a", "b", "c"])
    try:
        assert plan.task_for(found["a"], "full")["id"] == "a:full"
        with pytest.raises(VendorJobFailed, match="task 7"):
            plan.task_for(found["b"], "full")
        assert plan.task_for(found["c"], "full")["id"] == "c:full"
    finally:
        plan.close()
