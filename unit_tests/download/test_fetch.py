"""The fetcher: no credentials to storage, re-mint on expiry, resume without loss or duplicates."""

import io

import pytest
import requests
import requests_mock as rm
import urllib3

from source_exports.download.fetch import Fetcher
from source_exports.errors import DownloadError

DATA = bytes(range(256)) * 400  # 100 KiB
URL = "https://storage.example/bucket/file.csv?X-Amz-Signature=secret-sig"


class CutBody(io.RawIOBase):
    """A body that delivers `cut` bytes and then drops the connection."""

    def __init__(self, data: bytes, cut: int) -> None:
        self._data, self._cut, self._pos = data, cut, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos >= self._cut:
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
        size = min(len(buffer), self._cut - self._pos)
        buffer[:size] = self._data[self._pos : self._pos + size]
        self._pos += size
        return size


def read_all(fetcher: Fetcher, mint) -> bytes:
    body = fetcher.open(mint, "file.csv")
    try:
        return body.read()
    finally:
        body.close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr("source_exports.download.fetch.time.sleep", lambda seconds: None)


def test_given_cut_connection_and_range_support_when_reading_then_resumes_with_range_and_bytes_are_exact():
    responses = iter([CutBody(DATA, 30_000)])

    def body(request, context):
        start = int(request.headers.get("Range", "bytes=0-")[6:-1])
        if start:
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
            return io.BytesIO(DATA[start:])
        context.headers["Content-Length"] = str(len(DATA))
        return next(responses)

    with rm.Mocker() as mocker:
        mocker.get(URL, body=body)
        assert read_all(Fetcher(), lambda: URL) == DATA
        assert [r.headers.get("Range") for r in mocker.request_history] == [None, "bytes=30000-"]


@pytest.mark.parametrize(
    "first_body",
    [lambda: CutBody(DATA, 12_345), lambda: io.BytesIO(DATA[:5000])],
    ids=["server-ignores-range-after-cut", "body-shorter-than-content-length"],
)
def test_given_incomplete_first_body_when_reading_then_already_read_bytes_are_skipped_not_repeated(first_body):
    bodies = iter([first_body(), io.BytesIO(DATA)])

    def body(request, context):
        context.headers["Content-Length"] = str(len(DATA))
        return next(bodies)

    with rm.Mocker() as mocker:
        mocker.get(URL, body=body)
        assert read_all(Fetcher(), lambda: URL) == DATA


def test_given_expired_url_when_opening_then_a_fresh_url_is_minted():
    minted = []

    def mint():
        minted.append(f"https://storage.example/f.csv?sig={len(minted)}")
        return minted[-1]

    with rm.Mocker() as mocker:
        mocker.get("https://storage.example/f.csv?sig=0", status_code=403, text="<Error>Request has expired</Error>")
        mocker.get("https://storage.example/f.csv?sig=1", content=DATA)
        assert read_all(Fetcher(), mint) == DATA
    assert len(minted) == 2


def test_given_url_that_stays_forbidden_when_opening_then_download_error_without_signature():
    with rm.Mocker() as mocker:
        mocker.get(URL, status_code=403)
        with pytest.raises(DownloadError) as error:
            read_all(Fetcher(), lambda: URL)
    assert "HTTP 403" in str(error.value)
    assert "secret-sig" not in str(error.value) and "storage.example/bucket/file.csv" in str(error.value)


def test_given_redirect_when_fetching_then_no_authorization_header_is_sent_anywhere():
    session = requests.Session()
    session.headers["Authorization"] = "Bearer vendor-token"  # a careless caller's session
    with rm.Mocker() as mocker:
        mocker.get(URL, status_code=302, headers={"Location": "https://other.example/real.csv?sig=1"})
        mocker.get("https://other.example/real.csv?sig=1", content=DATA)
        assert read_all(Fetcher(session=session), lambda: URL) == DATA
        assert all("Authorization" not in request.headers for request in mocker.request_history)


def test_given_connection_that_keeps_dropping_when_reading_then_fails_after_bounded_resumes():
    def body(request, context):
        context.headers["Content-Length"] = str(len(DATA))
        return CutBody(DATA, 0)

    with rm.Mocker() as mocker:
        mocker.get(URL, body=body)
        with pytest.raises(DownloadError) as error:
            read_all(Fetcher(), lambda: URL)
    assert "resumes" in str(error.value) and mocker.call_count == Fetcher.max_resumes + 1


def test_given_file_replaced_between_attempts_when_resuming_then_download_error_instead_of_splicing():
    other = DATA[::-1]
    bodies = iter([(CutBody(DATA, 1000), '"v1"'), (io.BytesIO(other), '"v2"')])

    def body(request, context):
        payload, etag = next(bodies)
        context.headers["Content-Length"] = str(len(DATA))
        context.headers["ETag"] = etag
        return payload

    with rm.Mocker() as mocker:
        mocker.get(URL, body=body)
        with pytest.raises(DownloadError) as error:
            read_all(Fetcher(), lambda: URL)
    assert "changed" in str(error.value)
