"""PostHogClient: pagination, error classification, and downloads that never follow the redirect."""

import pytest
import requests_mock as rm

from source_exports.errors import AuthError, ConfigError, DownloadError, TransientError
from source_exports.vendors.posthog.client import PostHogClient
from source_exports.vendors.posthog.config import PostHogConfig
from source_exports.vendors.posthog.errors import ExportExpired, TooManyConcurrentExports
from unit_tests.vendors.posthog.builders import ENV, block, created, drf_error, log_entry, page

MISSING_READ_SCOPE = drf_error("API key missing required scope 'batch_export:read'")


def client(**overrides):
    return PostHogClient(PostHogConfig.from_block(block(**overrides)))


def test_given_next_links_on_another_host_when_listing_then_pages_are_read_from_the_configured_host():
    with rm.Mocker() as mock:
        mock.get(
            f"{ENV}/batch_exports/?limit=100&offset=0",
            json=page(
                [{"id": "a"}, {"id": "b"}],
                "http://internal:8000/api/environments/7/batch_exports/?limit=100&offset=2",
                count=3,
            ),
        )
        mock.get(f"{ENV}/batch_exports/?limit=100&offset=2", json=page([{"id": "c"}], count=3))
        assert [item["id"] for item in client().list_batch_exports()] == ["a", "b", "c"]
        assert all(request.netloc == "eu.posthog.com" for request in mock.request_history)
        assert all(request.headers["Authorization"] == "Bearer phx_secret" for request in mock.request_history)


def test_given_cursor_pages_when_listing_runs_then_next_is_followed_until_null():
    with rm.Mocker() as mock:
        next_url = f"{ENV}/batch_exports/b1/runs/?cursor=xyz"
        mock.get(f"{ENV}/batch_exports/b1/runs/?limit=100", json=page([{"id": 1}], next_url))
        mock.get(f"{ENV}/batch_exports/b1/runs/?cursor=xyz", json=page([{"id": 2}]))
        assert [run["id"] for run in client().list_runs("7", "b1")] == [1, 2]


def test_given_missing_read_scope_when_checking_then_auth_error_names_the_scope():
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/batch_exports/", status_code=403, json=MISSING_READ_SCOPE)
        with pytest.raises(AuthError) as error:
            client().check_access()
    assert "API key missing required scope 'batch_export:read'" in str(error.value)
    assert "Give the personal API key the scope(s) batch_export:read" in str(error.value)


def test_given_file_downloads_configured_when_scope_missing_then_hint_names_the_write_scope_too():
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/batch_exports/", status_code=403, json=MISSING_READ_SCOPE)
        with pytest.raises(AuthError, match="batch_export:read and batch_export:write"):
            client(file_download={}).check_access()


def test_given_invalid_key_when_checking_then_auth_error_says_personal_api_key():
    with rm.Mocker() as mock:
        invalid_key = drf_error("Invalid personal API key.", "authentication_failed")
        mock.get(f"{ENV}/batch_exports/", status_code=401, json=invalid_key)
        with pytest.raises(AuthError, match="personal API key"):
            client().check_access()


def test_given_unknown_environment_when_checking_then_config_error_names_the_settings():
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/batch_exports/", status_code=404, json=drf_error("Not found.", "not_found", "invalid_request"))
        with pytest.raises(ConfigError, match="posthog.environment_id"):
            client().check_access()


def test_given_request_id_header_when_error_then_message_carries_it():
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/batch_exports/", status_code=502, text="bad gateway", headers={"X-Request-Id": "req-42"})
        with pytest.raises(TransientError, match="request_id: req-42"):
            client().check_access()


def test_given_302_when_locating_a_part_then_location_is_returned_and_storage_never_requested():
    storage = "https://bucket.s3.amazonaws.com/exports/part-0.jsonl.gz?X-Amz-Signature=abc"
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/file_download_batch_exports/e1/download/f1/", status_code=302, headers={"Location": storage})
        assert client().file_location("e1", "f1") == storage
        assert [request.netloc for request in mock.request_history] == ["eu.posthog.com"]


def test_given_expired_export_when_locating_a_part_then_export_expired():
    with rm.Mocker() as mock:
        mock.get(
            f"{ENV}/file_download_batch_exports/e1/download/f1/",
            status_code=400,
            json=drf_error("This file download batch export has expired.", "invalid_input", "validation_error"),
        )
        with pytest.raises(ExportExpired):
            client().file_location("e1", "f1")


def test_given_200_instead_of_redirect_when_locating_a_part_then_download_error():
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/file_download_batch_exports/e1/download/f1/", status_code=200, text="data")
        with pytest.raises(DownloadError, match="instead of a redirect"):
            client().file_location("e1", "f1")


def test_given_too_many_concurrent_downloads_when_creating_then_retry_after_is_kept():
    with rm.Mocker() as mock:
        mock.post(
            f"{ENV}/file_download_batch_exports/",
            status_code=429,
            headers={"Retry-After": "7"},
            json=drf_error("Too many", "too_many_concurrent_file_downloads", "throttled_error"),
        )
        with pytest.raises(TooManyConcurrentExports) as error:
            client().create_file_download({"model": "events"})
    assert error.value.retry_after == 7.0


def test_given_validation_error_when_creating_then_config_error_names_posthogs_attr():
    with rm.Mocker() as mock:
        mock.post(
            f"{ENV}/file_download_batch_exports/",
            status_code=400,
            json=drf_error(
                "The interval must be at most 7 days.", "invalid_input", "validation_error", "data_interval_end"
            ),
        )
        with pytest.raises(ConfigError, match="attr data_interval_end"):
            client().create_file_download({"model": "events"})


def test_given_202_when_creating_then_the_id_is_returned():
    with rm.Mocker() as mock:
        mock.post(f"{ENV}/file_download_batch_exports/", status_code=202, json=created("e-9"))
        assert client().create_file_download({"model": "events"}) == "e-9"
        assert mock.request_history[0].json() == {"model": "events"}


def test_given_logs_page_when_listed_then_bounds_and_limit_are_sent():
    entry = log_entry("2025-01-01T12:00:00.000000Z", "m")
    with rm.Mocker() as mock:
        mock.get(f"{ENV}/batch_exports/b1/logs/", json=page([entry]))
        assert client().list_logs("7", "b1", 500, after="2025-01-01T00:00:00Z", before="2025-01-02T00:00:00Z") == [
            entry
        ]
        assert mock.request_history[0].qs == {
            "limit": ["500"],
            "after": ["2025-01-01t00:00:00z"],
            "before": ["2025-01-02t00:00:00z"],
        }
