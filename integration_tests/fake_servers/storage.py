"""An S3-like object store with pre-signed URLs: where every vendor fake puts its export files.

The vendors hand out short-lived signed URLs to S3/GCS objects. What a connector gets wrong
with them is what this fake checks for real: sending the vendor's `Authorization` header to
storage (S3 answers 400), using a URL after it expired (403), resuming a dropped download
without `Range`, and loading a large object into memory (objects on disk stream in 64 KiB).

    with FakeStorage() as storage:
        storage.put_bytes("exports/a.csv", b"id\\n1\\n")
        url = storage.sign("exports/a.csv", ttl_seconds=60)
        storage.faults.cut_after(3)          # the next download drops after 3 body bytes
        storage.expire_all()                 # every URL issued so far is now expired
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import os
import re
import secrets
import threading
import time
from collections import deque
from email.utils import formatdate
from typing import Deque, Dict, List, NamedTuple, Optional, Tuple, Union
from urllib.parse import quote, unquote, urlencode

from integration_tests.fake_servers.base import FakeServer, Faults, Request, Response, iter_file

CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Download(NamedTuple):
    """One entry of `FakeStorage.downloads`: which object, the Range header sent (or None), the status."""

    key: str
    range: Optional[str]
    status: int


class StoredObject(NamedTuple):
    data: Union[bytes, str]  # the bytes, or the path of a file served from disk
    content_type: str
    etag: str
    last_modified: float


class StorageFaults(Faults):
    """Storage-only switches on top of `fail_next` / `delay`: dropped connections and early expiry."""

    def __init__(self, server: FakeServer) -> None:
        super().__init__(server)
        self._cuts: Deque[list] = deque()
        self._stalls: Deque[list] = deque()
        self._expiries: Deque[list] = deque()

    def cut_after(self, nbytes: int, times: int = 1) -> None:
        """The next `times` object downloads announce the full length, then close the socket after `nbytes`."""
        with self._lock:
            self._cuts.append([times, nbytes])

    def stall_after(self, nbytes: int, seconds: float, times: int = 1) -> None:
        """The next `times` object downloads send headers and `nbytes`, then nothing for `seconds`, then close."""
        with self._lock:
            self._stalls.append([times, nbytes, seconds])

    def expire_next(self, times: int = 1) -> None:
        """The next `times` object downloads answer 403 "Request has expired" even with a valid URL."""
        with self._lock:
            self._expiries.append([times])

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._cuts.clear()
            self._stalls.clear()
            self._expiries.clear()

    def take_cut(self) -> Optional[int]:
        with self._lock:
            entry = self._take(self._cuts)
        return None if entry is None else entry[1]

    def take_stall(self) -> Optional[Tuple[int, float]]:
        with self._lock:
            entry = self._take(self._stalls)
        return None if entry is None else (entry[1], entry[2])

    def take_expiry(self) -> bool:
        with self._lock:
            return self._take(self._expiries) is not None


class FakeStorage(FakeServer):
    """Objects at `/bucket/<key>`, readable only through URLs from `sign()`.

    Errors use S3's XML shape. `supports_range=False` makes it ignore `Range` (200, full body),
    like some CDNs do. `auth_header_violations` counts requests that carried `Authorization`.
    """

    faults_class = StorageFaults
    faults: StorageFaults

    def __init__(self, port: int = 0, supports_range: bool = True) -> None:
        super().__init__(port)
        self.supports_range = supports_range
        self.auth_header_violations = 0
        self.downloads: List[Download] = []
        self._objects: Dict[str, StoredObject] = {}
        self._secret = secrets.token_bytes(32)
        self._clock_offset = 0.0
        self._latest_expiry = 0.0
        self._lock = threading.Lock()
        self.route("GET", r"/bucket/(?P<key>.+)", self._get_object)

    # objects
    def put_bytes(self, key: str, data: bytes, content_type: Optional[str] = None) -> None:
        data = bytes(data)
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload
        with self._lock:
            self._objects[key] = StoredObject(data, content_type or _guess_type(key), etag, time.time())

    def put_file(self, key: str, path: str, content_type: Optional[str] = None) -> None:
        """Serve a file from disk (read in 64 KiB chunks per request; it must stay in place)."""
        path = os.fspath(path)
        stat = os.stat(path)
        etag = hashlib.md5(f"{path}-{stat.st_size}-{stat.st_mtime_ns}".encode()).hexdigest()  # noqa: S324
        with self._lock:
            self._objects[key] = StoredObject(path, content_type or _guess_type(key), etag, stat.st_mtime)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def keys(self) -> List[str]:
        with self._lock:
            return sorted(self._objects)

    def read(self, key: str) -> bytes:
        """The stored bytes of an object (for test assertions; loads files whole)."""
        data = self._objects[key].data
        if isinstance(data, bytes):
            return data
        with open(data, "rb") as handle:
            return handle.read()

    # signing and time
    def now(self) -> float:
        return time.time() + self._clock_offset

    def sign(self, key: str, ttl_seconds: int = 300) -> str:
        """A pre-signed GET URL for `key`, valid for `ttl_seconds` of this store's clock."""
        issued = int(self.now())
        with self._lock:
            self._latest_expiry = max(self._latest_expiry, issued + ttl_seconds)
        query = urlencode(
            {
                "X-Amz-Expires": ttl_seconds,
                "X-Amz-Date": issued,
                "X-Amz-Signature": self._signature(key, issued + ttl_seconds),
            }
        )
        return f"{self.url}/bucket/{quote(key)}?{query}"

    def advance_clock(self, seconds: float) -> None:
        """Move this store's clock forward: URLs whose lifetime is shorter than that expire."""
        self._clock_offset += seconds

    def expire_all(self) -> None:
        """Make every URL issued so far expire for real (URLs signed afterwards are valid)."""
        self.advance_clock(max(0.0, self._latest_expiry - self.now()) + 1)

    def _signature(self, key: str, expires_at: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires_at}".encode(), hashlib.sha256).hexdigest()

    def error_response(self, status: int, headers: Optional[Dict[str, str]] = None) -> Response:
        """S3's answers to throttling (SlowDown) and server trouble, for `faults.fail_next`."""
        if status in (429, 503):
            return s3_error(status, "SlowDown", "Please reduce your request rate.", headers)
        return s3_error(status, "InternalError" if status >= 500 else "InvalidRequest", f"HTTP {status}", headers)

    # the GET / HEAD handler
    def _get_object(self, request: Request) -> Response:
        key = unquote(request.params["key"])
        response = self._answer(request, key)
        if request.method == "GET":
            with self._lock:
                self.downloads.append(Download(key, request.headers.get("range"), response.status))
        return response

    def _answer(self, request: Request, key: str) -> Response:
        if "authorization" in request.headers:
            with self._lock:
                self.auth_header_violations += 1
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified",
            )
        try:
            issued = int(request.query["X-Amz-Date"])
            expires_at = issued + int(request.query["X-Amz-Expires"])
            signature = request.query["X-Amz-Signature"]
        except (KeyError, ValueError):
            return s3_error(403, "AccessDenied", "Query-string authentication requires the Signature parameters")
        if not hmac.compare_digest(signature, self._signature(key, expires_at)):
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if self.now() >= expires_at or self.faults.take_expiry():
            return s3_error(403, "AccessDenied", "Request has expired")
        with self._lock:
            stored = self._objects.get(key)
        if stored is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return self._object_response(stored, request.headers.get("range"))

    def _object_response(self, stored: StoredObject, range_header: Optional[str]) -> Response:
        data = stored.data
        size = len(data) if isinstance(data, bytes) else os.path.getsize(data)
        headers = {
            "Content-Type": stored.content_type,
            "ETag": f'"{stored.etag}"',
            "Last-Modified": formatdate(stored.last_modified, usegmt=True),
        }
        if self.supports_range:
            headers["Accept-Ranges"] = "bytes"
        start, end, status = 0, size, 200
        if range_header and self.supports_range:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                unsatisfiable = {"Content-Range": f"bytes */{size}"}
                return s3_error(416, "InvalidRange", "The requested range is not satisfiable", unsatisfiable)
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        if isinstance(data, bytes):
            body = (data[i : i + CHUNK_SIZE] for i in range(start, end, CHUNK_SIZE))
        else:
            body = iter_file(data, CHUNK_SIZE, start, end)
        stall = self.faults.take_stall()
        response = Response(status, headers, body, length=end - start, cut_after=self.faults.take_cut())
        if stall is not None:
            response.stall_after, response.stall_seconds = stall
        return response


def s3_error(status: int, code: str, message: str, headers: Optional[Dict[str, str]] = None) -> Response:
    """An error in S3's XML shape."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return Response(status, {"Content-Type": "application/xml", **(headers or {})}, body)


def _parse_range(header: str, size: int) -> Optional[Tuple[int, int]]:
    """`bytes=N-`, `bytes=N-M` or `bytes=-N` → [start, end) within the object; None when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), size if last == "" else min(size, int(last) + 1)
    return (start, end) if start < end else None


def _guess_type(key: str) -> str:
    if key.endswith(".gz"):
        return "application/gzip"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"
