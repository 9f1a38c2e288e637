"""Response builders and config helpers for the PostHog unit tests, in the shapes PostHog answers.

Lists are Django REST framework pages (`count`, `next`, `previous`, `results`), errors are DRF
error bodies (`type`, `code`, `detail`, `attr`), and a file download is the export object its
status endpoint returns.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Sequence

from unit_tests.vendors.blocks import overridden

API = "https://eu.posthog.com"
ENV = f"{API}/api/environments/7"
BLOCK: Dict[str, Any] = {"api_key": "phx_secret", "api_url": API, "environment_id": "7"}


def block(**overrides: Any) -> Dict[str, Any]:
    """A valid `posthog` block with `overrides` applied (None removes a key)."""
    return overridden(BLOCK, overrides)


def page(results: Sequence[Any], next_url: Optional[str] = None, count: Optional[int] = None) -> Dict[str, Any]:
    """One DRF list page; `count` is left out when None (cursor pagination sends none)."""
    body: Dict[str, Any] = {"next": next_url, "previous": None, "results": list(results)}
    if count is not None:
        body["count"] = count
    return body


def drf_error(
    detail: str, code: str = "permission_denied", kind: str = "authentication_error", attr: Optional[str] = None
) -> Dict[str, Any]:
    """A DRF error body: `drf_error("Not found.", "not_found", "invalid_request")`."""
    return {"type": kind, "code": code, "detail": detail, "attr": attr}


def created(export_id: str) -> Dict[str, Any]:
    """The answer to creating a file download: its id."""
    return {"id": export_id}


class FileDownloadBuilder:
    """A file-download export as its status endpoint returns it.

    >>> FileDownloadBuilder().with_status("Completed").with_files("f1").with_records(3).build()["files"]
    ['f1']
    """

    def __init__(self, export_id: str = "e-1") -> None:
        self._export: Dict[str, Any] = {"id": export_id, "status": "Starting"}

    def with_status(self, status: str) -> FileDownloadBuilder:
        self._export["status"] = status
        return self

    def with_files(self, *files: Any) -> FileDownloadBuilder:
        """The export's files: ids, or objects such as `{"id": "a"}`; none given is an empty list."""
        self._export["files"] = list(files)
        return self

    def with_records(self, count: int) -> FileDownloadBuilder:
        self._export["records_completed"] = count
        return self

    def with_error(self, error: str) -> FileDownloadBuilder:
        self._export["error"] = error
        return self

    def build(self) -> Dict[str, Any]:
        return copy.deepcopy(self._export)


def in_state(status: str, export_id: str = "e-1") -> Dict[str, Any]:
    """An export in `status`, nothing else reported yet (Starting, Running)."""
    return FileDownloadBuilder(export_id).with_status(status).build()


def completed(*files: Any, records: int = 1, export_id: str = "e-1") -> Dict[str, Any]:
    """A Completed export with `files` and `records` rows."""
    return FileDownloadBuilder(export_id).with_status("Completed").with_files(*files).with_records(records).build()


def batch_export(export_id: str, team_id: Optional[int] = 7) -> Dict[str, Any]:
    """One item of the batch-export listing (`team_id` None: PostHog sent none)."""
    return {"id": export_id, "team_id": team_id}


def batch_export_run(run_id: Any, last_updated_at: str) -> Dict[str, Any]:
    """One item of a batch export's run listing, with the field the cursor reads."""
    return {"id": run_id, "last_updated_at": last_updated_at}


def log_entry(timestamp: str, message: str, instance_id: str = "i-1", level: str = "INFO") -> Dict[str, Any]:
    """One entry of a batch export's logs."""
    return {"timestamp": timestamp, "instance_id": instance_id, "level": level, "message": message}
