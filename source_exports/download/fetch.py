"""Streams short-lived (signed) URLs as one continuous, resumable byte stream.

Storage hosts get no vendor credentials: the fetcher's session carries no auth, redirects are
followed by hand so no header is re-added, and an `Authorization` header is stripped from every
request it sends. When storage says the URL expired (403/400) the fetcher asks the caller to
mint a fresh one. When the connection drops mid-body it re-opens at the byte it reached — with
`Range` where the server honours it, otherwise by re-reading and discarding the bytes already
delivered — so the parser above sees every byte exactly once.

A storage host that stalls is cut off after a read timeout (`Timeouts`), logged and reconnected;
each reconnect logs a line, so a stalled download is never silent for longer than one read
timeout. Received bytes are progress: only failures in a row without a byte count against the
resume budget. A host that fails `max_host_failures` files in a row (`StorageHostDown`) fails the
stream instead of costing every remaining file its retries.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Callable, Dict, Optional
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.auth import AuthBase

from source_exports.errors import DownloadError, StorageHostDown
from source_exports.http import build_session, env_number, retry_policy
from source_exports.redact import strip_query

LOGGER = logging.getLogger("airbyte")

UrlMinter = Callable[[], str]
"""Returns a fresh short-lived URL; called before the first request and after expiry."""
SizeListener = Callable[[int], None]
"""Told a file's size (its `Content-Length`) once, when the download starts; for progress estimates."""

# What a connection cut mid-body looks like from requests/urllib3/http.client.
DROPPED_CONNECTION = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError, EOFError, ValueError)
EXPIRED_STATUSES = frozenset({400, 403})  # S3/GCS answer these for expired or invalid signatures
MAX_REDIRECTS = 5
CONNECT_TIMEOUT_SECONDS = 15.0
READ_TIMEOUT_SECONDS = 60.0
"""Longest wait for the next byte from storage before the connection counts as stalled."""
READ_TIMEOUT_ENV = "SOURCE_EXPORTS_READ_TIMEOUT_SECONDS"
DOWNLOAD_HEARTBEAT_SECONDS = 60.0
"""Longest silence while bytes trickle in slowly (a stall is logged after each read timeout instead)."""
MAX_HOST_FAILURES = 3
"""Files in a row that one storage host fails before the stream stops (the host is down, not one file)."""
MAX_HOST_FAILURES_ENV = "SOURCE_EXPORTS_MAX_STORAGE_HOST_FAILURES"


def read_timeout_seconds() -> float:
    """READ_TIMEOUT_SECONDS unless SOURCE_EXPORTS_READ_TIMEOUT_SECONDS sets another (0.1 to 3600)."""
    return env_number(READ_TIMEOUT_ENV, READ_TIMEOUT_SECONDS, minimum=0.1, maximum=3600.0)


def max_host_failures() -> int:
    """MAX_HOST_FAILURES unless SOURCE_EXPORTS_MAX_STORAGE_HOST_FAILURES sets another (1 to 1000)."""
    return int(env_number(MAX_HOST_FAILURES_ENV, MAX_HOST_FAILURES, minimum=1, maximum=1000))


def host_of(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1] or url


class _NoCredentials(AuthBase):
    """Removes any Authorization header and stops requests from adding .netrc credentials."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


class Fetcher:
    """Opens short-lived URLs as resumable byte streams.

    >>> fetcher = Fetcher()
    >>> with fetcher.open(lambda: mint_url(), name="export.csv") as body:  # doctest: +SKIP
    ...     first_bytes = body.read(1024)
    """

    max_resumes = 5
    """Consecutive dropped connections without progress before giving up."""
    max_mints = 3
    """Fresh URLs minted for one file after the first (expired URLs)."""
    chunk_size = 1 << 20

    def __init__(self, session: Optional[requests.Session] = None, timeout: Optional[tuple] = None) -> None:
        self.session = session or build_session(retry_policy(methods={"GET"}))
        self.session.auth = _NoCredentials()
        self.timeout = timeout or (CONNECT_TIMEOUT_SECONDS, read_timeout_seconds())
        self.max_host_failures = max_host_failures()
        self._host_failures: Dict[str, int] = {}
        self._lock = threading.Lock()

    def open(self, mint: UrlMinter, name: str, on_size: Optional[SizeListener] = None) -> ResumableBody:
        """Open the file at the URL `mint()` returns; `name` is used in messages, `on_size` hears its size."""
        return ResumableBody(self, mint, name, on_size)

    def refuse_if_down(self, host: str, name: str) -> None:
        """Raise `StorageHostDown` without a request once `host` failed `max_host_failures` files in a row."""
        with self._lock:
            failures = self._host_failures.get(host, 0)
        if failures >= self.max_host_failures:
            raise StorageHostDown(
                f"Storage host {host} failed {failures} files in a row; not trying the others",
                file=name,
                hint="The storage host looks down or unreachable; the sync can be retried later "
                f"(the threshold is {MAX_HOST_FAILURES_ENV}, default {MAX_HOST_FAILURES})",
            )

    def record(self, host: str, failed: bool) -> None:
        """Count a failed file against `host`, or clear its count once bytes arrive from it."""
        with self._lock:
            self._host_failures[host] = self._host_failures.get(host, 0) + 1 if failed else 0

    def request(self, url: str, start: int) -> requests.Response:
        """GET `url` from byte `start`, following redirects without credentials."""
        headers = {"Accept-Encoding": "identity"}
        if start:
            headers["Range"] = f"bytes={start}-"
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(url, headers=headers, stream=True, timeout=self.timeout, allow_redirects=False)
            if not response.is_redirect:
                return response
            location = response.headers["Location"]
            response.close()
            url = urljoin(url, location)
        raise DownloadError("Too many redirects", url=strip_query(url))


class ResumableBody(io.RawIOBase):
    """A read-only raw stream over one remote file that survives drops and expiry."""

    def __init__(self, fetcher: Fetcher, mint: UrlMinter, name: str, on_size: Optional[SizeListener] = None) -> None:
        super().__init__()
        self._fetcher = fetcher
        self._mint = mint
        self._on_size = on_size
        self.name = name
        self.position = 0
        self.total_size: Optional[int] = None
        self.resumes = 0
        self.mints = 0
        self.content_type: Optional[str] = None
        """The storage's `Content-Type` for the file: an HTML one means an error page, not data."""
        self._url = mint()
        self.host = host_of(self._url)
        self._progressed = False
        self._refused = False
        self._last_heartbeat = time.monotonic()
        self._pending: Optional[BaseException] = None
        self._response: Optional[requests.Response] = None
        self._raw = None
        self._identity: Optional[tuple] = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        failures = 0
        while True:
            try:
                if self._raw is None:
                    self._connect()
                count = self._read_available(buffer)
                if count or self.total_size is None or self.position >= self.total_size:
                    self.position += count or 0
                    if count and not self._progressed:
                        self._progressed = True
                        self._fetcher.record(self.host, failed=False)
                    return count or 0
                raise EOFError(f"connection closed at byte {self.position} of {self.total_size}")
            except StorageHostDown:
                raise
            except DownloadError:
                self._fetcher.record(self.host, failed=not self._refused)
                raise
            except DROPPED_CONNECTION as problem:
                failures += 1
                stalled = is_read_timeout(problem)
                if failures > self._fetcher.max_resumes:
                    self._fetcher.record(self.host, failed=True)
                    raise self._gave_up(problem, stalled) from problem
                self.resumes += 1
                if stalled:
                    LOGGER.warning(
                        f"{self.name}: storage host {self.host} sent no data for {self._fetcher.timeout[1]:g} s "
                        f"at byte {self.position}; reconnecting ({failures} of {self._fetcher.max_resumes})"
                    )
                else:
                    LOGGER.warning(f"{self.name}: connection lost at byte {self.position}; resuming")
                self._close_response()
                time.sleep(min(0.2 * 2 ** (failures - 1), 5.0))

    def _read_available(self, buffer) -> int:
        """Fill `buffer` as the bytes arrive; a stall after some bytes returns them (they are progress).

        The error that ended the wait is raised by the next read, which then resumes from the
        bytes delivered.
        """
        if self._pending is not None:
            problem, self._pending = self._pending, None
            raise problem
        view = memoryview(buffer).cast("B")
        if not hasattr(self._raw, "read1"):  # urllib3 1.x: no partial reads, a stall drops the bytes before it
            return self._raw.readinto(view)
        filled = 0
        while filled < len(view):
            try:
                data = self._raw.read1(len(view) - filled)
            except DROPPED_CONNECTION as problem:
                if not filled:
                    raise
                self._pending = problem
                break
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
            self._heartbeat(filled)
        return filled

    def _heartbeat(self, filled: int) -> None:
        """A log line at most every DOWNLOAD_HEARTBEAT_SECONDS while a slow download keeps going."""
        now = time.monotonic()
        if now - self._last_heartbeat >= DOWNLOAD_HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            LOGGER.info(f"{self.name}: {self.position + filled:,} bytes received so far; still downloading")

    def _gave_up(self, problem: BaseException, stalled: bool) -> DownloadError:
        resumes = self._fetcher.max_resumes
        if stalled:
            return DownloadError(
                f"Storage host {self.host} stalled: no data for {self._fetcher.timeout[1]:g} s (read timeout), "
                f"{resumes + 1} times in a row at byte {self.position}",
                file=self.name,
                hint=f"The storage host stopped sending; the sync can be retried ({READ_TIMEOUT_ENV} sets the "
                f"read timeout, default {READ_TIMEOUT_SECONDS:g} s)",
            )
        return DownloadError(
            f"Download kept failing after {resumes} resumes: {type(problem).__name__}",
            file=self.name,
            hint="The storage host dropped the connection repeatedly; the sync can be retried",
        )

    def close(self) -> None:
        self._close_response()
        super().close()

    def _connect(self) -> None:
        """(Re)open the URL at `self.position`, minting a new URL when storage says it expired."""
        self._fetcher.refuse_if_down(self.host, self.name)
        while True:
            try:
                response = self._fetcher.request(self._url, self.position)
            except requests.exceptions.RequestException as error:
                raise DownloadError(
                    f"Could not reach the storage host {self.host}: {type(error).__name__}",
                    file=self.name,
                    url=strip_query(self._url),
                    hint="Check network access to the storage host; the sync can be retried",
                ) from error
            if response.status_code in EXPIRED_STATUSES and self.mints < self._fetcher.max_mints:
                response.close()
                self.mints += 1
                LOGGER.info(f"{self.name}: storage answered {response.status_code} (URL expired?); minting a new URL")
                self._url = self._mint()
                self.host = host_of(self._url)
                continue
            if response.status_code >= 400:
                self._refused = response.status_code < 500  # the host is up and said no: not a host failure
                expired = response.status_code in EXPIRED_STATUSES
                detail = "" if expired else response.raw.read(300).decode(errors="replace")
                response.close()
                raise DownloadError(
                    f"Storage answered HTTP {response.status_code}{': ' + detail if detail else ''}",
                    file=self.name,
                    url=strip_query(self._url),
                    hint="The download link could not be used even after minting a fresh one",
                )
            self._accept(response)
            return

    def _accept(self, response: requests.Response) -> None:
        self._check_same_file(response)
        response.raw.decode_content = False
        self.content_type = self.content_type or response.headers.get("Content-Type")
        skip = 0
        if self.position and response.status_code != 206:
            skip = self.position  # server ignored Range: re-read and drop what we already delivered
        if self.total_size is None:
            length = response.headers.get("Content-Length")
            if length is not None and response.status_code == 200:
                self.total_size = int(length)
                if self._on_size is not None:
                    self._on_size(self.total_size)
        self._response = response
        self._raw = response.raw
        while skip:  # a failure here is a dropped connection too: readinto retries
            dropped = self._raw.read(min(skip, self._fetcher.chunk_size))
            if not dropped:
                raise EOFError(f"connection closed while skipping to byte {self.position}")
            skip -= len(dropped)

    def _check_same_file(self, response: requests.Response) -> None:
        """Refuse to splice two different files: a resume must continue the bytes it started."""
        content_range = response.headers.get("Content-Range", "")
        partial = response.status_code == 206
        total = content_range.rsplit("/", 1)[-1] if partial else response.headers.get("Content-Length")
        identity = (response.headers.get("ETag"), int(total) if total and total.isdigit() else None)
        if self._identity is None:
            self._identity = identity
            return
        for before, now in zip(self._identity, identity):
            if before is not None and now is not None and before != now:
                response.close()
                raise DownloadError(
                    "The file changed on the storage host while it was being downloaded",
                    file=self.name,
                    hint="Run the sync again; no state past the rows already emitted was saved",
                )

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
        self._response = None
        self._raw = None
        self._pending = None


def is_read_timeout(problem: BaseException) -> bool:
    """A body read that waited the read timeout for a byte (urllib3 and requests spell it differently)."""
    return isinstance(
        problem, (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout, TimeoutError)
    ) or "timed out" in str(problem)
