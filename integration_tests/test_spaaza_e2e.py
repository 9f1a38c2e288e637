"""End to end: the installed `source-exports` command against `FakeSpaaza` + `FakeStorage`.

Both modes are covered: reading the newest DONE console export (`create_exports: false`) and
creating export tasks (`create_exports: true`), including incremental date windows and the
second sync that only brings new rows. Records are compared value by value with the fake's data.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers.base import DROP
from integration_tests.fake_servers.spaaza import FakeSpaaza, iso
from integration_tests.fake_servers.storage import FakeStorage

pytestmark = pytest.mark.e2e

START_DATE = "2020-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def catalogs() -> Dict[bool, Dict[str, Any]]:
    """The discovered catalog per `create_exports` value (discover runs once per mode, not per test)."""
    found = {}
    with FakeStorage() as storage, FakeSpaaza(storage) as spaaza:
        for create in (False, True):
            result = run_cli("discover", config_for(spaaza, create_exports=create))
            assert result.returncode == 0, result.stderr
            found[create] = result.catalog
    return found


@pytest.fixture
def storage() -> Iterator[FakeStorage]:
    with FakeStorage() as fake:
        yield fake


@pytest.fixture
def spaaza(storage: FakeStorage) -> Iterator[FakeSpaaza]:
    with FakeSpaaza(storage) as fake:
        yield fake


def config_for(spaaza: FakeSpaaza, start_date: Optional[str] = None, **block: Any) -> Dict[str, Any]:
    config: Dict[str, Any] = {"spaaza": spaaza.config_block(**block)}
    if start_date:
        config["start_date"] = start_date
    return config


def read(
    catalogs: Dict[bool, Dict[str, Any]],
    config: Dict[str, Any],
    streams: List[str],
    incremental: bool = False,
    state: Optional[List[Dict[str, Any]]] = None,
) -> CliResult:
    """`read` with the catalog discovered for the config's mode, selecting `streams`."""
    catalog = catalogs[bool(config["spaaza"].get("create_exports"))]
    return run_cli("read", config, configured_catalog(catalog, streams, incremental), state)


def expected_records(spaaza: FakeSpaaza, task: Dict[str, Any], rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    name = spaaza.file_key(task).rsplit("/", 1)[-1]
    return [
        {**row, "_ab_source_file": name, "_ab_source_row": number, "_ab_task_id": task["id"]}
        for number, row in enumerate(rows, start=1)
    ]


def created_tasks(spaaza: FakeSpaaza, index: str) -> List[Dict[str, Any]]:
    return [
        task
        for task in spaaza.tasks.values()
        if task["target"].get("export_index") == index and task["desc"].startswith("Airbyte source-exports")
    ]


def in_window_order(tasks: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Window tasks by their start: created ahead in parallel, their ids need not follow the windows."""
    return sorted(tasks, key=lambda task: task["trigger"]["segment"]["rules"][0].get("start_date", ""))


def window_of(task: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """The window `[start, end)` a window task is for, from its `desc` (`… window <start> → <end>`);
    its segment asks for more (a margin on each side)."""
    start, end = task["desc"].rsplit(" window ", 1)[1].split(" → ")
    return (None if start == "the beginning" else start), end


def window_records(spaaza: FakeSpaaza, task: Dict[str, Any], date_field: str = "timestamp") -> List[Dict[str, Any]]:
    """The records a window task gives: the rows of its file (numbered as in the file) dated in its window."""
    start, end = window_of(task)
    index = task["target"]["export_index"]
    in_file = expected_records(spaaza, task, spaaza.expected_rows(index, task["trigger"]["segment"]))
    return [row for row in in_file if (start is None or start <= row[date_field]) and row[date_field] < end]


def error_messages(result: CliResult) -> str:
    return " ".join(error["message"] for error in result.errors)


# check and config
def test_given_valid_token_when_checking_then_succeeded_and_one_task_listed(spaaza: FakeSpaaza) -> None:
    result = run_cli("check", config_for(spaaza))
    assert result.connection_status["status"] == "SUCCEEDED"
    (listing,) = spaaza.requests_to(r"^/tasks$", "GET")
    assert listing.query["limit"] == "1"


def test_given_wrong_secret_when_checking_then_failed_with_token_rejected(spaaza: FakeSpaaza) -> None:
    result = run_cli("check", config_for(spaaza, access_token_secret="wrong"))
    assert result.connection_status["status"] == "FAILED"
    assert "Spaaza" in result.connection_status["message"]
    assert "token rejected" in result.connection_status["message"]
    assert "wrong" not in result.connection_status["message"]


def test_given_unknown_export_name_when_checking_then_field_and_valid_names_in_message(spaaza: FakeSpaaza) -> None:
    result = run_cli("check", config_for(spaaza, exports=["users", "orders"]))
    message = result.connection_status["message"]
    assert result.connection_status["status"] == "FAILED"
    assert "spaaza.exports[1]" in message and "'orders'" in message
    assert "transactions, users, vouchers, wallet-ledger, products, product-variants" in message


# discover
def test_given_console_exports_when_discovering_then_columns_come_from_the_files(catalogs) -> None:
    streams = {stream["name"]: stream for stream in catalogs[False]["streams"]}
    assert sorted(streams) == sorted(
        [
            "spaaza_tasks",
            "spaaza_transactions",
            "spaaza_users",
            "spaaza_vouchers",
            "spaaza_wallet_ledger",
            "spaaza_products",
            "spaaza_product_variants",
        ]
    )
    users = streams["spaaza_users"]["json_schema"]["properties"]
    assert users["email"] == {"type": ["null", "string"]}  # CSV: nullable strings
    assert users["_ab_source_row"] == {"type": ["null", "integer"]}
    products = streams["spaaza_products"]["json_schema"]["properties"]
    assert set(products) >= {"id", "name", "_ab_task_id", "_ab_source_file"}
    assert set(streams["spaaza_vouchers"]["json_schema"]["properties"]) == {
        "_ab_source_file",
        "_ab_source_row",
        "_ab_task_id",
    }  # no DONE voucher export: permissive
    assert streams["spaaza_tasks"]["source_defined_primary_key"] == [["id"]]
    assert all(stream["supported_sync_modes"] == ["full_refresh"] for stream in streams.values())


def test_given_create_exports_when_discovering_then_date_indexes_are_incremental(catalogs) -> None:
    streams = {stream["name"]: stream for stream in catalogs[True]["streams"]}
    assert streams["spaaza_transactions"]["default_cursor_field"] == ["timestamp"]
    assert streams["spaaza_wallet_ledger"]["default_cursor_field"] == ["timestamp"]
    assert streams["spaaza_vouchers"]["default_cursor_field"] == ["date_time_redeemed"]
    assert "incremental" in streams["spaaza_transactions"]["supported_sync_modes"]
    assert streams["spaaza_users"]["supported_sync_modes"] == ["full_refresh"]


# default mode: newest DONE export
def test_given_done_exports_when_reading_then_rows_of_the_newest_equal_the_files(catalogs, spaaza) -> None:
    older = spaaza.add_done_export("users", rows=[{"id": "old"}], last_run=spaaza.clock - timedelta(days=3))
    result = read(catalogs, config_for(spaaza, exports=["users", "products"]), ["spaaza_users", "spaaza_products"])
    assert result.returncode == 0, result.stderr
    users_task = next(
        t
        for t in spaaza.tasks.values()
        if t["desc"] == "Console export" and t["id"] != older["id"] and t["target"]["export_index"] == "users"
    )
    products_task = next(t for t in spaaza.tasks.values() if t["target"].get("export_index") == "products")
    assert result.records("spaaza_users") == expected_records(spaaza, users_task, spaaza.rows["users"])
    assert result.records("spaaza_products") == expected_records(spaaza, products_task, spaaza.rows["products"])
    assert result.records("spaaza_users")[0]["_ab_source_file"] == f"User_Export-{users_task['id']}.csv"
    assert not spaaza.requests_to(r"^/tasks$", "POST")  # nothing created in this mode
    assert spaaza.storage.auth_header_violations == 0


def test_given_no_done_export_when_reading_then_empty_stream_and_a_warning_says_how(catalogs, spaaza) -> None:
    result = read(catalogs, config_for(spaaza, exports=["vouchers"]), ["spaaza_vouchers"])
    assert result.returncode == 0 and result.records("spaaza_vouchers") == []
    warnings = [log["message"] for log in result.logs if log["level"] == "WARN"]
    assert any("no DONE export task for 'vouchers'" in text and "create_exports" in text for text in warnings)


def test_given_more_tasks_than_a_page_when_reading_tasks_then_every_task_once(catalogs, storage: FakeStorage) -> None:
    with FakeSpaaza(storage, page_limit_cap=2) as spaaza:
        result = read(catalogs, config_for(spaaza, exports=[]), ["spaaza_tasks"])
        records = result.records("spaaza_tasks")
        assert [record["id"] for record in records] == sorted(spaaza.tasks)
        assert records[0]["state"] == spaaza.tasks[records[0]["id"]]["state"]
        offsets = [request.query["offset"] for request in spaaza.requests_to(r"^/tasks$", "GET")]
        assert offsets == ["0", "2", "4"]  # 5 tasks, server caps limit at 2: pages 2, 2, 1 (short: the last)


def test_given_expired_url_and_cut_connection_when_reading_then_rows_complete(catalogs, spaaza: FakeSpaaza) -> None:
    spaaza.storage.faults.expire_next()
    spaaza.storage.faults.cut_after(40)
    result = read(catalogs, config_for(spaaza, exports=["transactions"]), ["spaaza_transactions"])
    task = next(t for t in spaaza.tasks.values() if t["target"].get("export_index") == "transactions")
    assert result.records("spaaza_transactions") == expected_records(spaaza, task, spaaza.rows["transactions"])
    assert len(spaaza.requests_to(rf"^/tasks/{task['id']}/download_url$")) >= 2  # minted again after expiry
    assert spaaza.storage.auth_header_violations == 0


# create mode
def test_given_create_exports_when_reading_full_refresh_then_a_new_task_is_run_and_read(catalogs, spaaza) -> None:
    config = config_for(spaaza, exports=["users", "products"], create_exports=True, export_format="json")
    result = read(catalogs, config, ["spaaza_users", "spaaza_products"])
    assert result.returncode == 0, result.stderr
    (users_task,) = created_tasks(spaaza, "users")
    assert users_task["target"] == {"action": "export", "export_index": "users", "export_format": "json"}
    assert users_task["chain"] == 1764 and "segment" not in users_task["trigger"]
    assert spaaza.requests_to(rf"^/tasks/{users_task['id']}/execute$", "POST")
    assert result.records("spaaza_users") == expected_records(spaaza, users_task, spaaza.rows["users"])
    assert result.records("spaaza_users")[0]["_ab_source_file"].endswith(".json")
    progress = [log["message"] for log in result.logs if f"task {users_task['id']} is" in log["message"]]
    assert any("INPROGRESS after" in text for text in progress)


def test_given_incremental_when_syncing_twice_then_windows_then_only_new_rows(catalogs, spaaza: FakeSpaaza) -> None:
    start = iso(spaaza.clock - timedelta(days=70))
    config = config_for(spaaza, start, exports=["transactions", "vouchers"], create_exports=True, window_days=25)
    first = read(catalogs, config, ["spaaza_transactions", "spaaza_vouchers"], incremental=True)
    assert first.returncode == 0, first.stderr

    windows = in_window_order(created_tasks(spaaza, "transactions"))
    assert len(windows) == 3  # 70 days in windows of 25
    rules = [task["trigger"]["segment"]["rules"][0] for task in windows]
    assert rules[0] == {
        "field_name": "timestamp",
        "field_type": "date",
        "operator": "is_between_date",
        "start_date": iso(spaaza.clock - timedelta(days=71)),  # the window, a day wider on each side
        "end_date": iso(spaaza.clock - timedelta(days=44)),
    }
    # the last window ends now: asked with no end date, so no export asks for a date in the future
    assert [rule["operator"] for rule in rules] == ["is_between_date", "is_between_date", "is_after_date"]
    spans = [window_of(task) for task in windows]
    assert spans[0] == (start, iso(spaaza.clock - timedelta(days=45)))
    assert [span[0] for span in spans[1:]] == [span[1] for span in spans[:-1]]
    expected = [record for task in windows for record in window_records(spaaza, task)]
    assert first.records("spaaza_transactions") == expected
    assert [record["id"] for record in expected] == [row["id"] for row in spaaza.rows["transactions"]]
    redeemed = [row["id"] for row in spaaza.rows["vouchers"] if row["date_time_redeemed"]]
    assert [record["id"] for record in first.records("spaaza_vouchers")] == redeemed
    transaction_states = [s for s in first.states if s["stream"]["stream_descriptor"]["name"] == "spaaza_transactions"]
    assert len(transaction_states) >= 3  # one per window
    cursor = transaction_states[-1]["stream"]["stream_state"]["timestamp"]
    assert cursor.startswith(spans[-1][1][:-1])

    # The next sync starts from a cursor two seconds back (nothing of the fake's lies in those seconds), and
    # the new row sits one second after it: inside the next window whenever the next sync starts, with no
    # dependence on the clock (a row on the very second a sync starts is, rightly, left to the sync after).
    first_end = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    restart = first_end - timedelta(seconds=2)
    state = [dict(message) for message in first.last_state()]
    for message in state:
        if message["stream"]["stream_descriptor"]["name"] == "spaaza_transactions":
            restart_text = restart.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            stream_state = {**message["stream"]["stream_state"], "timestamp": restart_text}
            message["stream"] = {**message["stream"], "stream_state": stream_state}
    new_rows = [
        {
            "id": "9001",
            "user_id": "3",
            "total": "1.00",
            "timestamp": iso(first_end - timedelta(seconds=1)),
            "note": "after the first sync",
        }
    ]
    assert not [row for row in spaaza.rows["transactions"] if row["timestamp"] >= iso(restart)]
    spaaza.add_rows("transactions", new_rows)
    second = read(catalogs, config, ["spaaza_transactions"], incremental=True, state=state)
    assert second.returncode == 0, second.stderr
    (latest,) = [task for task in created_tasks(spaaza, "transactions") if task not in windows]
    assert window_of(latest)[0] == iso(restart)
    assert latest["trigger"]["segment"]["rules"][0]["start_date"] == iso(restart - timedelta(days=1))
    assert second.records("spaaza_transactions") == window_records(spaaza, latest)
    assert [record["id"] for record in second.records("spaaza_transactions")] == ["9001"]


def test_given_first_incremental_sync_without_start_date_then_one_open_window(catalogs, spaaza: FakeSpaaza) -> None:
    config = config_for(spaaza, exports=["wallet-ledger"], create_exports=True)
    result = read(catalogs, config, ["spaaza_wallet_ledger"], incremental=True)
    (task,) = created_tasks(spaaza, "wallet-ledger")
    rule = task["trigger"]["segment"]["rules"][0]
    assert rule["operator"] == "is_before_date" and "start_date" not in rule
    assert result.records("spaaza_wallet_ledger") == window_records(spaaza, task)
    assert [record["id"] for record in result.records("spaaza_wallet_ledger")] == [
        row["id"] for row in spaaza.rows["wallet-ledger"]
    ]
    assert result.last_state()[0]["stream"]["stream_state"]["timestamp"].startswith(window_of(task)[1][:-1])


# failures
def test_given_export_ends_in_error_when_reading_then_stream_fails_with_task_logs(catalogs, spaaza: FakeSpaaza) -> None:
    spaaza.fail_next_export(["disk quota exceeded", "export aborted"])
    result = read(catalogs, config_for(spaaza, exports=["users"], create_exports=True), ["spaaza_users"])
    (task,) = created_tasks(spaaza, "users")
    message = error_messages(result)
    assert f"Spaaza export task {task['id']} ended in ERROR" in message
    assert "disk quota exceeded" in message and "export aborted" in message
    assert f"job_id: {task['id']}" in message and "state: ERROR" in message
    assert result.records("spaaza_users") == []


def test_given_export_never_finishes_when_reading_then_timeout_names_the_task(catalogs, spaaza: FakeSpaaza) -> None:
    spaaza.never_finish()
    config = config_for(spaaza, exports=["products"], create_exports=True, job_timeout_minutes=0.005)
    result = read(catalogs, config, ["spaaza_products"])
    (task,) = created_tasks(spaaza, "products")
    message = error_messages(result)
    assert f"Spaaza export task {task['id']} did not finish within" in message
    assert "job_timeout_minutes" in message
    assert result.errors[0]["failure_type"] == "transient_error"


def test_given_invalid_result_when_reading_then_failure_names_the_task(catalogs, spaaza: FakeSpaaza) -> None:
    spaaza.invalid_result_next()
    result = read(catalogs, config_for(spaaza, exports=["users"], create_exports=True), ["spaaza_users"])
    (task,) = created_tasks(spaaza, "users")
    message = error_messages(result)
    assert "the task completed successfully, but contains an invalid result" in message
    assert f"Task {task['id']}" in message


def test_given_not_done_answer_after_done_when_reading_then_asks_again_and_reads(catalogs, spaaza) -> None:
    spaaza.answer_not_done_next(2)
    result = read(catalogs, config_for(spaaza, exports=["users"], create_exports=True), ["spaaza_users"])
    (task,) = created_tasks(spaaza, "users")
    assert result.records("spaaza_users") == expected_records(spaaza, task, spaaza.rows["users"])
    assert len(spaaza.requests_to(rf"^/tasks/{task['id']}/download_url$")) == 3


def test_given_wrong_token_when_reading_then_config_error_token_rejected(catalogs, spaaza: FakeSpaaza) -> None:
    result = read(catalogs, config_for(spaaza, exports=["users"], access_token_id="someone-else"), ["spaaza_users"])
    assert "token rejected" in error_messages(result)
    assert result.errors[0]["failure_type"] == "config_error"


# exports of several streams overlap
def without_task_columns(records: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in ("_ab_task_id", "_ab_source_file")} for record in records]


def test_given_three_streams_when_reading_with_concurrency_then_tasks_overlap_and_rows_equal_serial(
    catalogs, storage: FakeStorage
) -> None:
    streams = ["spaaza_users", "spaaza_products", "spaaza_product_variants"]
    indexes = ["users", "products", "product-variants"]
    runs = {}
    anchor = datetime.now(timezone.utc)  # both fakes hold the same dataset
    for concurrency, hold in ((1, 0), (3, 3)):
        with FakeSpaaza(storage, now=anchor, hold_until_executed=hold) as spaaza:
            config = config_for(spaaza, exports=indexes, create_exports=True, export_concurrency=concurrency)
            result = read(catalogs, config, streams)
            assert result.returncode == 0, result.stderr
            for index, stream in zip(indexes, streams):
                (task,) = created_tasks(spaaza, index)
                assert result.records(stream) == expected_records(spaaza, task, spaaza.rows[index])
            assert spaaza.max_in_progress == concurrency  # 3: all started before any finished (held)
            runs[concurrency] = {stream: without_task_columns(result.records(stream)) for stream in streams}
    assert runs[3] == runs[1]


def test_given_more_exports_than_the_concurrency_when_reading_then_at_most_that_many_in_progress(
    catalogs, storage: FakeStorage
) -> None:
    with FakeSpaaza(storage, hold_until_executed=2) as spaaza:
        start = iso(spaaza.clock - timedelta(days=70))
        config = config_for(
            spaaza, start, exports=["transactions", "users"], create_exports=True, window_days=15, export_concurrency=2
        )
        result = read(catalogs, config, ["spaaza_transactions", "spaaza_users"], incremental=True)
        assert result.returncode == 0, result.stderr
        windows = in_window_order(created_tasks(spaaza, "transactions"))
        assert len(windows) == 5
        assert spaaza.max_in_progress == 2
        expected = [record for task in windows for record in window_records(spaaza, task)]
        assert result.records("spaaza_transactions") == expected
        (users_task,) = created_tasks(spaaza, "users")
        assert result.records("spaaza_users") == expected_records(spaaza, users_task, spaaza.rows["users"])
        cursors = [
            state["stream"]["stream_state"]["timestamp"]
            for state in result.states
            if state["stream"]["stream_descriptor"]["name"] == "spaaza_transactions"
        ]
        assert cursors == sorted(cursors) and len(set(cursors)) >= 5  # window by window, in order


def test_given_unselected_stream_when_reading_then_no_task_is_created_for_it(catalogs, spaaza: FakeSpaaza) -> None:
    config = config_for(spaaza, exports=["users", "products", "vouchers"], create_exports=True)
    result = read(catalogs, config, ["spaaza_users", "spaaza_products"])
    assert result.returncode == 0, result.stderr
    assert created_tasks(spaaza, "vouchers") == []
    assert [len(created_tasks(spaaza, index)) for index in ("users", "products")] == [1, 1]


def test_given_ambiguous_create_failure_ahead_when_reading_then_task_looked_up_not_duplicated(
    catalogs, spaaza: FakeSpaaza
) -> None:
    spaaza.fail_after_acting("create", 503, times=2)
    config = config_for(spaaza, exports=["users", "products", "product-variants"], create_exports=True)
    result = read(catalogs, config, ["spaaza_users", "spaaza_products", "spaaza_product_variants"])
    assert result.returncode == 0, result.stderr
    for index in ("users", "products", "product-variants"):
        (task,) = created_tasks(spaaza, index)
        stream = f"spaaza_{index.replace('-', '_')}"
        assert result.records(stream) == expected_records(spaaza, task, spaaza.rows[index])
    assert len(spaaza.created_bodies) == 3


def test_given_ambiguous_create_failures_of_window_tasks_when_reading_then_each_widened_task_found_again(
    catalogs, storage: FakeStorage
) -> None:
    with FakeSpaaza(storage, date_bounds="day-inclusive") as spaaza:  # neighbouring exports share rows
        spaaza.fail_after_acting("create", 503, times=2)
        spaaza.fail_after_acting("create", DROP, times=1)
        start = iso(spaaza.clock - timedelta(days=70))
        config = config_for(spaaza, start, exports=["transactions"], create_exports=True, window_days=25)
        result = read(catalogs, config, ["spaaza_transactions"], incremental=True)
        assert result.returncode == 0, result.stderr
        windows = in_window_order(created_tasks(spaaza, "transactions"))
        assert len(windows) == 3 and len(spaaza.created_bodies) == 3  # each POST's task found, none sent twice
        found = [log["message"] for log in result.logs if "Spaaza created the task anyway" in log["message"]]
        assert sorted(int(text.split("(id ")[1].split(")")[0]) for text in found) == sorted(t["id"] for t in windows)
        records = result.records("spaaza_transactions")
        assert records == [record for task in windows for record in window_records(spaaza, task)]
        assert [record["id"] for record in records] == [row["id"] for row in spaaza.rows["transactions"]]


def test_given_one_export_fails_when_reading_ahead_then_only_its_stream_fails(catalogs, storage: FakeStorage) -> None:
    with FakeSpaaza(storage, hold_until_executed=2) as spaaza:
        spaaza.fail_next_export(["index unavailable"])
        config = config_for(spaaza, exports=["users", "products"], create_exports=True, export_concurrency=2)
        result = read(catalogs, config, ["spaaza_users", "spaaza_products"])
        (task,) = [
            task
            for task in created_tasks(spaaza, "users") + created_tasks(spaaza, "products")
            if task["state"]["code"] == "ERROR"
        ]
        index = task["target"]["export_index"]
        other = "products" if index == "users" else "users"
        assert f"Spaaza export task {task['id']} ended in ERROR" in error_messages(result)
        assert result.records(f"spaaza_{index}") == []
        (good,) = created_tasks(spaaza, other)
        assert result.records(f"spaaza_{other}") == expected_records(spaaza, good, spaaza.rows[other])
