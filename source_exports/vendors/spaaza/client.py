"""SpaazaClient: the only code that talks HTTP to the Spaaza Services API.

Two sessions: reads retry on the shared policy (429 with Retry-After, 5xx, dropped connections);
the POSTs that create or start a task are retried only where Spaaza cannot have acted on them
(no connection, 429). After an ambiguous failure (a 5xx, a connection lost after sending) the
client looks the task up — `POST /tasks`: the listing, for a task with this exact body;
`POST /tasks/{id}/execute`: the task's state — and sends the request again only if it did not
take effect, so a sync never creates two export tasks for one window. The privileged
`Authorization: Bearer {id}:{secret}` header, the customer's own hostname, the
`limit`/`offset` paging of `GET /tasks` (a bare JSON array, no total), and error mapping
through `errors.classify_error`. Download URLs it returns are fetched elsewhere, without
this session, so the token never reaches the storage host.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Mapping, Optional

import requests

from source_exports.errors import ExportsError, TransientError, UnreadableAnswer
from source_exports.paginators import OffsetPage, OffsetPaginator
from source_exports.redact import strip_query
from source_exports.vendor_client import Call, VendorClient
from source_exports.vendors.spaaza.config import SpaazaConfig
from source_exports.vendors.spaaza.errors import VENDOR, classify_error

LOGGER = logging.getLogger("airbyte")

Task = Dict[str, Any]
MATCHED_KEYS = ("desc", "target", "trigger")
"""What identifies a task this connector created: the description, target and trigger (its `once` time
to the second, and the window's segment) it sent."""
PAGE_SIZE = 100


class SpaazaClient(VendorClient):
    """Typed calls to the Tasks API.

    >>> client = SpaazaClient(SpaazaConfig.from_block(block))  # doctest: +SKIP
    >>> [task["id"] for task in client.iter_tasks(status="DONE", action="export")]  # doctest: +SKIP
    """

    page_size = PAGE_SIZE
    creates = True

    def __init__(self, config: SpaazaConfig, session: Optional[requests.Session] = None) -> None:
        self.config = config
        self.base_url = config.services_api_url
        super().__init__(session, {"Authorization": config.authorization, "Accept": "application/json"})

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

        def fetch(limit: int, offset: int) -> OffsetPage:
            return self.list_tasks(limit=limit, offset=offset, **filters), None

        def repeated(offset: int) -> None:
            LOGGER.warning(f"Spaaza returned the same tasks again at offset {offset}; stopping the task listing")

        def ids_of(page: Any) -> set:
            return {task.get("id") for task in page if isinstance(task, dict)}

        paginator = OffsetPaginator(fetch, self.page_size, trust_limit=False, ids_of=ids_of, on_repeat=repeated)
        return (task for task in paginator.items() if isinstance(task, dict))

    def get_task(self, task_id: int, stream: Optional[str] = None) -> Task:
        task = self._call("GET", f"/tasks/{task_id}", task_id=task_id, stream=stream)
        return self._require_task(task, f"GET /tasks/{task_id}", task_id)

    def create_task(self, body: Mapping[str, Any], stream: Optional[str] = None) -> Task:
        """`POST /tasks` once; after an ambiguous failure, the task it created if any, else one more POST."""
        try:
            task = self._call("POST", "/tasks", json=body, stream=stream)
        except AmbiguousFailure as failure:
            task = self.find_created_task(body)
            if task is not None:
                LOGGER.warning(
                    f"{stream}: {failure.error.message}; Spaaza created the task anyway (id {task.get('id')}): using it"
                )
                return self._require_task(task, "GET /tasks")
            LOGGER.warning(f"{stream}: {failure.error.message}; no task was created, creating it again")
            task = self._call("POST", "/tasks", json=body, stream=stream, ambiguous_is_final=True)
        return self._require_task(task, "POST /tasks")

    def find_created_task(self, body: Mapping[str, Any]) -> Optional[Task]:
        """The newest listed task whose description, target and trigger are the ones `body` asked for."""
        wanted = {key: body.get(key) for key in MATCHED_KEYS}
        found = [
            task
            for task in self.iter_tasks(action=(body.get("target") or {}).get("action"))
            if {key: task.get(key) for key in MATCHED_KEYS} == wanted
        ]
        return max(found, key=lambda task: task["id"] if isinstance(task.get("id"), int) else -1, default=None)

    def execute_task(self, task_id: int, stream: Optional[str] = None) -> None:
        """Run a READY task now instead of at its trigger time; after an ambiguous failure, only if still READY."""
        try:
            self._call("POST", f"/tasks/{task_id}/execute", task_id=task_id, stream=stream)
        except AmbiguousFailure as failure:
            state = (self.get_task(task_id, stream=stream).get("state") or {}).get("code")
            if state != "READY":
                LOGGER.warning(f"{stream}: {failure.error.message}; task {task_id} is {state} already: not again")
                return
            LOGGER.warning(f"{stream}: {failure.error.message}; task {task_id} is still READY, executing it again")
            self._call("POST", f"/tasks/{task_id}/execute", task_id=task_id, stream=stream, ambiguous_is_final=True)

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
        ambiguous_is_final: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One request; a POST's ambiguous failure is raised as `AmbiguousFailure` unless `ambiguous_is_final`."""
        post = method == "POST"
        call = {"what": f"{method} {path}", "task_id": task_id, "stream": stream}
        url = self.base_url + path
        try:
            response = self.send(method, url, call, session=self.create_session if post else self.session, **kwargs)
        except TransientError as unreachable:
            error = unreachable.__cause__
            sent = not isinstance(error, requests.exceptions.ConnectTimeout) and "NewConnectionError" not in str(error)
            if post and sent and not ambiguous_is_final:
                raise AmbiguousFailure(unreachable) from error
            raise
        if response.status_code >= 400:
            error = self.classify(response, call)
            if post and response.status_code >= 500 and not ambiguous_is_final:
                raise AmbiguousFailure(error)
            raise error
        if not response.content:
            return None
        return self.decode(response, url, call)

    def classify(self, response: requests.Response, call: Call) -> ExportsError:
        return classify_error(response, call["what"], task_id=call["task_id"], stream=call["stream"])

    def unreachable(self, error: requests.exceptions.RequestException, url: str, call: Call) -> ExportsError:
        return TransientError(
            f"Could not reach Spaaza for {call['what']}: {type(error).__name__}",
            vendor=VENDOR,
            stream=call["stream"],
            job_id=call["task_id"],
            url=strip_query(self.base_url),
            hint="Check spaaza.services_api_url and network access; the sync can be retried",
        )

    def not_json(self, response: requests.Response, url: str, call: Call) -> ExportsError:
        return UnreadableAnswer(
            f"Spaaza answered {call['what']} with a body that is not JSON: {response.text[:200]!r}",
            vendor=VENDOR,
            stream=call["stream"],
            job_id=call["task_id"],
            hint="Check spaaza.services_api_url: it must be the Services API hostname, not the console",
        )

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


class AmbiguousFailure(Exception):
    """A POST failed in a way that leaves open whether Spaaza acted on it (5xx, connection lost after sending)."""

    def __init__(self, error: ExportsError) -> None:
        super().__init__(error.message)
        self.error = error
