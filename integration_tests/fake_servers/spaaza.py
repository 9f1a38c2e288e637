"""`FakeSpaaza`: the Spaaza Services API's Tasks endpoints, built from the seed page and api-notes §3.

What it implements: `Authorization: Bearer {id}:{secret}` (401 otherwise), `GET /tasks` as a bare
JSON array with `status`/`action` filters and `limit`/`offset`, `GET /tasks/{id}`, `POST /tasks`,
`POST /tasks/{id}/execute`, and `GET /tasks/{id}/download_url` with the seed's error texts. An
executed task moves READY → INPROGRESS → DONE (or ERROR) over successive polls of
`GET /tasks/{id}`; on DONE it writes `{Index}_Export-{id}.{csv|json}` into the shared
`FakeStorage` and hands out expiring signed URLs to it. Segment rules `is_between_date`,
`is_after_date` and `is_before_date` filter on the rule's date field: bounds inclusive unless
`date_bounds` says another reading (`DATE_BOUNDS`), as Spaaza does not publish which it is.

Errors are JSON `{"error": {"message": ...}}`; the HTTP codes Spaaza uses for the task errors are
unpublished, so this fake answers 400 for them (the connector must classify by message text).

    with FakeStorage() as storage, FakeSpaaza(storage) as spaaza:
        spaaza.add_done_export("users")           # a finished export made in the console
        spaaza.fail_next_export(["disk full"])    # the next executed export ends in ERROR
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

from integration_tests.fake_servers.base import DROP, FakeServer, Request, Response
from integration_tests.fake_servers.storage import FakeStorage

TOKEN_ID = "fake-token-id"
TOKEN_SECRET = "fake-token-secret"
CHAIN_ID = 1764
INDEXES = ("transactions", "users", "vouchers", "wallet-ledger", "products", "product-variants")
FILE_PREFIX = {
    "transactions": "Transaction",
    "users": "User",
    "vouchers": "Voucher",
    "wallet-ledger": "Wallet",
    "products": "Product",
    "product-variants": "ProductVariant",
}
DATE_FIELDS = {"transactions": "timestamp", "wallet-ledger": "timestamp", "vouchers": "date_time_redeemed"}

NOT_DONE = "task status is not DONE"
NOT_AN_EXPORT = "invalid task type: only export tasks actions are allowed"
INVALID_RESULT = "the task completed successfully, but contains an invalid result"
NOT_FOUND = "No task exists with the specified ID for this chain."

# Values that break naive CSV handling: quoted newlines, commas, quotes, unicode, empty strings.
TRICKY = ("plain", "comma, inside", 'quote " inside', "line one\nline two", "Zürich 東京 🚀", "", "crlf\r\ninside")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def spaaza_error(status: int, message: str) -> Response:
    body = json.dumps({"error": {"code": status, "message": message}}).encode()
    return Response(status, {"Content-Type": "application/json"}, body)


def build_dataset(now: datetime) -> Dict[str, List[Dict[str, str]]]:
    """Deterministic rows per index, dated over the 60 days before `now`; values are strings like a CSV's."""
    rows: Dict[str, List[Dict[str, str]]] = {index: [] for index in INDEXES}
    for number in range(1, 25):
        stamp = iso(now - timedelta(days=60) + timedelta(days=2.4 * number, hours=number % 5))
        rows["transactions"].append(
            {
                "id": str(1000 + number),
                "user_id": str(number % 7),
                "total": f"{number * 3.25:.2f}",
                "timestamp": stamp,
                "note": TRICKY[number % len(TRICKY)],
            }
        )
        rows["wallet-ledger"].append(
            {
                "id": str(5000 + number),
                "wallet_id": f"0{number % 4}",
                "amount": str(number - 12),
                "timestamp": stamp,
                "reason": TRICKY[(number + 2) % len(TRICKY)],
            }
        )
        redeemed = "" if number % 3 == 0 else stamp
        rows["vouchers"].append(
            {
                "id": str(7000 + number),
                "status": "redeemed" if redeemed else "issued",
                "date_time_redeemed": redeemed,
                "description": TRICKY[(number + 4) % len(TRICKY)],
            }
        )
    for number in range(1, 8):
        rows["users"].append(
            {
                "id": str(number),
                "email": f"user{number}@example.com",
                "first_name": TRICKY[number % len(TRICKY)],
                "created_date": iso(now - timedelta(days=number)),
            }
        )
        rows["products"].append({"id": str(300 + number), "name": f"Product {number}, size {number}"})
        variant = {"id": str(900 + number), "product_id": str(300 + number), "sku": f"00{number}"}
        rows["product-variants"].append(variant)
    return rows


class FakeSpaaza(FakeServer):
    """Spaaza's Tasks API over an in-memory dataset, exporting files into `storage`.

    Options: `polls_to_finish` (GETs of an executed task before it is DONE: the first answers
    INPROGRESS), `url_ttl_seconds`, `now` (dataset anchor), `page_limit_cap` (largest `limit` honoured),
    `hold_until_executed` (executed tasks stay INPROGRESS until that many tasks were executed: proves
    exports overlap without timing), `export_seconds` (for benchmarks: an executed task is DONE at the
    first GET that long after its execution, instead of after `polls_to_finish` GETs), `seed` (start
    with console-made DONE exports of users (CSV), products (JSON) and transactions (CSV), an ERROR
    export and a non-export task, so a default config reads something), `deterministic` (task
    timestamps come from `now` instead of the wall clock, and a created task's id from what it
    exports, so a read is reproducible whatever order concurrent exports are created in),
    `date_bounds` (how segment date rules read their bounds, one of `DATE_BOUNDS`; inclusive to
    the second by default).
    """

    config_key = "spaaza"

    def __init__(
        self,
        storage: FakeStorage,
        polls_to_finish: int = 2,
        url_ttl_seconds: int = 3600,
        now: Optional[datetime] = None,
        page_limit_cap: int = 100,
        seed: bool = True,
        hold_until_executed: int = 0,
        export_seconds: float = 0.0,
        deterministic: bool = False,
        date_bounds: str = "inclusive",
    ) -> None:
        super().__init__()
        if date_bounds not in DATE_BOUNDS:
            raise ValueError(f"date_bounds must be one of {', '.join(DATE_BOUNDS)}, not {date_bounds!r}")
        self.date_bounds = date_bounds
        self.deterministic = deterministic
        self.storage = storage
        self.polls_to_finish = polls_to_finish
        self.url_ttl_seconds = url_ttl_seconds
        self.page_limit_cap = page_limit_cap
        self.clock = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        self.rows = build_dataset(self.clock)
        self.tasks: Dict[int, Dict[str, Any]] = {}
        self.created_bodies: List[Dict[str, Any]] = []
        self._ids = itertools.count(12345)
        self._lock = threading.Lock()
        self._polls_left: Dict[int, int] = {}
        self._failures: List[List[str]] = []
        self._invalid_results = 0
        self._never_finish = False
        self._after_acting: Dict[str, List[int]] = {"create": [], "execute": []}
        self.unauthorized = 0
        self._not_done_answers = 0
        self.hold_until_executed = hold_until_executed
        self.executed = 0
        self.export_seconds = export_seconds
        self._executed_at: Dict[int, float] = {}
        self.in_progress = 0
        self.max_in_progress = 0
        """Executed tasks not yet DONE or ERROR: now, and the most at any moment."""
        self.route("GET", r"/tasks", self._list)
        self.route("POST", r"/tasks", self._create)
        self.route("GET", r"/tasks/(?P<id>\d+)", self._get)
        self.route("POST", r"/tasks/(?P<id>\d+)/execute", self._execute)
        self.route("GET", r"/tasks/(?P<id>\d+)/download_url", self._download_url)
        if seed:
            self.seed()

    def seed(self) -> None:
        """Console-made history: DONE exports of three indexes, a failed export, a non-export task."""
        self.add_done_export("users", last_run=self.clock - timedelta(hours=2))
        self.add_done_export("products", "json", last_run=self.clock - timedelta(hours=1))
        self.add_done_export("transactions", last_run=self.clock - timedelta(hours=3))
        once = {"once": iso(self.clock)}
        failed = self.add_task(self._new_task("vouchers", "csv", "Voucher export that failed", once))
        failed["state"]["code"] = "ERROR"
        failed["logs"] = [{"level": "error", "message": "export failed: index unavailable"}]
        other = self.add_task(self._new_task("users", "csv", "Birthday campaign", once))
        other["target"] = {"action": "campaign", "campaign_id": 42}
        other["state"]["code"] = "DONE"

    # what tests configure
    def config_block(self, **overrides: Any) -> Dict[str, Any]:
        block = {
            "services_api_url": self.url,
            "access_token_id": TOKEN_ID,
            "access_token_secret": TOKEN_SECRET,
            "chain_id": CHAIN_ID,
            "poll_interval_seconds": 0.01,
            "job_timeout_minutes": 1,
        }
        block.update(overrides)
        return block

    def add_task(self, task: Dict[str, Any]) -> Dict[str, Any]:
        """Store any task as-is (an id is assigned when missing)."""
        with self._lock:
            task.setdefault("id", next(self._ids))
            self.tasks[task["id"]] = task
        return task

    def add_done_export(
        self,
        index: str,
        export_format: str = "csv",
        rows: Optional[Sequence[Dict[str, Any]]] = None,
        last_run: Optional[datetime] = None,
        desc: str = "Console export",
    ) -> Dict[str, Any]:
        """A DONE export task (as made in Spaaza's console) with its file already in storage."""
        task = self.add_task(self._new_task(index, export_format, desc, trigger={"once": iso(self.clock)}))
        task["state"].update(code="DONE", last_run_date=iso(last_run or self.clock))
        self._write_file(task, list(self.rows[index] if rows is None else rows))
        return task

    def add_rows(self, index: str, rows: Sequence[Dict[str, str]]) -> None:
        with self._lock:
            self.rows[index].extend(rows)

    def fail_next_export(self, logs: Sequence[str]) -> None:
        """The next executed export ends in ERROR with these log messages."""
        with self._lock:
            self._failures.append(list(logs))

    def invalid_result_next(self) -> None:
        """The next export reaches DONE without a usable file (download_url answers INVALID_RESULT)."""
        with self._lock:
            self._invalid_results += 1

    def answer_not_done_next(self, times: int = 1) -> None:
        """The next `times` download_url calls answer "task status is not DONE" although the task is DONE."""
        with self._lock:
            self._not_done_answers += times

    def fail_after_acting(self, call: str, status: int = 503, times: int = 1) -> None:
        """The next `times` `call`s ("create": POST /tasks, "execute") take effect, then answer `status`
        (`DROP`: the connection closes without an answer), as a proxy or a crash after the commit would."""
        with self._lock:
            self._after_acting[call].extend([status] * times)

    def _answer_after_acting(self, call: str, answer: Response) -> Response:
        with self._lock:
            status = self._after_acting[call].pop(0) if self._after_acting[call] else None
        if status is None:
            return answer
        return Response(DROP) if status == DROP else spaaza_error(status, "Service Unavailable")

    def never_finish(self) -> None:
        """Executed exports stay INPROGRESS forever (for timeouts)."""
        self._never_finish = True

    def expected_rows(self, index: str, segment: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """The rows an export of `index` with `segment` holds, in file order."""
        with self._lock:
            rows = list(self.rows[index])
        return [row for row in rows if matches(row, segment, self.date_bounds)]

    def file_key(self, task: Dict[str, Any]) -> str:
        extension = task["target"].get("export_format", "csv")
        return f"spaaza/{FILE_PREFIX[task['target']['export_index']]}_Export-{task['id']}.{extension}"

    # handlers
    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN_ID}:{TOKEN_SECRET}"

    def handle(self, request: Request) -> Response:
        if not self._authorized(request):
            self.unauthorized += 1
            return spaaza_error(401, "No valid authentication provided or insufficient permissions.")
        return super().handle(request)

    def _list(self, request: Request) -> Response:
        try:
            limit = min(int(request.query.get("limit", 20)), self.page_limit_cap)
            offset = int(request.query.get("offset", 0))
        except ValueError:
            return spaaza_error(400, "limit and offset must be integers")
        status, action = request.query.get("status"), request.query.get("action")
        with self._lock:
            tasks = [copy.deepcopy(task) for _, task in sorted(self.tasks.items())]
        tasks = [
            task
            for task in tasks
            if (not status or task["state"]["code"] == status)
            and (not action or task["target"].get("action") == action)
        ]
        return self._json(200, tasks[offset : offset + limit])

    def _create(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
            index = body["target"]["export_index"]
            action = body["target"]["action"]
        except (ValueError, KeyError, TypeError):
            return spaaza_error(400, "invalid task: target.action and target.export_index are required")
        if body.get("chain") != CHAIN_ID:
            return spaaza_error(403, "chain does not match the authenticated chain")
        if action == "export" and index not in INDEXES:
            return spaaza_error(400, f"invalid export_index {index}")
        self.created_bodies.append(body)
        task = self._new_task(index, body["target"].get("export_format", "csv"), body.get("desc", ""), body["trigger"])
        task["target"] = dict(body["target"])
        if self.deterministic:
            self._add_with_content_id(task, body)
        else:
            self.add_task(task)
        return self._answer_after_acting("create", self._json(201, task))

    def _add_with_content_id(self, task: Dict[str, Any], body: Dict[str, Any]) -> None:
        """Store `task` under an id from the export it makes (target and segment; not `trigger.once`,
        the client's clock): the first free one from a hash, so the same exports get the same ids."""
        made = {"target": body["target"], "segment": body["trigger"].get("segment")}
        candidate = 100_000 + zlib.crc32(json.dumps(made, sort_keys=True).encode()) % 900_000
        with self._lock:  # find and take the id at once: concurrent creations must not share one
            while candidate in self.tasks:
                candidate += 1
            task["id"] = candidate
            self.tasks[candidate] = task

    def _wall_clock(self) -> datetime:
        """The wall clock, or the fixed `now` of a deterministic fake."""
        return self.clock if self.deterministic else datetime.now(timezone.utc)

    def _get(self, request: Request) -> Response:
        task = self._task(request)
        if task is None:
            return spaaza_error(404, NOT_FOUND)
        with self._lock:
            left = self._polls_left.get(task["id"])
            held = self.executed < self.hold_until_executed
            if left is not None and not self._never_finish and not held:
                self._polls_left[task["id"]] = left - 1
                finished = left - 1 <= 0
                if self.export_seconds:
                    finished = time.monotonic() - self._executed_at[task["id"]] >= self.export_seconds
            else:
                finished = False
        if finished:
            self._finish(task)
        return self._json(200, task)

    def _execute(self, request: Request) -> Response:
        task = self._task(request)
        if task is None:
            return spaaza_error(404, NOT_FOUND)
        with self._lock:
            self.executed += 1
            if task["state"].get("code") != "INPROGRESS":
                self.in_progress += 1
                self.max_in_progress = max(self.max_in_progress, self.in_progress)
            task["state"].update(code="INPROGRESS", last_run_date=iso(self._wall_clock()))
            self._polls_left[task["id"]] = self.polls_to_finish
            self._executed_at[task["id"]] = time.monotonic()
        return self._answer_after_acting("execute", self._json(200, task))

    def _download_url(self, request: Request) -> Response:
        task = self._task(request)
        if task is None:
            return spaaza_error(404, NOT_FOUND)
        if task["target"].get("action") != "export":
            return spaaza_error(400, NOT_AN_EXPORT)
        with self._lock:
            pretend_not_done = self._not_done_answers > 0
            self._not_done_answers -= 1 if pretend_not_done else 0
        if task["state"]["code"] != "DONE" or pretend_not_done:
            return spaaza_error(400, NOT_DONE)
        if task.get("_invalid_result"):
            return spaaza_error(400, INVALID_RESULT)
        return self._json(200, {"url": self.storage.sign(self.file_key(task), ttl_seconds=self.url_ttl_seconds)})

    # lifecycle
    def _finish(self, task: Dict[str, Any]) -> None:
        with self._lock:
            self._polls_left.pop(task["id"], None)
            self.in_progress -= 1 if task["state"].get("code") == "INPROGRESS" else 0
            failure = self._failures.pop(0) if self._failures else None
            invalid = self._invalid_results > 0
            if invalid and failure is None:
                self._invalid_results -= 1
        if failure is not None:
            task["state"]["code"] = "ERROR"
            task["logs"] = [{"level": "error", "message": text} for text in failure]
            return
        index = task["target"]["export_index"]
        if invalid:
            task["_invalid_result"] = True
        else:
            self._write_file(task, self.expected_rows(index, task["trigger"].get("segment")))
        task["state"]["code"] = "DONE"
        task["logs"] = [{"level": "info", "message": "export finished"}]

    def _write_file(self, task: Dict[str, Any], rows: List[Dict[str, Any]]) -> None:
        key = self.file_key(task)
        if task["target"].get("export_format") == "json":
            self.storage.put_bytes(key, json.dumps(rows, ensure_ascii=False).encode(), "application/json")
            return
        columns = list(dict.fromkeys(column for row in rows for column in row))
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        self.storage.put_bytes(key, text.getvalue().encode(), "text/csv")

    def _new_task(self, index: str, export_format: str, desc: str, trigger: Dict[str, Any]) -> Dict[str, Any]:
        now = iso(self._wall_clock())
        return {
            "chain": CHAIN_ID,
            "desc": desc,
            "state": {"code": "READY", "last_run_date": None, "last_modified": now, "created_date": now},
            "trigger": copy.deepcopy(trigger),
            "target": {"action": "export", "export_index": index, "export_format": export_format},
            "logs": [],
            "debug": "",
            "version": 1,
        }

    def _task(self, request: Request) -> Optional[Dict[str, Any]]:
        with self._lock:
            return self.tasks.get(int(request.params["id"]))

    @staticmethod
    def _json(status: int, body: Any) -> Response:
        visible = strip_private(body)
        return Response(status, {"Content-Type": "application/json"}, json.dumps(visible).encode())


def strip_private(body: Any) -> Any:
    """Drop the fake's own bookkeeping keys (leading underscore) from what clients see."""
    if isinstance(body, list):
        return [strip_private(item) for item in body]
    if isinstance(body, dict):
        return {key: value for key, value in body.items() if not key.startswith("_")}
    return body


DATE_BOUNDS = ("inclusive", "exclusive", "start-exclusive", "end-exclusive", "day-inclusive", "day-exclusive")
"""How the date rules may read their bounds (Spaaza does not say): to the second, both bounds in or
out or one of each; or by the day only (the time of day ignored, both bounds in or out)."""


def matches(row: Dict[str, Any], segment: Optional[Dict[str, Any]], date_bounds: str = "inclusive") -> bool:
    """Whether `row` passes every date rule of `segment` (join "all"); rows without the date never match."""
    if not segment:
        return True
    for rule in segment.get("rules", []):
        value = row.get(rule["field_name"])
        if not value:
            return False
        moment = parse_time(value)
        operator = rule["operator"]
        if operator not in ("is_between_date", "is_after_date", "is_before_date"):
            raise ValueError(f"FakeSpaaza does not implement operator {operator}")
        has_start, has_end = operator in ("is_between_date", "is_after_date"), operator != "is_after_date"
        if has_start and not after_start(moment, rule["start_date"], date_bounds):
            return False
        if has_end and not before_end(moment, rule["end_date"], date_bounds):
            return False
    return True


def after_start(moment: datetime, start: str, date_bounds: str) -> bool:
    """`moment` passes a rule's `start_date` as `date_bounds` reads it."""
    bound = parse_time(start)
    if date_bounds.startswith("day-"):
        moment_day, bound_day = moment.date(), bound.date()
        return moment_day > bound_day if date_bounds == "day-exclusive" else moment_day >= bound_day
    return moment > bound if date_bounds in ("exclusive", "start-exclusive") else moment >= bound


def before_end(moment: datetime, end: str, date_bounds: str) -> bool:
    """`moment` passes a rule's `end_date` as `date_bounds` reads it."""
    bound = parse_time(end)
    if date_bounds.startswith("day-"):
        moment_day, bound_day = moment.date(), bound.date()
        return moment_day < bound_day if date_bounds == "day-exclusive" else moment_day <= bound_day
    return moment < bound if date_bounds in ("exclusive", "end-exclusive") else moment <= bound
