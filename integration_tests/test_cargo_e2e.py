"""Cargo end to end: the installed `source-exports` command against `FakeCargo` + `FakeStorage`.

Every record is compared value by value with the data the fake holds (plays, runs, and the
rows of the export files it writes), across full refresh, two incremental syncs, runs that
finish between syncs, storage faults and the 10,000-run cap (set low here).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Dict, Iterator, List

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers import ENRICH_WORKFLOW_UUID, SCORE_WORKFLOW_UUID, FakeVendors
from integration_tests.fake_servers.cargo import EDGE_MODES
from integration_tests.fake_servers.cargo_dataset import BASE_COLUMNS, iso, parse_time

pytestmark = pytest.mark.e2e

OUTPUTS = {
    "enriched_leads": (ENRICH_WORKFLOW_UUID, "enrich", "csv"),
    "scored_accounts": (SCORE_WORKFLOW_UUID, "score", "json"),
}
METADATA = ("_ab_source_file", "_ab_source_row", "_ab_window_start", "_ab_window_end", "_ab_workflow_uuid")
ALL_STREAMS = ["cargo_plays", "cargo_runs", *OUTPUTS]
NO_RUNS_WORKFLOW = "0b9e7d5c-3a1f-4e2d-8c7b-6a5f4e3d2c1b"


@pytest.fixture
def fakes() -> Iterator[FakeVendors]:
    """A fresh Cargo fake per test: tests change its runs and faults."""
    with FakeVendors(vendors=["cargo"]) as vendors:
        yield vendors
        assert vendors.storage.auth_header_violations == 0, "the Cargo token reached the storage host"
        assert vendors.cargo.errors == [] and vendors.storage.errors == []


def read(
    fakes: FakeVendors, streams: List[str], incremental: bool, state=None, config=None, discover: bool = False
) -> CliResult:
    """`read` the streams; the catalog comes from `discover` when asked, else it is built directly (faster)."""
    config = config or fakes.config()
    if discover:
        discovered = run_cli("discover", config)
        assert discovered.returncode == 0, discovered.stderr
        catalog = configured_catalog(discovered.catalog, streams, incremental)
    else:
        catalog = direct_catalog(streams, incremental)
    result = run_cli("read", config, catalog, state)
    assert result.errors == [], result.errors
    return result


def direct_catalog(streams: List[str], incremental: bool) -> Dict[str, Any]:
    """A configured catalog without a discover run: the connector reads with the schema it is given."""
    cursors = {"cargo_runs": ["updatedAt"], "cargo_plays": []}
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object", "properties": {}},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental" if incremental and name != "cargo_plays" else "full_refresh",
                "destination_sync_mode": "append",
                "cursor_field": cursors.get(name, ["_ab_window_start"]),
            }
            for name in streams
        ]
    }


def file_rows(records: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Records without the metadata columns: what the export file itself held."""
    return [{key: value for key, value in record.items() if key not in METADATA} for record in records]


def expected_rows(fakes: FakeVendors, stream: str, **filters: Any) -> List[Dict[str, Any]]:
    workflow_uuid, slug, fmt = OUTPUTS[stream]
    return fakes.cargo.expected_output_rows(workflow_uuid, slug, format=fmt, **filters)


def assert_metadata_is_consistent(fakes: FakeVendors, stream: str, records: List[Dict[str, Any]]) -> None:
    """File names come from the fake's exports; rows count from 1 per file; each run lies in its window."""
    files = {key.rsplit("/", 1)[-1] for key in fakes.cargo.exports}
    expected_row = {}
    for record in records:
        assert record["_ab_source_file"] in files and "?" not in record["_ab_source_file"]
        expected_row[record["_ab_source_file"]] = expected_row.get(record["_ab_source_file"], 0) + 1
        assert record["_ab_source_row"] == expected_row[record["_ab_source_file"]]
        assert record["_ab_workflow_uuid"] == OUTPUTS[stream][0]
        assert record["_ab_window_start"] <= record["runCreatedAt"] < record["_ab_window_end"]


def just_before(timestamp: str) -> str:
    """Where a sync waiting for a run created at `timestamp` stops: 1 ms before it."""
    return iso(parse_time(timestamp) - timedelta(milliseconds=1))


def cursor(result: CliResult, stream: str) -> str:
    (state,) = [s for s in result.last_state() if s["stream"]["stream_descriptor"]["name"] == stream]
    return state["stream"]["stream_state"]["created_at"]


def unfinished(fakes: FakeVendors, workflow_uuid: str) -> List[Dict[str, Any]]:
    return fakes.cargo.runs_for(workflow_uuid, is_finished=False)


def test_given_fake_cargo_when_reading_everything_then_every_record_equals_the_fakes_data(fakes):
    result = read(fakes, ALL_STREAMS, incremental=False, discover=True)

    assert result.records("cargo_plays") == fakes.cargo.plays
    assert sorted(result.records("cargo_runs"), key=lambda r: r["uuid"]) == sorted(
        fakes.cargo.runs_for(), key=lambda r: r["uuid"]
    )
    for stream in OUTPUTS:
        records = result.records(stream)
        assert file_rows(records) == expected_rows(fakes, stream), stream
        assert_metadata_is_consistent(fakes, stream, records)


def test_given_discover_then_output_columns_come_from_a_sample_and_an_empty_workflow_gets_a_permissive_schema(
    fakes,
):
    config = fakes.config()
    config["cargo"]["run_outputs"].append(
        {"name": "not_run_yet", "workflow_uuid": NO_RUNS_WORKFLOW, "output_node_slug": "enrich"}
    )

    catalog = {stream["name"]: stream for stream in run_cli("discover", config).catalog["streams"]}

    leads = catalog["enriched_leads"]["json_schema"]
    columns = BASE_COLUMNS + fakes.cargo.dataset.workflows[ENRICH_WORKFLOW_UUID].columns
    assert set(leads["properties"]) == set(columns) | set(METADATA)
    assert all(leads["properties"][column] == {"type": ["null", "string"]} for column in columns)
    assert catalog["scored_accounts"]["json_schema"]["properties"]["score"] == {"type": ["null", "number"]}
    assert catalog["enriched_leads"]["source_defined_primary_key"] == [["runUuid"]]
    assert catalog["enriched_leads"]["default_cursor_field"] == ["_ab_window_start"]
    empty = catalog["not_run_yet"]["json_schema"]
    assert set(empty["properties"]) == set(METADATA) and empty["additionalProperties"] is True


def test_given_unfinished_runs_when_syncing_twice_then_the_cursor_waits_and_finished_runs_arrive_next_time(fakes):
    streams = list(OUTPUTS)
    first = read(fakes, streams, incremental=True)
    for stream, (workflow_uuid, _, _) in OUTPUTS.items():
        oldest = min(run["createdAt"] for run in unfinished(fakes, workflow_uuid))
        assert cursor(first, stream) == just_before(oldest)
        assert file_rows(first.records(stream)) == expected_rows(fakes, stream, created_before=oldest)

    unchanged = read(fakes, streams, incremental=True, state=first.last_state())
    assert unchanged.records() == []
    assert [cursor(unchanged, stream) for stream in streams] == [cursor(first, stream) for stream in streams]

    held = unfinished(fakes, ENRICH_WORKFLOW_UUID)
    fakes.cargo.finish_run(held[0]["uuid"], status="success")  # the run the cursor waited for
    second = read(fakes, streams, incremental=True, state=first.last_state())

    next_held = held[1]["createdAt"]
    expected = expected_rows(
        fakes, "enriched_leads", created_after=cursor(first, "enriched_leads"), created_before=next_held
    )
    assert [row["runUuid"] for row in expected] == [held[0]["uuid"]]
    assert file_rows(second.records("enriched_leads")) == expected
    assert cursor(second, "enriched_leads") == just_before(next_held)
    assert second.records("scored_accounts") == []


def test_given_new_and_finished_runs_when_syncing_incrementally_then_only_new_data_arrives(fakes):
    first = read(fakes, ["enriched_leads", "cargo_runs"], incremental=True)
    # changes land just after the first sync's end (Cargo's clock - 1 min), so before the second sync's end
    fakes.cargo.set_now(parse_time(first_runs_cursor(first)) + timedelta(milliseconds=1))
    for run in unfinished(fakes, ENRICH_WORKFLOW_UUID):
        fakes.cargo.finish_run(run["uuid"], status="success")
    added = fakes.cargo.add_run(
        ENRICH_WORKFLOW_UUID,
        status="running",
        created_at=fakes.cargo.clock - timedelta(minutes=3),  # before the second sync's end (its clock - 1 min)
        output={"company": "New, Inc.", "notes": "a\nb"},
    )
    fakes.cargo.finish_run(added["uuid"], status="success")

    second = read(fakes, ["enriched_leads", "cargo_runs"], incremental=True, state=first.last_state())

    expected = expected_rows(fakes, "enriched_leads", created_after=cursor(first, "enriched_leads"))
    assert file_rows(second.records("enriched_leads")) == expected
    assert expected[-1]["runUuid"] == added["uuid"] and expected[-1]["company"] == "New, Inc."
    updated = {run["uuid"] for run in second.records("cargo_runs")}
    assert updated == {run["uuid"] for run in fakes.cargo.runs_for(updated_after=first_runs_cursor(first))}
    assert added["uuid"] in updated


def first_runs_cursor(result: CliResult) -> str:
    (state,) = [s for s in result.last_state() if s["stream"]["stream_descriptor"]["name"] == "cargo_runs"]
    return state["stream"]["stream_state"]["updatedAt"]


def test_given_storage_cuts_the_connection_mid_file_when_reading_then_rows_are_exact(fakes):
    fakes.storage.faults.cut_after(1500, times=2)

    result = read(fakes, ["enriched_leads"], incremental=False)

    assert file_rows(result.records("enriched_leads")) == expected_rows(fakes, "enriched_leads")
    assert any(download.range for download in fakes.storage.downloads), "the download did not resume with Range"


def test_given_cargo_answers_503_and_429_when_reading_then_requests_are_retried_and_rows_are_exact(fakes):
    fakes.cargo.faults.fail_next(503, times=2, path="download-outputs")
    fakes.cargo.faults.fail_next(429, retry_after=0, path="runs/list")

    result = read(fakes, ["enriched_leads"], incremental=True)

    oldest = min(run["createdAt"] for run in unfinished(fakes, ENRICH_WORKFLOW_UUID))
    assert file_rows(result.records("enriched_leads")) == expected_rows(fakes, "enriched_leads", created_before=oldest)
    assert fakes.cargo.faults.take_failure("/v1/orchestration/runs/download-outputs") is None  # all were served
    assert fakes.cargo.faults.take_failure("/v1/orchestration/runs/list") is None


def test_given_gzip_export_files_when_reading_then_rows_are_exact():
    with FakeVendors(vendors=["cargo"], cargo={"gzip_outputs": True}) as vendors:
        result = read(vendors, list(OUTPUTS), incremental=False)

        assert all(key.endswith(".gz") for key in vendors.cargo.exports)
        for stream in OUTPUTS:
            assert file_rows(result.records(stream)) == expected_rows(vendors, stream), stream


def test_given_expired_url_when_reading_then_a_fresh_url_is_minted_and_rows_are_exact(fakes):
    config = fakes.config()
    exports_before = len(fakes.cargo.requests_to("download-outputs"))
    fakes.storage.faults.expire_next()

    result = read(fakes, ["scored_accounts"], incremental=False, config=config)

    assert file_rows(result.records("scored_accounts")) == expected_rows(fakes, "scored_accounts")
    assert any(download.status == 403 for download in fakes.storage.downloads)
    windows_with_runs = len({r["_ab_source_file"] for r in result.records("scored_accounts")})
    discover_sample = 1
    assert len(fakes.cargo.requests_to("download-outputs")) - exports_before > discover_sample + windows_with_runs


def test_given_a_low_export_cap_when_reading_then_windows_are_split_and_rows_are_exact(fakes):
    fakes.cargo.max_runs_per_export = 20

    result = read(fakes, ["enriched_leads"], incremental=True)

    oldest = min(run["createdAt"] for run in unfinished(fakes, ENRICH_WORKFLOW_UUID))
    assert file_rows(result.records("enriched_leads")) == expected_rows(fakes, "enriched_leads", created_before=oldest)
    assert len({record["_ab_source_file"] for record in result.records("enriched_leads")}) >= 7  # ~130 rows / 20
    assert any("splitting it in two at" in log["message"] for log in result.logs)


def test_given_cap_below_runs_sharing_a_millisecond_when_reading_then_sync_fails_naming_the_window(fakes):
    fakes.cargo.max_runs_per_export = 1
    tied = fakes.cargo.dataset.runs[10]
    twin = fakes.cargo.add_run(tied["workflowUuid"], status="success", created_at=tied["createdAt"])
    stream = next(name for name, spec in OUTPUTS.items() if spec[0] == twin["workflowUuid"])
    result = run_cli("read", fakes.config(), direct_catalog([stream], incremental=False))

    error = result.errors[0]
    assert f"[{shifted(tied['createdAt'], -1)}, {shifted(tied['createdAt'], 1)})" in error["message"]
    assert "cannot be split further" in error["message"] and "cargo.run_outputs" in error["message"]
    assert error["failure_type"] == "config_error"


def shifted(timestamp: str, milliseconds: int) -> str:
    return iso(parse_time(timestamp) + timedelta(milliseconds=milliseconds))


@pytest.mark.parametrize("edges", EDGE_MODES)
def test_given_runs_on_every_edge_the_connector_asked_for_when_syncing_again_then_every_row_arrives_once(edges):
    streams = [*OUTPUTS, "cargo_runs"]
    with FakeVendors(vendors=["cargo"], cargo={"edges": edges, "max_runs_per_export": 20}) as fakes:
        result = read(fakes, streams, incremental=True)
        assert_every_row_once(fakes, result)
        place_runs_on_requested_edges(fakes)
        again = read(fakes, streams, incremental=True)  # from scratch: every window again, edges moved off the runs
        assert_every_row_once(fakes, again)
        assert any("splitting it in two at" in log["message"] for log in again.logs)
        assert fakes.cargo.errors == []


def place_runs_on_requested_edges(fakes: FakeVendors) -> None:
    """A successful run per workflow created on every creation-time edge asked for, and runs updated on
    (and 1 ms either side of) every update-time edge asked for."""
    for edge in fakes.cargo.edges_requested("created"):
        for workflow_uuid, _, _ in OUTPUTS.values():
            fakes.cargo.add_run(workflow_uuid, status="success", created_at=edge)
    for edge in fakes.cargo.edges_requested("updated"):
        for offset in (-1, 0, 1):
            moment = parse_time(shifted(edge, offset))
            added = fakes.cargo.add_run(ENRICH_WORKFLOW_UUID, created_at=moment - timedelta(minutes=1))
            fakes.cargo.finish_run(added["uuid"], at=moment)
    fakes.cargo.requested_edges.clear()


def assert_every_row_once(fakes: FakeVendors, result: CliResult) -> None:
    """Each stream holds exactly the fake's rows up to its cursor, in order, none twice (by value)."""
    start = iso(parse_time(fakes.config()["start_date"]))
    for stream, (workflow_uuid, _, _) in OUTPUTS.items():
        first_edge = free_millisecond_at_or_before(fakes, workflow_uuid, start)
        expected = expected_rows(fakes, stream, created_after=first_edge, created_before=cursor(result, stream))
        assert file_rows(result.records(stream)) == expected, stream
        assert_metadata_is_consistent(fakes, stream, result.records(stream))
    runs = fakes.cargo.runs_for(updated_after=start, updated_before=first_runs_cursor(result))
    assert sorted(result.records("cargo_runs"), key=lambda r: r["uuid"]) == sorted(runs, key=lambda r: r["uuid"])


def free_millisecond_at_or_before(fakes: FakeVendors, workflow_uuid: str, timestamp: str) -> str:
    """Where the first window starts: `start_date`, or the latest millisecond before it that no run sits on."""
    taken = {run["createdAt"] for run in fakes.cargo.runs_for(workflow_uuid)}
    while timestamp in taken:
        timestamp = shifted(timestamp, -1)
    return timestamp


@pytest.mark.parametrize("edges", EDGE_MODES)
def test_given_more_runs_in_one_millisecond_than_the_cap_when_syncing_then_config_error_names_the_window(edges):
    with FakeVendors(vendors=["cargo"], cargo={"edges": edges, "max_runs_per_export": 50}) as fakes:
        tied = fakes.cargo.runs_for(ENRICH_WORKFLOW_UUID, statuses=["success"])[40]["createdAt"]
        for _ in range(54):
            fakes.cargo.add_run(ENRICH_WORKFLOW_UUID, status="success", created_at=tied)

        result = run_cli("read", fakes.config(), direct_catalog(["enriched_leads"], incremental=True))

    error = result.errors[0]
    assert error["failure_type"] == "config_error"
    assert f"More runs were created in [{shifted(tied, -1)}, {shifted(tied, 1)})" in error["message"]
    assert "cannot be split further" in error["message"] and "field: cargo.run_outputs[0]" in error["message"]
    assert "Narrow the export with statuses, release_uuid or batch_uuid" in error["message"]
    expected = expected_rows(fakes, "enriched_leads", created_before=tied)
    assert file_rows(result.records("enriched_leads")) == expected[: len(result.records("enriched_leads"))]
    assert all(state["stream"]["stream_state"].get("created_at", "") < tied for state in result.states)


def test_given_run_unfinished_for_too_long_when_syncing_then_a_warning_names_it_and_the_cursor_moves_on(fakes):
    stuck = fakes.cargo.add_run(
        ENRICH_WORKFLOW_UUID, status="running", created_at=iso(fakes.cargo.clock - timedelta(days=3))
    )
    config = fakes.config()
    config["cargo"]["max_wait_days_for_unfinished_runs"] = 1

    result = read(fakes, ["enriched_leads"], incremental=True, config=config)

    warnings = [log["message"] for log in result.logs if log["level"] == "WARN"]
    assert any(stuck["uuid"] in message and "more than 1 days" in message for message in warnings)
    assert cursor(result, "enriched_leads") > stuck["createdAt"]


def test_given_bad_token_when_checking_then_failed_with_token_rejected_and_a_hint(fakes):
    config = fakes.config()
    config["cargo"]["api_token"] = "wrong-token"

    status = run_cli("check", config).connection_status

    assert status["status"] == "FAILED"
    assert (
        status["message"]
        .strip("'\"")
        .startswith("Cargo: API token rejected (HTTP 401 unauthorized: Invalid API token)")
    )
    assert "cargo.api_token" in status["message"] and "wrong-token" not in status["message"]


def test_given_unreachable_api_when_checking_then_failed_naming_the_url(fakes):
    config = copy.deepcopy(fakes.config())
    config["cargo"]["api_url"] = "http://127.0.0.1:9/v1"

    status = run_cli("check", config).connection_status

    assert status["status"] == "FAILED"
    assert "url: http://127.0.0.1:9/v1/orchestration/runs/list" in status["message"]


def test_given_invalid_workflow_uuid_when_checking_then_failed_naming_the_value(fakes):
    config = fakes.config()
    config["cargo"]["run_outputs"][1]["workflow_uuid"] = "d2c4e6f8-1a3b-1c5d-9e7f-0a1b2c3d4e5f"  # not version 4

    status = run_cli("check", config).connection_status

    assert status["status"] == "FAILED"
    assert "d2c4e6f8-1a3b-1c5d-9e7f-0a1b2c3d4e5f" in status["message"]


def test_given_two_outputs_with_one_name_when_reading_then_refused_naming_the_field(fakes):
    config = fakes.config()
    config["cargo"]["run_outputs"][1]["name"] = "enriched_leads"

    result = run_cli("read", config, direct_catalog(["enriched_leads"], incremental=False))

    assert result.records() == []
    assert "field: cargo.run_outputs[1].name" in result.errors[0]["message"]
    assert result.errors[0]["failure_type"] == "config_error"
