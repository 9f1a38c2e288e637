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
from urllib.parse import urljoin

import requests

from source_exports.errors import DownloadError, ExportsError, TransientError, UnreadableAnswer
from source_exports.paginators import NextLinkPaginator
from source_exports.redact import strip_query
from source_exports.vendor_client import Call, VendorClient
from source_exports.vendors.posthog.config import PostHogConfig
from source_exports.vendors.posthog.errors import VENDOR, classify

PAGE_SIZE = 100  # batch exports and runs per page


class PostHogClient(VendorClient):
    """Typed calls to the PostHog endpoints this connector uses."""

    retried_methods = frozenset({"GET"})

    def __init__(self, config: PostHogConfig, session: Optional[requests.Session] = None) -> None:
        self.config = config
        super().__init__(session, {"Authorization": f"Bearer {config.api_key}", "Accept": "application/json"})
        self.needs_write = config.file_download is not None

    # plumbing
    def url(self, path: str) -> str:
        return self.config.api_url + path

    def get(self, url: str, action: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """GET a JSON document or raise the classified PostHog error."""
        return self.request("GET", url, {"action": action}, params=params)

    def pages(
        self,
        path: str,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        on_count: Optional[Callable[[int], None]] = None,
    ) -> Iterator[Dict[str, Any]]:
        """Every result of a DRF list, following `next` links; `on_count` hears the first page's `count`."""
        paginator = NextLinkPaginator(self.config.api_url, lambda url, query: self.get(url, action, params=query))
        return paginator.items(self.url(path), params, on_count)

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
        call = {"action": action, "needs_write": True}
        response = self.send("POST", url, call, json=payload)
        if not response.ok:
            raise self.classify(response, call)
        body = self.decode(response, url, call)
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
        call = {"action": action}
        response = self.send("GET", url, call, allow_redirects=False)
        response.close()
        if response.is_redirect and response.headers.get("Location"):
            return urljoin(url, response.headers["Location"])
        if not response.ok:
            raise self.classify(response, call)
        raise DownloadError(
            f"PostHog answered HTTP {response.status_code} instead of a redirect to the file",
            vendor=VENDOR,
            job_id=export_id,
            url=strip_query(url),
            hint="The connector expects PostHog to redirect downloads to object storage",
        )

    # the vendor client hooks
    def classify(self, response: requests.Response, call: Call) -> ExportsError:
        return classify(response, call["action"], call.get("needs_write", self.needs_write))

    def unreachable(self, error: requests.exceptions.RequestException, url: str, call: Call) -> ExportsError:
        return TransientError(
            f"Could not {call['action']}: {type(error).__name__}",
            vendor=VENDOR,
            url=strip_query(url),
            hint="Check network access to posthog.api_url; the sync can be retried",
        )

    def not_json(self, response: requests.Response, url: str, call: Call) -> ExportsError:
        return UnreadableAnswer(
            f"Could not {call['action']}: PostHog answered HTTP {response.status_code} with a non-JSON body",
            vendor=VENDOR,
            url=strip_query(response.url or ""),
        )
