"""`FakePostHog`: PostHog's batch-export API at `{url}/api`, built from api-notes §4 and the vendor pages.

What it implements, because the connector relies on it:
- personal-API-key Bearer auth and key scopes (403 naming the missing scope), DRF error bodies
  `{"type", "code", "detail", "attr"}`;
- batch exports listed per organisation or environment with limit/offset pages `{count, next,
  previous, results}`; runs with cursor pages `{next, previous, results}` (page size capped at
  `runs_page_size` so small data still spans pages), newest first;
- logs newest first with `limit` (≤ 500), strict `after`/`before`, and groups of entries sharing
  one timestamp (including two identical lines) so page edges fall inside ties;
- file downloads: POST → 202 `{id}`, interval ≤ 7 days and not in the future, lifecycle
  Starting → Running → Completed (files appear one poll after Completed), files split into
  parts of `rows_per_part` rows, JSON Lines (none/gzip/zstd, whole file) or Parquet (pyarrow,
  internal compression), download → 302 to a `FakeStorage` signed URL, expired exports → 400;
  with `export_seconds`, an export is Running until that long after its creation, then Completed
  with its files (timing by elapsed time, not polls); `max_running_exports` records the most
  exports unfinished at once.

Switches (on `fake.faults`): `too_many_concurrent(times)`, `expire_export_next(times)`,
`fail_export_next(error, status="Failed")`; on the fake: `scopes`, `add_events(...)`, `add_logs(...)`.

    with FakeStorage() as storage, FakePostHog(storage) as posthog:
        config = {"posthog": posthog.config_block()}
"""

from __future__ import annotations

import base64
import gzip
import io
import itertools
import json
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Deque, Dict, List, Optional, Tuple
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from integration_tests.fake_servers.base import FakeServer, Faults, Request, Response
from integration_tests.fake_servers.storage import FakeStorage

UTC = timezone.utc
API_KEY = "phx_FakePostHogPersonalKey0123456789abcdef"
ORGANIZATION_ID = "0190a8e2-4c1b-4f3e-9d7a-2b6c8e1f0a93"
ENVIRONMENT_ID = 4242
OTHER_ENVIRONMENT_ID = 4343  # same organisation: only the organisation-level listing shows its batch export
READ, WRITE = "batch_export:read", "batch_export:write"
SEED = 20250202
MAX_LOGS_LIMIT = 500
EVENT_NAMES = ("$pageview", "$autocapture", "signed_up", "purchase", "$identify", "zählen 🚀")
LEVELS = ("INFO", "INFO", "DEBUG", "WARNING", "ERROR")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class PostHogApiError(Exception):
    """Raised inside handlers; becomes a DRF error body."""

    def __init__(self, status: int, code: str, detail: str, kind: str = "validation_error", attr: Any = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.kind, self.attr = status, code, detail, kind, attr


def drf_error(status: int, code: str, detail: str, kind: str, attr: Any = None, headers=None) -> Response:
    body = json.dumps({"type": kind, "code": code, "detail": detail, "attr": attr}).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, body)


class PostHogFaults(Faults):
    """PostHog-only switches on top of `fail_next` / `delay`."""

    def __init__(self, server: FakeServer) -> None:
        super().__init__(server)
        self._busy: Deque[list] = deque()
        self._expiries: Deque[list] = deque()
        self._failures_of_exports: Deque[list] = deque()

    def too_many_concurrent(self, times: int = 1, retry_after: Optional[int] = None) -> None:
        """The next `times` file-download creations answer 429 too_many_concurrent_file_downloads."""
        with self._lock:
            self._busy.append([times, retry_after])

    def expire_export_next(self, times: int = 1) -> None:
        """The next `times` download calls find their export expired (400 "has expired", for good)."""
        with self._lock:
            self._expiries.append([times])

    def fail_export_next(self, error: str = "Export failed: disk quota exceeded", status: str = "Failed") -> None:
        """The next created file download ends in `status` with `error` instead of completing."""
        with self._lock:
            self._failures_of_exports.append([1, status, error])

    def take_busy(self) -> Optional[list]:
        with self._lock:
            return self._take(self._busy)

    def take_expiry(self) -> bool:
        with self._lock:
            return self._take(self._expiries) is not None

    def take_export_failure(self) -> Optional[list]:
        with self._lock:
            return self._take(self._failures_of_exports)

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._busy.clear()
            self._expiries.clear()
            self._failures_of_exports.clear()


@dataclass
class FileDownload:
    """One on-demand export and its lifecycle."""

    id: str
    model: str
    start: datetime
    end: datetime
    file_format: str
    compression: Optional[str]
    rows: int
    files: List[str] = field(default_factory=list)  # file ids, in order; keys in storage follow them
    keys: Dict[str, str] = field(default_factory=dict)
    polls: int = 0
    failure: Optional[Tuple[str, str]] = None
    expired: bool = False
    created_at: float = 0.0  # time.monotonic() at creation


class FakePostHog(FakeServer):
    """PostHog over deterministic data anchored at `now`, exporting files into `storage`.

    `deterministic=True`: export and file ids come from what an export holds (model, interval,
    format, part) instead of `uuid4`, so a read is reproducible whatever order its concurrent
    exports are created in.
    """

    config_key = "posthog"
    faults: PostHogFaults
    faults_class = PostHogFaults

    def __init__(
        self,
        storage: FakeStorage,
        api_key: str = API_KEY,
        now: Optional[datetime] = None,
        n_events: int = 60,
        rows_per_part: int = 7,
        runs_page_size: int = 4,
        url_ttl_seconds: int = 300,
        export_seconds: Optional[float] = None,
        deterministic: bool = False,
    ) -> None:
        super().__init__()
        self.deterministic = deterministic
        self.export_seconds = export_seconds
        self.max_running_exports = 0  # the most exports created and not yet Completed at once
        self.storage = storage
        self.api_key = api_key
        self.clock = (now or datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
        self.rows_per_part = rows_per_part
        self.runs_page_size = runs_page_size
        self.url_ttl_seconds = url_ttl_seconds
        self.scopes = {READ, WRITE}
        self._lock = threading.Lock()
        self._random = random.Random(SEED)
        self.exports: Dict[str, FileDownload] = {}
        self.batch_exports = self._make_batch_exports()
        self.runs = {be["id"]: self._make_runs(be, index) for index, be in enumerate(self.batch_exports)}
        self.logs: Dict[str, List[Dict[str, Any]]] = {be["id"]: [] for be in self.batch_exports}
        for index, be in enumerate(self.batch_exports):
            self.add_logs(be["id"], 9 + 6 * index, self.clock - timedelta(days=3), self.clock - timedelta(minutes=5))
        self.events: List[Dict[str, Any]] = []
        self.add_events(n_events, self.clock - timedelta(days=10) + timedelta(hours=1), self.clock)
        self.add_events(3, self.clock - timedelta(days=40), self.clock - timedelta(days=30))  # before the lookback
        env = r"/api/environments/(?P<env>\d+)"
        self.route("GET", r"/api/organizations/(?P<org>[^/]+)/batch_exports/?", self._list_org_batch_exports)
        self.route("GET", env + r"/batch_exports/?", self._list_env_batch_exports)
        self.route("GET", env + r"/batch_exports/(?P<id>[^/]+)/runs/?", self._list_runs)
        self.route("GET", env + r"/batch_exports/(?P<id>[^/]+)/logs/?", self._list_logs)
        self.route("POST", env + r"/file_download_batch_exports/?", self._create_export)
        self.route("GET", env + r"/file_download_batch_exports/(?P<id>[^/]+)/?", self._get_export)
        self.route(
            "GET", env + r"/file_download_batch_exports/(?P<id>[^/]+)/download/(?P<part>[^/]+)/?", self._download
        )

    # configuration for the connector
    def config_block(
        self,
        file_format: Optional[str] = "JSONLines",
        compression: Optional[str] = "gzip",
        organization: bool = False,
        models: Tuple[str, ...] = ("events",),
    ) -> Dict[str, Any]:
        """The `posthog` block pointing at this fake, with fast polling and no end lag."""
        block: Dict[str, Any] = {
            "api_key": self.api_key,
            "api_url": self.url,
            "environment_id": str(ENVIRONMENT_ID),
            "poll_interval_seconds": 0.02,
            "poll_timeout_minutes": 1,
            "initial_lookback_days": 10,
            "end_lag_seconds": 0,
            "logs_page_size": 4,
        }
        if organization:
            block["organization_id"] = ORGANIZATION_ID
        if file_format:
            block["file_download"] = {"models": list(models), "format": file_format, "compression": compression}
        return block

    # data
    def _make_batch_exports(self) -> List[Dict[str, Any]]:
        specs = [
            (ENVIRONMENT_ID, "S3 events", "events", "hour", False),
            (ENVIRONMENT_ID, "Snowflake persons", "persons", "day", True),
            (ENVIRONMENT_ID, "BigQuery — Ünïcødé", "events", "day", False),
            (OTHER_ENVIRONMENT_ID, "Other team export", "events", "hour", False),
        ]
        exports = []
        for index, (team, name, model, interval, paused) in enumerate(specs):
            created = self.clock - timedelta(days=30 - index)
            exports.append(
                {
                    "id": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
                    "team_id": team,
                    "name": name,
                    "model": model,
                    "destination": {"type": "S3", "config": {"bucket_name": f"bucket-{index}", "prefix": "ph/"}},
                    "interval": interval,
                    "paused": paused,
                    "created_at": iso(created),
                    "last_updated_at": iso(created + timedelta(hours=index)),
                    "last_paused_at": iso(created + timedelta(days=1)) if paused else None,
                    "start_at": None,
                    "end_at": None,
                    "latest_runs": [],
                    "hogql_query": "",
                    "filters": None,
                    "timezone": "UTC",
                    "offset_day": None,
                    "offset_hour": None,
                }
            )
        return exports

    def _make_runs(self, batch_export: Dict[str, Any], index: int) -> List[Dict[str, Any]]:
        statuses = ("Completed", "Completed", "Failed", "Completed", "FailedRetryable", "Cancelled", "Completed")
        runs = []
        for number in range((0, 9, 6, 5)[index]):
            start = self.clock - timedelta(hours=6 * (number + 1))
            running = number == 0
            runs.append(
                {
                    "id": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
                    "status": "Running" if running else statuses[number % len(statuses)],
                    "records_completed": None if running else 100 + number,
                    "records_failed": None if running else number % 2,
                    "latest_error": "Connection refused" if statuses[number % len(statuses)] == "Failed" else None,
                    "data_interval_start": iso(start),
                    "data_interval_end": iso(start + timedelta(hours=1)),
                    "cursor": None,
                    "created_at": iso(start + timedelta(minutes=1)),
                    "finished_at": None if running else iso(start + timedelta(minutes=9)),
                    "last_updated_at": iso(start + timedelta(minutes=2 if running else 9)),
                    "records_total_count": 100 + number,
                    "bytes_exported": None if running else 1000 * number,
                    "batch_export": batch_export["id"],
                }
            )
        return runs  # newest first, as PostHog lists them

    def add_logs(self, batch_export_id: str, count: int, first: datetime, last: datetime) -> List[Dict[str, Any]]:
        """Add `count` entries between `first` and `last`, in groups sharing one timestamp (1 to 3 each)."""
        added: List[Dict[str, Any]] = []
        span = (last - first).total_seconds()
        while len(added) < count:
            moment = first + timedelta(seconds=round(self._random.uniform(0, span), 6))
            group = min(self._random.choice((1, 2, 3)), count - len(added))
            instance = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
            for position in range(group):
                message = (
                    "Batch export run finished" if position == 1 else f"Processed {self._random.randint(1, 999)} rows"
                )
                added.append(
                    {
                        "log_source_id": batch_export_id,
                        "instance_id": instance,
                        "timestamp": iso(moment),
                        "level": LEVELS[position % len(LEVELS)],
                        "message": message,
                    }
                )
            if group >= 3:  # two identical lines at one timestamp: a multiset, not a set
                added[-1] = dict(added[-2])
        with self._lock:
            self.logs[batch_export_id].extend(added)
            # newest first; ties keep insertion order (a stable order, as ClickHouse returns for one query)
            self.logs[batch_export_id].sort(key=lambda entry: entry["timestamp"], reverse=True)
        return added

    def add_events(self, count: int, first: datetime, last: datetime) -> List[Dict[str, Any]]:
        """Add `count` events with `_inserted_at` in [first, last); values are the raw ones PostHog stores."""
        added = []
        span = (last - first).total_seconds()
        for _ in range(count):
            inserted = first + timedelta(seconds=round(self._random.uniform(0, span * 0.999), 6))
            happened = inserted - timedelta(seconds=self._random.randint(0, 3600))
            properties = {
                "$current_url": f"https://example.com/p/{self._random.randint(1, 99)}?q=a&b=ü",
                "$browser": self._random.choice(("Chrome", "Firefox", "Safari")),
                "amount": self._random.choice((0, 12.5, -3, 10**12)),
                "nested": {"list": [1, "two", None], "flag": self._random.random() < 0.5},
                "note": self._random.choice(("", "line\nbreak", 'quote " inside', "北京", None)),
            }
            person_set = (
                {"email": f"user{self._random.randint(1, 20)}@example.com"} if self._random.random() < 0.4 else None
            )
            added.append(
                {
                    "uuid": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
                    "team_id": ENVIRONMENT_ID,
                    "timestamp": happened,
                    "_inserted_at": inserted,
                    "created_at": inserted - timedelta(milliseconds=self._random.randint(1, 900)),
                    "event": self._random.choice(EVENT_NAMES),
                    "properties": json.dumps(properties, ensure_ascii=False),
                    "distinct_id": f"user-{self._random.randint(1, 20)}",
                    "set": json.dumps(person_set) if person_set else None,
                    "set_once": json.dumps({"first_seen": iso(happened)}) if self._random.random() < 0.3 else None,
                }
            )
        with self._lock:
            self.events.extend(added)
            self.events.sort(key=lambda event: (event["_inserted_at"], event["uuid"]))
        return added

    def events_between(self, start: datetime, end: datetime) -> List[Dict[str, Any]]:
        """The raw events with `_inserted_at` in [start, end), in export order."""
        with self._lock:
            return [dict(event) for event in self.events if start <= event["_inserted_at"] < end]

    # HTTP plumbing
    def error_response(self, status: int, headers: Optional[Dict[str, str]] = None) -> Response:
        if status == 429:
            return drf_error(429, "throttled", "Request was throttled.", "throttled_error", headers=headers)
        if status >= 500:
            return drf_error(status, "error", "A server error occurred.", "server_error", headers=headers)
        if status == 404:
            return drf_error(404, "not_found", "Not found.", "invalid_request", headers=headers)
        return drf_error(status, "invalid_input", f"HTTP {status}", "validation_error", headers=headers)

    def route(self, method: str, path_regex: str, handler) -> None:
        def guarded(request: Request) -> Response:
            try:
                self._authorise(request, WRITE if request.method == "POST" else READ)
                return handler(request)
            except PostHogApiError as error:
                return drf_error(error.status, error.code, error.detail, error.kind, error.attr)

        super().route(method, path_regex, guarded)

    def _authorise(self, request: Request, scope: str) -> None:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise PostHogApiError(401, "authentication_failed", "Invalid personal API key.", "authentication_error")
        if scope not in self.scopes:
            raise PostHogApiError(
                403, "permission_denied", f"API key missing required scope '{scope}'", "authentication_error"
            )
        env = request.params.get("env")
        if env is not None and int(env) not in (ENVIRONMENT_ID, OTHER_ENVIRONMENT_ID):
            raise PostHogApiError(
                403, "permission_denied", "You don't have access to the project.", "authentication_error"
            )

    @staticmethod
    def _json(status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> Response:
        return Response(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())

    # batch exports, runs, logs
    def _list_org_batch_exports(self, request: Request) -> Response:
        if request.params["org"] != ORGANIZATION_ID:
            raise PostHogApiError(404, "not_found", "Not found.", "invalid_request")
        return self._offset_page(request, self.batch_exports)

    def _list_env_batch_exports(self, request: Request) -> Response:
        team = int(request.params["env"])
        return self._offset_page(request, [be for be in self.batch_exports if be["team_id"] == team])

    def _offset_page(self, request: Request, items: List[Dict[str, Any]]) -> Response:
        limit = min(int(request.query.get("limit") or 100), 2)  # tiny pages: small data still spans pages
        offset = int(request.query.get("offset") or 0)

        def link(at: int) -> str:
            return f"{self.url}{request.path}?{urlencode({'limit': limit, 'offset': at})}"

        return self._json(
            200,
            {
                "count": len(items),
                "next": link(offset + limit) if offset + limit < len(items) else None,
                "previous": link(max(0, offset - limit)) if offset > 0 else None,
                "results": items[offset : offset + limit],
            },
        )

    def _batch_export(self, request: Request) -> Dict[str, Any]:
        for be in self.batch_exports:
            if be["id"] == request.params["id"] and be["team_id"] == int(request.params["env"]):
                return be
        raise PostHogApiError(404, "not_found", "Not found.", "invalid_request")

    def _list_runs(self, request: Request) -> Response:
        runs = self.runs[self._batch_export(request)["id"]]
        size = min(int(request.query.get("limit") or 100), self.runs_page_size)
        cursor = request.query.get("cursor")
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode().split("=")[1]) if cursor else 0

        def link(at: int) -> str:
            token = base64.urlsafe_b64encode(f"o={at}".encode()).decode()
            return f"{self.url}{request.path}?{urlencode({'cursor': token, 'limit': size})}"

        return self._json(
            200,
            {
                "next": link(offset + size) if offset + size < len(runs) else None,
                "previous": link(max(0, offset - size)) if offset else None,
                "results": runs[offset : offset + size],
            },
        )

    def _list_logs(self, request: Request) -> Response:
        batch_export = self._batch_export(request)
        limit = int(request.query.get("limit") or 50)
        if not 1 <= limit <= MAX_LOGS_LIMIT:
            raise PostHogApiError(400, "invalid_input", f"Ensure limit is at most {MAX_LOGS_LIMIT}.", attr="limit")
        after = parse_time(request.query["after"]) if request.query.get("after") else None
        before = parse_time(request.query["before"]) if request.query.get("before") else None
        with self._lock:
            entries = [
                entry
                for entry in self.logs[batch_export["id"]]
                if (after is None or parse_time(entry["timestamp"]) > after)
                and (before is None or parse_time(entry["timestamp"]) < before)
            ]
        return self._json(200, {"results": entries[:limit]})

    # file downloads
    def _create_export(self, request: Request) -> Response:
        body = json.loads(request.body or b"{}")
        busy = self.faults.take_busy()
        if busy is not None:
            headers = {"Retry-After": str(busy[1])} if busy[1] is not None else {}
            return drf_error(
                429,
                "too_many_concurrent_file_downloads",
                "Too many concurrent file downloads are running for this team; try again later.",
                "throttled_error",
                headers=headers,
            )
        model = body.get("model")
        if model not in ("events", "persons", "sessions"):
            raise PostHogApiError(400, "invalid_choice", f'"{model}" is not a valid choice.', attr="model")
        file = body.get("file") or {}
        if file.get("format") not in ("JSONLines", "Parquet"):
            raise PostHogApiError(400, "invalid_choice", "Invalid file format.", attr="file")
        try:
            start, end = parse_time(body["data_interval_start"]), parse_time(body["data_interval_end"])
        except (KeyError, ValueError) as error:
            raise PostHogApiError(400, "required", "This field is required.", attr="data_interval_start") from error
        if not start < end or end - start > timedelta(days=7):
            raise PostHogApiError(
                400, "invalid_input", "The interval must be at most 7 days.", attr="data_interval_end"
            )
        if end > datetime.now(UTC) + timedelta(seconds=1):
            raise PostHogApiError(
                400, "invalid_input", "The interval may not end in the future.", attr="data_interval_end"
            )
        rows = self.events_between(start, end) if model == "events" else []
        export = FileDownload(
            id=self._export_id(body),
            model=model,
            start=start,
            end=end,
            file_format=file["format"],
            compression=file.get("compression"),
            rows=len(rows),
            created_at=time.monotonic(),
        )
        failure = self.faults.take_export_failure()
        if failure is not None:
            export.failure = (failure[1], failure[2])
        for index in range(0, len(rows), self.rows_per_part):
            self._store_part(export, rows[index : index + self.rows_per_part])
        with self._lock:
            self.exports[export.id] = export
            running = sum(1 for known in self.exports.values() if not self._finished(known))
            self.max_running_exports = max(self.max_running_exports, running)
        return self._json(202, {"id": export.id})

    def _export_id(self, body: Dict[str, Any]) -> str:
        """A random id, or (deterministic) one named by the export's request and how often it was made."""
        if not self.deterministic:
            return str(uuid.uuid4())
        made = json.dumps(body, sort_keys=True)
        with self._lock:
            taken = set(self.exports)
        candidates = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"posthog-export:{made}:{n}")) for n in itertools.count())
        return next(candidate for candidate in candidates if candidate not in taken)

    def _finished(self, export: FileDownload) -> bool:
        """Completed (or failed) for the poll counter, or by elapsed time with `export_seconds`."""
        if self.export_seconds is not None:
            return time.monotonic() - export.created_at >= self.export_seconds
        return export.polls >= 3

    def _store_part(self, export: FileDownload, rows: List[Dict[str, Any]]) -> None:
        part = f"{export.id}:{len(export.files)}"
        file_id = str(uuid.uuid5(uuid.NAMESPACE_URL, part)) if self.deterministic else str(uuid.uuid4())
        if export.file_format == "Parquet":
            data, suffix = self._parquet(rows, export.compression), ".parquet"
        else:
            text = "".join(json.dumps(row, default=str, ensure_ascii=False) + "\n" for row in rows).encode()
            if export.compression == "gzip":
                data, suffix = gzip.compress(text), ".jsonl.gz"
            elif export.compression == "zstd":
                data, suffix = zstandard.ZstdCompressor().compress(text), ".jsonl.zst"
            else:
                data, suffix = text, ".jsonl"
        key = f"posthog/file-downloads/{export.id}/{file_id}{suffix}"
        self.storage.put_bytes(key, data)
        export.files.append(file_id)
        export.keys[file_id] = key

    @staticmethod
    def _parquet(rows: List[Dict[str, Any]], compression: Optional[str]) -> bytes:
        stamp = pa.timestamp("us", tz="UTC")
        schema = pa.schema(
            [
                ("uuid", pa.string()),
                ("team_id", pa.int64()),
                ("timestamp", stamp),
                ("_inserted_at", stamp),
                ("created_at", stamp),
                ("event", pa.string()),
                ("properties", pa.string()),
                ("distinct_id", pa.string()),
                ("set", pa.string()),
                ("set_once", pa.string()),
            ]
        )
        table = pa.Table.from_pylist(rows, schema=schema)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression=compression or "none")
        return buffer.getvalue()

    def _export(self, request: Request) -> FileDownload:
        with self._lock:
            export = self.exports.get(request.params["id"])
        if export is None or int(request.params["env"]) != ENVIRONMENT_ID:
            raise PostHogApiError(404, "not_found", "Not found.", "invalid_request")
        return export

    def _get_export(self, request: Request) -> Response:
        export = self._export(request)
        export.polls += 1
        if self.export_seconds is not None:  # finishes by elapsed time, files listed at once
            if not self._finished(export):
                return self._json(200, {"id": export.id, "status": "Running"})
            export.polls = max(export.polls, 4)
        if export.polls == 1:
            return self._json(200, {"id": export.id, "status": "Starting"})
        if export.polls == 2:
            return self._json(200, {"id": export.id, "status": "Running"})
        if export.failure:
            status, error = export.failure
            return self._json(200, {"id": export.id, "status": status, "error": error})
        files = export.files if export.polls >= 4 else []  # files appear one poll after Completed
        return self._json(
            200, {"id": export.id, "status": "Completed", "files": files, "records_completed": export.rows}
        )

    def _download(self, request: Request) -> Response:
        export = self._export(request)
        if self.faults.take_expiry():
            export.expired = True
        if export.expired:
            raise PostHogApiError(400, "invalid_input", "This file download batch export has expired.")
        part = request.params["part"]
        if part.isdigit() and int(part) < len(export.files):
            part = export.files[int(part)]
        if part not in export.keys:
            raise PostHogApiError(404, "not_found", "Not found.", "invalid_request")
        location = self.storage.sign(export.keys[part], ttl_seconds=self.url_ttl_seconds)
        return Response(302, {"Location": location, "Content-Type": "text/plain"}, b"")
