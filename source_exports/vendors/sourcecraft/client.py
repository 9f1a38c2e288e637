"""`SourceCraftClient`: the only code that talks HTTP to the SourceCraft API.

One session (shared retry policy, Bearer token), one base URL, three read endpoints of one
repository: the paged run list, one run with its workflow → task → cube tree, and a cube's
artifacts (with short-lived `download_url`s). Downloads of those URLs go through the
vendor-neutral fetcher, which never sees the token.

    client = SourceCraftClient("https://api.sourcecraft.tech", token, "my-org", "my-repo")
    for run in client.iter_runs():
        tree = client.get_run(run["slug"])
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Optional
from urllib.parse import quote

import requests

from source_exports.errors import ExportsError, TransientError, UnreadableAnswer
from source_exports.paginators import PageTokenPaginator
from source_exports.vendor_client import Call, VendorClient
from source_exports.vendors.sourcecraft.errors import VENDOR, raise_for_response

PAGE_SIZE = 100
"""Runs asked for per page; the server may return fewer (a short page is not the last page)."""
MAX_PAGES = 100_000
"""Guards against a server that hands back the same page token forever."""


def segment(value: str) -> str:
    """One URL path segment: slugs are quoted so `/`, `?` or `#` can never change the route."""
    return quote(str(value), safe="")


class SourceCraftClient(VendorClient):
    """Reads CI/CD runs and artifacts of one repository."""

    retried_methods = frozenset({"GET"})

    def __init__(
        self,
        api_url: str,
        token: str,
        org_slug: str,
        repo_slug: str,
        session: Optional[requests.Session] = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo_path = f"/repos/{segment(org_slug)}/{segment(repo_slug)}"
        self.page_size = page_size
        super().__init__(session, {"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def list_runs_page(self, page_size: int, page_token: Optional[str] = None) -> Dict[str, Any]:
        """One page of `GET …/cicd/runs`: `{"runs": [...], "next_page_token": "..."}`."""
        params: Dict[str, Any] = {"page_size": page_size}
        if page_token:
            params["page_token"] = page_token
        return self._get(f"{self.repo_path}/cicd/runs", "list CI runs", params)

    def iter_run_pages(self) -> Iterator[List[Mapping[str, Any]]]:
        """Every page of runs in server order, until a page comes without `next_page_token`.

        `page_size` stays the same on every page, as the API requires for a page token to be valid.
        """
        paginator = PageTokenPaginator(
            lambda token: self.list_runs_page(self.page_size, token),
            items_key="runs",
            on_repeat=lambda: TransientError(
                "SourceCraft returned a page token it had already returned; stopping to avoid a loop",
                vendor=VENDOR,
                hint="Retry the sync; report it to SourceCraft if it persists",
            ),
            max_pages=MAX_PAGES,
        )
        return paginator.pages()

    def get_run(self, run_slug: str) -> Dict[str, Any]:
        """One run with its embedded workflows → tasks → cubes tree."""
        return self._get(f"{self.repo_path}/cicd/runs/{segment(run_slug)}", f"read run {run_slug}")

    def list_artifacts(self, run_slug: str, workflow_slug: str, task_slug: str, cube_slug: str) -> List[Dict[str, Any]]:
        """The artifacts of one cube, each with a fresh short-lived `download_url`."""
        path = "/".join(segment(part) for part in (run_slug, workflow_slug, task_slug, cube_slug))
        where = f"{run_slug}/{workflow_slug}/{task_slug}/{cube_slug}"
        body = self._get(f"{self.repo_path}/cicd/artifacts/{path}", f"list the artifacts of cube {where}")
        return list(body.get("artifacts") or [])

    def _get(self, path: str, action: str, params: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        body = self.request("GET", self.api_url + path, {"action": action}, params=params)
        if not isinstance(body, dict):
            raise UnreadableAnswer(f"SourceCraft answered {action} with JSON that is not an object", vendor=VENDOR)
        return body

    def classify(self, response: requests.Response, call: Call) -> ExportsError:
        try:
            raise_for_response(response, call["action"])
        except ExportsError as error:
            return error
        raise AssertionError(f"raise_for_response accepted HTTP {response.status_code}")

    def unreachable(self, error: requests.exceptions.RequestException, url: str, call: Call) -> ExportsError:
        return TransientError(
            f"Could not reach SourceCraft to {call['action']}: {type(error).__name__}",
            vendor=VENDOR,
            url=url,
            hint="Check network access to the API URL; the sync can be retried",
        )

    def not_json(self, response: requests.Response, url: str, call: Call) -> ExportsError:
        return UnreadableAnswer(
            f"SourceCraft answered {call['action']} with a body that is not JSON", vendor=VENDOR, url=url
        )
