"""The shared vendor client: one send, JSON decoding, the classify hook and the retry policy it mounts."""

import pytest
import requests

from source_exports.errors import ConfigError, ExportsError, TransientError
from source_exports.http import SAFE_METHODS
from source_exports.vendor_client import VendorClient

URL = "https://api.vendor.test/things?token=secret"


class RecordingClient(VendorClient):
    """A vendor whose classify hook records what it was given and answers a ConfigError."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.classified = []

    def classify(self, response, call):
        self.classified.append((response.status_code, dict(call)))
        return ConfigError(f"refused: {response.text}")


def retry_of(session: requests.Session):
    return session.get_adapter("https://api.vendor.test").max_retries


def test_given_json_answer_when_requesting_then_decoded_body_and_headers_sent(requests_mock):
    requests_mock.get(URL, json={"things": [1, 2]})

    body = RecordingClient(requests.Session(), {"Authorization": "Bearer t"}).request("GET", URL, {"action": "list"})

    assert body == {"things": [1, 2]}
    assert requests_mock.last_request.headers["Authorization"] == "Bearer t"


def test_given_error_answer_when_requesting_then_classify_hook_hears_response_and_call_and_its_error_is_raised(
    requests_mock,
):
    requests_mock.get(URL, status_code=404, text="no such thing")
    client = RecordingClient(requests.Session())

    with pytest.raises(ConfigError, match="refused: no such thing"):
        client.request("GET", URL, {"action": "list", "stream": "s"})

    assert client.classified == [(404, {"action": "list", "stream": "s"})]


def test_given_success_that_is_not_json_when_requesting_then_transient_error_naming_status_and_url_without_query(
    requests_mock,
):
    requests_mock.get(URL, text="<html>login</html>")

    with pytest.raises(TransientError) as caught:
        RecordingClient(requests.Session()).request("GET", URL, {})

    assert caught.value.message == "The API answered HTTP 200 with a body that is not JSON"
    assert "url: https://api.vendor.test/things" in caught.value.user_message
    assert "secret" not in caught.value.user_message
    assert isinstance(caught.value.__cause__, ValueError)


def test_given_unreachable_host_when_sending_then_transient_could_not_reach_error_chained_to_the_cause(requests_mock):
    requests_mock.get(URL, exc=requests.exceptions.ConnectionError("refused"))

    with pytest.raises(TransientError) as caught:
        RecordingClient(requests.Session()).send("GET", URL, {})

    assert caught.value.message == "Could not reach the API (ConnectionError)"
    assert "secret" not in caught.value.user_message
    assert isinstance(caught.value.__cause__, requests.exceptions.ConnectionError)


def test_given_answered_hook_when_sending_then_it_hears_every_answer_including_errors(requests_mock):
    requests_mock.get(URL, status_code=500, headers={"Date": "Mon, 01 Dec 2025 10:00:00 GMT"})
    heard = []

    class Listening(RecordingClient):
        def answered(self, response):
            heard.append(response.headers["Date"])

    with pytest.raises(ExportsError):
        Listening(requests.Session()).request("GET", URL, {})

    assert heard == ["Mon, 01 Dec 2025 10:00:00 GMT"]


def test_given_no_retried_methods_when_built_then_the_shared_policy_retries_get_and_head_only():
    client = RecordingClient()

    assert retry_of(client.session).allowed_methods == SAFE_METHODS
    assert client.create_session is client.session


def test_given_read_only_posts_named_when_built_then_the_policy_retries_them():
    class ReadOnlyPosts(RecordingClient):
        retried_methods = frozenset({"GET", "POST"})

    assert retry_of(ReadOnlyPosts().session).allowed_methods == frozenset({"GET", "POST"})


def test_given_a_client_that_creates_when_built_then_a_second_session_never_retries_an_ambiguous_post():
    class Creating(RecordingClient):
        creates = True

    client = Creating(headers={"Accept": "application/json"})
    create = retry_of(client.create_session)

    assert client.create_session is not client.session
    assert (create.allowed_methods, create.read, create.status_forcelist) == (frozenset({"POST"}), 0, frozenset({429}))
    assert client.create_session.headers["Accept"] == client.session.headers["Accept"] == "application/json"


def test_given_a_session_passed_in_when_built_then_it_serves_reads_and_creates():
    class Creating(RecordingClient):
        creates = True

    session = requests.Session()
    client = Creating(session)

    assert client.session is session and client.create_session is session
