"""PostHog's answers and exports get the failure types of the vendor contract (source_exports/vendors/README.md)."""

import logging
from datetime import datetime

import pytest
from airbyte_cdk.models import FailureType

from source_exports.errors import UnreadableAnswer, VendorJobFailed, to_traced_exception
from source_exports.vendors.posthog.client import PostHogClient
from source_exports.vendors.posthog.config import FileDownloadConfig, PostHogConfig
from source_exports.vendors.posthog.jobs import FileDownloadJob, JobSettings
from source_exports.vendors.posthog.windows import UTC
from source_exports.windows import Window
from unit_tests.vendors.failure_contract import expected_failure_types
from unit_tests.vendors.posthog.builders import ENV, FileDownloadBuilder, block, created, drf_error

LISTING = f"{ENV}/batch_exports/"
EXPORT = f"{ENV}/file_download_batch_exports/e-1/"


def client() -> PostHogClient:
    return PostHogClient(PostHogConfig.from_block(block()))


@pytest.mark.parametrize(
    "status, failure_type", expected_failure_types(400, 401, 403, 404, 422, 408, 409, 425, 429, 500, 503)
)
def test_given_error_status_when_listing_then_failure_type_per_contract(requests_mock, status, failure_type):
    requests_mock.get(LISTING, status_code=status, json=drf_error("no", code="x", kind="x"))

    with pytest.raises(Exception) as caught:
        client().check_access()

    assert to_traced_exception(caught.value).failure_type == failure_type
    assert f"HTTP {status}: no" in str(caught.value)


def test_given_body_that_is_not_json_when_listing_then_unreadable_answer_is_transient(requests_mock):
    requests_mock.get(LISTING, status_code=200, text="<html>maintenance</html>")

    with pytest.raises(UnreadableAnswer) as caught:
        client().check_access()

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error


@pytest.mark.parametrize(
    "status, failure_type",
    [("Failed", FailureType.transient_error), ("FailedBilling", FailureType.config_error)],
)
def test_given_export_that_ended_failed_when_running_then_vendor_job_failed_per_contract(
    requests_mock, status, failure_type
):
    requests_mock.post(f"{ENV}/file_download_batch_exports/", status_code=201, json=created("e-1"))
    requests_mock.get(EXPORT, json=FileDownloadBuilder("e-1").with_status(status).with_error("quota").build())
    window = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
    settings = JobSettings(poll_interval_seconds=1.0, poll_timeout_seconds=60.0, concurrency_retries=0)
    logger, no_sleep = logging.getLogger("test"), lambda _: None
    job = FileDownloadJob(client(), "events", window, FileDownloadConfig(), settings, logger, no_sleep, lambda: 0.0)

    with pytest.raises(VendorJobFailed, match=f"ended {status}: quota") as caught:
        job.run()

    assert to_traced_exception(caught.value).failure_type == failure_type
