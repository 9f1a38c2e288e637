"""The Cargo client: auth headers, paging, and how Cargo's `{errorMessage, reason}` errors are mapped."""

import pytest
import requests

from source_exports.errors import AuthError, ConfigError, ExportsError, TransientError
from source_exports.vendors.cargo.client import CargoClient
from source_exports.vendors.cargo.config import parse_cargo_config
from source_exports.vendors.cargo.errors import NoRunsFound, TooManyRuns
from unit_tests.vendors.cargo.builders import (
    DOWNLOAD,
    OTHER_UUID,
    PLAYS,
    RUNS_LIST,
    ConfigBuilder,
    cargo_error,
    given_runs,
    run,
)

ENTRY = {"field": "cargo.run_outputs[0]", "stream": "leads"}


def client(**block) -> CargoClient:
    return CargoClient(parse_cargo_config(ConfigBuilder().with_(**block).build()))


def test_given_workspace_when_calling_then_bearer_token_and_workspace_header_are_sent(requests_mock):
    requests_mock.get(PLAYS, json={"plays": [{"uuid": "p1"}]})

    plays = client(workspace_uuid=OTHER_UUID).list_plays()

    sent = requests_mock.last_request.headers
    assert plays == [{"uuid": "p1"}]
    assert (sent["Authorization"], sent["selected-workspace-uuid"]) == ("Bearer secret-token", OTHER_UUID)


def test_given_no_workspace_when_calling_then_no_workspace_header(requests_mock):
    requests_mock.get(PLAYS, json={"plays": []})

    client().list_plays()

    assert "selected-workspace-uuid" not in requests_mock.last_request.headers


def test_given_250_runs_when_iterating_then_pages_of_100_until_the_short_page(requests_mock):
    runs = [run(uuid=f"run-{index:03d}", created_at=f"2025-01-01T00:00:{index % 60:02d}.000Z") for index in range(250)]
    given_runs(requests_mock, runs)

    seen = list(client().iter_runs({"workflowUuid": "w"}, page_size=100))

    assert [item["uuid"] for item in seen] == [item["uuid"] for item in runs]
    bodies = [request.json() for request in requests_mock.request_history]
    assert [(body["limit"], body["offset"], body["workflowUuid"]) for body in bodies] == [
        (100, 0, "w"),
        (100, 100, "w"),
        (100, 200, "w"),
    ]


def test_given_count_reached_on_a_full_page_when_iterating_then_no_extra_request(requests_mock):
    given_runs(requests_mock, [run(uuid=f"r{index}") for index in range(100)])

    assert len(list(client().iter_runs({}, page_size=100))) == 100
    assert requests_mock.call_count == 1


def test_given_date_header_when_calling_then_server_time_is_cargos_clock(requests_mock):
    given_runs(requests_mock, [], date="Wed, 01 Jan 2025 12:34:56 GMT")

    cargo = client()
    cargo.count_runs({})

    assert cargo.server_time.isoformat() == "2025-01-01T12:34:56+00:00"


def test_given_401_when_calling_then_auth_error_says_token_rejected_with_reason_and_hint(requests_mock):
    requests_mock.post(RUNS_LIST, status_code=401, **cargo_error("unauthorized", "Invalid API token"))

    with pytest.raises(AuthError) as caught:
        client().list_runs({}, limit=1)

    message = caught.value.user_message
    assert message.startswith("API token rejected (HTTP 401 unauthorized: Invalid API token)")
    assert "cargo.api_token" in message
    assert "secret-token" not in message


def test_given_invalid_body_when_exporting_then_config_error_names_the_run_output_entry(requests_mock):
    requests_mock.post(DOWNLOAD, status_code=400, **cargo_error("invalidBody", "outputNodeSlug: Required"))

    with pytest.raises(ConfigError) as caught:
        client().request_export({"workflowUuid": "w"}, ENTRY)

    assert caught.value.context["field"] == "cargo.run_outputs[0]"
    assert "invalidBody: outputNodeSlug: Required" in caught.value.user_message


@pytest.mark.parametrize(
    "status, reason, signal",
    [(404, "noRunsFound", NoRunsFound), (400, "tooManyRuns", TooManyRuns)],
)
def test_given_signal_reason_when_exporting_then_typed_signal_is_raised(requests_mock, status, reason, signal):
    requests_mock.post(DOWNLOAD, status_code=status, **cargo_error(reason))

    with pytest.raises(signal) as caught:
        client().request_export({"workflowUuid": "w"}, ENTRY)

    assert reason in caught.value.user_message


def test_given_403_workspace_not_found_when_calling_then_config_error_names_workspace_uuid(requests_mock):
    requests_mock.post(RUNS_LIST, status_code=403, **cargo_error("workspaceNotFound", "Workspace not accessible"))

    with pytest.raises(ConfigError) as caught:
        client(workspace_uuid=OTHER_UUID).list_runs({}, limit=1)

    assert caught.value.context["field"] == "cargo.workspace_uuid"


@pytest.mark.parametrize("status, reason", [(503, "serviceUnavailable"), (429, "rateLimited"), (500, "internalError")])
def test_given_retryable_status_left_after_retries_when_calling_then_transient_error_with_reason(
    requests_mock, status, reason
):
    requests_mock.post(RUNS_LIST, status_code=status, **cargo_error(reason, "try later"))

    with pytest.raises(TransientError) as caught:
        client().list_runs({})

    assert f"HTTP {status} {reason}: try later" in caught.value.user_message


def test_given_unreachable_host_when_calling_then_transient_error_names_url_without_query(requests_mock):
    requests_mock.post(RUNS_LIST, exc=requests.exceptions.ConnectionError("refused"))

    with pytest.raises(TransientError) as caught:
        client().list_runs({})

    assert "url: https://api.cargo.test/v1/orchestration/runs/list" in caught.value.user_message


def test_given_non_json_error_when_calling_then_message_shows_the_start_of_the_body(requests_mock):
    requests_mock.post(RUNS_LIST, status_code=418, text="<html>teapot</html>")

    with pytest.raises(ExportsError) as caught:
        client().list_runs({})

    assert "HTTP 418: <html>teapot</html>" in caught.value.user_message


def test_given_answer_without_url_when_exporting_then_transient_error(requests_mock):
    requests_mock.post(DOWNLOAD, json={})

    with pytest.raises(TransientError, match="without a download URL"):
        client().request_export({}, ENTRY)
