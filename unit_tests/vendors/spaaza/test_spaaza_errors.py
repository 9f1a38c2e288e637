"""Error bodies of unknown shape still yield Spaaza's own words."""

import pytest
import requests

from source_exports.errors import ConfigError
from source_exports.vendors.spaaza.errors import classify_error, vendor_message


def response(status: int, text: str, headers=None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = text.encode()
    answer.headers.update(headers or {})
    return answer


@pytest.mark.parametrize(
    "body, expected",
    [
        ('{"error": {"code": 400, "message": "task status is not DONE"}}', "task status is not DONE"),
        ('{"message": "plain message"}', "plain message"),
        ('{"errors": [{"code": 1, "description": "first"}, {"description": "second"}]}', "first; second"),
        ('{"error": "flat error"}', "flat error"),
        ('{"unexpected": true}', '{"unexpected": true}'),
        ("not json at all", "not json at all"),
    ],
)
def test_given_error_body_shape_when_extracting_then_vendor_text(body, expected):
    assert vendor_message(response(400, body)) == expected


def test_given_unclassified_refusal_when_classifying_then_config_error_with_status_call_and_text():
    error = classify_error(response(422, '{"message": "bad segment"}'), "POST /tasks", stream="spaaza_users")
    assert type(error) is ConfigError
    assert error.user_message.startswith("Spaaza answered HTTP 422 to POST /tasks: bad segment")
    assert error.context["stream"] == "spaaza_users"


def test_given_long_body_when_extracting_then_truncated():
    assert len(vendor_message(response(500, "x" * 5000))) == 300
