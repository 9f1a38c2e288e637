"""Cargo's answers get the failure types of the vendor contract (source_exports/vendors/README.md)."""

import pytest
from airbyte_cdk.models import FailureType

from source_exports.errors import UnreadableAnswer, to_traced_exception
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from unit_tests.vendors.cargo.builders import RUNS_LIST, ConfigBuilder, cargo_error
from unit_tests.vendors.failure_contract import expected_failure_types


def client() -> CargoClient:
    return CargoClient(parse_cargo_config(ConfigBuilder().build()))


@pytest.mark.parametrize("status, failure_type", expected_failure_types(400, 405, 410, 408, 409, 425, 429, 501, 503))
def test_given_error_status_without_a_cargo_reason_when_calling_then_failure_type_per_contract(
    requests_mock, status, failure_type
):
    requests_mock.post(RUNS_LIST, status_code=status, **cargo_error("somethingNew", "no"))

    with pytest.raises(Exception) as caught:
        client().list_runs({})

    assert to_traced_exception(caught.value).failure_type == failure_type
    assert f"HTTP {status} somethingNew: no" in str(caught.value)


def test_given_body_that_is_not_json_when_calling_then_unreadable_answer_is_transient(requests_mock):
    requests_mock.post(RUNS_LIST, status_code=200, text="<html>captive portal</html>")

    with pytest.raises(UnreadableAnswer, match="not JSON") as caught:
        client().list_runs({})

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error
