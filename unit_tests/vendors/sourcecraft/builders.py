"""Response builders for SourceCraft unit tests: runs, run trees and artifact lists as the API returns them."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence


class RunBuilder:
    """A run summary: `RunBuilder("12").with_status("processing").with_updated_at("…").build()`."""

    def __init__(self, slug: str) -> None:
        self._run: Dict[str, Any] = {
            "id": f"run-{slug}",
            "slug": slug,
            "status": "success",
            "dates": {
                "created_at": "2025-03-01T00:00:00Z",
                "started_at": "2025-03-01T00:00:05Z",
                "finished_at": "2025-03-01T00:03:00Z",
                "updated_at": "2025-03-01T00:03:00Z",
            },
            "workflows": [],
        }

    def with_status(self, status: str) -> RunBuilder:
        self._run["status"] = status
        return self

    def with_created_at(self, value: str) -> RunBuilder:
        self._run["dates"]["created_at"] = value
        return self

    def with_updated_at(self, value: str) -> RunBuilder:
        self._run["dates"]["updated_at"] = value
        return self

    def with_workflow(self, slug: str, tasks: Dict[str, Sequence[str]]) -> RunBuilder:
        """A workflow with tasks → cube slugs (the run tree of `GET …/runs/{slug}`)."""
        self._run["workflows"].append(
            {
                "id": f"wf-{slug}",
                "slug": slug,
                "status": self._run["status"],
                "tasks": [
                    {"id": f"task-{task}", "slug": task, "cubes": [{"id": f"c-{cube}", "slug": cube} for cube in cubes]}
                    for task, cubes in tasks.items()
                ],
            }
        )
        return self

    def build(self) -> Dict[str, Any]:
        return self._run


def artifact(
    artifact_id: str,
    local_path: str,
    status: str = "success",
    url: Optional[str] = "https://storage.example/bucket/a?X-Amz-Signature=secret",
    updated_at: str = "2099-01-01T00:00:00Z",
) -> Dict[str, Any]:
    """One item of `GET …/cicd/artifacts/{run}/{workflow}/{task}/{cube}`."""
    return {
        "id": artifact_id,
        "local_path": local_path,
        "status": status,
        "dates": {"registered_at": updated_at, "obtained_at": updated_at, "updated_at": updated_at},
        "download_url": url,
    }


class FakeRunPages:
    """Stands in for `SourceCraftClient.iter_run_pages`: the given pages, and how many were fetched."""

    def __init__(self, pages: List[List[Dict[str, Any]]]) -> None:
        self.pages = pages
        self.fetched = 0

    def iter_run_pages(self):
        for page in self.pages:
            self.fetched += 1
            yield page


def runs(*slugs: str, status: str = "success") -> List[Dict[str, Any]]:
    return [RunBuilder(slug).with_status(status).build() for slug in slugs]
