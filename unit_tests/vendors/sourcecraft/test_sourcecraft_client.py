"""SourceCraftClient: paging with identical parameters, auth header, and error classification."""

from __future__ import annotations

import pytest
import requests

from source_exports.errors import AuthError, ConfigError, TransientError
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from source_exports.vendors.sourcecraft.errors import SourceCraftNotFound

API = "https://api.sourcecraft.test"
RUNS = f"{API}/repos/my-org/my-repo/cicd/runs"


def client(page_size: int = 100) -> SourceCraftClient:
    return SourceCraftClient(API, "secret-token", "my-org", "my-repo", session=requests.Session(), page_size=page_size)


def error(status: int, message: str = "boom", request_id: str = "req-42") -> dict:
    return {
        "status_code": status,
        "json": {"error_code": "X", "message": message, "request_id": request_id, "details": {}},
    }


def test_given_three_pages_when_iterating_then_same_page_size_each_time_and_stops_without_token(requests_mock):
    requests_mock.get(
        RUNS,
        [
            {"json": {"runs": [{"slug": "3"}], "next_page_token": "t1"}},
            {"json": {"runs": [{"slug": "2"}], "next_page_token": "t2"}},
            {"json": {"runs": [{"slug": "1"}]}},
        ],
    )
    pages = list(client(page_size=50).iter_run_pages())
    assert [[run["slug"] for run in page] for page in pages] == [["3"], ["2"], ["1"]]
    queries = [request.qs for request in requests_mock.request_history]
    assert queries == [
        {"page_size": ["50"]},
        {"page_size": ["50"], "page_token": ["t1"]},
        {"page_size": ["50"], "page_token": ["t2"]},
    ]
    assert {request.headers["Authorization"] for request in requests_mock.request_history} == {"Bearer secret-token"}


def test_given_page_token_repeated_when_iterating_then_transient_error_instead_of_a_loop(requests_mock):
    requests_mock.get(RUNS, json={"runs": [], "next_page_token": "same"})
    with pytest.raises(TransientError, match="page token it had already returned"):
        list(client().iter_run_pages())


def test_given_slugs_with_special_characters_when_requesting_then_each_is_one_quoted_path_segment(requests_mock):
    url = f"{API}/repos/my-org/my-repo/cicd/artifacts/7/w%2Fx/t%3F/c%23"
    requests_mock.get(url, json={"artifacts": []})
    assert client().list_artifacts("7", "w/x", "t?", "c#") == []
    assert requests_mock.last_request.url == url


@pytest.mark.parametrize(
    "status, error_class, hint",
    [
        (401, AuthError, "token is wrong or expired"),
        (403, AuthError, "read access to the repository"),
        (404, SourceCraftNotFound, "Check org_slug and repo_slug"),
        (429, TransientError, "busy or unavailable"),
        (503, TransientError, "busy or unavailable"),
        (400, ConfigError, "Quote the request_id"),
    ],
)
def test_given_error_status_when_requesting_then_classified_with_message_and_request_id(
    requests_mock, status, error_class, hint
):
    requests_mock.get(RUNS, **error(status, message="SourceCraft says no", request_id="req-777"))
    with pytest.raises(error_class) as raised:
        client().list_runs_page(page_size=1)
    text = str(raised.value)
    assert type(raised.value) is error_class
    assert f"HTTP {status} X: SourceCraft says no" in text
    assert "request_id: req-777" in text and "vendor: SourceCraft" in text and hint in text
    assert "secret-token" not in text


def test_given_error_body_that_is_not_json_when_requesting_then_its_text_is_quoted(requests_mock):
    requests_mock.get(RUNS, status_code=502, text="<html>Bad gateway</html>")
    with pytest.raises(TransientError, match="Bad gateway"):
        client().list_runs_page(page_size=1)


def test_given_success_that_is_not_json_when_requesting_then_transient_error(requests_mock):
    requests_mock.get(f"{API}/repos/my-org/my-repo/cicd/runs/5", text="not json")
    with pytest.raises(TransientError, match="not JSON"):
        client().get_run("5")


def test_given_connection_error_when_requesting_then_transient_error_naming_action(requests_mock):
    requests_mock.get(RUNS, exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(TransientError, match="Could not reach SourceCraft to list CI runs"):
        client().list_runs_page(page_size=1)
