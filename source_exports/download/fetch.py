"""Streams short-lived (signed) URLs as one continuous, resumable byte stream.

Storage hosts get no vendor credentials: the fetcher's session carries no auth, redirects are
followed by hand so no header is re-added, and an `Authorization` header is stripped from every
request it sends. When storage says the URL expired (403/400) the fetcher asks the caller to
mint a fresh one. When the connection drops mid-body it re-opens at the byte it reached — with
`Range` where the server honours it, otherwise by re-reading and discarding the bytes already
delivered — so the parser above sees every byte exactly once.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Callable, Optional
from urllib.parse import urljoin

import requests
import urllib3
from requests.auth import AuthBase

from source_exports.errors import DownloadError
from source_exports.http import build_session, retry_policy
from source_exports.redact import strip_query

LOGGER = logging.getLogger("airbyte")

UrlMinter = Callable[[], str]
"""Returns a fresh short-lived URL; called before the first request and after expiry."""

# What a connection cut mid-body looks like from requests/urllib3/http.client.
DROPPED_CONNECTION = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError, EOFError, ValueError)
EXPIRED_STATUSES = frozenset({400, 403})  # S3/GCS answer these for expired or invalid signatures
MAX_REDIRECTS = 5


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

    def __init__(self, session: Optional[requests.Session] = None, timeout: tuple = (15, 300)) -> None:
        self.session = session or build_session(retry_policy(methods={"GET"}))
        self.session.auth = _NoCredentials()
        self.timeout = timeout

    def open(self, mint: UrlMinter, name: str) -> ResumableBody:
        """Open the file at the URL `mint()` returns; `name` is used in messages."""
        return ResumableBody(self, mint, name)

    def request(self, url: str, start: int) -> requests.Response:
        """GET `url` from byte `start`, following redirects without credentials."""
        headers = {"Accept-Encoding": "identity"}
        if start:
            headers["Range"] = f"bytes={start}-"
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.get(
                url, headers=headers, stream=True, timeout=self.timeout, allow_redirects=False
            )
            if not response.is_redirect:
                return response
            location = response.headers["Location"]
            response.close()
            url = urljoin(url, location)
        raise DownloadError("Too many redirects", url=strip_query(url))


class ResumableBody(io.RawIOBase):
    """A read-only raw stream over one remote file that survives drops and expiry."""

    def __init__(self, fetcher: Fetcher, mint: UrlMinter, name: str) -> None:
        super().__init__()
        self._fetcher = fetcher
        self._mint = mint
        self.name = name
        self.position = 0
        self.total_size: Optional[int] = None
        self.resumes = 0
        self.mints = 0
        self.content_type: Optional[str] = None
        """The storage's `Content-Type` for the file: an HTML one means an error page, not data."""
        self._url = mint()
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
                count = self._raw.readinto(buffer)
                if count or self.total_size is None or self.position >= self.total_size:
                    self.position += count or 0
                    return count or 0
                raise EOFError(f"connection closed at byte {self.position} of {self.total_size}")
            except DROPPED_CONNECTION as problem:
                failures += 1
                if failures > self._fetcher.max_resumes:
                    raise DownloadError(
                        f"Download kept failing after {self._fetcher.max_resumes} resumes: {type(problem).__name__}",
                        file=self.name,
                        hint="The storage host dropped the connection repeatedly; the sync can be retried",
                    ) from problem
                self.resumes += 1
                LOGGER.warning(f"{self.name}: connection lost at byte {self.position}; resuming")
                self._close_response()
                time.sleep(min(0.2 * 2 ** (failures - 1), 5.0))

    def close(self) -> None:
        self._close_response()
        super().close()

    def _connect(self) -> None:
        """(Re)open the URL at `self.position`, minting a new URL when storage says it expired."""
        while True:
            try:
                response = self._fetcher.request(self._url, self.position)
            except requests.exceptions.RequestException as error:
                raise DownloadError(
                    f"Could not reach the storage host: {type(error).__name__}",
                    file=self.name,
                    url=strip_query(self._url),
                    hint="Check network access to the storage host; the sync can be retried",
                ) from error
            if response.status_code in EXPIRED_STATUSES and self.mints < self._fetcher.max_mints:
                response.close()
                self.mints += 1
                LOGGER.info(f"{self.name}: storage answered {response.status_code} (URL expired?); minting a new URL")
                self._url = self._mint()
                continue
            if response.status_code >= 400:
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
