"""PostHog windows pipelined: exports of later windows run while one is read; rows and state stay in order."""

import threading

import pytest
from airbyte_cdk.models import SyncMode

from source_exports.errors import VendorJobFailed
from source_exports.vendors.posthog.jobs import CompletedExport
from source_exports.vendors.posthog.streams import PostHogFileDownloadStream
from source_exports.vendors.posthog.windows import parse_timestamp
from unit_tests.vendors.posthog.test_posthog_streams import NOW, StubClient, StubReader, config


class OverlapJob:
    """Exports named after their window; the first export completes only once the second was created."""

    lock = threading.Lock()
    running = 0
    max_running = 0
    second_created = threading.Event()
    fail_window = None
    wait_forever = False

    def __init__(self, client, model, window, file_config, settings, logger, sleep=None):
        self.window, self.sleep = window, sleep

    @classmethod
    def reset(cls):
        cls.running = cls.max_running = 0
        cls.second_created = threading.Event()
        cls.fail_window, cls.wait_forever = None, False

    def run(self):
        with OverlapJob.lock:
            OverlapJob.running += 1
            OverlapJob.max_running = max(OverlapJob.max_running, OverlapJob.running)
        try:
            index = self.window.start.day
            if self.window.start != FIRST:
                OverlapJob.second_created.set()
            else:
                assert OverlapJob.second_created.wait(10), "the next window's export was not created meanwhile"
            while OverlapJob.wait_forever and self.window.start != FIRST:
                self.sleep(0.01)  # ends with `Closed` once the read stops
            if OverlapJob.fail_window == index:
                raise VendorJobFailed("export failed", job_id=f"e-{index}")
            return CompletedExport(f"e-{index}", ("f1", "f2"), 4)
        finally:
            with OverlapJob.lock:
                OverlapJob.running -= 1


FIRST = None


@pytest.fixture(autouse=True)
def reset():
    OverlapJob.reset()


def stream(concurrency=3):
    global FIRST
    made = PostHogFileDownloadStream(
        StubClient(),
        config(window_days=1, initial_lookback_days=5, export_concurrency=concurrency),
        "events",
        None,
        clock=lambda: NOW,
        reader=StubReader(),
        job_factory=OverlapJob,
    )
    slices = made.stream_slices(sync_mode=SyncMode.incremental)
    FIRST = parse_timestamp(slices[0]["start"])
    return made, slices


def read_all(made, slices):
    out = []
    for stream_slice in slices:
        for row in made.read_records(SyncMode.incremental, stream_slice=stream_slice):
            out.append(("row", row["_ab_export_id"], row["uuid"]))
        out.append(("state", parse_timestamp(made.state["_inserted_at"])))
    return out


def test_given_five_windows_when_read_with_concurrency_3_then_exports_overlap_and_rows_and_state_keep_order():
    made, slices = stream(concurrency=3)
    out = read_all(made, slices)
    expected = []
    for stream_slice in slices:
        day = int(stream_slice["start"][8:10])
        expected += [("row", f"e-{day}", f"{file}.jsonl.gz-{row}") for file in ("f1", "f2") for row in (1, 2)]
        expected.append(("state", parse_timestamp(stream_slice["end"])))
    assert out == expected
    assert 1 < OverlapJob.max_running <= 3
    assert made._pipeline is None  # closed after the last window


def test_given_a_later_window_fails_when_read_then_earlier_windows_and_their_state_come_first():
    made, slices = stream(concurrency=3)
    OverlapJob.fail_window = int(slices[2]["start"][8:10])
    with pytest.raises(VendorJobFailed):
        read_all(made, slices)
    # the state of the two windows read, no further
    assert parse_timestamp(made.state["_inserted_at"]) == parse_timestamp(slices[1]["end"])


def test_given_the_read_stops_when_exports_wait_ahead_then_their_jobs_stop_and_the_threads_end():
    made, slices = stream(concurrency=3)
    OverlapJob.wait_forever = True
    rows = made.read_records(SyncMode.incremental, stream_slice=slices[0])
    next(iter(rows))
    rows.close()  # the platform stops the read
    assert made._pipeline is None
    assert OverlapJob.running == 0
