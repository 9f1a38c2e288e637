"""`CargoClient`: the only code that talks HTTP to Cargo's API.

One session with the shared retry policy (429 with Retry-After, 5xx, dropped connections),
Bearer auth and the optional `selected-workspace-uuid` header. Export files are NOT fetched
here: `download-outputs` returns a signed URL that the vendor-neutral fetcher reads without
these credentials.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional

import requests

from source_exports.errors import ExportsError, TransientError, UnreadableAnswer
from source_exports.paginators import OffsetPage, OffsetPaginator
from source_exports.redact import strip_query
from source_exports.vendor_client import Call, VendorClient
from source_exports.vendors.cargo.config import CargoConfig
from source_exports.vendors.cargo.errors import classify

LOGGER = logging.getLogger("airbyte")

PAGE_SIZE = 100
"""`runs/list` page size (Cargo's maximum)."""
RETRIED_METHODS = frozenset({"GET", "HEAD", "POST"})
"""Every Cargo call may be retried: its POSTs (`runs/list`, `download-outputs`) are read-only queries
that create nothing, so sending one twice cannot duplicate work."""


class CargoClient(VendorClient):
    """Plays, paged runs and export URLs.

    >>> client = CargoClient(config)  # doctest: +SKIP
    >>> for run in client.iter_runs({"workflowUuid": "…", "isFinished": False}):  # doctest: +SKIP
    ...     print(run["uuid"])
    """

    retried_methods = RETRIED_METHODS

    def __init__(self, config: CargoConfig, session: Optional[requests.Session] = None, timeout: tuple = (15, 120)):
        self.api_url = config.api_url
        headers = {"Authorization": f"Bearer {config.api_token}"}
        if config.workspace_uuid:
            headers["selected-workspace-uuid"] = config.workspace_uuid
        super().__init__(session, headers)
        self.timeout = timeout
        self.server_time: Optional[datetime] = None
        """Cargo's clock (the `Date` header of its latest answer): windows end by Cargo's time, not ours."""

    def list_plays(self) -> List[Dict[str, Any]]:
        """Every play of the workspace (the endpoint has no paging)."""
        return list(self._call("GET", "/orchestration/plays/list").get("plays") or [])

    def list_runs(self, filters: Mapping[str, Any], limit: int = PAGE_SIZE, offset: int = 0) -> Dict[str, Any]:
        """One page of `runs/list`: `{"runs": [...], "count": N}`."""
        return self._call("POST", "/orchestration/runs/list", json={**filters, "limit": limit, "offset": offset})

    def iter_runs(
        self,
        filters: Mapping[str, Any],
        page_size: int = PAGE_SIZE,
        on_count: Optional[Callable[[int], None]] = None,
    ) -> Iterator[Dict[str, Any]]:
        """Every run matching `filters`, paging with limit/offset until a short page or `count` is reached.

        `on_count` hears the first page's `count` (how many runs match) before any run is yielded.
        """

        def fetch(limit: int, offset: int) -> OffsetPage:
            page = self.list_runs(filters, limit=limit, offset=offset)
            return page.get("runs") or [], page.get("count")

        return OffsetPaginator(fetch, page_size).items(on_total=on_count)

    def count_runs(self, filters: Mapping[str, Any]) -> Optional[int]:
        """How many runs match `filters` (`count` of a one-run page), None when Cargo does not say."""
        count = self.list_runs(filters, limit=1).get("count")
        return count if isinstance(count, int) else None

    def request_export(self, body: Mapping[str, Any], context: Optional[Mapping[str, Any]] = None) -> str:
        """POST `download-outputs` and return the signed URL.

        Raises `NoRunsFound` / `TooManyRuns` (signals the caller acts on) or a classified error;
        `context` (the run_outputs field, the stream) is added to those errors.
        """
        answer = self._call("POST", "/orchestration/runs/download-outputs", json=dict(body), context=context)
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            raise TransientError(
                "Cargo answered download-outputs without a download URL",
                url=f"{self.api_url}/orchestration/runs/download-outputs",
                **dict(context or {}),
            )
        return url

    def _call(
        self, method: str, path: str, json: Any = None, context: Optional[Mapping[str, Any]] = None
    ) -> Dict[str, Any]:
        answer = self.request(method, f"{self.api_url}{path}", {"context": context}, json=json)
        return answer if isinstance(answer, dict) else {}

    def classify(self, response: requests.Response, call: Call) -> ExportsError:
        return classify(response, call["context"])

    def unreachable(self, error: requests.exceptions.RequestException, url: str, call: Call) -> ExportsError:
        return TransientError(
            f"Could not reach the API ({type(error).__name__})",
            url=strip_query(url),
            hint="Check network access to the Cargo API (and cargo.api_url); the sync can be retried",
            **dict(call["context"] or {}),
        )

    def not_json(self, response: requests.Response, url: str, call: Call) -> ExportsError:
        return UnreadableAnswer(
            f"Cargo answered HTTP {response.status_code} with a body that is not JSON",
            url=strip_query(url),
            **dict(call["context"] or {}),
        )

    def answered(self, response: requests.Response) -> None:
        """Notes Cargo's clock from the `Date` header of every answer."""
        header = response.headers.get("Date")
        if not header:
            return
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        self.server_time = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
