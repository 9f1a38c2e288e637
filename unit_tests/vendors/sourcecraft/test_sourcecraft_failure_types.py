"""SourceCraft's answers get the failure types of the vendor contract (source_exports/vendors/README.md)."""

import pytest
import requests
from airbyte_cdk.models import FailureType

from source_exports.errors import UnreadableAnswer, to_traced_exception
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from unit_tests.vendors.failure_contract import expected_failure_types

API = "https://api.sourcecraft.test"
RUNS = f"{API}/repos/my-org/my-repo/cicd/runs"


def client() -> SourceCraftClient:
    return SourceCraftClient(API, "secret-token", "my-org", "my-repo", session=requests.Session())


@pytest.mark.parametrize(
    "status, failure_type", expected_failure_types(400, 401, 404, 422, 408, 409, 425, 429, 500, 503)
)
def test_given_error_status_when_listing_runs_then_failure_type_per_contract(requests_mock, status, failure_type):
    body = {"error_code": "X", "message": "no", "request_id": "req-1", "details": {}}
    requests_mock.get(RUNS, status_code=status, json=body)

    with pytest.raises(Exception) as caught:
        client().list_runs_page(page_size=1)

    assert to_traced_exception(caught.value).failure_type == failure_type
    assert f"HTTP {status} X: no" in str(caught.value) and "request_id: req-1" in str(caught.value)


@pytest.mark.parametrize("answer", [{"text": "<html>proxy</html>"}, {"json": ["not", "an", "object"]}])
def test_given_answer_that_is_not_a_json_object_when_listing_runs_then_unreadable_answer_is_transient(
    requests_mock, answer
):
    requests_mock.get(RUNS, status_code=200, **answer)

    with pytest.raises(UnreadableAnswer) as caught:
        client().list_runs_page(page_size=1)

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error
