"""PostHogClient: the only code that talks HTTP to PostHog (one session, one retry policy, auth).

GETs go through the shared retry policy (429 honours Retry-After; 5xx and dropped connections
back off). POSTs are sent once: creating a file download is not idempotent, so a blind retry
could start a second export; the job layer decides what to do with a 429 there.

The download endpoint answers 302 to a pre-signed storage URL. It is requested with
`allow_redirects=False` and the Location handed back to the caller, so the PostHog key is never
sent to the storage host; the vendor-neutral fetcher downloads that URL without credentials.

    client = PostHogClient(PostHogConfig.from_block(block))
    for batch_export in client.list_batch_exports():
        ...
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from source_exports.errors import DownloadError, TransientError, UnreadableAnswer
from source_exports.http import build_session, retry_policy
from source_exports.redact import strip_query
from source_exports.vendors.posthog.config import PostHogConfig
from source_exports.vendors.posthog.errors import VENDOR, classify

PAGE_SIZE = 100  # batch exports and runs per page
TIMEOUT = (15, 120)  # (connect, read) seconds


class NextLinkPaginator:
    """Follows DRF's `next` links (limit/offset and cursor pagination alike) until `next` is null.

    The link is re-based on the configured API URL, so a proxy or a load balancer that reports
    another host never receives the API key.
    """

    def __init__(self, base_url: str) -> None:
        self._base = urlsplit(base_url)

    def next_url(self, page: Mapping[str, Any]) -> Optional[str]:
        link = page.get("next")
        if not link:
            return None
        parts = urlsplit(urljoin(urlunsplit(self._base), link))
        return urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))


class PostHogClient:
    """Typed calls to the PostHog endpoints this connector uses."""

    def __init__(self, config: PostHogConfig, session: Optional[requests.Session] = None) -> None:
        self.config = config
        self.session = session or build_session(retry_policy(methods={"GET"}))
        self.session.headers["Authorization"] = f"Bearer {config.api_key}"
        self.session.headers["Accept"] = "application/json"
        self.paginator = NextLinkPaginator(config.api_url)
        self.needs_write = config.file_download is not None

    # plumbing
    def url(self, path: str) -> str:
        return self.config.api_url + path

    def get(self, url: str, action: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """GET a JSON document or raise the classified PostHog error."""
        response = self._send("GET", url, action, params=params)
        if not response.ok:
            raise classify(response, action, self.needs_write)
        return self._json(response, action)

    def pages(
        self,
        path: str,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        on_count: Optional[Callable[[int], None]] = None,
    ) -> Iterator[Dict[str, Any]]:
        """Every result of a DRF list, following `next` links; `on_count` hears the first page's `count`."""
        url: Optional[str] = self.url(path)
        query = dict(params or {})
        first = True
        while url:
            page = self.get(url, action, params=query)
            if isinstance(page, list):  # an unpaginated list
                yield from page
                return
            if first and on_count is not None and isinstance(page.get("count"), int):
                on_count(page["count"])
            first = False
            yield from page.get("results") or []
            url, query = self.paginator.next_url(page), {}

    # batch exports, runs, logs
    def check_access(self) -> None:
        """The cheapest authenticated call: one batch export of the listing."""
        self.get(self.url(self.config.listing_path), "list batch exports", params={"limit": 1})

    def check_environment(self) -> None:
        """Confirm the environment is readable (needed for file downloads when listing by organisation)."""
        path = f"{self.config.environment_path}/batch_exports/"
        self.get(self.url(path), "read the environment's batch exports", params={"limit": 1})

    def list_batch_exports(self, on_count: Optional[Callable[[int], None]] = None) -> Iterator[Dict[str, Any]]:
        params = {"limit": PAGE_SIZE, "offset": 0}
        return self.pages(self.config.listing_path, "list batch exports", params, on_count)

    def list_runs(self, team_id: str, batch_export_id: str) -> Iterator[Dict[str, Any]]:
        path = f"/api/environments/{team_id}/batch_exports/{batch_export_id}/runs/"
        return self.pages(path, f"list runs of batch export {batch_export_id}", {"limit": PAGE_SIZE})

    def list_logs(
        self, team_id: str, batch_export_id: str, limit: int, after: Optional[str], before: Optional[str]
    ) -> List[Dict[str, Any]]:
        """One page of log entries, newest first; `after` and `before` are strict bounds."""
        params: Dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        if before:
            params["before"] = before
        path = f"/api/environments/{team_id}/batch_exports/{batch_export_id}/logs/"
        body = self.get(self.url(path), f"read logs of batch export {batch_export_id}", params=params)
        entries = body.get("results") if isinstance(body, dict) else body
        return list(entries or [])

    # file downloads
    def create_file_download(self, payload: Mapping[str, Any]) -> str:
        """Start an on-demand export; PostHog answers 202 with its id."""
        action = f"create a {payload.get('model')} file download"
        url = self.url(f"{self.config.environment_path}/file_download_batch_exports/")
        response = self._send("POST", url, action, json=payload)
        if not response.ok:
            raise classify(response, action, needs_write=True)
        body = self._json(response, action)
        export_id = body.get("id") if isinstance(body, dict) else None
        if not export_id:
            raise TransientError(f"PostHog accepted the {action} but sent no id", vendor=VENDOR)
        return str(export_id)

    def get_file_download(self, export_id: str) -> Dict[str, Any]:
        url = self.url(f"{self.config.environment_path}/file_download_batch_exports/{export_id}/")
        body = self.get(url, f"read file download {export_id}")
        return body if isinstance(body, dict) else {}

    def file_location(self, export_id: str, part: str) -> str:
        """The pre-signed storage URL of one part: PostHog's 302 Location, never followed here."""
        action = f"get the download link of part {part} of file download {export_id}"
        url = self.url(f"{self.config.environment_path}/file_download_batch_exports/{export_id}/download/{part}/")
        response = self._send("GET", url, action, allow_redirects=False)
        response.close()
        if response.is_redirect and response.headers.get("Location"):
            return urljoin(url, response.headers["Location"])
        if not response.ok:
            raise classify(response, action, self.needs_write)
        raise DownloadError(
            f"PostHog answered HTTP {response.status_code} instead of a redirect to the file",
            vendor=VENDOR,
            job_id=export_id,
            url=strip_query(url),
            hint="The connector expects PostHog to redirect downloads to object storage",
        )

    # internals
    def _send(self, method: str, url: str, action: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.exceptions.RequestException as error:
            raise TransientError(
                f"Could not {action}: {type(error).__name__}",
                vendor=VENDOR,
                url=strip_query(url),
                hint="Check network access to posthog.api_url; the sync can be retried",
            ) from error

    @staticmethod
    def _json(response: requests.Response, action: str) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise UnreadableAnswer(
                f"Could not {action}: PostHog answered HTTP {response.status_code} with a non-JSON body",
                vendor=VENDOR,
                url=strip_query(response.url or ""),
            ) from error
