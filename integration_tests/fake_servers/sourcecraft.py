"""`FakeSourceCraft`: SourceCraft's CI/CD API for one repository, built from its API pages and api-notes §2.

What the connector relies on, for real over HTTP: Bearer token check, the error body
`{error_code, message, request_id, details}` on every 4xx/5xx, the run list paged with
`page_size`/`page_token` (short pages: at most `max_page_size` runs whatever was asked, and a
token only valid with the same `page_size`), newest first (or oldest first with
`newest_first=False`), one run with its workflow → task → cube → artifact tree, and each cube's
artifacts with a short-lived `download_url` signed by the shared `FakeStorage`.

Retention, whichever way SourceCraft applies it: by default storage keeps every artifact, so old
ones (`add_run(..., hours_ago=20 * 24)`) are still listed as `success` with a working
`download_url`. With `retention_days=14` an artifact whose `updated_at` is older than that is still
listed as `success`, but storage refuses it with `retention_answer`: 404 (object deleted), 403 or
410 (deleted, and storage says so that way), or `"no_url"` (listed with an empty `download_url`).

The default dataset has runs in every status (success, failed, canceled, timeout, processing,
created) and artifacts in every status (registered, success, failed, missing): a JUnit report,
a CSV, a JSON object, a JSON array, a JSON Lines file, a binary file and a log. The fake keeps
the rows each report holds, so tests compare records value by value:

    with FakeStorage() as storage, FakeSourceCraft(storage) as sourcecraft:
        sourcecraft.expected_rows(artifact_id)      # what the connector must emit for a report
        sourcecraft.finish_run("5")                 # a processing run finishes between two syncs
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import itertools
import json
import random
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from integration_tests.fake_servers.base import FakeServer, Request, Response
from integration_tests.fake_servers.storage import FakeStorage

NAMESPACE = uuid.UUID("5f1c2a9e-7b3d-4e8f-a6c1-0d2e4f6a8b9c")
FINISHED = ("success", "failed", "canceled", "timeout")
ERROR_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

JUNIT_CASES = [
    # suite, classname, name, time, status, message, type, details
    ("unit", "tests.test_math", "test_add", 0.012, "passed", None, None, None),
    (
        "unit",
        "tests.test_math",
        "test_divide_by_zero",
        0.5,
        "failed",
        "assert 1 == 2",
        "AssertionError",
        "def test_divide_by_zero():\n>   assert 1 == 2\nE   assert 1 == 2",
    ),
    (
        "unit",
        "tests.test_io",
        'test_read <file> & "quotes"',
        1.25,
        "error",
        "OSError: disk gone",
        "OSError",
        "Traceback (most recent call last):\n  OSError: disk gone",
    ),
    ("unit", "tests.test_io", "test_slow", 0.0, "skipped", "needs network", "pytest.skip", None),
    ("integration", "tests.e2e.test_api", "test_ünïcødé_名前", 3.0, "passed", None, None, None),
]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(*parts: Any) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


def junit_xml(cases: Sequence[Tuple]) -> bytes:
    """A JUnit report (as pytest writes it) holding `cases`."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', "<testsuites>"]
    for suite, group in itertools.groupby(cases, key=lambda case: case[0]):
        group = list(group)
        out.append(f'  <testsuite name={quoteattr(suite)} tests="{len(group)}">')
        for _, classname, name, time, status, message, kind, details in group:
            out.append(f'    <testcase classname={quoteattr(classname)} name={quoteattr(name)} time="{time}">')
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(status)
            if tag:
                attributes = f" message={quoteattr(message)}" + (f" type={quoteattr(kind)}" if kind else "")
                out.append(f"      <{tag}{attributes}>{xml_escape(details or '')}</{tag}>")
            out.append("      <system-out>captured output</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out).encode("utf-8")


def junit_rows(cases: Sequence[Tuple]) -> List[Dict[str, Any]]:
    keys = ("suite", "classname", "name", "time", "status", "failure_message", "failure_type", "failure_details")
    rows = []
    for case in cases:
        row = dict(zip(keys, case))
        if row["status"] == "passed":
            row.update(failure_message=None, failure_type=None, failure_details=None)
        rows.append(row)
    return rows


def csv_bytes(rows: Sequence[Mapping[str, str]]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


COVERAGE_ROWS = [
    {"file": "src/app.py", "lines": "120", "covered": "96", "note": "ok"},
    {"file": "src/with, comma.py", "lines": "007", "covered": "0", "note": 'multi\nline "quoted"'},
    {"file": "src/ünïcødé.py", "lines": "10", "covered": "10", "note": ""},
]
SIZE_METRICS = {"artifact": "app.bin", "bytes": 4096, "ratio": 0.5, "tags": ["release", None], "nested": {"a": 1}}
BENCH_ROWS = [{"name": "parse", "ns_per_op": 1250.5, "allocs": 3}, {"name": "write", "ns_per_op": 98.25, "allocs": 0}]
EVENT_ROWS = [
    {"event": "start", "at": "2025-01-01T00:00:00Z", "value": None},
    {"event": "step", "at": "2025-01-01T00:00:01Z", "value": {"n": 1}},
    {"event": "end", "at": "2025-01-01T00:00:02Z", "value": [1, 2, 3]},
]


class FakeSourceCraft(FakeServer):
    """SourceCraft's API over an in-memory repository; artifact bodies live in `storage`.

    Options: `token`, `org_slug`, `repo_slug`, `max_page_size` (server-side cap: short pages),
    `url_ttl_seconds` (download URL lifetime), `newest_first`, `now` (anchor of the dataset),
    `seed_default` (False: start empty and build runs with `add_run`), `retention_days` and
    `retention_answer` (storage refuses artifacts older than that, see the module docstring).
    """

    config_key = "sourcecraft"

    def __init__(
        self,
        storage: FakeStorage,
        token: str = "sc-test-token-0123456789",
        org_slug: str = "acme",
        repo_slug: str = "widgets",
        max_page_size: int = 2,
        url_ttl_seconds: int = 60,
        newest_first: bool = True,
        now: Optional[datetime] = None,
        seed_default: bool = True,
        retention_days: Optional[float] = None,
        retention_answer: Union[int, str] = 404,
    ) -> None:
        super().__init__()
        self.storage = storage
        self.token = token
        self.org_slug = org_slug
        self.repo_slug = repo_slug
        self.max_page_size = max_page_size
        self.url_ttl_seconds = url_ttl_seconds
        self.newest_first = newest_first
        self.retention_days = retention_days
        self.retention_answer = retention_answer
        self.retired: Set[str] = set()  # ids of artifacts whose contents storage no longer serves
        self.clock = (now or datetime.now(timezone.utc) - timedelta(minutes=5)).replace(microsecond=0)
        self.runs: Dict[str, Dict[str, Any]] = {}
        self.artifacts: Dict[Tuple[str, str, str, str], List[Dict[str, Any]]] = {}
        self.bodies: Dict[str, bytes] = {}  # artifact id -> contents
        self.rows: Dict[str, List[Dict[str, Any]]] = {}  # artifact id -> rows the connector must emit
        self.request_ids: List[str] = []
        self._lock = threading.RLock()
        self._request_counter = itertools.count(1)
        repo = r"/repos/(?P<org>[^/]+)/(?P<repo>[^/]+)/cicd"
        self.route("GET", repo + r"/runs", self._authorized(self._list_runs))
        self.route("GET", repo + r"/runs/(?P<run>[^/]+)", self._authorized(self._get_run))
        self.route(
            "GET",
            repo + r"/artifacts/(?P<run>[^/]+)/(?P<workflow>[^/]+)/(?P<task>[^/]+)/(?P<cube>[^/]+)",
            self._authorized(self._list_artifacts),
        )
        if seed_default:
            self.seed_default()

    # config and expectations
    def config_block(self, **overrides: Any) -> Dict[str, Any]:
        block = {"api_token": self.token, "api_url": self.url, "org_slug": self.org_slug, "repo_slug": self.repo_slug}
        block.update(overrides)
        return block

    def expected_runs(self) -> List[Dict[str, Any]]:
        """Every run as the list endpoint returns it, newest first (the runs stream's records)."""
        with self._lock:
            return [self._summary(self.runs[slug]) for slug in self._ordered_slugs(newest_first=True)]

    def expected_artifacts(
        self, run_slugs: Optional[Sequence[str]] = None, workflows: Sequence[str] = ()
    ) -> List[Dict[str, Any]]:
        """Artifact records (no download_url, plus the cube's slugs) of the given runs (default: all)."""
        records = []
        with self._lock:
            for (run, workflow, task, cube), items in self.artifacts.items():
                if (run_slugs is None or run in run_slugs) and (not workflows or workflow in workflows):
                    for item in items:
                        record = {key: value for key, value in item.items() if not key.startswith("_")}
                        record.update(run_slug=run, workflow_slug=workflow, task_slug=task, cube_slug=cube)
                        records.append(copy.deepcopy(record))
        return records

    def artifact(self, artifact_id: str) -> Dict[str, Any]:
        """The expected artifact record of one id."""
        (record,) = [item for item in self.expected_artifacts() if item["id"] == artifact_id]
        return record

    def expected_rows(self, artifact_id: str) -> List[Dict[str, Any]]:
        return copy.deepcopy(self.rows[artifact_id])

    # building the repository
    def add_run(
        self,
        status: str,
        workflows: Mapping[str, Mapping[str, Mapping[str, Sequence[Tuple]]]] = {},
        hours_ago: float = 0.0,
    ) -> str:
        """Add a run; `workflows` maps workflow → task → cube → [(local_path, status, body, rows), ...]."""
        with self._lock:
            slug = str(len(self.runs) + 1)
            created = self.clock - timedelta(hours=hours_ago)
            finished = status in FINISHED
            dates = {
                "created_at": iso(created),
                "started_at": iso(created + timedelta(seconds=5)) if status != "created" else None,
                "finished_at": iso(created + timedelta(minutes=3)) if finished else None,
                "updated_at": iso(created + timedelta(minutes=3 if finished else 1)),
            }
            run = {
                "id": stable_id("run", slug),
                "slug": slug,
                "dates": dates,
                "status": status,
                "workflows": [],
                "event_type": "push",
                "error_messages": ["cube pytest exited with 1"] if status == "failed" else [],
                "pull": None,
                "user": {"id": stable_id("user", "octo"), "slug": "octo"},
            }
            for workflow_slug, tasks in workflows.items():
                workflow = {
                    "id": stable_id(slug, workflow_slug),
                    "slug": workflow_slug,
                    "description": "",
                    "dates": dict(dates),
                    "status": status,
                    "tasks": [],
                    "progress": None,
                }
                for task_slug, cubes in tasks.items():
                    task = {
                        "id": stable_id(slug, workflow_slug, task_slug),
                        "slug": task_slug,
                        "description": "",
                        "dates": dict(dates),
                        "status": status,
                        "cubes": [],
                        "progress": {},
                        "relations": {},
                    }
                    for cube_slug, artifacts in cubes.items():
                        key = (slug, workflow_slug, task_slug, cube_slug)
                        self.artifacts[key] = []
                        for local_path, artifact_status, body, rows in artifacts:
                            self.add_artifact(key, local_path, artifact_status, body, rows, created)
                        task["cubes"].append(
                            {
                                "id": stable_id(*key),
                                "slug": cube_slug,
                                "dates": dict(dates),
                                "status": status,
                                "artifacts": None,
                                "relations": {},
                            }
                        )
                    workflow["tasks"].append(task)
                run["workflows"].append(workflow)
            self.runs[slug] = run
            return slug

    def add_artifact(
        self,
        key: Tuple[str, str, str, str],
        local_path: str,
        status: str,
        body: Optional[bytes],
        rows: Optional[List[Dict[str, Any]]] = None,
        at: Optional[datetime] = None,
    ) -> str:
        """Add an artifact to a cube; `rows` are what the connector must read from `body`."""
        with self._lock:
            taken = {item["id"] for item in self.artifacts.get(key, [])}
            artifact_id = stable_id("artifact", *key, local_path)
            for copy_number in itertools.count(2):  # the same local_path twice in a cube: a new id
                if artifact_id not in taken:
                    break
                artifact_id = stable_id("artifact", *key, local_path, copy_number)
            at = at or self.clock
            item = {
                "id": artifact_id,
                "local_path": local_path,
                "dates": {
                    "registered_at": iso(at + timedelta(minutes=1)),
                    "obtained_at": iso(at + timedelta(minutes=2)) if status == "success" else None,
                    "updated_at": iso(at + timedelta(minutes=2)),
                },
                "status": status,
            }
            self.artifacts.setdefault(key, []).append(item)
            if body is not None:
                self.bodies[artifact_id] = body
                self.storage.put_bytes(self._storage_key(artifact_id, local_path), body)
            if rows is not None:
                self.rows[artifact_id] = rows
            return artifact_id

    def delete_contents(self, artifact_id: str) -> None:
        """Storage loses one artifact's contents (404 from then on) while SourceCraft still lists it."""
        with self._lock:
            (item,) = [item for items in self.artifacts.values() for item in items if item["id"] == artifact_id]
            self.storage.delete(self._storage_key(artifact_id, item["local_path"]))

    def finish_run(self, slug: str, status: str = "success") -> None:
        """A running run finishes: its tree and its registered artifacts (now `success`) are final."""
        with self._lock:
            run = self.runs[slug]
            self.clock += timedelta(minutes=10)
            run["status"] = status
            run["dates"].update(finished_at=iso(self.clock), updated_at=iso(self.clock))
            for workflow in run["workflows"]:
                workflow["status"] = status
                for task in workflow["tasks"]:
                    task["status"] = status
                    for cube in task["cubes"]:
                        cube["status"] = status
            for key, items in self.artifacts.items():
                if key[0] == slug:
                    for item in items:
                        if item["status"] == "registered" and item["id"] in self.bodies:
                            item["status"] = "success"
                            item["dates"].update(obtained_at=iso(self.clock), updated_at=iso(self.clock))

    def seed_default(self) -> None:
        """Seven runs in every run status, artifacts in every artifact status, one of each file kind."""
        binary = bytes(random.Random(20250101).getrandbits(8) for _ in range(70_000)) + b"\x00\xff\xfe"
        junit = junit_xml(JUNIT_CASES)
        build = {
            "compile": {
                "make": [
                    ("dist/app.bin", "success", binary, None),
                    ("logs/build.log", "success", b"building...\ndone\n", None),
                    ("metrics/size.json", "success", json.dumps(SIZE_METRICS).encode(), [SIZE_METRICS]),
                ]
            }
        }
        test = {
            "unit": {
                "pytest": [
                    ("reports/junit.xml", "success", junit, junit_rows(JUNIT_CASES)),
                    ("reports/coverage.csv", "success", csv_bytes(COVERAGE_ROWS), COVERAGE_ROWS),
                    (
                        "reports/events.jsonl",
                        "success",
                        b"\n".join(json.dumps(row).encode() for row in EVENT_ROWS) + b"\n",
                        EVENT_ROWS,
                    ),
                    ("reports/registered.xml", "registered", None, None),
                    ("reports/failed.xml", "failed", None, None),
                    ("reports/missing.xml", "missing", None, None),
                ]
            }
        }
        bench = {"perf": {"bench": [("metrics/bench.json", "success", json.dumps(BENCH_ROWS).encode(), BENCH_ROWS)]}}
        self.add_run("success", {"build": build, "test": test}, hours_ago=30)
        self.add_run(
            "failed",
            {
                "test": {
                    "unit": {
                        "pytest": [
                            ("reports/junit.xml", "success", junit_xml(JUNIT_CASES[:2]), junit_rows(JUNIT_CASES[:2]))
                        ]
                    }
                }
            },
            hours_ago=26,
        )
        self.add_run("canceled", {"build": {"compile": {"make": []}}}, hours_ago=20)
        self.add_run("timeout", {"bench": bench}, hours_ago=12)
        late_rows = junit_rows(JUNIT_CASES[4:])
        self.add_run(
            "processing",
            {
                "test": {
                    "unit": {
                        "pytest": [
                            ("reports/junit.xml", "registered", junit_xml(JUNIT_CASES[4:]), late_rows),
                            ("reports/early.csv", "success", csv_bytes(COVERAGE_ROWS[:1]), COVERAGE_ROWS[:1]),
                        ]
                    }
                }
            },
            hours_ago=1,
        )
        self.add_run("success", {"test": {"unit": {"pytest": []}}}, hours_ago=0.5)
        self.add_run("created", {}, hours_ago=0.1)

    # HTTP handlers
    def error_response(self, status: int, headers: Optional[Dict[str, str]] = None) -> Response:
        return self._error(status, f"HTTP {status} from the fake", headers)

    def _error(self, status: int, message: str, headers: Optional[Dict[str, str]] = None, **details: str) -> Response:
        request_id = f"req-{next(self._request_counter):06d}"
        self.request_ids.append(request_id)
        body = {
            "error_code": ERROR_CODES.get(status, "UNKNOWN"),
            "message": message,
            "request_id": request_id,
            "details": details,
        }
        return Response(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())

    def _authorized(self, handler):
        def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return self._error(401, "The access token is invalid or expired")
            if (request.params["org"], request.params["repo"]) != (self.org_slug, self.repo_slug):
                return self._error(404, f"Repository {request.params['org']}/{request.params['repo']} not found")
            with self._lock:
                return handler(request)

        return guarded

    def _list_runs(self, request: Request) -> Response:
        try:
            page_size = int(request.query.get("page_size") or 20)
        except ValueError:
            return self._error(400, "page_size must be an unsigned integer", field="page_size")
        offset = 0
        token = request.query.get("page_token")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset, token_page_size = int(decoded["offset"]), int(decoded["page_size"])
            except (ValueError, KeyError, TypeError):
                return self._error(400, "page_token is malformed", field="page_token")
            if token_page_size != page_size:
                return self._error(400, "page_token does not match the other request parameters", field="page_token")
        slugs = self._ordered_slugs(self.newest_first)
        served = min(page_size, self.max_page_size)
        page = slugs[offset : offset + served]
        body: Dict[str, Any] = {"runs": [self._summary(self.runs[slug]) for slug in page]}
        if offset + served < len(slugs):
            next_token = json.dumps({"offset": offset + served, "page_size": page_size}).encode()
            body["next_page_token"] = base64.urlsafe_b64encode(next_token).decode()
        return self._json(body)

    def _get_run(self, request: Request) -> Response:
        run = self.runs.get(request.params["run"])
        if run is None:
            return self._error(404, f"Run {request.params['run']} not found")
        tree = copy.deepcopy(run)
        for workflow in tree["workflows"]:
            for task in workflow["tasks"]:
                for cube in task["cubes"]:
                    key = (run["slug"], workflow["slug"], task["slug"], cube["slug"])
                    cube["artifacts"] = [self._public(item) for item in self.artifacts.get(key, [])]
        return self._json(tree)

    def _list_artifacts(self, request: Request) -> Response:
        key = tuple(request.params[name] for name in ("run", "workflow", "task", "cube"))
        if key not in self.artifacts:
            return self._error(404, f"Cube {'/'.join(key)} not found")
        listed = []
        for item in self.artifacts[key]:
            public = self._public(item)
            has_body = item["status"] == "success" and item["id"] in self.bodies
            key_name = self._storage_key(item["id"], item["local_path"])
            if has_body and self._is_past_retention(item):
                self._retire(item["id"], key_name)
                has_body = self.retention_answer != "no_url"
            public["download_url"] = self.storage.sign(key_name, self.url_ttl_seconds) if has_body else ""
            listed.append(public)
        return self._json({"artifacts": listed})

    def _is_past_retention(self, item: Mapping[str, Any]) -> bool:
        if self.retention_days is None:
            return False
        updated = datetime.strptime(item["dates"]["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return datetime.now(timezone.utc) - updated > timedelta(days=self.retention_days)

    def _retire(self, artifact_id: str, key_name: str) -> None:
        """Storage drops the contents: 404 from then on, or the configured refusal for every request."""
        if artifact_id in self.retired:
            return
        self.retired.add(artifact_id)
        self.storage.delete(key_name)
        if isinstance(self.retention_answer, int) and self.retention_answer != 404:
            pattern = re.escape(quote(key_name)) + "$"
            self.storage.faults.fail_next(self.retention_answer, times=10**9, path=pattern)  # for good

    # helpers
    def _ordered_slugs(self, newest_first: bool) -> List[str]:
        return sorted(self.runs, key=int, reverse=newest_first)

    @staticmethod
    def _summary(run: Mapping[str, Any]) -> Dict[str, Any]:
        summary = copy.deepcopy(dict(run))
        summary["workflows"] = [
            {key: value for key, value in workflow.items() if key != "tasks"} for workflow in summary["workflows"]
        ]
        return summary

    @staticmethod
    def _public(item: Mapping[str, Any]) -> Dict[str, Any]:
        return copy.deepcopy({key: value for key, value in item.items() if not key.startswith("_")})

    def _storage_key(self, artifact_id: str, local_path: str) -> str:
        return f"sourcecraft/{self.org_slug}/{self.repo_slug}/{artifact_id}/{local_path.rsplit('/', 1)[-1] or 'x'}"

    @staticmethod
    def _json(body: Any) -> Response:
        return Response(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
