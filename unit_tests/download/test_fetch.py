"""The fetcher: no credentials to storage, re-mint on expiry, resume without loss or duplicates."""

import io

import pytest
import requests
import requests_mock as rm
import urllib3

from source_exports.download.fetch import Fetcher
from source_exports.errors import DownloadError, StorageHostDown

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

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)


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


class StalledBody(CutBody):
    """Delivers `cut` bytes, then times out like a socket that waited the read timeout."""

    def readinto(self, buffer) -> int:
        if self._pos >= self._cut:
            raise urllib3.exceptions.ReadTimeoutError(None, "storage.example", "Read timed out.")
        return super().readinto(buffer)


def test_given_a_host_that_stalls_after_some_bytes_when_reading_then_they_count_and_the_error_names_the_stall():
    with rm.Mocker() as mocker:
        mocker.get(
            URL.split("?")[0],
            [{"body": StalledBody(DATA, 10), "headers": {"Content-Length": str(len(DATA))}}]
            + [
                {
                    "body": StalledBody(DATA, 0),
                    "status_code": 206,
                    "headers": {"Content-Range": f"bytes 10-{len(DATA) - 1}/{len(DATA)}"},
                }
                for _ in range(6)
            ],
        )
        body = Fetcher(timeout=(1, 0.5)).open(lambda: URL, "file.csv")
        assert body.read(100) == DATA[:10]  # the bytes before the stall are delivered, not dropped
        with pytest.raises(DownloadError) as raised:
            body.read(100)
    message = raised.value.user_message
    stalled = "Storage host storage.example stalled: no data for 0.5 s (read timeout), 6 times in a row"
    assert f"{stalled} at byte 10" in message
    assert "secret-sig" not in message
    assert mocker.request_history[1].headers["Range"] == "bytes=10-"


def test_given_a_host_failing_three_files_in_a_row_when_opening_a_fourth_then_refused_without_a_request():
    with rm.Mocker() as mocker:
        mocker.get(URL.split("?")[0], status_code=500, text="down")
        fetcher = Fetcher(session=requests.Session())
        for _ in range(3):
            with pytest.raises(DownloadError, match="Storage answered HTTP 500"):
                read_all(fetcher, lambda: URL)
        with pytest.raises(StorageHostDown, match="Storage host storage.example failed 3 files in a row"):
            read_all(fetcher, lambda: URL)
        assert mocker.call_count == 3


def test_given_bytes_from_the_host_between_failures_when_counting_then_the_count_starts_again():
    with rm.Mocker() as mocker:
        mocker.get(
            URL.split("?")[0],
            [{"status_code": 500, "text": "down"}] * 2
            + [{"content": DATA}]
            + [{"status_code": 500, "text": "down"}] * 2
            + [{"content": DATA}],
        )
        fetcher = Fetcher(session=requests.Session())
        for _ in range(2):
            for _ in range(2):
                with pytest.raises(DownloadError):
                    read_all(fetcher, lambda: URL)
            assert read_all(fetcher, lambda: URL) == DATA


@pytest.mark.parametrize("status", [404, 410])
def test_given_a_host_refusing_files_when_opening_more_then_each_is_tried(status):
    """A refusal (4xx) comes from a host that is up: it never trips the host breaker."""
    with rm.Mocker() as mocker:
        mocker.get(URL.split("?")[0], status_code=status, text="gone")
        fetcher = Fetcher(session=requests.Session())
        for _ in range(5):
            with pytest.raises(DownloadError, match=f"Storage answered HTTP {status}"):
                read_all(fetcher, lambda: URL)
        assert mocker.call_count == 5
