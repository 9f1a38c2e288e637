"""Cargo streams through the CDK: slices, state after each window, unfinished runs, schemas."""

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
import requests
from airbyte_cdk.models import FailureType, SyncMode, Type
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import read
from airbyte_cdk.test.state_builder import StateBuilder
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports import SourceExports
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.streams import CargoRunOutputs
from unit_tests.vendors.cargo.builders import (
    DOWNLOAD,
    ConfigBuilder,
    given_exports,
    given_runs,
    matches,
    parse,
    run,
)

# given_runs answers with Date 2025-01-01T12:00:00Z: syncs end at 11:59:00 (one minute to settle)
SYNC_END = "2025-01-01T11:59:00.337Z"
RUN_TIMES = ["2024-12-05T10:00:00.000Z", "2024-12-15T10:00:00.000Z", "2024-12-25T10:00:00.000Z"]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("source_exports.download.fetch.time.sleep", lambda seconds: None)


def config(**block) -> Dict[str, Any]:
    return {"cargo": ConfigBuilder().with_(**{"window_days": 10, **block}).build()}


def rows_by_creation(body) -> List[Dict[str, str]]:
    start, end = parse(body["createdAfter"]), parse(body["createdBefore"])
    return [{"runUuid": f"run-{i}", "runCreatedAt": t} for i, t in enumerate(RUN_TIMES) if start <= parse(t) < end]


def sync(stream: str, mode: SyncMode, state: Dict[str, Any] = None, **block):
    catalog = CatalogBuilder().with_stream(stream, mode).build()
    states = StateBuilder().with_stream_state(stream, state).build() if state is not None else None
    return read(SourceExports(), config(**block), catalog, states)


def records_and_states(output) -> List[Any]:
    """RECORD runUuids and STATE cursor values, in the order they were emitted."""
    sequence = []
    for message in output.records_and_state_messages:
        if message.type == Type.RECORD:
            sequence.append(message.record.data["runUuid"])
        else:
            sequence.append(message.state.stream.stream_state.__dict__)
    return sequence


def test_given_state_when_reading_incrementally_then_windows_start_at_cursor_and_state_follows_each_window(
    requests_mock,
):
    given_runs(requests_mock, [run(created_at=t) for t in RUN_TIMES])
    bodies = given_exports(requests_mock, rows_by_creation)

    output = sync("leads", SyncMode.incremental, state={"created_at": "2024-12-10T00:00:00.000Z"})

    assert records_and_states(output) == [
        "run-1",
        {"created_at": "2024-12-20T00:00:00.337Z"},
        "run-2",
        {"created_at": "2024-12-30T00:00:00.337Z"},
        {"created_at": SYNC_END},
    ]
    assert [(b["createdAfter"], b["createdBefore"]) for b in bodies] == [
        ("2024-12-10T00:00:00.000Z", "2024-12-20T00:00:00.337Z"),
        ("2024-12-20T00:00:00.337Z", "2024-12-30T00:00:00.337Z"),
        ("2024-12-30T00:00:00.337Z", SYNC_END),
    ]


def test_given_unfinished_run_when_reading_incrementally_then_sync_and_cursor_stop_at_its_creation(requests_mock):
    runs = [run(created_at=t) for t in RUN_TIMES] + [
        run(uuid="busy", created_at="2024-12-28T08:00:00.000Z", status="running")
    ]
    given_runs(requests_mock, runs)
    bodies = given_exports(requests_mock, rows_by_creation)

    output = sync("leads", SyncMode.incremental, state={"created_at": "2024-12-20T00:00:00.000Z"})

    assert records_and_states(output) == ["run-2", {"created_at": "2024-12-28T07:59:59.999Z"}]
    assert bodies[-1]["createdBefore"] == "2024-12-28T07:59:59.999Z"


def test_given_cursor_already_at_the_unfinished_run_when_reading_then_no_export_and_state_is_kept(requests_mock):
    given_runs(requests_mock, [run(uuid="busy", created_at="2024-12-28T08:00:00.000Z", status="running")])
    bodies = given_exports(requests_mock, rows_by_creation)

    output = sync("leads", SyncMode.incremental, state={"created_at": "2024-12-28T08:00:00.000Z"})

    assert bodies == []
    assert output.most_recent_state.stream_state.__dict__ == {"created_at": "2024-12-28T08:00:00.000Z"}


def test_given_full_refresh_when_reading_then_every_window_from_start_date_to_now_and_no_cursor(requests_mock):
    runs = [run(created_at=t) for t in RUN_TIMES] + [
        run(uuid="busy", created_at="2024-12-01T08:00:00.000Z", status="running")
    ]
    given_runs(requests_mock, runs)
    bodies = given_exports(requests_mock, rows_by_creation)
    catalog = CatalogBuilder().with_stream("leads", SyncMode.full_refresh).build()

    output = read(SourceExports(), {"start_date": "2024-12-01T00:00:00Z", **config()}, catalog)

    assert [record.record.data["runUuid"] for record in output.records] == ["run-0", "run-1", "run-2"]
    assert (bodies[0]["createdAfter"], bodies[-1]["createdBefore"]) == ("2024-12-01T00:00:00.000Z", SYNC_END)
    assert all(
        "isFinished" not in request.json() for request in requests_mock.request_history if "runs/list" in request.url
    )
    assert "created_at" not in output.most_recent_state.stream_state.__dict__


def test_given_too_many_runs_in_a_window_when_reading_then_its_halves_are_read_in_order_before_its_state(
    requests_mock,
):
    times = ["2024-12-11T00:00:00.000Z", "2024-12-12T00:00:00.000Z", "2024-12-18T00:00:00.000Z"]
    given_runs(requests_mock, [run(created_at=t) for t in times])

    def rows(body):
        start, end = parse(body["createdAfter"]), parse(body["createdBefore"])
        return [{"runUuid": t[5:10]} for t in times if start <= parse(t) < end]

    bodies = given_exports(requests_mock, rows, cap=2)

    output = sync("leads", SyncMode.incremental, state={"created_at": "2024-12-10T00:00:00.000Z"}, window_days=10)

    assert records_and_states(output)[:4] == ["12-11", "12-12", "12-18", {"created_at": "2024-12-20T00:00:00.337Z"}]
    assert [(b["createdAfter"][5:10], b["createdBefore"][5:10]) for b in bodies[:3]] == [
        ("12-10", "12-20"),
        ("12-10", "12-15"),
        ("12-15", "12-20"),
    ]


def test_given_runs_state_when_reading_incrementally_then_updated_filters_and_cursor_at_window_end(requests_mock):
    runs = [run(uuid=f"r{i}", created_at="2024-11-01T00:00:00.000Z", updated_at=t) for i, t in enumerate(RUN_TIMES)]
    given_runs(requests_mock, runs)

    output = sync("cargo_runs", SyncMode.incremental, state={"updatedAt": "2024-12-21T00:00:00.000Z"})

    assert [record.record.data["uuid"] for record in output.records] == ["r2"]
    assert output.most_recent_state.stream_state.__dict__ == {"updatedAt": SYNC_END}
    listing = [r.json() for r in requests_mock.request_history if r.json().get("updatedAfter")]
    assert listing[0]["updatedAfter"] == "2024-12-20T23:59:59.999Z"  # 1 ms wider, kept by each run's updatedAt


@pytest.mark.parametrize("inclusive", [(True, False), (True, True), (False, False), (False, True)])
def test_given_runs_updated_exactly_on_window_edges_when_reading_runs_then_each_once_whatever_the_edge_reading(
    requests_mock, inclusive
):
    edges = ["2024-12-10T00:00:00.000Z", "2024-12-20T00:00:00.337Z", "2024-12-30T00:00:00.337Z", SYNC_END]
    runs = [run(uuid=f"on-{i}", created_at="2024-11-01T00:00:00.000Z", updated_at=t) for i, t in enumerate(edges)]
    given_runs(requests_mock, runs, inclusive=inclusive)

    output = sync("cargo_runs", SyncMode.incremental, state={"updatedAt": edges[0]})

    assert [record.record.data["uuid"] for record in output.records] == ["on-0", "on-1", "on-2"]
    assert output.most_recent_state.stream_state.__dict__ == {"updatedAt": SYNC_END}  # on-3 is read next time


def output_stream(requests_mock, rows, fmt="csv") -> CargoRunOutputs:
    block = ConfigBuilder().with_output(format=fmt).build()
    cargo = parse_cargo_config(block)
    given_runs(requests_mock, [run()])
    encode = (lambda items: json.dumps(items).encode()) if fmt == "json" else None
    given_exports(requests_mock, lambda body: rows, encode=encode)
    return CargoRunOutputs(CargoClient(cargo), cargo, cargo.run_outputs[0])


def test_given_csv_sample_when_discovering_then_columns_are_nullable_strings_plus_metadata(requests_mock):
    stream = output_stream(requests_mock, [{"recordId": "007", "employees": "42"}])

    properties = stream.get_json_schema()["properties"]

    assert properties["recordId"] == {"type": ["null", "string"]}
    assert properties["employees"] == {"type": ["null", "string"]}
    assert properties["_ab_source_row"]["type"] == "integer"
    assert set(properties) >= {"_ab_source_file", "_ab_window_start", "_ab_window_end", "_ab_workflow_uuid"}


def test_given_json_sample_when_discovering_then_whole_numbers_are_declared_as_numbers(requests_mock):
    stream = output_stream(requests_mock, [{"score": 42, "ok": True, "tags": ["a"]}, {"score": None}], fmt="json")

    properties = stream.get_json_schema()["properties"]

    assert (properties["score"], properties["ok"], properties["tags"]) == (
        {"type": ["null", "number"]},
        {"type": ["null", "boolean"]},
        {"type": ["null", "array"]},
    )


def test_given_no_runs_yet_when_discovering_then_permissive_schema_with_metadata_only(requests_mock, caplog):
    stream = output_stream(requests_mock, [])

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        schema = stream.get_json_schema()

    warning = next(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert warning.startswith(f"{stream.name}: there is no run output to sample yet")
    assert "refresh the source schema after the first run output exists" in warning

    assert schema["additionalProperties"] is True
    assert set(schema["properties"]) == {
        "_ab_source_file",
        "_ab_source_row",
        "_ab_window_start",
        "_ab_window_end",
        "_ab_workflow_uuid",
    }


def test_given_schema_asked_twice_when_discovering_then_one_sample_export(requests_mock):
    stream = output_stream(requests_mock, [{"a": "1"}])

    stream.get_json_schema()
    stream.get_json_schema()

    assert sum(1 for request in requests_mock.request_history if request.url == DOWNLOAD) == 1


def test_given_configured_schema_when_reading_then_no_sample_export_is_made(requests_mock):
    stream = output_stream(requests_mock, [{"a": "1"}])

    stream.configured_json_schema = {"type": "object", "properties": {"a": {"type": "string"}}}

    assert stream.get_json_schema()["properties"] == {"a": {"type": "string"}}
    assert requests_mock.call_count == 0


def test_given_primary_key_when_building_catalog_then_key_and_window_start_cursor():
    cargo = parse_cargo_config(ConfigBuilder().with_output(primary_key=["runUuid", "recordId"]).build())
    stream = CargoRunOutputs(CargoClient(cargo), cargo, cargo.run_outputs[0])
    stream._json_schema = {"type": "object", "properties": {}}

    catalog_entry = stream.as_airbyte_stream()

    assert catalog_entry.source_defined_primary_key == [["runUuid"], ["recordId"]]
    assert catalog_entry.default_cursor_field == ["_ab_window_start"]
    assert catalog_entry.supported_sync_modes == [SyncMode.full_refresh, SyncMode.incremental]


def test_given_no_state_and_no_start_date_when_slicing_then_windows_start_at_the_default_start(requests_mock):
    given_runs(requests_mock, [])
    cargo = parse_cargo_config(ConfigBuilder().with_(window_days=366).build())
    stream = CargoRunOutputs(CargoClient(cargo), cargo, cargo.run_outputs[0])

    slices = list(stream.stream_slices(sync_mode=SyncMode.full_refresh))

    assert slices[0]["start"] == "2020-01-01T00:00:00.000Z"
    assert slices[-1]["end"] == SYNC_END
    assert all(a["end"] == b["start"] for a, b in zip(slices, slices[1:]))
    assert datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=366, milliseconds=337) == parse(slices[0]["end"])


def test_given_cargo_unreachable_when_discovering_then_discover_fails_transient_naming_the_stream(requests_mock):
    stream = output_stream(requests_mock, [{"a": "1"}])
    requests_mock.post(DOWNLOAD, exc=requests.exceptions.ConnectionError("connection refused"))

    with pytest.raises(AirbyteTracedException) as caught:
        stream.get_json_schema()

    assert caught.value.failure_type == FailureType.transient_error
    assert caught.value.message.startswith(f"Could not sample stream '{stream.name}' for its schema: ")
    assert caught.value.message.endswith("Refresh the source schema once this is fixed or the vendor answers again")


def test_given_unknown_output_node_when_discovering_then_config_error_names_the_entry(requests_mock):
    stream = output_stream(requests_mock, [])
    requests_mock.post(DOWNLOAD, status_code=404, json={"errorMessage": "Node 'x' not found", "reason": "nodeNotFound"})

    with pytest.raises(AirbyteTracedException) as caught:
        stream.get_json_schema()

    assert caught.value.failure_type == FailureType.config_error
    assert "nodeNotFound" in caught.value.message and "cargo.run_outputs[0]" in caught.value.message


@pytest.mark.parametrize("inclusive", [(True, False), (True, True), (False, False), (False, True)])
def test_given_runs_created_on_every_planned_edge_when_reading_outputs_then_edges_move_off_them_and_each_row_once(
    requests_mock, inclusive
):
    # the cursor; the first inner edge aimed at (10 days after the start, which moves 1 ms back); the end
    planned = ["2024-12-10T00:00:00.000Z", "2024-12-19T23:59:59.999Z", SYNC_END]
    runs = [run(uuid=f"on-{i}", created_at=t) for i, t in enumerate(planned)]
    given_runs(requests_mock, runs, inclusive=inclusive)
    bodies = given_exports(
        requests_mock, lambda body: [{"runUuid": r["uuid"]} for r in runs if matches(r, body, inclusive)]
    )

    output = sync("leads", SyncMode.incremental, state={"created_at": planned[0]})

    assert records_and_states(output) == [
        "on-0",
        "on-1",  # the edge aimed at it moved 1 ms later
        {"created_at": "2024-12-20T00:00:00.000Z"},
        {"created_at": "2024-12-30T00:00:00.337Z"},
        {"created_at": "2025-01-01T11:59:00.336Z"},  # on-2 sits on the planned end: the next sync reads it
    ]
    assert bodies[0]["createdAfter"] == "2024-12-09T23:59:59.999Z"  # the cursor is taken: 1 ms before it
