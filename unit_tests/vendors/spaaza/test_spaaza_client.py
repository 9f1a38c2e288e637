"""SpaazaClient: auth header, paging over a bare array, and errors classified by message text."""

import pytest
import requests

from source_exports.errors import AuthError, ConfigError, ExportsError, TransientError, VendorJobFailed
from source_exports.vendors.spaaza.client import SpaazaClient
from source_exports.vendors.spaaza.config import SpaazaConfig
from source_exports.vendors.spaaza.errors import TaskNotDone
from unit_tests.vendors.spaaza.builders import BASE_URL, TaskBuilder, block, error_body


@pytest.fixture
def client() -> SpaazaClient:
    return SpaazaClient(SpaazaConfig.from_block(block()), session=requests.Session())


def tasks(*ids):
    return [TaskBuilder().with_id(task_id).build() for task_id in ids]


def test_given_token_when_listing_then_bearer_id_colon_secret_and_filters_sent(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks", json=tasks(1))
    assert [task["id"] for task in client.iter_tasks(status="DONE", action="export")] == [1]
    first = requests_mock.request_history[0]
    assert first.headers["Authorization"] == "Bearer token-id:token-secret"
    assert first.qs == {"status": ["done"], "action": ["export"], "limit": ["100"], "offset": ["0"]}


def test_given_full_pages_then_short_page_when_iterating_then_stops_after_short_page(client, requests_mock):
    client.page_size = 2
    requests_mock.get(f"{BASE_URL}/tasks", [{"json": tasks(1, 2)}, {"json": tasks(3, 4)}, {"json": tasks(5)}])
    assert [task["id"] for task in client.iter_tasks()] == [1, 2, 3, 4, 5]
    assert [r.qs["offset"] for r in requests_mock.request_history] == [["0"], ["2"], ["4"]]


def test_given_server_caps_limit_when_iterating_then_keeps_paging_until_empty(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks", [{"json": tasks(1, 2)}, {"json": tasks(3, 4)}, {"json": []}])
    assert [task["id"] for task in client.iter_tasks()] == [1, 2, 3, 4]  # asked 100, got 2: not the end
    assert [r.qs["offset"] for r in requests_mock.request_history] == [["0"], ["2"], ["4"]]


def test_given_server_ignores_offset_when_iterating_then_stops_instead_of_looping(client, requests_mock):
    client.page_size = 2
    requests_mock.get(f"{BASE_URL}/tasks", json=tasks(1, 2))
    assert [task["id"] for task in client.iter_tasks()] == [1, 2]
    assert len(requests_mock.request_history) == 2


def test_given_object_instead_of_array_when_listing_then_error_points_at_the_hostname(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks", json={"tasks": []})
    with pytest.raises(ExportsError, match="not a JSON array") as error:
        client.list_tasks(limit=1)
    assert "services_api_url" in error.value.user_message


@pytest.mark.parametrize(
    "status, body, error_type, expected",
    [
        (400, error_body("task status is not DONE"), TaskNotDone, "wait for it to reach DONE"),
        (500, error_body("Task status is not DONE"), TaskNotDone, "not DONE"),
        (400, error_body("invalid task type: only export tasks actions are allowed"), ConfigError, "not an export"),
        (
            400,
            error_body("the task completed successfully, but contains an invalid result"),
            VendorJobFailed,
            "without a usable result file",
        ),
        (404, error_body("No task exists with the specified ID for this chain."), ConfigError, "was not found"),
        (401, error_body("No valid authentication provided"), AuthError, "token rejected"),
        (403, "Forbidden", AuthError, "token rejected"),
        (502, "<html>bad gateway</html>", TransientError, "HTTP 502"),
    ],
)
def test_given_error_answer_when_minting_then_classified_by_text_and_names_task(
    client, requests_mock, status, body, error_type, expected
):
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    url = f"{BASE_URL}/tasks/77/download_url"
    requests_mock.get(url, status_code=status, headers={"X-Request-Id": "r-1"}, **kwargs)
    with pytest.raises(error_type) as error:
        client.download_url(77, stream="spaaza_users")
    assert expected in error.value.user_message
    assert error.value.context["job_id"] == 77 and error.value.context["request_id"] == "r-1"
    assert "token-secret" not in error.value.user_message


def test_given_not_found_when_minting_then_config_error_says_task_not_found(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks/77/download_url", status_code=404, json=error_body("not found"))
    with pytest.raises(ConfigError, match="Task 77 was not found"):
        client.download_url(77)


def test_given_answer_without_url_when_minting_then_error_names_task(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks/77/download_url", json={"link": "x"})
    with pytest.raises(ExportsError, match="task 77 has no usable 'url'"):
        client.download_url(77)


def test_given_unreachable_host_when_listing_then_transient_error(client, requests_mock):
    requests_mock.get(f"{BASE_URL}/tasks", exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransientError, match="Could not reach Spaaza"):
        client.list_tasks(limit=1)


def test_given_create_and_execute_when_called_then_json_body_and_post(client, requests_mock):
    created = requests_mock.post(f"{BASE_URL}/tasks", json=TaskBuilder().with_id(9).build(), status_code=201)
    executed = requests_mock.post(f"{BASE_URL}/tasks/9/execute", text="")
    assert client.create_task({"chain": 1764})["id"] == 9
    client.execute_task(9)
    assert created.last_request.json() == {"chain": 1764} and executed.called


def created(task_id, body):
    return {**TaskBuilder().with_id(task_id).build(), **{key: body[key] for key in ("desc", "target", "trigger")}}


BODY = {
    "chain": 1764,
    "desc": "Airbyte source-exports: users full export",
    "target": {"action": "export", "export_index": "users", "export_format": "csv"},
    "trigger": {"once": "2025-01-01T00:00:00Z"},
}


def test_given_post_tasks_answered_503_after_creating_when_creating_then_the_created_task_is_used(
    client, requests_mock
):
    requests_mock.post(f"{BASE_URL}/tasks", status_code=503, json=error_body("unavailable"))
    requests_mock.get(
        f"{BASE_URL}/tasks", [{"json": [created(6, {**BODY, "desc": "other"}), created(7, BODY)]}, {"json": []}]
    )
    assert client.create_task(BODY)["id"] == 7
    assert [r.method for r in requests_mock.request_history].count("POST") == 1


def test_given_post_tasks_answered_503_without_creating_when_creating_then_it_is_sent_once_more(client, requests_mock):
    requests_mock.post(
        f"{BASE_URL}/tasks",
        [{"status_code": 503, "json": error_body("unavailable")}, {"status_code": 201, "json": created(8, BODY)}],
    )
    requests_mock.get(f"{BASE_URL}/tasks", json=[])
    assert client.create_task(BODY)["id"] == 8
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "POST"]


def test_given_post_tasks_failing_twice_ambiguously_when_creating_then_transient_error_and_no_third_post(
    client, requests_mock
):
    requests_mock.post(f"{BASE_URL}/tasks", status_code=503, json=error_body("unavailable"))
    requests_mock.get(f"{BASE_URL}/tasks", json=[])
    with pytest.raises(TransientError, match="HTTP 503 to POST /tasks"):
        client.create_task(BODY)
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET", "POST"]


def test_given_execute_dropped_after_the_task_started_when_executing_then_not_sent_again(client, requests_mock):
    requests_mock.post(f"{BASE_URL}/tasks/7/execute", exc=requests.exceptions.ConnectionError("reset by peer"))
    requests_mock.get(f"{BASE_URL}/tasks/7", json=TaskBuilder().with_id(7).with_state("INPROGRESS").build())
    client.execute_task(7)
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]
