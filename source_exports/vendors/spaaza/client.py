"""SpaazaClient: the only code that talks HTTP to the Spaaza Services API.

One session (shared retry policy: 429 with Retry-After, 5xx, dropped connections), the
privileged `Authorization: Bearer {id}:{secret}` header, the customer's own hostname, the
`limit`/`offset` paging of `GET /tasks` (a bare JSON array, no total), and error mapping
through `errors.classify_error`. Download URLs it returns are fetched elsewhere, without
this session, so the token never reaches the storage host.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Mapping, Optional

import requests

from source_exports.errors import TransientError, UnreadableAnswer
from source_exports.http import build_session, retry_policy
from source_exports.redact import strip_query
from source_exports.vendors.spaaza.config import SpaazaConfig
from source_exports.vendors.spaaza.errors import VENDOR, classify_error

LOGGER = logging.getLogger("airbyte")

Task = Dict[str, Any]
PAGE_SIZE = 100
TIMEOUT = (15, 120)  # (connect, read) seconds; task calls answer fast, exports run server-side


class SpaazaClient:
    """Typed calls to the Tasks API.

    >>> client = SpaazaClient(SpaazaConfig.from_block(block))  # doctest: +SKIP
    >>> [task["id"] for task in client.iter_tasks(status="DONE", action="export")]  # doctest: +SKIP
    """

    page_size = PAGE_SIZE

    def __init__(self, config: SpaazaConfig, session: Optional[requests.Session] = None) -> None:
        self.config = config
        self.base_url = config.services_api_url
        self.session = session or build_session(retry_policy())
        self.session.headers["Authorization"] = config.authorization
        self.session.headers["Accept"] = "application/json"

    # tasks
    def list_tasks(self, limit: int, offset: int = 0, **filters: Optional[str]) -> List[Task]:
        """One page of `GET /tasks`; `filters` are `status`, `action`, `campaign_id` (None = omitted)."""
        params: Dict[str, Any] = {key: value for key, value in filters.items() if value is not None}
        params.update(limit=limit, offset=offset)
        page = self._call("GET", "/tasks", params=params)
        if not isinstance(page, list):
            raise UnreadableAnswer(
                f"Spaaza answered GET /tasks with {type(page).__name__}, not a JSON array",
                vendor=VENDOR,
                url=strip_query(self.base_url),
                hint="Check spaaza.services_api_url: it must be the Services API hostname Spaaza gave you",
            )
        return page

    def iter_tasks(self, **filters: Optional[str]) -> Iterator[Task]:
        """Every task matching `filters`, page by page (the array has no total).

        A page shorter than an earlier one is the last; so is an empty page. Comparing with earlier
        pages rather than with the `limit` asked for keeps a server that caps `limit` from cutting
        the listing short, at the cost of one empty page for listings smaller than one page.
        """
        offset = 0
        largest = 0
        seen: set = set()
        while True:
            page = self.list_tasks(limit=self.page_size, offset=offset, **filters)
            ids = {task.get("id") for task in page if isinstance(task, dict)}
            if page and ids <= seen:  # a server that ignores `offset` would loop forever otherwise
                LOGGER.warning(f"Spaaza returned the same tasks again at offset {offset}; stopping the task listing")
                return
            seen |= ids
            yield from (task for task in page if isinstance(task, dict))
            if not page or len(page) < largest:
                return
            largest = max(largest, len(page))
            offset += len(page)

    def get_task(self, task_id: int, stream: Optional[str] = None) -> Task:
        task = self._call("GET", f"/tasks/{task_id}", task_id=task_id, stream=stream)
        return self._require_task(task, f"GET /tasks/{task_id}", task_id)

    def create_task(self, body: Mapping[str, Any], stream: Optional[str] = None) -> Task:
        task = self._call("POST", "/tasks", json=body, stream=stream)
        return self._require_task(task, "POST /tasks")

    def execute_task(self, task_id: int, stream: Optional[str] = None) -> None:
        """Run a READY task now instead of at its trigger time."""
        self._call("POST", f"/tasks/{task_id}/execute", task_id=task_id, stream=stream)

    def download_url(self, task_id: int, stream: Optional[str] = None) -> str:
        """A fresh pre-signed URL (valid ~1 hour) for a DONE export task's result file."""
        answer = self._call("GET", f"/tasks/{task_id}/download_url", task_id=task_id, stream=stream)
        url = answer.get("url") if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UnreadableAnswer(
                f"Spaaza's download_url answer for task {task_id} has no usable 'url'",
                vendor=VENDOR,
                job_id=task_id,
                stream=stream,
                hint="Retry the sync; if it persists, report the task id to Spaaza",
            )
        return url

    # plumbing
    def _call(
        self,
        method: str,
        path: str,
        task_id: Optional[int] = None,
        stream: Optional[str] = None,
        **kwargs: Any,
    ) -> Any:
        what = f"{method} {path}"
        try:
            response = self.session.request(method, self.base_url + path, timeout=TIMEOUT, **kwargs)
        except requests.exceptions.RequestException as error:
            raise TransientError(
                f"Could not reach Spaaza for {what}: {type(error).__name__}",
                vendor=VENDOR,
                stream=stream,
                job_id=task_id,
                url=strip_query(self.base_url),
                hint="Check spaaza.services_api_url and network access; the sync can be retried",
            ) from error
        if response.status_code >= 400:
            raise classify_error(response, what, task_id=task_id, stream=stream)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise UnreadableAnswer(
                f"Spaaza answered {what} with a body that is not JSON: {response.text[:200]!r}",
                vendor=VENDOR,
                stream=stream,
                job_id=task_id,
                hint="Check spaaza.services_api_url: it must be the Services API hostname, not the console",
            ) from error

    @staticmethod
    def _require_task(task: Any, what: str, task_id: Optional[int] = None) -> Task:
        if not isinstance(task, dict) or "id" not in task:
            raise UnreadableAnswer(
                f"Spaaza answered {what} without a task object",
                vendor=VENDOR,
                job_id=task_id,
                hint="Retry the sync; if it persists, report it to Spaaza",
            )
        return task
