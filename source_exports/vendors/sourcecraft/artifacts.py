"""From a run to its artifacts: walk the run's workflow → task → cube tree, list each cube's artifacts.

Artifacts have no slug of their own: they are identified by their cube (run/workflow/task/cube
slugs) and `local_path`, plus an `id`. Their `download_url` is short-lived and signed, so it never
leaves this module in a record: `Artifact.record()` drops it and `Artifact.minter()` re-lists the
cube to get a fresh one when storage says the old one expired.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple

from wcmatch import glob

from source_exports.vendors.sourcecraft.client import SourceCraftClient
from source_exports.vendors.sourcecraft.errors import VENDOR, SourceCraftNoDownloadUrl, SourceCraftNotFound

GLOB_FLAGS = glob.GLOBSTAR  # `**` spans folders, `*` stays in one: the file-based CDK's glob semantics
SECRET_FIELDS = ("download_url",)
IDENTITY_FIELDS = (
    "artifact_id",
    "run_slug",
    "workflow_slug",
    "task_slug",
    "cube_slug",
    "local_path",
    "artifact_updated_at",
)


@dataclass(frozen=True)
class Cube:
    """Where an artifact lives: the slugs of its run, workflow, task and cube."""

    run_slug: str
    workflow_slug: str
    task_slug: str
    cube_slug: str

    @property
    def slugs(self) -> Tuple[str, str, str, str]:
        return self.run_slug, self.workflow_slug, self.task_slug, self.cube_slug

    @property
    def path(self) -> str:
        return "/".join(self.slugs)


@dataclass(frozen=True)
class Artifact:
    """One artifact as listed by SourceCraft, with the cube it belongs to."""

    cube: Cube
    data: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def local_path(self) -> str:
        return str(self.data.get("local_path") or "")

    @property
    def status(self) -> str:
        return str(self.data.get("status") or "")

    @property
    def updated_at(self) -> Optional[str]:
        return (self.data.get("dates") or {}).get("updated_at")

    @property
    def label(self) -> str:
        """How logs and `_ab_source_file` name the artifact: cube path + local_path, never a URL."""
        return f"{self.cube.path}/{self.local_path}"

    def record(self) -> Dict[str, Any]:
        """The artifact as a record: SourceCraft's fields minus the signed URL, plus the cube's slugs."""
        record = {key: value for key, value in self.data.items() if key not in SECRET_FIELDS}
        record.update(
            run_slug=self.cube.run_slug,
            workflow_slug=self.cube.workflow_slug,
            task_slug=self.cube.task_slug,
            cube_slug=self.cube.cube_slug,
        )
        return record

    @staticmethod
    def identity_columns(prefix: str) -> list:
        """The names of the identity columns, in order."""
        return [prefix + name for name in IDENTITY_FIELDS]

    def identity(self, prefix: str) -> Dict[str, Any]:
        """The columns that say which artifact a row or file came from."""
        values = (
            self.id,
            self.cube.run_slug,
            self.cube.workflow_slug,
            self.cube.task_slug,
            self.cube.cube_slug,
            self.local_path,
            self.updated_at,
        )
        return dict(zip(self.identity_columns(prefix), values))

    def minter(self, client: SourceCraftClient) -> Callable[[], str]:
        """A zero-argument callable returning a fresh download URL for this artifact.

        The first call hands out the URL from the listing just made; later calls (after storage
        answered 403/400) list the cube again and pick this artifact by id.
        """
        first = [self.data.get("download_url")]

        def mint() -> str:
            url = first.pop() if first else None
            if not url:
                listed = client.list_artifacts(
                    self.cube.run_slug, self.cube.workflow_slug, self.cube.task_slug, self.cube.cube_slug
                )
                url = next((item.get("download_url") for item in listed if str(item.get("id")) == self.id), None)
            if not url:
                raise SourceCraftNoDownloadUrl(
                    "SourceCraft gave no download URL for the artifact",
                    vendor=VENDOR,
                    file=self.label,
                    hint="The artifact may have expired (SourceCraft keeps artifacts 14 days) or been deleted",
                )
            return url

        return mint


def iter_cubes(run: Mapping[str, Any], workflows: Sequence[str] = ()) -> Iterator[Cube]:
    """Every cube of a run tree, limited to the given workflow slugs when there are any."""
    run_slug = str(run.get("slug"))
    for workflow in run.get("workflows") or []:
        if workflows and workflow.get("slug") not in workflows:
            continue
        for task in workflow.get("tasks") or []:
            for cube in task.get("cubes") or []:
                if isinstance(cube, Mapping) and cube.get("slug"):
                    yield Cube(run_slug, str(workflow.get("slug")), str(task.get("slug")), str(cube["slug"]))


def matches_paths(local_path: str, patterns: Sequence[str]) -> bool:
    """True when no patterns are configured or `local_path` matches one of them."""
    return not patterns or glob.globmatch(local_path.lstrip("/"), list(patterns), flags=GLOB_FLAGS)


class ArtifactLister:
    """Lists the artifacts of runs: one run tree read, then one artifact listing per cube."""

    def __init__(self, client: SourceCraftClient, workflows: Sequence[str], logger: logging.Logger) -> None:
        self.client = client
        self.workflows = tuple(workflows)
        self.logger = logger

    def artifacts_of(self, run_slug: str) -> Iterator[Artifact]:
        """The artifacts of every (selected) cube of one run, cube by cube in tree order."""
        try:
            tree = self.client.get_run(run_slug)
        except SourceCraftNotFound:
            self.logger.warning(f"Run {run_slug} is no longer in SourceCraft (deleted?); its artifacts are skipped")
            return
        for cube in iter_cubes(tree, self.workflows):
            try:
                listed = self.client.list_artifacts(cube.run_slug, cube.workflow_slug, cube.task_slug, cube.cube_slug)
            except SourceCraftNotFound:
                self.logger.warning(f"Cube {cube.path} has no artifact list in SourceCraft (404); skipped")
                continue
            for item in listed:
                yield Artifact(cube, item)
