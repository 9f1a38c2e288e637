"""Export-task lifecycle: one test per state transition and failure branch, no real sleeping."""

from typing import List
from unittest import mock

import pytest

from source_exports.errors import JobTimeout, VendorJobFailed
from source_exports.vendors.spaaza.config import SpaazaConfig
from source_exports.vendors.spaaza.errors import TaskNotDone
from source_exports.vendors.spaaza.jobs import (
    DoneExports,
    SpaazaExportJob,
    is_connector_window_task,
    log_text,
    result_file,
)
from unit_tests.vendors.spaaza.builders import TaskBuilder, block


class FakeClock:
    """`sleep` advances `now`; the job never really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: List[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def make_job(client, clock: FakeClock, **overrides) -> SpaazaExportJob:
    config = SpaazaConfig.from_block(block(**overrides))
    return SpaazaExportJob(client, config, "spaaza_users", sleep=clock.sleep, clock=clock)


def test_given_ready_then_inprogress_then_done_when_running_then_executes_polls_and_returns_done():
    client = mock.Mock()
    client.create_task.return_value = TaskBuilder().with_id(5).with_state("READY").build()
    client.get_task.side_effect = [
        TaskBuilder().with_id(5).with_state("INPROGRESS").build(),
        TaskBuilder().with_id(5).with_state("DONE").build(),
    ]
    clock = FakeClock()
    task = make_job(client, clock).run("users")
    assert task["state"]["code"] == "DONE"
    client.execute_task.assert_called_once_with(5, stream="spaaza_users")
    assert clock.sleeps == [2, 3]  # poll interval grows by half each time


def test_given_body_when_creating_then_chain_desc_target_and_trigger_once_with_segment():
    client = mock.Mock()
    client.create_task.return_value = TaskBuilder().with_id(5).with_state("DONE").build()
    make_job(client, FakeClock(), export_format="json").run("vouchers", {"rules": []}, label="window x")
    body = client.create_task.call_args.args[0]
    assert body["chain"] == 1764 and body["desc"].startswith("Airbyte source-exports: vouchers window x")
    assert body["target"] == {"action": "export", "export_index": "vouchers", "export_format": "json"}
    assert body["trigger"]["segment"] == {"rules": []} and body["trigger"]["once"].endswith("Z")
    client.execute_task.assert_not_called()  # already DONE


def test_given_task_ends_in_error_when_waiting_then_vendor_job_failed_with_logs():
    client = mock.Mock()
    logs = [{"level": "error", "message": "disk full"}, "bye"]
    client.get_task.return_value = TaskBuilder().with_id(5).with_state("ERROR").with_logs(logs).build()
    with pytest.raises(VendorJobFailed) as error:
        make_job(client, FakeClock()).wait(5)
    assert "task 5 ended in ERROR: error: disk full | bye" in error.value.user_message
    assert error.value.context["job_id"] == 5 and error.value.context["state"] == "ERROR"


def test_given_task_never_ends_when_waiting_then_job_timeout_names_task_and_state():
    client = mock.Mock()
    client.get_task.return_value = TaskBuilder().with_id(5).with_state("INPROGRESS").build()
    clock = FakeClock()
    with pytest.raises(JobTimeout) as error:
        make_job(client, clock, job_timeout_minutes=1).wait(5)
    assert "task 5 did not finish within 1 minutes (last state INPROGRESS)" in error.value.user_message
    assert clock.now == pytest.approx(60)  # the last sleep is clipped to the deadline
    assert max(clock.sleeps) <= 60


def test_given_polls_when_waiting_then_each_logs_state_and_elapsed():
    client = mock.Mock()
    client.get_task.side_effect = [TaskBuilder().with_id(5).with_state(code).build() for code in ("INPROGRESS", "DONE")]
    logger = mock.Mock()
    job = make_job(client, FakeClock())
    job.logger = logger
    job.wait(5, initial=TaskBuilder().with_id(5).with_state("READY").build())
    messages = [call.args[0] for call in logger.info.call_args_list]
    assert "task 5 is READY after 0.0 s" in messages[0] and "task 5 is INPROGRESS after 2.0 s" in messages[1]
    assert "task 5 is DONE after 5.0 s" in messages[2]


def test_given_done_tasks_when_finding_newest_then_latest_run_wins_and_window_tasks_are_skipped():
    window = (
        TaskBuilder()
        .with_id(9)
        .with_state("DONE", "2025-03-01T00:00:00Z")
        .with_desc("Airbyte source-exports: users window")
        .with_segment({"rules": []})
        .build()
    )
    older = TaskBuilder().with_id(8).with_state("DONE", "2025-01-01T00:00:00Z").build()
    newer = TaskBuilder().with_id(3).with_state("DONE", "2025-02-01T00:00:00Z").build()
    other_index = TaskBuilder().with_id(10).with_index("products").with_state("DONE", "2025-04-01T00:00:00Z").build()
    client = mock.Mock()
    client.iter_tasks.return_value = [window, older, newer, other_index]
    done = DoneExports(client)
    assert done.newest("users")["id"] == 3
    assert done.newest("vouchers") is None
    assert is_connector_window_task(window) and not is_connector_window_task(newer)
    client.iter_tasks.assert_called_once_with(status="DONE", action="export")  # listed once, cached


def test_given_same_run_date_when_finding_newest_then_higher_id_wins_and_format_preference_applies():
    a = TaskBuilder().with_id(4).with_state("DONE", "2025-02-01T00:00:00Z").build()
    b = TaskBuilder().with_id(6).with_index("users", "json").with_state("DONE", "2025-02-01T00:00:00Z").build()
    client = mock.Mock()
    client.iter_tasks.return_value = [a, b]
    done = DoneExports(client)
    assert done.newest("users")["id"] == 6
    assert done.newest("users", "csv")["id"] == 4


def test_given_done_task_when_building_result_file_then_name_from_url_path_and_remint_after_first():
    client = mock.Mock()
    client.download_url.side_effect = [
        "https://storage.test/x/Transaction_Export-5.csv?X-Amz-Signature=abc",
        "https://storage.test/x/Transaction_Export-5.csv?X-Amz-Signature=def",
    ]
    task = TaskBuilder().with_id(5).with_index("transactions").with_state("DONE").build()
    export = result_file(client, task, "spaaza_transactions", "json", wait_seconds=0)
    assert (export.name, export.format) == ("Transaction_Export-5.csv", "csv")
    assert dict(export.metadata) == {"_ab_task_id": 5}
    assert export.mint().endswith("abc") and export.mint().endswith("def")


def test_given_not_done_answers_when_minting_then_asks_again_then_gives_up():
    client = mock.Mock()
    client.download_url.side_effect = [TaskNotDone("not DONE"), "https://s.test/Voucher_Export-5.json?sig=1"]
    sleeps: List[float] = []
    task = TaskBuilder().with_id(5).with_target({"action": "export"}).build()
    export = result_file(client, task, "spaaza_vouchers", "csv", wait_seconds=1, sleep=sleeps.append)
    assert export.format == "json" and sleeps == [1]  # format from the file extension when the target lacks it
    client.download_url.side_effect = TaskNotDone("not DONE")
    with pytest.raises(TaskNotDone):
        result_file(client, task, "spaaza_vouchers", "csv", wait_seconds=1, sleep=sleeps.append)


def test_given_no_logs_when_formatting_then_says_so():
    assert log_text(TaskBuilder().build()) == "(the task has no log entries)"
