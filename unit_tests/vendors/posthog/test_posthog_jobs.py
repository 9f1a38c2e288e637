"""FileDownloadJob: one test per state transition and failure branch, with a scripted client."""

import logging
from datetime import datetime

import pytest

from source_exports.errors import JobTimeout, VendorJobFailed
from source_exports.vendors.posthog.config import FileDownloadConfig
from source_exports.vendors.posthog.errors import TooManyConcurrentExports
from source_exports.vendors.posthog.jobs import MAX_POLL_SECONDS, FileDownloadJob, JobSettings
from source_exports.vendors.posthog.windows import UTC
from source_exports.windows import Window
from unit_tests.vendors.posthog.builders import FileDownloadBuilder, completed, in_state

WINDOW = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC))


class ScriptedClient:
    def __init__(self, statuses=(), create_outcomes=("e-1",)):
        self.statuses = list(statuses)
        self.create_outcomes = list(create_outcomes)
        self.payloads = []

    def create_file_download(self, payload):
        self.payloads.append(payload)
        outcome = self.create_outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_file_download(self, export_id):
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def job(client, clock, timeout=60.0, retries=3, file_config=FileDownloadConfig()):
    settings = JobSettings(poll_interval_seconds=1.0, poll_timeout_seconds=timeout, concurrency_retries=retries)
    return FileDownloadJob(
        client, "events", WINDOW, file_config, settings, logging.getLogger("test"), clock.sleep, lambda: clock.now
    )


def test_given_config_when_payload_built_then_posthogs_shape_with_window_bounds():
    config = FileDownloadConfig(format="Parquet", compression="zstd", include=["$pageview"])
    assert job(ScriptedClient(), Clock(), file_config=config).payload() == {
        "model": "events",
        "file": {"format": "Parquet", "compression": "zstd"},
        "data_interval_start": "2025-01-01T00:00:00.000000Z",
        "data_interval_end": "2025-01-08T00:00:00.000000Z",
        "include": ["$pageview"],
    }


def test_given_files_listed_one_poll_after_completed_when_run_then_waits_for_them():
    client = ScriptedClient(
        [
            in_state("Starting"),
            in_state("Running"),
            completed(records=12),
            completed("f1", "f2", records=12),
        ]
    )
    clock = Clock()
    export = job(client, clock).run()
    assert (export.id, export.files, export.records_completed) == ("e-1", ("f1", "f2"), 12)
    assert clock.sleeps == [1.0, 1.5, 2.25]  # the poll interval grows


def test_given_poll_ceiling_when_waiting_long_then_interval_stops_growing():
    clock = Clock()
    with pytest.raises(JobTimeout):
        job(ScriptedClient([in_state("Running")]), clock, timeout=1000).run()
    assert max(clock.sleeps) == MAX_POLL_SECONDS
    assert clock.sleeps[-2] == MAX_POLL_SECONDS  # the last pause is cut short by the deadline


def test_given_completed_with_zero_records_and_no_files_when_run_then_empty_export():
    export = job(ScriptedClient([completed(records=0)]), Clock()).run()
    assert export.files == ()


def test_given_completed_without_files_or_count_when_grace_polls_pass_then_treated_as_empty(caplog):
    with caplog.at_level(logging.WARNING):
        no_count = FileDownloadBuilder().with_status("Completed").with_files().build()
        export = job(ScriptedClient([no_count]), Clock(), timeout=1000).run()
    assert export.files == ()
    assert "treating it as empty" in caplog.text


def test_given_failed_export_when_run_then_vendor_job_failed_with_posthogs_error_and_id():
    failed = FileDownloadBuilder().with_status("Failed").with_error("Disk quota exceeded").build()
    client = ScriptedClient([in_state("Running"), failed])
    with pytest.raises(VendorJobFailed) as error:
        job(client, Clock()).run()
    message = str(error.value)
    assert "ended Failed: Disk quota exceeded" in message
    assert "job_id: e-1" in message and "state: Failed" in message


def test_given_export_never_finishes_when_timeout_passes_then_job_timeout_says_what_to_raise():
    with pytest.raises(JobTimeout, match="poll_timeout_minutes"):
        job(ScriptedClient([in_state("Running")]), Clock(), timeout=10).run()


def test_given_too_many_concurrent_downloads_twice_when_creating_then_waits_and_retries():
    busy = [TooManyConcurrentExports("busy", retry_after=4.0), TooManyConcurrentExports("busy")]
    client = ScriptedClient([completed("f", export_id="e-2")], busy + ["e-2"])
    clock = Clock()
    assert job(client, clock).run().id == "e-2"
    assert clock.sleeps[:2] == [4.0, 2.0]  # Retry-After first, then the doubled poll interval
    assert len(client.payloads) == 3


def test_given_too_many_concurrent_downloads_beyond_retries_when_creating_then_error_names_the_knob():
    client = ScriptedClient(create_outcomes=[TooManyConcurrentExports("busy")] * 3)
    with pytest.raises(TooManyConcurrentExports, match="concurrency_retries"):
        job(client, Clock(), retries=2).run()
    assert len(client.payloads) == 3


def test_given_files_as_objects_when_completed_then_ids_are_taken():
    export = job(ScriptedClient([completed({"id": "a"})]), Clock()).run()
    assert export.files == ("a",)


def test_given_heartbeat_interval_when_waiting_then_status_is_logged_again(caplog):
    statuses = [in_state("Running")] * 20 + [completed("f")]
    with caplog.at_level(logging.INFO):
        job(ScriptedClient(statuses), Clock(), timeout=3000).run()
    assert sum("is Running after" in line for line in caplog.messages) >= 2
