"""Response builders and config helpers for the Spaaza unit tests."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from unit_tests.vendors.blocks import overridden

BASE_URL = "https://services.example.test"
BLOCK: Dict[str, Any] = {
    "services_api_url": BASE_URL,
    "access_token_id": "token-id",
    "access_token_secret": "token-secret",
    "chain_id": 1764,
    "poll_interval_seconds": 2,
    "job_timeout_minutes": 1,
}


def block(**overrides: Any) -> Dict[str, Any]:
    """A valid `spaaza` block with `overrides` applied (None removes a key)."""
    return overridden(BLOCK, overrides)


class TaskBuilder:
    """A Spaaza task object: `TaskBuilder().with_id(7).with_state("DONE").build()`."""

    def __init__(self) -> None:
        self._task: Dict[str, Any] = {
            "id": 12345,
            "chain": 1764,
            "desc": "Console export",
            "state": {"code": "READY", "last_run_date": None, "last_modified": None, "created_date": None},
            "trigger": {"once": "2025-05-26T12:00:00Z"},
            "target": {"action": "export", "export_index": "users", "export_format": "csv"},
            "logs": [],
            "version": 1,
        }

    def with_id(self, task_id: int) -> TaskBuilder:
        self._task["id"] = task_id
        return self

    def with_state(self, code: str, last_run_date: Optional[str] = None) -> TaskBuilder:
        self._task["state"].update(code=code, last_run_date=last_run_date)
        return self

    def with_index(self, index: str, export_format: str = "csv") -> TaskBuilder:
        self._task["target"] = {"action": "export", "export_index": index, "export_format": export_format}
        return self

    def with_target(self, target: Dict[str, Any]) -> TaskBuilder:
        self._task["target"] = target
        return self

    def with_desc(self, desc: str) -> TaskBuilder:
        self._task["desc"] = desc
        return self

    def with_segment(self, segment: Dict[str, Any]) -> TaskBuilder:
        self._task["trigger"]["segment"] = segment
        return self

    def with_logs(self, logs: List[Any]) -> TaskBuilder:
        self._task["logs"] = logs
        return self

    def build(self) -> Dict[str, Any]:
        return copy.deepcopy(self._task)


def error_body(message: str) -> Dict[str, Any]:
    return {"error": {"code": 400, "message": message}}
