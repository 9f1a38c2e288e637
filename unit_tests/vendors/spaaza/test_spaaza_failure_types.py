"""Spaaza's answers and tasks get the failure types of the vendor contract (source_exports/vendors/README.md)."""

from unittest import mock

import pytest
import requests
from airbyte_cdk.models import FailureType

from source_exports.errors import UnreadableAnswer, VendorJobFailed, to_traced_exception
from source_exports.vendors.spaaza.client import SpaazaClient
from source_exports.vendors.spaaza.config import SpaazaConfig
from source_exports.vendors.spaaza.jobs import SpaazaExportJob
from unit_tests.vendors.failure_contract import expected_failure_types
from unit_tests.vendors.spaaza.builders import BASE_URL, TaskBuilder, block, error_body

URL = f"{BASE_URL}/tasks/77/download_url"


def client() -> SpaazaClient:
    return SpaazaClient(SpaazaConfig.from_block(block()), session=requests.Session())


@pytest.mark.parametrize(
    "status, failure_type", expected_failure_types(400, 401, 404, 422, 408, 409, 425, 429, 500, 503)
)
def test_given_error_status_with_an_unknown_text_when_minting_then_failure_type_per_contract(
    requests_mock, status, failure_type
):
    requests_mock.get(URL, status_code=status, json=error_body("something new went wrong"))

    with pytest.raises(Exception) as caught:
        client().download_url(77)

    assert to_traced_exception(caught.value).failure_type == failure_type
    assert f"HTTP {status}" in str(caught.value) and "something new went wrong" in str(caught.value)


@pytest.mark.parametrize(
    "answer, calls",
    [
        ({"text": "<html>console login</html>"}, lambda c: c.download_url(77)),
        ({"json": {"link": "https://x"}}, lambda c: c.download_url(77)),
        ({"json": {"not": "a list"}}, lambda c: c.list_tasks(limit=1)),
    ],
)
def test_given_answer_that_is_not_the_documented_json_when_calling_then_unreadable_answer_is_transient(
    requests_mock, answer, calls
):
    requests_mock.get(URL, status_code=200, **answer)
    requests_mock.get(f"{BASE_URL}/tasks", status_code=200, **answer)

    with pytest.raises(UnreadableAnswer) as caught:
        calls(client())

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error


def test_given_task_that_ended_in_error_when_waiting_then_vendor_job_failed_is_transient():
    job = SpaazaExportJob(mock.Mock(), SpaazaConfig.from_block(block()), "spaaza_users")
    logs = [{"level": "error", "message": "disk full"}]
    failed = TaskBuilder().with_id(5).with_state("ERROR").with_logs(logs).build()

    with pytest.raises(VendorJobFailed) as caught:
        job.wait(5, initial=failed)

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error


def test_given_done_task_with_an_invalid_result_when_minting_then_vendor_job_failed_is_transient(requests_mock):
    body = error_body("the task completed successfully, but contains an invalid result")
    requests_mock.get(URL, status_code=400, json=body)

    with pytest.raises(VendorJobFailed) as caught:
        client().download_url(77)

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error
