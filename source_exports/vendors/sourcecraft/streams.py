"""The four SourceCraft streams. They share one state shape and one way to choose runs (`RunScan`).

- `sourcecraft_runs`: one record per run (summary: no task/cube tree).
- `sourcecraft_artifacts`: one record per artifact of every cube, `download_url` removed.
- `sourcecraft_artifact_records`: the rows inside `success` artifacts matching `artifact_paths`.
- `sourcecraft_artifact_files`: the artifact files themselves, via Airbyte file transfer.

In incremental mode the three artifact streams handle a run only once it has finished, so
artifacts are read once, in their final state; an unfinished run stays in the state's
`unfinished_slugs` and is read by the sync after it finishes. Full refresh reads every run.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import pendulum
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteRecordMessageFileReference,
    AirbyteStream,
    StreamDescriptor,
    SyncMode,
)
from airbyte_cdk.models import Type as MessageType

from source_exports.download.fetch import Fetcher
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN, ExportFile, ExportFileReader
from source_exports.download.schema import permissive_schema
from source_exports.errors import ExportsError, to_traced_exception
from source_exports.streams import IncrementalExportsStream, format_datetime
from source_exports.vendors.sourcecraft.artifacts import (
    DOWNLOADABLE_DAYS,
    Artifact,
    ArtifactLister,
    format_of,
    matches_paths,
)
from source_exports.vendors.sourcecraft.client import SourceCraftClient
from source_exports.vendors.sourcecraft.files import ArtifactFileWriter
from source_exports.vendors.sourcecraft.record_schema import ArtifactRecordSchema
from source_exports.vendors.sourcecraft.run_scan import RunCheckpoint, RunScan, is_finished

LOGGER = logging.getLogger("airbyte")
IDENTITY_PREFIX = "_sourcecraft_"


@dataclass(frozen=True)
class SourceCraftSettings:
    """The validated `sourcecraft` config block."""

    api_url: str
    api_token: str
    org_slug: str
    repo_slug: str
    workflows: Tuple[str, ...] = ()
    artifact_paths: Tuple[str, ...] = ()

    def client(self) -> SourceCraftClient:
        return SourceCraftClient(self.api_url, self.api_token, self.org_slug, self.repo_slug)


class SourceCraftStream(IncrementalExportsStream):
    """Base: state is a `RunCheckpoint` (not the base's single cursor); subclasses turn runs into records."""

    primary_key = "id"
    cursor_field: Any = ["dates", "updated_at"]
    defer_unfinished_runs = True
    """Artifact streams wait for a run to finish (incremental only); the runs stream reports it at once."""

    def __init__(
        self,
        settings: SourceCraftSettings,
        start_date: Optional[pendulum.DateTime] = None,
        client: Optional[SourceCraftClient] = None,
    ) -> None:
        super().__init__(start_date)
        self.settings = settings
        self.client = client or settings.client()

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: Optional[List[str]] = None,
        stream_slice: Optional[Mapping[str, Any]] = None,
        stream_state: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Any]:
        incremental = sync_mode == SyncMode.incremental
        previous = RunCheckpoint.from_state(self._state, self.name) if incremental else None
        self.warn_about_expired_artifacts(previous)
        scan = RunScan(self.client, previous, self.start_date, self.logger, self.name)
        for run in scan:
            if incremental and self.defer_unfinished_runs and not is_finished(run):
                continue  # in the checkpoint's unfinished_slugs: read once it has finished
            yield from self.records_of_run(run)
        self.finish()
        self._state = scan.checkpoint.to_state()  # only now: every record it covers was yielded

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Any]:
        raise NotImplementedError

    def finish(self) -> None:
        """Called after the last run: summaries, and failures collected along the way."""

    def warn_about_expired_artifacts(self, previous: Optional[RunCheckpoint]) -> None:
        """Artifact contents are gone after 14 days: say which stretch a late sync can no longer read."""


class SourceCraftRunsStream(SourceCraftStream):
    """CI runs of the repository, newest first as SourceCraft lists them."""

    name = "sourcecraft_runs"
    defer_unfinished_runs = False

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        record = dict(run)
        if isinstance(record.get("workflows"), list):  # a summary: the task/cube tree is for the artifact streams
            record["workflows"] = [
                {key: value for key, value in workflow.items() if key != "tasks"}
                for workflow in record["workflows"]
                if isinstance(workflow, Mapping)
            ]
        yield record


class SourceCraftArtifactsStream(SourceCraftStream):
    """Every artifact of every cube of the selected runs (metadata only)."""

    name = "sourcecraft_artifacts"

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        lister = ArtifactLister(self.client, self.settings.workflows, self.logger)
        for artifact in lister.artifacts_of(str(run.get("slug"))):
            yield artifact.record()


class ArtifactContentStream(SourceCraftStream):
    """Base of the streams that download artifact contents: filtering, skip counts, isolated failures."""

    def __init__(self, *args: Any, fetcher: Optional[Fetcher] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetcher = fetcher or Fetcher()
        self.skipped: Counter = Counter()
        self.failures: List[Tuple[str, ExportsError]] = []
        self.done = 0

    def read_records(self, *args: Any, **kwargs: Any) -> Iterable[Any]:
        self.skipped, self.failures, self.done = Counter(), [], 0
        yield from super().read_records(*args, **kwargs)

    def records_of_run(self, run: Mapping[str, Any]) -> Iterable[Any]:
        now = pendulum.now("UTC")
        lister = ArtifactLister(self.client, self.settings.workflows, self.logger)
        for artifact in lister.artifacts_of(str(run.get("slug"))):
            reason = self.skip_reason(artifact, now)
            if reason:
                self.skipped[reason] += 1
                continue
            try:
                yield from self.read_artifact(artifact)
                self.done += 1
            except ExportsError as error:  # isolated per artifact, reported together in finish()
                self.failures.append((artifact.label, error))
                self.logger.error(f"{self.name}: {artifact.label} could not be read: {error.user_message}")

    def skip_reason(self, artifact: Artifact, now: pendulum.DateTime) -> Optional[str]:
        if artifact.status != "success":
            return f"status {artifact.status or 'unknown'}"
        if not matches_paths(artifact.local_path, self.settings.artifact_paths):
            return "not matching artifact_paths"
        if not artifact.is_downloadable(now):
            self.logger.warning(
                f"{self.name}: {artifact.label} skipped: last updated {artifact.updated_at}, more than "
                f"{DOWNLOADABLE_DAYS} days ago, so SourceCraft no longer keeps its contents"
            )
            return f"older than {DOWNLOADABLE_DAYS} days"
        return None

    def read_artifact(self, artifact: Artifact) -> Iterable[Any]:
        raise NotImplementedError

    def finish(self) -> None:
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items())) or "none"
        self.logger.info(f"{self.name}: {self.done} artifact(s) read; skipped: {skipped}")
        if self.failures:
            label, first = self.failures[0]
            others = "; ".join(f"{name}: {error.message}" for name, error in self.failures[1:6])
            more = f" (and {len(self.failures) - 6} more)" if len(self.failures) > 6 else ""
            raise type(first)(
                f"{len(self.failures)} artifact(s) could not be read. First: {first.message}"
                + (f". Others: {others}{more}" if others else ""),
                hint=first.hint,
                **{**first.context, "stream": self.name, "file": label},
            ) from first

    def warn_about_expired_artifacts(self, previous: Optional[RunCheckpoint]) -> None:
        if previous is None or previous.synced_at is None:
            return
        horizon = pendulum.now("UTC") - pendulum.duration(days=DOWNLOADABLE_DAYS)
        if previous.synced_at < horizon:
            self.logger.warning(
                f"{self.name}: the last sync was at {format_datetime(previous.synced_at)}, more than "
                f"{DOWNLOADABLE_DAYS} days ago. Artifacts of runs that finished between "
                f"{format_datetime(previous.synced_at)} and {format_datetime(horizon)} are no longer downloadable "
                "from SourceCraft and are skipped; sync at least every 14 days to keep every artifact"
            )


class SourceCraftArtifactRecordsStream(ArtifactContentStream):
    """Rows of report artifacts: JUnit XML (one row per test case), CSV, JSON, JSON Lines, Parquet."""

    name = "sourcecraft_artifact_records"
    primary_key = [f"{IDENTITY_PREFIX}artifact_id", ROW_COLUMN]
    cursor_field = f"{IDENTITY_PREFIX}artifact_updated_at"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = ExportFileReader(self.fetcher, self.logger)

    discovered_schema = True

    def metadata_schema(self) -> Mapping[str, Any]:
        """The identity columns of the artifact, plus the file name and row number."""
        nullable_string = {"type": ["null", "string"]}
        known: Dict[str, Any] = dict.fromkeys(Artifact.identity_columns(IDENTITY_PREFIX), nullable_string)
        known[f"{IDENTITY_PREFIX}artifact_updated_at"] = {**nullable_string, "format": "date-time"}
        known[FILE_COLUMN] = {"type": "string"}
        known[ROW_COLUMN] = {"type": "integer"}
        return known

    def build_json_schema(self) -> Mapping[str, Any]:
        """The union of the columns of every kind of report (see `record_schema.py`), then the metadata."""
        known = self.metadata_schema()
        sampler = ArtifactRecordSchema(
            self.client, self.settings.workflows, self.settings.artifact_paths, self.reader, self.logger, known,
            IDENTITY_PREFIX,
        )
        try:
            properties = sampler.properties()
        except ExportsError as error:  # discover has no error boundary of ours: classify here, not as a crash
            raise to_traced_exception(error, StreamDescriptor(name=self.name)) from error
        schema = permissive_schema(known)
        schema["properties"] = {**properties, **known}
        return schema

    def skip_reason(self, artifact: Artifact, now: pendulum.DateTime) -> Optional[str]:
        reason = super().skip_reason(artifact, now)
        if reason is None and format_of(artifact.local_path) is None:
            self.logger.info(f"{self.name}: {artifact.label} skipped: no parser for this file type")
            return "of an unsupported file type"
        return reason

    def read_artifact(self, artifact: Artifact) -> Iterable[Mapping[str, Any]]:
        export = ExportFile(
            name=artifact.label,
            mint=artifact.minter(self.client),
            format=format_of(artifact.local_path),
            metadata=artifact.identity(IDENTITY_PREFIX),
        )
        yield from self.reader.records(export)  # batches under the fast read loop, rows otherwise


class SourceCraftArtifactFilesStream(ArtifactContentStream):
    """The artifact files, copied byte for byte into Airbyte's files directory (file transfer)."""

    name = "sourcecraft_artifact_files"
    primary_key = [f"{IDENTITY_PREFIX}artifact_id"]
    cursor_field = f"{IDENTITY_PREFIX}artifact_updated_at"

    def __init__(self, *args: Any, writer: Optional[ArtifactFileWriter] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writer = writer

    @property
    def writer(self) -> ArtifactFileWriter:
        """Created on first use: the files directory is only needed (and resolved) when reading."""
        if self._writer is None:
            self._writer = ArtifactFileWriter()
        return self._writer

    def as_airbyte_stream(self) -> AirbyteStream:
        stream = super().as_airbyte_stream()
        stream.is_file_based = True
        return stream

    def read_artifact(self, artifact: Artifact) -> Iterable[AirbyteMessage]:
        started = time.monotonic()
        relative = f"{artifact.cube.path}/{artifact.local_path}"
        with contextlib.closing(self.fetcher.open(artifact.minter(self.client), artifact.label)) as body:
            staged = self.writer.write(body, relative, artifact.label)
        self.logger.info(
            f"{artifact.label}: {staged.size / 1e6:,.2f} MB staged in {time.monotonic() - started:,.1f} s"
            + (f" ({body.resumes} resumes)" if body.resumes else "")
        )
        name = staged.relative_path.rsplit("/", 1)[-1]
        data = {
            "folder": staged.relative_path.rpartition("/")[0],
            "file_name": name,
            "bytes": staged.size,
            "id": artifact.id,
            "mime_type": mimetypes.guess_type(name)[0],
            "created_at": (artifact.data.get("dates") or {}).get("registered_at"),
            "updated_at": artifact.updated_at,
            "source_uri": f"sourcecraft://{self.settings.org_slug}/{self.settings.repo_slug}/{relative}",
            "status": artifact.status,
            **artifact.identity(IDENTITY_PREFIX),
        }
        yield AirbyteMessage(
            type=MessageType.RECORD,
            record=AirbyteRecordMessage(
                stream=self.name,
                data=data,
                emitted_at=int(time.time() * 1000),
                file_reference=AirbyteRecordMessageFileReference(
                    staging_file_url=staged.absolute_path,
                    source_file_relative_path=staged.relative_path,
                    file_size_bytes=staged.size,
                ),
            ),
        )
