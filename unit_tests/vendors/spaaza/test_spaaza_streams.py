"""Stream behaviour with requests-mock: modes, windows and state, schema sampling."""

import logging
from typing import Any, Dict, List

import pendulum
import pytest
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports.config import CommonConfig
from source_exports.errors import VendorJobFailed
from source_exports.vendors.spaaza import VENDOR
from source_exports.vendors.spaaza.streams import window_key
from unit_tests.vendors.spaaza.builders import BASE_URL, TaskBuilder, block

STORAGE = "https://storage.test/bucket"
CSV = b'id,email,note\r\n1,a@x.test,"line one\nline two"\r\n2,b@x.test,\r\n'


def streams_by_name(**overrides) -> Dict[str, Any]:
    common = CommonConfig(pendulum.datetime(2025, 1, 1))
    streams = VENDOR.streams(block(poll_interval_seconds=0.001, **overrides), common)
    return {stream.name: stream for stream in streams}


def given_done_users_export(requests_mock, task_id: int = 5, body: bytes = CSV) -> None:
    done = TaskBuilder().with_id(task_id).with_state("DONE", "2025-02-01T00:00:00Z").build()
    requests_mock.get(f"{BASE_URL}/tasks", json=[done])
    requests_mock.get(
        f"{BASE_URL}/tasks/{task_id}/download_url", json={"url": f"{STORAGE}/User_Export-{task_id}.csv?sig=s"}
    )
    requests_mock.get(f"{STORAGE}/User_Export-{task_id}.csv", content=body)


def given_export_lifecycle(requests_mock, ids: List[int], files: Dict[int, bytes]) -> None:
    """POST /tasks answers the next id; each task is DONE at its first poll; each file is in storage."""
    requests_mock.post(f"{BASE_URL}/tasks", [{"json": TaskBuilder().with_id(i).build()} for i in ids])
    for task_id in ids:
        requests_mock.post(f"{BASE_URL}/tasks/{task_id}/execute", text="")
        requests_mock.get(
            f"{BASE_URL}/tasks/{task_id}",
            json=TaskBuilder().with_id(task_id).with_index("transactions").with_state("DONE").build(),
        )
        requests_mock.get(
            f"{BASE_URL}/tasks/{task_id}/download_url",
            json={"url": f"{STORAGE}/Transaction_Export-{task_id}.csv?sig=s"},
        )
        requests_mock.get(f"{STORAGE}/Transaction_Export-{task_id}.csv", content=files[task_id])


def test_given_done_export_when_reading_default_mode_then_rows_with_metadata(requests_mock):
    given_done_users_export(requests_mock)
    rows = list(streams_by_name(exports=["users"])["spaaza_users"].read_records(SyncMode.full_refresh))
    assert rows == [
        {
            "id": "1",
            "email": "a@x.test",
            "note": "line one\nline two",
            "_ab_source_file": "User_Export-5.csv",
            "_ab_source_row": 1,
            "_ab_task_id": 5,
        },
        {
            "id": "2",
            "email": "b@x.test",
            "note": "",
            "_ab_source_file": "User_Export-5.csv",
            "_ab_source_row": 2,
            "_ab_task_id": 5,
        },
    ]
    storage_request = requests_mock.request_history[-1]
    assert "Authorization" not in storage_request.headers  # the token never reaches storage


def test_given_no_done_export_when_reading_default_mode_then_empty_and_warning(requests_mock, caplog):
    requests_mock.get(f"{BASE_URL}/tasks", json=[])
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        rows = list(streams_by_name(exports=["vouchers"])["spaaza_vouchers"].read_records(SyncMode.full_refresh))
    assert rows == []
    assert "no DONE export task for 'vouchers'" in caplog.text and "spaaza.create_exports" in caplog.text


def test_given_done_export_when_building_schema_then_csv_columns_are_nullable_strings(requests_mock):
    given_done_users_export(requests_mock)
    schema = streams_by_name(exports=["users"])["spaaza_users"].get_json_schema()
    assert schema["properties"]["email"] == {"type": ["null", "string"]}
    assert schema["properties"]["_ab_task_id"] == {"type": ["null", "integer"]}
    assert schema["additionalProperties"] is True


def test_given_storage_fails_when_building_schema_then_discover_fails_with_the_download_failure(requests_mock):
    given_done_users_export(requests_mock)
    requests_mock.get(f"{STORAGE}/User_Export-5.csv", status_code=404, text="NoSuchKey")

    with pytest.raises(AirbyteTracedException) as caught:
        streams_by_name(exports=["users"])["spaaza_users"].get_json_schema()

    assert caught.value.failure_type == FailureType.transient_error
    assert caught.value.message.startswith("Could not sample stream 'spaaza_users' for its schema: ")
    assert "HTTP 404" in caught.value.message and "Refresh the source schema" in caught.value.message


def test_given_no_done_export_when_building_schema_then_fixed_columns_any_other_allowed_and_a_warning(
    requests_mock, caplog
):
    requests_mock.get(f"{BASE_URL}/tasks", json=[])

    with caplog.at_level(logging.WARNING, logger="airbyte"):
        schema = streams_by_name(exports=["users"])["spaaza_users"].get_json_schema()

    assert set(schema["properties"]) == {"_ab_source_file", "_ab_source_row", "_ab_task_id"}
    assert schema["additionalProperties"] is True
    warning = next(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert warning.startswith("spaaza_users: there is no DONE users export task to sample yet")
    assert "refresh the source schema after the first DONE users export task exists" in warning


def test_given_configured_catalog_when_reading_then_schema_is_not_sampled_again(requests_mock):
    stream = streams_by_name(exports=["users"])["spaaza_users"]
    configured = {"type": "object", "properties": {"email": {"type": "string"}}}
    stream.configured_json_schema = configured
    assert stream.get_json_schema() == configured and not requests_mock.called


def test_given_state_when_slicing_then_windows_from_cursor_to_now():
    stream = streams_by_name(exports=["transactions"], create_exports=True, window_days=10)["spaaza_transactions"]
    stream.state = {"timestamp": pendulum.now("UTC").subtract(days=25).format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"}
    slices = list(stream.stream_slices(sync_mode=SyncMode.incremental))
    assert len(slices) == 3 and slices[0]["start"][:10] == stream.state["timestamp"][:10]
    assert all(a["end"] == b["start"] for a, b in zip(slices, slices[1:]))
    full = list(stream.stream_slices(sync_mode=SyncMode.full_refresh))
    assert full[0]["start"] == "2025-01-01T00:00:00Z"  # full refresh ignores state, starts at start_date


def test_given_window_when_reading_then_cursor_moves_only_after_its_rows(requests_mock):
    stream = streams_by_name(exports=["transactions"], create_exports=True)["spaaza_transactions"]
    given_export_lifecycle(requests_mock, [21], {21: b"id,timestamp\r\n1,2025-01-05T00:00:00Z\r\n"})
    window = {"start": "2025-01-01T00:00:00Z", "end": "2025-01-31T00:00:00Z"}
    records = stream.read_records(SyncMode.incremental, stream_slice=window)
    assert next(records)["id"] == "1"
    assert stream.state == {}  # the row is out, the window not finished yet
    assert list(records) == []
    assert stream.state == {"timestamp": "2025-01-31T00:00:00.000Z"}
    segment = requests_mock.request_history[0].json()["trigger"]["segment"]
    assert segment["rules"][0]["start_date"] == "2024-12-31T00:00:00Z" and segment["chain_id"] == 1764  # a day wider


WINDOW = {"start": "2025-01-10T00:00:00Z", "end": "2025-01-20T00:00:00Z"}
EDGE_ROWS = [
    ("before", "2025-01-09T23:59:59Z"),
    ("first", "2025-01-10T00:00:00Z"),
    ("inside", "2025-01-15T12:00:00Z"),
    ("last", "2025-01-19T23:59:59Z"),
    ("at-end", "2025-01-20T00:00:00Z"),
    ("after", "2025-01-20T00:00:01Z"),
    ("offset", "2025-01-20T00:30:00+01:00"),  # 23:30 UTC, inside
    ("no-date", ""),
    ("not-a-date", "soon"),
]


def csv_of(rows) -> bytes:
    return ("id,timestamp\r\n" + "".join(f"{row_id},{stamp}\r\n" for row_id, stamp in rows)).encode()


def test_given_an_export_wider_than_its_window_when_reading_then_only_rows_dated_in_the_window_are_kept(
    requests_mock, caplog
):
    stream = streams_by_name(exports=["transactions"], create_exports=True)["spaaza_transactions"]
    given_export_lifecycle(requests_mock, [21], {21: csv_of(EDGE_ROWS)})
    with caplog.at_level(logging.INFO, logger="airbyte"):
        records = list(stream.read_records(SyncMode.incremental, stream_slice=WINDOW))
    assert [(r["id"], r["_ab_source_row"]) for r in records] == [
        ("first", 2),
        ("inside", 3),
        ("last", 4),
        ("offset", 7),
        ("no-date", 8),  # cannot be placed: kept, as by every window whose export holds it
        ("not-a-date", 9),
    ]
    (dropped,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped.startswith("spaaza_transactions: 3 row(s) stamped outside the window 2025-01-10T00:00:00Z")
    assert stream.state == {"timestamp": "2025-01-20T00:00:00.000Z"}


def test_given_neighbouring_windows_when_both_exports_hold_the_boundary_rows_then_each_row_is_emitted_once(
    requests_mock,
):
    stream = streams_by_name(exports=["transactions"], create_exports=True)["spaaza_transactions"]
    dated = [row for row in EDGE_ROWS if row[1][:1] == "2"]
    given_export_lifecycle(requests_mock, [21, 22], {21: csv_of(dated), 22: csv_of(dated)})
    windows = [
        {"start": "2025-01-01T00:00:00Z", "end": WINDOW["start"]},
        WINDOW,
        {"start": WINDOW["end"], "end": "2025-01-30T00:00:00Z"},
    ]
    emitted = [r["id"] for w in windows[1:] for r in stream.read_records(SyncMode.incremental, stream_slice=w)]
    assert sorted(emitted) == sorted(row_id for row_id, _ in dated if row_id != "before")  # "before" is window 0's


def test_given_the_open_first_window_when_reading_then_rows_from_its_end_on_are_dropped(requests_mock):
    stream = streams_by_name(exports=["transactions"], create_exports=True)["spaaza_transactions"]
    given_export_lifecycle(requests_mock, [21], {21: csv_of(EDGE_ROWS[:6])})
    records = stream.read_records(SyncMode.incremental, stream_slice={"start": None, "end": WINDOW["end"]})
    assert [r["id"] for r in records] == ["before", "first", "inside", "last"]
    rule = requests_mock.request_history[0].json()["trigger"]["segment"]["rules"][0]
    assert rule == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_before_date",
        "end_date": "2025-01-21T00:00:00Z",
    }


def test_given_window_export_fails_when_reading_then_cursor_stays(requests_mock):
    stream = streams_by_name(exports=["transactions"], create_exports=True)["spaaza_transactions"]
    given_export_lifecycle(requests_mock, [21], {21: b""})
    requests_mock.get(f"{BASE_URL}/tasks/21", json=TaskBuilder().with_id(21).with_state("ERROR").build())
    stream.state = {"timestamp": "2025-01-01T00:00:00.000Z"}
    with pytest.raises(VendorJobFailed):
        list(
            stream.read_records(
                SyncMode.incremental, stream_slice={"start": "2025-01-01T00:00:00Z", "end": "2025-01-31T00:00:00Z"}
            )
        )
    assert stream.state == {"timestamp": "2025-01-01T00:00:00.000Z"}


def test_given_create_mode_when_listing_streams_then_only_date_indexes_are_incremental():
    streams = streams_by_name(create_exports=True)
    incremental = sorted(name for name, stream in streams.items() if stream.supports_incremental)
    assert incremental == ["spaaza_transactions", "spaaza_vouchers", "spaaza_wallet_ledger"]
    assert streams["spaaza_vouchers"].cursor_field == "date_time_redeemed"
    assert not any(stream.supports_incremental for stream in streams_by_name().values())


def test_given_check_when_token_lists_tasks_then_one_task_requested(requests_mock):
    listing = requests_mock.get(f"{BASE_URL}/tasks", json=[TaskBuilder().build()])
    VENDOR.check(block(), CommonConfig(None), logging.getLogger("test"))
    assert listing.last_request.qs == {"limit": ["1"], "offset": ["0"]}


def test_given_windows_planned_from_the_state_when_slicing_then_the_same_windows_are_read():
    stream = streams_by_name(exports=["transactions"], create_exports=True, window_days=10)["spaaza_transactions"]
    saved = {"timestamp": pendulum.now("UTC").subtract(days=25).format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"}
    planned = stream.planned_keys(SyncMode.incremental, saved)
    stream.state = dict(saved)  # what the CDK sets before slicing
    slices = list(stream.stream_slices(sync_mode=SyncMode.incremental))
    assert len(planned) == 3 and [window_key(s) for s in slices] == planned
    assert slices[0]["start"][:10] == saved["timestamp"][:10]


def test_given_full_refresh_stream_when_planning_then_one_export_only_when_creating():
    assert streams_by_name(exports=["users"], create_exports=True)["spaaza_users"].planned_keys(
        SyncMode.full_refresh, {}
    ) == ["full"]
    assert streams_by_name(exports=["users"])["spaaza_users"].planned_keys(SyncMode.full_refresh, {}) == []
