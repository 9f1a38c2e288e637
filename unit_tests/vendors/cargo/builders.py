"""Test builders for Cargo: a fluent config builder, response builders and `given_*` route helpers."""

from __future__ import annotations

import copy
import csv
import io
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests_mock as rm

API = "https://api.cargo.test/v1"
STORAGE = "https://storage.test/bucket"
WORKFLOW = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OTHER_UUID = "6a1f0b2c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
RUNS_LIST = f"{API}/orchestration/runs/list"
DOWNLOAD = f"{API}/orchestration/runs/download-outputs"
PLAYS = f"{API}/orchestration/plays/list"


class ConfigBuilder:
    """A valid `cargo` block; `with_*` methods change one thing.

    >>> ConfigBuilder().with_output(format="json").build()["run_outputs"][0]["format"]
    'json'
    """

    def __init__(self) -> None:
        self._block: Dict[str, Any] = {
            "api_token": "secret-token",
            "api_url": API,
            "run_outputs": [
                {"name": "leads", "workflow_uuid": WORKFLOW, "output_node_slug": "enrich", "format": "csv"}
            ],
        }

    def with_(self, **values: Any) -> ConfigBuilder:
        self._block.update(values)
        return self

    def without(self, key: str) -> ConfigBuilder:
        self._block.pop(key, None)
        return self

    def with_output(self, index: int = 0, **values: Any) -> ConfigBuilder:
        outputs = self._block["run_outputs"]
        while len(outputs) <= index:
            outputs.append(copy.deepcopy(outputs[0]) | {"name": f"output_{len(outputs)}"})
        outputs[index].update(values)
        return self

    def build(self) -> Dict[str, Any]:
        return copy.deepcopy(self._block)


def run(
    uuid: str = "11111111-1111-4111-8111-111111111111",
    created_at: str = "2025-01-01T00:00:00.000Z",
    status: str = "success",
    updated_at: Optional[str] = None,
) -> Dict[str, Any]:
    """A Run object with the fields the connector reads."""
    return {
        "uuid": uuid,
        "workflowUuid": WORKFLOW,
        "status": status,
        "createdAt": created_at,
        "updatedAt": updated_at or created_at,
    }


def cargo_error(reason: str, message: str = "error") -> Dict[str, Any]:
    return {"json": {"errorMessage": message, "reason": reason}}


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def given_runs(
    mocker: rm.Mocker,
    runs: List[Dict[str, Any]],
    date: str = "Wed, 01 Jan 2025 12:00:00 GMT",
    inclusive: Tuple[bool, bool] = (True, False),
) -> None:
    """runs/list answering from `runs` with Cargo's filters and limit/offset paging; `Date` is Cargo's clock.

    `inclusive` says whether a run exactly on `…After` / `…Before` matches (Cargo does not say).
    """

    def answer(request, context):
        body = request.json()
        context.headers["Date"] = date
        selected = [item for item in runs if matches(item, body, inclusive)]
        offset, limit = body.get("offset", 0), body.get("limit", 50)
        return {"runs": selected[offset : offset + limit], "count": len(selected)}

    mocker.post(RUNS_LIST, json=answer)


def matches(item: Dict[str, Any], body: Dict[str, Any], inclusive: Tuple[bool, bool] = (True, False)) -> bool:
    """Cargo's run filters: time bounds (edges read as `inclusive` says), isFinished."""
    for name, field in (("created", "createdAt"), ("updated", "updatedAt")):
        value = parse(item[field])
        if f"{name}After" in body and not after(value, parse(body[f"{name}After"]), inclusive[0]):
            return False
        if f"{name}Before" in body and not after(parse(body[f"{name}Before"]), value, inclusive[1]):
            return False
    finished = item["status"] in ("success", "error", "cancelled", "skipped")
    return "isFinished" not in body or body["isFinished"] == finished


def after(later: datetime, earlier: datetime, or_equal: bool) -> bool:
    return later >= earlier if or_equal else later > earlier


def given_exports(
    mocker: rm.Mocker,
    rows_for: Callable[[Dict[str, Any]], Optional[List[Dict[str, Any]]]],
    cap: int = 10_000,
    expired: int = 0,
    encode: Callable[[List[Dict[str, Any]]], bytes] = None,
) -> List[Dict[str, Any]]:
    """download-outputs answering with a CSV of `rows_for(body)` (None or [] → noRunsFound; > cap → tooManyRuns).

    The URLs of the first `expired` exports answer 403 (expired) at storage. Files are CSV unless `encode` says.

    Returns the list of request bodies it received, in order.
    """
    bodies: List[Dict[str, Any]] = []

    def answer(request, context):
        body = request.json()
        bodies.append(body)
        rows = rows_for(body)
        if not rows:
            context.status_code = 404
            return cargo_error("noRunsFound", "No runs found")["json"]
        if len(rows) > cap:
            context.status_code = 400
            return cargo_error("tooManyRuns", "Too many runs")["json"]
        key = f"export-{len(bodies)}.csv"
        if len(bodies) <= expired:
            mocker.get(f"{STORAGE}/{key}", status_code=403, text="<Error>Request has expired</Error>")
        else:
            mocker.get(f"{STORAGE}/{key}", content=(encode or to_csv)(rows))
        return {"url": f"{STORAGE}/{key}?X-Amz-Signature=sig-{len(bodies)}"}

    mocker.post(DOWNLOAD, json=answer)
    return bodies


def to_csv(rows: List[Dict[str, Any]]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()
