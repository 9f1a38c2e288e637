"""Retention: which failed downloads count as SourceCraft's 14-day retention, judged only after a refusal."""

from __future__ import annotations

import pendulum
import pytest
import requests

from source_exports.errors import DownloadError, RecordParseError
from source_exports.vendors.sourcecraft.artifacts import Artifact, Cube
from source_exports.vendors.sourcecraft.errors import SourceCraftNoDownloadUrl
from source_exports.vendors.sourcecraft.retention import (
    StatusTrackingFetcher,
    is_past_retention,
    refusal_of,
    retention_start,
)
from unit_tests.vendors.sourcecraft.builders import RunBuilder, artifact

NOW = pendulum.datetime(2025, 3, 30)
CUBE = Cube("7", "test", "unit", "pytest")
URL = "https://storage.test/bucket/a.csv?X-Amz-Signature=s"


def artifact_with(updated_at: str, registered_at: str = "2025-01-01T00:00:00Z") -> Artifact:
    item = artifact("a", "r.csv", updated_at=updated_at)
    item["dates"]["registered_at"] = registered_at
    return Artifact(CUBE, item)


def run_finished(at: str):
    run = RunBuilder("7").build()
    run["dates"]["finished_at"] = at
    return run


@pytest.mark.parametrize(
    "updated_at, run_finished_at, expected",
    [
        ("2025-03-15T23:59:00Z", "2025-03-01T00:00:00Z", True),  # every date more than 14 days ago
        ("2025-03-16T00:01:00Z", "2025-03-01T00:00:00Z", False),  # updated within 14 days
        ("2025-03-01T00:00:00Z", "2025-03-20T00:00:00Z", False),  # its run finished within 14 days
    ],
)
def test_given_artifact_dates_when_judging_retention_then_counted_from_the_latest_date(
    updated_at, run_finished_at, expected
):
    assert is_past_retention(artifact_with(updated_at), run_finished(run_finished_at), NOW) is expected


def test_given_no_readable_dates_when_judging_retention_then_never_past_it():
    item = {"id": "a", "local_path": "r.csv", "status": "success", "dates": {"updated_at": "not a date"}}
    assert retention_start(Artifact(CUBE, item), {"slug": "7"}) is None
    assert not is_past_retention(Artifact(CUBE, item), {"slug": "7"}, NOW)


def download(fetcher: StatusTrackingFetcher) -> DownloadError:
    with pytest.raises(DownloadError) as raised:
        body = fetcher.open(lambda: URL, "7/test/unit/pytest/r.csv")
        body.read()
    return raised.value


@pytest.mark.parametrize("status", [403, 404, 410])
def test_given_storage_refuses_when_downloading_then_the_refusal_names_the_status(requests_mock, status):
    requests_mock.get(URL, status_code=status, text="<Error/>")
    fetcher = StatusTrackingFetcher(session=requests.Session())
    error = download(fetcher)
    assert refusal_of(error, fetcher) == f"storage answered HTTP {status}"


def test_given_connection_fails_after_a_refusal_when_downloading_then_no_refusal(requests_mock):
    requests_mock.get(URL, [{"status_code": 403}, {"exc": requests.exceptions.ConnectionError}])
    fetcher = StatusTrackingFetcher(session=requests.Session())
    error = download(fetcher)
    assert "Could not reach the storage host" in error.message
    assert refusal_of(error, fetcher) is None


def test_given_server_error_or_parse_error_when_judged_then_no_refusal(requests_mock):
    requests_mock.get(URL, status_code=500, text="boom")
    fetcher = StatusTrackingFetcher(session=requests.Session())
    assert refusal_of(download(fetcher), fetcher) is None
    fetcher.last_status = 404
    assert refusal_of(RecordParseError("bad row", file="r.csv", row=3), fetcher) is None


def test_given_no_download_url_when_judged_then_it_is_a_refusal_by_sourcecraft():
    error = SourceCraftNoDownloadUrl("SourceCraft gave no download URL for the artifact", file="r.csv")
    assert refusal_of(error, StatusTrackingFetcher()) == "SourceCraft gave no download URL for it"
