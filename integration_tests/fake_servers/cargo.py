"""`FakeCargo`: Cargo's orchestration API at `{url}/v1`, built from the vendor pages and api-notes §1.

It implements what the connector relies on — Bearer auth, the optional workspace header, plays,
paged runs and `download-outputs` with its 10,000-run cap — and writes real export files
into a `FakeStorage`, answering with a signed URL, as Cargo does. Runs are ordered by
`createdAt` ascending, then `uuid`, in `runs/list` and in export files.

Cargo does not say how its time filters treat an edge, so `edges` picks one reading for both
endpoints: `half-open` (default: `…After` inclusive, `…Before` exclusive), `inclusive`, `strict`
or `open-closed` (`…After` strict, `…Before` inclusive). Every time filter value received is
kept in `requested_edges`, so tests can put runs exactly where the connector cuts. The oracles
(`runs_for`, `expected_output_rows`) always read filters as half-open.

    with FakeStorage() as storage, FakeCargo(storage) as cargo:
        rows = cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich")
        cargo.faults.fail_next(429, path="download-outputs")
"""

from __future__ import annotations

import copy
import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import tempfile
import threading
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from integration_tests.fake_servers.base import FakeServer, Request, Response
from integration_tests.fake_servers.cargo_dataset import (
    BASE_COLUMNS,
    ENRICH_WORKFLOW_UUID,
    FINISHED_STATUSES,
    RUN_STATUSES,
    SCORE_WORKFLOW_UUID,
    CargoDataset,
    iso,
    parse_time,
    uuid4_from,
)
from integration_tests.fake_servers.storage import FakeStorage

UUID4 = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})$")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
_FAULT_REASONS = {
    429: ("rateLimited", "Too many requests, slow down"),
    500: ("internalError", "Internal server error"),
    502: ("badGateway", "Bad gateway"),
    503: ("serviceUnavailable", "Service temporarily unavailable"),
    504: ("gatewayTimeout", "Gateway timeout"),
}


class CargoApiError(Exception):
    """Raised inside handlers; becomes Cargo's JSON error `{"errorMessage", "reason"}`."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def cargo_error(status: int, reason: str, message: str, headers: Optional[Dict[str, str]] = None) -> Response:
    body = json.dumps({"errorMessage": message, "reason": reason}).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, body)


class FakeCargo(FakeServer):
    """Cargo's API over a deterministic `CargoDataset`, exporting files into `storage`.

    Options: `token` (Bearer token), `now` (dataset anchor; default a few minutes ago),
    `n_runs`, `max_runs_per_export` (the `tooManyRuns` cap), `gzip_outputs`, `url_ttl_seconds`,
    `edges` (how time filters treat their edge: one of `EDGE_MODES`).
    """

    config_key = "cargo"

    def __init__(
        self,
        storage: FakeStorage,
        token: str = "cargo-test-token",
        now: Optional[datetime] = None,
        n_runs: int = 300,
        max_runs_per_export: int = 10_000,
        gzip_outputs: bool = False,
        url_ttl_seconds: int = 300,
        edges: str = "half-open",
        port: int = 0,
    ) -> None:
        super().__init__(port)
        if edges not in EDGE_MODES:
            raise ValueError(f"edges must be one of {', '.join(EDGE_MODES)}, not {edges!r}")
        self.edges = edges
        self.requested_edges: List[Tuple[str, str, str]] = []  # (endpoint, filter, value) in arrival order
        self.storage = storage
        self.token = token
        self.max_runs_per_export = max_runs_per_export
        self.gzip_outputs = gzip_outputs
        self.url_ttl_seconds = url_ttl_seconds
        self.dataset = CargoDataset(now=now, n_runs=n_runs)
        self.clock = self.dataset.now  # moves with set_now; the dataset's anchor stays put
        self.exports: List[str] = []  # storage keys of the files built, in order
        self._lock = threading.RLock()
        self._version = 0  # bumped by every mutation, part of export file names
        self._tmpdir = tempfile.mkdtemp(prefix="fake-cargo-")
        self.route("GET", r"/v1/orchestration/plays/list", self._authorized(self._list_plays))
        self.route("POST", r"/v1/orchestration/runs/list", self._authorized(self._list_runs))
        self.route("POST", r"/v1/orchestration/runs/download-outputs", self._authorized(self._download_outputs))

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    # what vendors.py puts in the connector config
    @property
    def workspace_uuid(self) -> str:
        return self.dataset.workspace_uuid

    def config_block(self) -> Dict[str, Any]:
        outputs = [
            ("enriched_leads", ENRICH_WORKFLOW_UUID, "csv"),
            ("scored_accounts", SCORE_WORKFLOW_UUID, "json"),
        ]
        return {
            "api_token": self.token,
            "api_url": f"{self.url}/v1",
            "workspace_uuid": self.workspace_uuid,
            "run_outputs": [
                {
                    "name": name,
                    "workflow_uuid": workflow_uuid,
                    "output_node_slug": self.dataset.workflows[workflow_uuid].output_node_slug,
                    "format": fmt,
                    "statuses": ["success"],
                    "primary_key": ["runUuid"],
                }
                for name, workflow_uuid, fmt in outputs
            ],
        }

    # mutators for tests
    def set_now(self, now: Any) -> None:
        """Move the fake's clock (timestamps of added/finished runs); the generated data does not move."""
        self.clock = parse_time(now)

    def add_run(
        self,
        workflow_uuid: str = ENRICH_WORKFLOW_UUID,
        status: str = "running",
        created_at: Any = None,
        record_id: str = "000999",
        record_title: str = "Added in a test",
        output: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Add a run (default: running, created at the clock); `output` overrides its generated output data."""
        workflow = self.dataset.workflows[workflow_uuid]
        with self._lock:
            run = CargoDataset.make_run(
                run_uuid=uuid4_from(random.Random(f"{self.dataset.seed}:added:{self._version}")),  # stable per test
                workflow=workflow,
                release_uuid=workflow.release_uuids[1],
                batch_uuid=None,
                record_id=record_id,
                record_title=record_title,
                status=status,
                created_at=parse_time(created_at) if created_at is not None else self.clock,
            )
            if output is not None:
                self.dataset.output_overrides[run["uuid"]] = dict(output)
            self.dataset.runs.append(run)
            self.dataset.runs.sort(key=lambda item: (item["createdAt"], item["uuid"]))
            self._version += 1
            return copy.deepcopy(run)

    def finish_run(self, run_uuid: str, status: str = "success", at: Any = None) -> Dict[str, Any]:
        """Finish a run at `at` (default: the clock): status, updatedAt, finishedAt, its execution."""
        moment = iso(parse_time(at) if at is not None else self.clock)
        with self._lock:
            run = next(run for run in self.dataset.runs if run["uuid"] == run_uuid)
            run.update(status=status, updatedAt=moment, finishedAt=moment)
            run["errorMessage"] = "Finished with an error in a test" if status == "error" else None
            for execution in run["executions"]:
                execution.update(status=status, finishedAt=moment)
            self._version += 1
            return copy.deepcopy(run)

    # what the connector should return
    @property
    def plays(self) -> List[Dict[str, Any]]:
        return copy.deepcopy(self.dataset.plays)

    def edges_requested(self, prefix: str = "created", endpoint: str = "") -> List[str]:
        """The distinct `{prefix}After`/`{prefix}Before` values received (on endpoints containing `endpoint`)."""
        with self._lock:
            values = {v for e, name, v in self.requested_edges if name.startswith(prefix) and endpoint in e}
        return sorted(values)

    def runs_for(
        self,
        workflow_uuid: Optional[str] = None,
        statuses: Optional[Sequence[str]] = None,
        created_after: Any = None,
        created_before: Any = None,
        updated_after: Any = None,
        updated_before: Any = None,
        is_finished: Optional[bool] = None,
    ) -> List[Dict[str, Any]]:
        """Runs matching the filters, in API order (createdAt, uuid), as deep copies."""
        filters = {
            "workflowUuid": workflow_uuid,
            "statuses": list(statuses) if statuses is not None else None,
            "createdAfter": created_after,
            "createdBefore": created_before,
            "updatedAfter": updated_after,
            "updatedBefore": updated_before,
            "isFinished": is_finished,
        }
        given = {name: value for name, value in filters.items() if value is not None}
        with self._lock:
            return copy.deepcopy(self._match_runs(given, edges="half-open"))

    def expected_output_rows(
        self,
        workflow_uuid: str,
        output_node_slug: str,
        statuses: Optional[Sequence[str]] = ("success",),
        created_after: Any = None,
        created_before: Any = None,
        format: str = "csv",  # noqa: A002 - the API's own name
    ) -> List[Dict[str, Any]]:
        """The rows of the export file for these filters, exactly as in the file (CSV: every value a string)."""
        if output_node_slug != self.dataset.workflows[workflow_uuid].output_node_slug:
            raise ValueError(f"workflow {workflow_uuid} has no output node {output_node_slug!r}")
        runs = self.runs_for(workflow_uuid, statuses, created_after, created_before)
        return list(self._export_rows(runs, workflow_uuid, format))

    # handlers
    def error_response(self, status: int, headers: Optional[Dict[str, str]] = None) -> Response:
        reason, message = _FAULT_REASONS.get(status, ("notFound" if status == 404 else "error", f"HTTP {status}"))
        return cargo_error(status, reason, message, headers)

    def _authorized(self, handler: Callable[[Request], Dict[str, Any]]) -> Callable[[Request], Response]:
        def guarded(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return cargo_error(401, "unauthorized", "Invalid API token")
            workspace = request.headers.get("selected-workspace-uuid")
            if workspace is not None and workspace != self.workspace_uuid:
                return cargo_error(403, "workspaceNotFound", f"Workspace {workspace} not found or not accessible")
            try:
                result = handler(request)
            except CargoApiError as error:
                return cargo_error(error.status, error.reason, error.message)
            return Response(200, {"Content-Type": "application/json"}, json.dumps(result).encode())

        return guarded

    def _list_plays(self, request: Request) -> Dict[str, Any]:
        plays = self.dataset.plays
        checks = {
            "isEnabled": lambda play, value: str(play["isEnabled"]).lower() == value.lower(),
            "modelUuid": lambda play, value: play["modelUuid"] == value,
            "segmentUuid": lambda play, value: play["segmentUuid"] == value,
            "scheduleType": lambda play, value: (play["schedule"] or {}).get("type") == value,
        }
        for name, check in checks.items():
            if name in request.query:
                plays = [play for play in plays if check(play, request.query[name])]
        return {"plays": plays}

    def _list_runs(self, request: Request) -> Dict[str, Any]:
        body = _json_body(request)
        limit = _integer(body, "limit", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        offset = _integer(body, "offset", 0, minimum=0)
        with self._lock:
            runs = self._match_runs(self._note_edges("runs/list", _validated_filters(body)))
            return {"runs": copy.deepcopy(runs[offset : offset + limit]), "count": len(runs)}

    def _download_outputs(self, request: Request) -> Dict[str, Any]:
        body = _json_body(request)
        workflow_uuid = body.get("workflowUuid")
        if not isinstance(workflow_uuid, str) or not UUID4.match(workflow_uuid):
            raise CargoApiError(400, "invalidBody", f"workflowUuid: must match pattern {UUID4.pattern}")
        slug = body.get("outputNodeSlug")
        if not isinstance(slug, str) or not slug:
            raise CargoApiError(400, "invalidBody", "outputNodeSlug: Required")
        fmt = body.get("format", "csv")
        if fmt not in ("csv", "json"):
            raise CargoApiError(400, "invalidBody", "format: Invalid enum value. Expected 'csv' | 'json'")
        workflow = self.dataset.workflows.get(workflow_uuid)
        if workflow is not None and slug != workflow.output_node_slug:
            raise CargoApiError(404, "nodeNotFound", f"Node '{slug}' not found in workflow {workflow_uuid}")
        filters = _validated_filters(body)
        offset = _integer(body, "offset", 0, minimum=0)
        limit = _integer(body, "limit", None, minimum=1)
        with self._lock:
            runs = self._match_runs(self._note_edges("download-outputs", filters))[offset:]
            runs = copy.deepcopy(runs[:limit] if limit is not None else runs)
            version = self._version
        if not runs:
            raise CargoApiError(404, "noRunsFound", "No runs found matching the given filters")
        if len(runs) > self.max_runs_per_export:
            raise CargoApiError(
                400,
                "tooManyRuns",
                f"Too many runs to export ({len(runs)} > {self.max_runs_per_export}). "
                "Narrow createdAfter/createdBefore.",
            )
        key = self._write_export(runs, workflow_uuid, fmt, body, version)
        return {"url": self.storage.sign(key, self.url_ttl_seconds)}

    # filtering and files
    def _note_edges(self, endpoint: str, filters: Dict[str, Any]) -> Dict[str, Any]:
        """Record the time filters of a request (caller holds the lock)."""
        self.requested_edges += [(endpoint, name, filters[name]) for name in _TIME_FILTERS if name in filters]
        return filters

    def _match_runs(self, filters: Dict[str, Any], edges: Optional[str] = None) -> List[Dict[str, Any]]:
        """The runs matching API filters, edges read as `edges` (default: the fake's own reading; caller holds the
        lock); bounds compare as Cargo-format strings."""
        edges = edges or self.edges
        bounds = {name: iso(parse_time(filters[name])) for name in _TIME_FILTERS if filters.get(name) is not None}
        statuses = set(filters["statuses"]) if filters.get("statuses") else None
        title_or_id = filters.get("recordTitleOrId")
        selected = []
        for run in self.dataset.runs:
            if any(filters.get(name) is not None and run[name] != filters[name] for name in _EQUALITY_FILTERS):
                continue
            if statuses is not None and run["status"] not in statuses:
                continue
            if filters.get("isFinished") is not None and (run["status"] in FINISHED_STATUSES) != filters["isFinished"]:
                continue
            if title_or_id is not None and title_or_id not in (run["recordId"], run["recordTitle"]):
                continue
            if not all(_within(run, name, bound, edges) for name, bound in bounds.items()):
                continue
            selected.append(run)
        return selected

    def _export_rows(self, runs: Iterable[Dict[str, Any]], workflow_uuid: str, fmt: str) -> Iterator[Dict[str, Any]]:
        columns = self.dataset.workflows[workflow_uuid].columns
        for run in runs:
            output = self.dataset.output_for(run)
            row = dict(
                zip(BASE_COLUMNS, (run["recordId"], run["recordTitle"], run["uuid"], run["status"], run["createdAt"]))
            )
            if fmt == "json":
                row.update(output)  # JSON keeps types and omits what a run's output lacks
            else:
                row.update({column: csv_cell(output.get(column)) for column in columns})
            yield row

    def _write_export(self, runs: List[Dict[str, Any]], workflow_uuid: str, fmt: str, body: Any, version: int) -> str:
        digest = hashlib.sha256(f"{json.dumps(body, sort_keys=True)}|{version}|{self.gzip_outputs}".encode())
        name = f"outputs-{digest.hexdigest()[:16]}.{fmt}" + (".gz" if self.gzip_outputs else "")
        path = os.path.join(self._tmpdir, name)
        raw = gzip.open(path, "wb") if self.gzip_outputs else open(path, "wb")  # noqa: SIM115 - closed below
        with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            rows = self._export_rows(runs, workflow_uuid, fmt)
            if fmt == "csv":
                columns = BASE_COLUMNS + self.dataset.workflows[workflow_uuid].columns
                writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")  # RFC 4180
                writer.writeheader()
                writer.writerows(rows)
            else:
                text.write("[")
                for index, row in enumerate(rows):
                    text.write(("," if index else "") + "\n" + json.dumps(row, ensure_ascii=False))
                text.write("\n]\n")
        key = f"cargo/{self.workspace_uuid}/{name}"
        self.storage.put_file(key, path)
        self.exports.append(key)
        return key


_TIME_FILTERS = ("createdAfter", "createdBefore", "updatedAfter", "updatedBefore")
_EQUALITY_FILTERS = ("workflowUuid", "batchUuid", "releaseUuid", "recordId", "recordTitle")
_UUID_FILTERS = ("workflowUuid", "batchUuid", "releaseUuid")


EDGE_MODES = ("half-open", "inclusive", "strict", "open-closed")
_INCLUSIVE = {  # mode → (is …After inclusive, is …Before inclusive)
    "half-open": (True, False),
    "inclusive": (True, True),
    "strict": (False, False),
    "open-closed": (False, True),
}


def _within(run: Dict[str, Any], name: str, bound: str, edges: str) -> bool:
    value = run["createdAt" if name.startswith("created") else "updatedAt"]
    after_inclusive, before_inclusive = _INCLUSIVE[edges]
    if value == bound:
        return after_inclusive if name.endswith("After") else before_inclusive
    return value > bound if name.endswith("After") else value < bound


def csv_cell(value: Any) -> str:
    """How a value is written in Cargo's CSV: null → empty, booleans lower-case, lists/objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _json_body(request: Request) -> Dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as error:
        raise CargoApiError(400, "invalidBody", f"Body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise CargoApiError(400, "invalidBody", "Body must be a JSON object")
    return body


def _integer(
    body: Dict[str, Any], name: str, default: Optional[int], minimum: int, maximum: Optional[int] = None
) -> Any:
    value = body.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (maximum and value > maximum):
        limits = f">= {minimum}" + (f" and <= {maximum}" if maximum else "")
        raise CargoApiError(400, "invalidBody", f"{name}: must be an integer {limits}")
    return value


def _validated_filters(body: Dict[str, Any]) -> Dict[str, Any]:
    """The run filters of a request body, checked the way Cargo's schema checks them."""
    for name in _UUID_FILTERS:
        if body.get(name) is not None and not (isinstance(body[name], str) and UUID4.match(body[name])):
            raise CargoApiError(400, "invalidBody", f"{name}: must match pattern {UUID4.pattern}")
    statuses = body.get("statuses")
    if statuses is not None and (not isinstance(statuses, list) or any(s not in RUN_STATUSES for s in statuses)):
        raise CargoApiError(400, "invalidBody", f"statuses: each must be one of {', '.join(RUN_STATUSES)}")
    for name in _TIME_FILTERS:
        if body.get(name) is not None:
            try:
                parse_time(body[name])
            except ValueError as error:
                raise CargoApiError(400, "invalidBody", f"{name}: invalid date-time {body[name]!r}") from error
    if body.get("isFinished") is not None and not isinstance(body["isFinished"], bool):
        raise CargoApiError(400, "invalidBody", "isFinished: must be a boolean")
    names = _TIME_FILTERS + _EQUALITY_FILTERS + ("statuses", "isFinished", "recordTitleOrId")
    return {name: body[name] for name in names if body.get(name) is not None}
