"""A tiny real HTTP server on 127.0.0.1 that every vendor fake builds on.

Why real HTTP and not `requests-mock`: the end-to-end tests run the installed `source-exports`
command in a subprocess, and the behaviours that matter (dropped connections, Range resumes,
slow responses, streaming multi-GB bodies) only exist on a socket. Stdlib only, so the fakes
never add a dependency.

    with FakeServer() as server:
        server.route("GET", r"/ping", lambda request: Response(200, {}, b"pong"))
        requests.get(server.url + "/ping")
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Pattern, Tuple, Union
from urllib.parse import parse_qs, urlsplit

Body = Union[bytes, Iterable[bytes]]
_AUTO = object()  # "pick the usual value" for optional fault headers


@dataclass
class Response:
    """What a route handler returns. `body` is bytes or an iterator of chunks (streamed as-is).

    An iterator body should say its size in `length` (sent as Content-Length); without it the
    response is delimited by closing the connection. `cut_after` closes the socket after that
    many body bytes although the full Content-Length was announced: a real dropped connection.
    `stall_after` sends that many body bytes, then sends nothing for `stall_seconds` and closes the
    socket: a storage host that hangs mid-body. Status `DROP` closes the socket without answering.
    """

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: Body = b""
    length: Optional[int] = None
    cut_after: Optional[int] = None
    stall_after: Optional[int] = None
    stall_seconds: float = 0.0


DROP = 0
"""`Response(DROP)`: close the connection without an answer (the request may have been acted on)."""


class Request(NamedTuple):
    """One parsed request as handlers see it. Header names are lower-cased; query keeps the first value."""

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: bytes
    params: Dict[str, str]  # named groups of the matched route


class SeenRequest(NamedTuple):
    """One entry of `FakeServer.requests_seen` (no body: logs must not grow with uploads)."""

    method: str
    path: str
    headers: Dict[str, str]
    query: Dict[str, str]


Handler = Callable[[Request], Response]


class Faults:
    """Switches that make the next responses fail or slow down; thread-safe, each use consumes a count.

    Failures queue up in order: `fail_next(503, times=3); fail_next(429)` gives 503, 503, 503, 429.
    `path` (a regex searched in the request path) limits a failure to some endpoints.
    """

    def __init__(self, server: FakeServer) -> None:
        self._server = server
        self._lock = threading.Lock()
        self._failures: Deque[List[Any]] = deque()
        self._delays: Deque[List[Any]] = deque()

    def fail_next(
        self,
        status: int = 429,
        times: int = 1,
        body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
        retry_after: Any = _AUTO,
        path: Optional[str] = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (429 gets `Retry-After: 1` unless told)."""
        headers = dict(headers or {})
        if retry_after is _AUTO:
            retry_after = 1 if status == 429 else None
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        with self._lock:
            self._failures.append([times, status, body, headers, re.compile(path) if path else None])

    def delay(self, seconds: float, times: Optional[int] = None) -> None:
        """Sleep `seconds` before answering the next `times` requests (every request when None; 0 clears)."""
        with self._lock:
            self._delays.clear()
            if seconds > 0:
                self._delays.append([times, seconds])

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    def take_failure(self, path: str) -> Optional[Response]:
        with self._lock:
            for entry in self._failures:
                times, status, body, headers, pattern = entry
                if pattern is None or pattern.search(path):
                    entry[0] = times - 1
                    if entry[0] <= 0:
                        self._failures.remove(entry)
                    break
            else:
                return None
        if body is None:
            return self._server.error_response(status, headers=headers)
        return Response(status, headers, body)

    def take_delay(self) -> float:
        with self._lock:
            if not self._delays:
                return 0.0
            entry = self._delays[0]
            if entry[0] is not None:
                entry[0] -= 1
                if entry[0] <= 0:
                    self._delays.popleft()
            return entry[1]

    @staticmethod
    def _take(queue: Deque[List[Any]]) -> Optional[List[Any]]:
        """Consume one use of the first entry of a `[times, *values]` queue (for subclasses' switches)."""
        if not queue:
            return None
        entry = queue[0]
        entry[0] -= 1
        if entry[0] <= 0:
            queue.popleft()
        return entry


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 - names fixed by http.server
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        """The `Date` header: the fake's `http_date` when set, else the real time."""
        fixed = self.server.fake.http_date
        if fixed is not None and timestamp is None:
            return formatdate(fixed.timestamp(), usegmt=True)
        return super().date_time_string(timestamp)

    def _dispatch(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0))
        fake._record(SeenRequest(self.command, parts.path, headers, query))
        response = fake.handle(Request(self.command, parts.path, query, headers, body, {}))
        if response.status == DROP:
            self._drop_connection()
            return
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up: its right
            self.close_connection = True

    def _send(self, response: Response) -> None:
        body = response.body
        length = len(body) if isinstance(body, (bytes, bytearray)) else response.length
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        chunks = [body] if isinstance(body, (bytes, bytearray)) else body
        budget = response.cut_after if response.stall_after is None else response.stall_after
        try:
            if self.command == "HEAD":
                return
            for chunk in chunks:
                if budget is not None and len(chunk) >= budget:
                    self.wfile.write(chunk[:budget])
                    if response.stall_after is not None:
                        self.wfile.flush()
                        time.sleep(response.stall_seconds)
                    self._drop_connection()
                    return
                self.wfile.write(chunk)
                if budget is not None:
                    budget -= len(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()  # release open files of generator bodies, also on HEAD and hang-ups

    def _drop_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class FakeServer:
    """A route table served on 127.0.0.1 in a daemon thread, with a request log and fault switches.

    server = FakeServer().start()
    server.route("POST", r"/v1/things", handler)
    server.faults.fail_next(503, times=2)
    ...
    server.stop()
    """

    faults_class = Faults

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._routes: List[Tuple[str, Pattern[str], Handler]] = []
        self._log_lock = threading.Lock()
        self.requests_seen: List[SeenRequest] = []
        self.errors: List[str] = []  # tracebacks of handler crashes (tests assert it stays empty)
        self.in_flight = 0  # requests being answered now (each holds one connection)
        self.max_in_flight = 0  # the most at once since start or `clear_log`
        self.faults = self.faults_class(self)
        self.http_date: Optional[datetime] = None  # when set, every answer's `Date` header (a clock fixed in time)
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # lifecycle
    def start(self) -> FakeServer:
        if self._httpd is None:
            self._httpd = _HTTPServer(("127.0.0.1", self._port), _RequestHandler)
            self._httpd.fake = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                args=(0.05,),  # shutdown() waits one poll interval: keep test teardown fast
                name=type(self).__name__,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # routing
    def route(self, method: str, path_regex: str, handler: Handler) -> None:
        """Serve `method` requests whose whole path matches `path_regex` (GET routes also answer HEAD)."""
        self._routes.append((method.upper(), re.compile(path_regex), handler))

    def handle(self, request: Request) -> Response:
        with self._log_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer_request(request)
        finally:
            with self._log_lock:
                self.in_flight -= 1

    def _answer_request(self, request: Request) -> Response:
        failure = self.faults.take_failure(request.path)
        pause = self.faults.take_delay()
        if pause:
            time.sleep(pause)
        if failure is not None:
            return failure
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match and (method == request.method or (method == "GET" and request.method == "HEAD")):
                try:
                    return handler(request._replace(params=match.groupdict()))
                except Exception:  # noqa: BLE001 - a crash must become a 500 *and* be visible to tests
                    self.errors.append(traceback.format_exc())
                    print(self.errors[-1], file=sys.stderr)
                    return self.error_response(500)
        return self.error_response(404)

    def error_response(self, status: int, headers: Optional[Dict[str, str]] = None) -> Response:
        """The vendor's error body for a bare status (faults, unknown routes); vendors override it."""
        return Response(status, {"Content-Type": "text/plain", **(headers or {})}, f"HTTP {status}\n".encode())

    # request log
    def _record(self, seen: SeenRequest) -> None:
        with self._log_lock:
            self.requests_seen.append(seen)

    def requests_to(self, path_regex: str, method: Optional[str] = None) -> List[SeenRequest]:
        """The logged requests whose path matches `path_regex` (searched), optionally of one method."""
        pattern = re.compile(path_regex)
        with self._log_lock:
            return [r for r in self.requests_seen if pattern.search(r.path) and (method is None or r.method == method)]

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests_seen.clear()
            self.max_in_flight = self.in_flight


def iter_file(path: str, chunk_size: int = 64 * 1024, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
    """Stream bytes [start, end) of a file in chunks, so large objects are never loaded whole."""
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
